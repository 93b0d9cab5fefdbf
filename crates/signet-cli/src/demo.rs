//! `signet demo`: signet's main job in one command.
//!
//! Creates throw-away keys (or uses the ones in `--home`), starts `signet proxy` in front of
//! a real MCP server (the reference "everything" server by default), talks to it the way an
//! MCP client does (initialize, tools/list, a few tools/call), checks every receipt it gets
//! back, then shows the signed records with `signet log list` and checks the whole log with
//! `signet log verify`. Works offline once the server is installed.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::{Value, json};
use signet_core::alg::{Algorithm, PublicKey};
use signet_core::did::Did;
use signet_core::statement::{self, Intent, Receipt};

use crate::cli::DemoArgs;
use crate::commands::{out, write_new_key};
use crate::keyfile;
use signet_log::store::Store as _;

const EVERYTHING: &str = "@modelcontextprotocol/server-everything";
const EVERYTHING_VERSION: &str = "2026.8.31";

/// The default server: the reference "everything" server, from `target/peers` when the
/// test set-up installed it, else through `npx` (needs the npm registry once).
fn default_server() -> Vec<String> {
    let rel = Path::new("peers/js/node_modules")
        .join(EVERYTHING)
        .join("dist/index.js");
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/signet → target/peers/…
        if let Some(target) = exe.parent().and_then(Path::parent) {
            candidates.push(target.join(&rel));
        }
    }
    candidates.push(Path::new("target").join(&rel));
    for c in candidates {
        if c.exists() {
            return vec!["node".into(), c.display().to_string(), "stdio".into()];
        }
    }
    vec![
        "npx".into(),
        "-y".into(),
        format!("{EVERYTHING}@{EVERYTHING_VERSION}"),
        "stdio".into(),
    ]
}

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Client {
    fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        self.next_id = self.next_id.saturating_add(1);
        let id = self.next_id;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send(&msg)?;
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line)? == 0 {
                bail!("the proxy closed its output while waiting for `{method}`");
            }
            let v: Value = serde_json::from_str(&line)
                .with_context(|| format!("the proxy sent a line that is not JSON: {line}"))?;
            if v.get("id") == Some(&json!(id)) && v.get("method").is_none() {
                return Ok(v);
            }
            // Notifications and server requests are not part of the demo.
        }
    }

    fn send(&mut self, msg: &Value) -> Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| anyhow!("the proxy's input is closed"))?;
        writeln!(stdin, "{msg}")?;
        stdin.flush()?;
        Ok(())
    }

    fn close(mut self) -> Result<std::process::ExitStatus> {
        drop(self.stdin.take());
        Ok(self.child.wait()?)
    }
}

static NULL: Value = Value::Null;

/// The value at a JSON pointer, or `null`.
fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&NULL)
}

fn short(did: &Did) -> String {
    let s = did.as_str();
    let tail: String = s.chars().skip(8).take(14).collect();
    format!("did:key:{tail}…")
}

/// `signet demo`.
pub fn demo(a: &DemoArgs) -> Result<ExitCode> {
    let tmp;
    let home = match &a.home {
        Some(h) => h.clone(),
        None => {
            tmp = tempfile::Builder::new().prefix("signet-demo-").tempdir()?;
            tmp.path().to_owned()
        }
    };
    std::fs::create_dir_all(&home)?;
    let server = if a.command.is_empty() {
        default_server()
    } else {
        a.command.clone()
    };
    let exe = std::env::current_exe().context("cannot find the signet executable")?;

    out("== signet demo: every MCP tool call signed, attested and logged")?;
    out(&format!(
        "state directory  {}{}",
        home.display(),
        if a.home.is_none() {
            "  (throw-away)"
        } else {
            ""
        }
    ))?;

    // Keys: agent (signs intents), gateway (signs receipts), log (signs checkpoints).
    // SAFETY NOTE: the demo's keys are unencrypted and live only in the demo directory.
    let mut keys: Vec<(String, PublicKey)> = Vec::new();
    for name in ["agent", "gateway", "log"] {
        let path = home.join("keys").join(format!("{name}.key"));
        let pk = if path.exists() {
            let text = std::fs::read_to_string(path.with_extension("pub")).with_context(|| {
                format!("cannot read the public key next to `{}`", path.display())
            })?;
            text.trim()
                .parse::<Did>()
                .map_err(|e| anyhow!("`{}.pub`: {e}", name))?
                .public_key()
                .clone()
        } else {
            write_new_key(Algorithm::Ed25519, &path, None, false)?.public_key()
        };
        out(&format!("{name:<8} key     {}", Did::from_public_key(&pk)))?;
        keys.push((name.to_owned(), pk));
    }
    let key_of = |n: &str| keys.iter().find(|(k, _)| k == n).map(|(_, p)| p.clone());
    let gateway_pk = key_of("gateway").ok_or_else(|| anyhow!("no gateway key"))?;
    let agent_pk = key_of("agent").ok_or_else(|| anyhow!("no agent key"))?;

    out(&format!("MCP server       {}", server.join(" ")))?;
    out(&format!(
        "proxy            signet proxy --name everything -- {}",
        server.join(" ")
    ))?;
    let mut child = Command::new(&exe)
        .args(["proxy", "--name", "everything", "--"])
        .args(&server)
        .env(keyfile::HOME_ENV, &home)
        .env_remove("SIGNET_LOG")
        .env_remove("SIGNET_CONFIG")
        .env(
            "SIGNET_LOG_LEVEL",
            std::env::var("SIGNET_LOG_LEVEL").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start `signet proxy`")?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        bail!("cannot talk to `signet proxy`");
    };
    let mut client = Client {
        child,
        stdin: Some(stdin),
        stdout: BufReader::new(stdout),
        next_id: 0,
    };

    out("\n== 1. initialize (through the proxy)")?;
    let init = client.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "signet-demo", "version": env!("CARGO_PKG_VERSION")}}),
    )?;
    let info = at(&init, "/result/serverInfo");
    out(&format!(
        "server: {} {} (protocol {})",
        at(info, "/title")
            .as_str()
            .or(at(info, "/name").as_str())
            .unwrap_or("?"),
        at(info, "/version").as_str().unwrap_or(""),
        at(&init, "/result/protocolVersion").as_str().unwrap_or("?")
    ))?;
    client.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;

    out("\n== 2. tools/list: each tool's full definition is pinned (trust on first use)")?;
    let list = client.request("tools/list", json!({}))?;
    let tools = at(&list, "/result/tools")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = tools
        .iter()
        .filter_map(|t| at(t, "/name").as_str())
        .collect();
    out(&format!(
        "{} tools pinned: {}",
        names.len(),
        names.join(", ")
    ))?;

    out("\n== 3. tools/call: the agent signs each call, the gateway attests each result")?;
    let calls = [
        ("echo", json!({"message": "hello from signet"})),
        ("get-sum", json!({"a": 2, "b": 3})),
        ("no-such-tool", json!({})),
    ];
    for (tool, args) in calls {
        let resp = client.request("tools/call", json!({"name": tool, "arguments": args}))?;
        let (text, receipt) = if let Some(r) = resp.get("result") {
            let text = at(r, "/content/0/text").as_str().unwrap_or("").to_owned();
            (
                text,
                at(r, "/_meta/dev.signet~1receipt")
                    .as_str()
                    .map(str::to_owned),
            )
        } else {
            (
                format!(
                    "error: {}",
                    at(&resp, "/error/message").as_str().unwrap_or("?")
                ),
                None,
            )
        };
        out(&format!("{tool} {args}  →  {text}"))?;
        match receipt {
            Some(jws) => match statement::verify::<Receipt>(&jws, Some(&gateway_pk)) {
                Ok(v) => out(&format!(
                    "   receipt VALID: outcome {}, signed by the gateway {}, intent logged at #{}",
                    v.statement.outcome,
                    short(&Did::from_public_key(&gateway_pk)),
                    v.statement.log_index.map_or("-".into(), |i| i.to_string())
                ))?,
                Err(e) => out(&format!("   receipt INVALID: {e}"))?,
            },
            None => out(
                "   (no receipt in the response: JSON-RPC errors carry none; it is in the log)",
            )?,
        }
    }
    let status = client.close()?;
    if !status.success() {
        out(&format!("(the proxy exited with {status})"))?;
    }

    out("\n== 4. the signed session records: signet log list")?;
    let run = |args: &[&str]| -> Result<std::process::ExitStatus> {
        Ok(Command::new(&exe)
            .args(args)
            .env(keyfile::HOME_ENV, &home)
            .env_remove("SIGNET_LOG")
            .status()?)
    };
    run(&["log", "list"])?;

    // Every intent in the log was signed by the agent key.
    check_intents(&home, &agent_pk)?;

    out("\n== 5. the whole log, every signature and checkpoint: signet log verify")?;
    let verified = run(&["log", "verify"])?;
    out(&format!(
        "\nThe log is `{}`; its public key `{}`.",
        home.join("log/signet.db").display(),
        home.join("keys/log.pub").display()
    ))?;
    if verified.success() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(crate::commands::EXIT_INVALID))
    }
}

fn check_intents(home: &Path, agent: &PublicKey) -> Result<()> {
    let store = signet_log::sqlite::SqliteStore::open_read_only(&home.join("log/signet.db"))
        .map_err(|e| anyhow!("{e}"))?;
    let filter = signet_log::store::Filter {
        kind: Some("intent".into()),
        ..signet_log::store::Filter::default()
    };
    let rows = store.query(&filter).map_err(|e| anyhow!("{e}"))?;
    let mut n = 0usize;
    for row in rows {
        let entry =
            signet_log::entry::Entry::from_leaf_data(&row.data).map_err(|e| anyhow!("{e}"))?;
        if let signet_log::entry::Entry::Intent(i) = entry {
            statement::verify::<Intent>(&i.jws, Some(agent))
                .map_err(|e| anyhow!("intent #{}: {e}", row.index))?;
            n = n.saturating_add(1);
        }
    }
    out(&format!(
        "{n} intents in the log, each signed by the agent key"
    ))?;
    Ok(())
}
