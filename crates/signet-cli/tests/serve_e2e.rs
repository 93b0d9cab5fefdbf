//! End-to-end tests of `signet serve` with a real MCP client: the official Python MCP SDK
//! (PEERS.md, `tests/peers/serve_client.py`) calls every tool over stdio in both protocol
//! eras and over Streamable HTTP, with good and bad input. The SDK checks every
//! `structuredContent` against the tool's `outputSchema`. Afterwards the log the server
//! wrote is checked with `signet log verify` / `show` and the signed record with
//! `signet verify`.
//!
//! The Python SDK is installed by `scripts/install-peers.sh` into `target/peers/py`.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::expect_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]
#![expect(clippy::panic, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

mod support;

use support::{Home, peer_script, python, root, signet};

fn client_script() -> String {
    peer_script("serve_client.py")
}

fn wait_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run the Python SDK client with `spec`; its report.
fn run_client(spec: &Value) -> Value {
    let mut child = Command::new(python())
        .arg(client_script())
        .arg(spec.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_timeout(&mut child, Duration::from_secs(120));
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "the MCP client failed: {err}\n{out}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("client output {e}: {out}\n{err}"))
}

/// A compact intent JWS from `signet sign`, with one signature character changed.
fn tampered_jws(home: &Home) -> String {
    let call = home.path().join("call.json");
    std::fs::write(
        &call,
        r#"{"name":"file:read","arguments":{"target":"/etc/passwd"}}"#,
    )
    .unwrap();
    let o = home.run(&["sign", "--output", "jws", call.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let jws = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    let mut chars: Vec<char> = jws.chars().collect();
    let i = chars.len() - 3;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// Every tool, good and bad input; `$ref:N:key` takes call N's structured result.
fn calls(tampered: &str) -> Value {
    json!([
        {"name": "get_identity", "arguments": {}},
        {"name": "sign_action", "arguments": {"agent_id": "agent-7", "action_type": "file:read",
            "target": "/src/main.py", "payload": {"lines": [1, 20], "why": "review"}}},
        {"name": "verify_signature", "arguments": {"record": "$ref:1:jws"}},
        {"name": "list_actions", "arguments": {"limit": 10}},
        {"name": "verify_log", "arguments": {}},
        {"name": "prove_action", "arguments": {"id": "$ref:1:id"}},
        {"name": "verify_signature", "arguments": {"record": "$ref:5:bundle"}},
        {"name": "check_policy", "arguments": {"agent_id": "agent-7", "action_type": "db:delete",
            "target": "prod/users"}},
        // Bad input (9 and on).
        {"name": "sign_action", "arguments": {"agent_id": "agent-7", "action_type": "file:read"}},
        {"name": "sign_action", "arguments": {"agent_id": 5, "action_type": "file:read", "target": "/x"}},
        {"name": "verify_signature", "arguments": {"record": "this is not a signature"}},
        {"name": "verify_signature", "arguments": {"record": tampered}},
        {"name": "prove_action", "arguments": {"id": "sig_000000000000"}},
        {"name": "list_actions", "arguments": {"limit": "ten"}},
        {"name": "get_identity", "arguments": {"private_key": true}},
        {"name": "verify_signature", "arguments": {}},
    ])
}

fn text(r: &Value) -> String {
    r["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn assert_tool_error(r: &Value, want: &str) {
    assert!(
        r.get("error").is_none(),
        "JSON-RPC error instead of a tool error: {r}"
    );
    assert_eq!(r["isError"], json!(true), "{r}");
    assert!(text(r).contains(want), "`{}` lacks `{want}`", text(r));
}

/// Check one client report (every tool called as [`calls`] lists them).
fn check_report(home: &Home, report: &Value, era: &str) -> String {
    assert_eq!(report["era"], era, "{report}");
    let tools = report["tools"].as_array().unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "check_policy",
            "get_identity",
            "list_actions",
            "prove_action",
            "sign_action",
            "verify_log",
            "verify_signature"
        ]
    );
    for t in tools {
        assert!(t["outputSchema"].is_object(), "{t}");
        assert!(t["inputSchema"]["properties"].is_object() || t["inputSchema"]["type"] == "object");
    }
    let r = report["results"].as_array().unwrap();
    for (i, res) in r.iter().enumerate() {
        assert!(res.get("client_error").is_none(), "call {i}: {res}");
    }

    let ident = &r[0]["structuredContent"];
    assert_eq!(ident["did"], home.did("agent"), "{ident}");
    assert!(ident.get("private_key").is_none() && !r[0].to_string().contains("PRIVATE"));

    let signed = &r[1]["structuredContent"];
    assert_eq!(r[1]["isError"], json!(false), "{}", r[1]);
    let id = signed["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sig_"), "{signed}");
    assert!(signed["log_index"].as_u64().is_some(), "{signed}");
    assert_eq!(signed["statement"]["tool"], "file:read");
    assert_eq!(signed["statement"]["aud"], "signet:serve");
    assert_eq!(signed["signer"], home.did("agent"));

    assert_eq!(r[2]["structuredContent"]["verdict"], "VALID", "{}", r[2]);
    assert_eq!(r[2]["structuredContent"]["kind"], "signet-intent+jws");
    assert_eq!(r[2]["structuredContent"]["signer"], home.did("agent"));

    let rows = r[3]["structuredContent"]["actions"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|x| x["id"] == id.as_str())
        .expect("signed action listed");
    let line = row["line"].as_str().unwrap();
    assert!(
        line.starts_with("sig_") && line.contains(" agent:"),
        "{line}"
    );
    assert!(
        line.contains("file:read /src/main.py") && line.ends_with("VALID"),
        "{line}"
    );

    assert_eq!(r[4]["structuredContent"]["verdict"], "VALID", "{}", r[4]);
    assert!(r[4]["structuredContent"]["entries"].as_u64().unwrap() >= 3);

    assert_eq!(r[5]["structuredContent"]["id"], id.as_str());
    assert_eq!(
        r[5]["structuredContent"]["bundle"]["type"],
        "signet.log-proof.v1"
    );
    assert_eq!(r[6]["structuredContent"]["verdict"], "VALID", "{}", r[6]);
    assert_eq!(r[6]["structuredContent"]["kind"], "signet.log-proof.v1");

    // No policy engine is wired into `signet serve` yet: a clear error, never "allowed".
    assert_tool_error(&r[7], "no policy is configured");

    assert_tool_error(&r[8], "missing field `target`");
    assert_tool_error(&r[9], "`agent_id` must be a string, got a number");
    assert_tool_error(&r[10], "INVALID: not a valid signet jws");
    // A well-formed record with a bad signature is a verdict, not an error.
    assert_eq!(r[11]["isError"], json!(false), "{}", r[11]);
    assert_eq!(
        r[11]["structuredContent"]["verdict"], "INVALID",
        "{}",
        r[11]
    );
    assert!(
        r[11]["structuredContent"]["reason"]
            .as_str()
            .unwrap()
            .contains("signature"),
        "{}",
        r[11]
    );
    assert_tool_error(&r[12], "no entry with id `sig_000000000000`");
    assert_tool_error(
        &r[13],
        "`limit` must be a non-negative integer, got a string",
    );
    assert_tool_error(&r[14], "unknown field `private_key`");
    assert_tool_error(&r[15], "missing field `record`");
    id
}

fn check_log(home: &Home, id: &str) {
    let o = home.run(&["log", "verify"]);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let o = home.run(&["log", "show", "--json", id]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["valid"], true);
    assert_eq!(
        shown["entry"]["arguments"]["target"], "/src/main.py",
        "{shown}"
    );
    assert_eq!(shown["entry"]["arguments"]["agent_id"], "agent-7");
    // The signed record verifies with the ordinary CLI as well.
    let jws = shown["entry"]["jws"].as_str().unwrap();
    let f = home.path().join("intent.jws");
    std::fs::write(&f, jws).unwrap();
    let o = home.run(&[
        "verify",
        "--no-time-check",
        "--audience",
        "signet:serve",
        f.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn stdio_both_eras_every_tool() {
    let home = Home::new();
    let tampered = tampered_jws(&home);
    for era in ["handshake", "modern"] {
        let spec = json!({
            "command": [signet(), "serve"],
            "env": {"SIGNET_HOME": home.path(), "PATH": std::env::var("PATH").unwrap_or_default()},
            "era": era,
            "calls": calls(&tampered),
        });
        let report = run_client(&spec);
        let id = check_report(&home, &report, era);
        check_log(&home, &id);
    }
}

/// `signet serve --http 127.0.0.1:0`; the URL it prints.
fn spawn_http(home: &Home) -> (Child, String) {
    let mut child = home
        .command(&["serve", "--http", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(at) = line.find("http://") {
                let _ = tx.send(line[at..].trim().to_owned());
                sent = true;
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("signet serve --http printed no URL");
    (child, url)
}

#[test]
fn streamable_http_every_tool() {
    let home = Home::new();
    let tampered = tampered_jws(&home);
    let (mut child, url) = spawn_http(&home);
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{url}"
    );
    for era in ["handshake", "modern"] {
        let report = run_client(&json!({"url": url, "era": era, "calls": calls(&tampered)}));
        let id = check_report(&home, &report, era);
        check_log(&home, &id);
    }
    // SIGTERM: a clean stop, recorded in the log.
    nix_kill(&child);
    let status = wait_timeout(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    let o = home.run(&["log", "list", "--json", "--kind", "lifecycle"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.lines().last().unwrap_or_default().contains("stop"),
        "{text}"
    );
    let o = home.run(&["log", "verify"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

fn nix_kill(child: &Child) {
    let o = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .output()
        .unwrap();
    assert!(o.status.success());
}

#[test]
fn http_refuses_non_loopback_and_missing_keys_fail_closed() {
    let home = Home::new();
    let o = home.run(&["serve", "--http", "0.0.0.0:0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("loopback addresses only"));

    // No agent key: the server runs, sign_action fails closed with the reason.
    std::fs::remove_file(home.path().join("keys/agent.key")).unwrap();
    let report = run_client(&json!({
        "command": [signet(), "serve"],
        "env": {"SIGNET_HOME": home.path(), "PATH": std::env::var("PATH").unwrap_or_default()},
        "calls": [{"name": "sign_action", "arguments": {"agent_id": "a", "action_type": "file:read", "target": "/x"}}],
    }));
    assert_tool_error(&report["results"][0], "the agent key could not be loaded");
}

#[test]
fn readme_serve_config_is_valid() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = text
        .split("## signet's own MCP server")
        .nth(1)
        .expect("README has a `signet serve` section");
    let block = section
        .split("```json")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a JSON config block");
    let v: Value = serde_json::from_str(block).unwrap_or_else(|e| panic!("{e}:\n{block}"));
    let s = &v["mcpServers"]["signet"];
    assert_eq!(s["command"], "signet");
    assert_eq!(s["args"], json!(["serve"]));
    assert!(section.contains("claude mcp add signet -- signet serve"));
}

/// With a `[policy]` section, `check_policy` answers from it (statelessly); an invalid
/// policy stops `signet serve` before it serves anything.
#[test]
fn check_policy_answers_from_the_configured_policy() {
    let home = Home::new();
    std::fs::write(
        home.path().join("rules.cedar"),
        "@id(\"no-prod-deletions\")\n@reason(\"deleting production data is forbidden\")\n\
         forbid (principal, action == Signet::Action::\"call_tool\", resource)\n\
         when { context.categories.contains(\"data:delete:production\") };\n",
    )
    .unwrap();
    std::fs::write(
        home.path().join("signet.toml"),
        "[policy]\nfiles = [\"rules.cedar\"]\n\n[[policy.categories]]\n\
         category = \"data:delete:production\"\ntools = [\"db:delete\"]\n\
         arguments = { target = \"prod/*\" }\n",
    )
    .unwrap();
    let action = |target: &str| {
        json!({"name": "check_policy", "arguments": {"agent_id": "agent-7",
            "action_type": "db:delete", "target": target}})
    };
    let spec = json!({
        "command": [signet(), "serve"],
        "env": {"SIGNET_HOME": home.path(), "PATH": std::env::var("PATH").unwrap_or_default()},
        "calls": [action("prod/users"), action("staging/users"), action("prod/users"),
                  {"name": "list_actions", "arguments": {}}],
    });
    let report = run_client(&spec);
    let r = report["results"].as_array().unwrap();
    for i in [0, 2] {
        assert_eq!(r[i]["isError"], json!(false), "{}", r[i]);
        let s = &r[i]["structuredContent"];
        assert_eq!(s["decision"], "blocked", "{s}");
        assert_eq!(s["verdict"], "BLOCKED by no-prod-deletions", "{s}");
        assert_eq!(s["rules"], json!(["no-prod-deletions"]), "{s}");
        assert!(s["policy"].as_str().unwrap().starts_with("sha256"), "{s}");
        assert_eq!(s["categories"], json!(["data:delete:production"]), "{s}");
        assert_eq!(
            text(&r[i]),
            "BLOCKED by no-prod-deletions: deleting production data is forbidden"
        );
    }
    let s = &r[1]["structuredContent"];
    assert_eq!(s["decision"], "allowed", "{s}");
    assert_eq!(text(&r[1]), "ALLOWED");
    // Asking signs and logs nothing: the log holds only the start-up markers.
    let kinds: Vec<&str> = r[3]["structuredContent"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["lifecycle", "lifecycle"], "{}", r[3]);

    // An invalid policy: `signet serve` refuses to start, naming the file and line.
    std::fs::write(
        home.path().join("rules.cedar"),
        "forbid (principal, action, resource\n",
    )
    .unwrap();
    let o = home.run(&["serve"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("rules.cedar:") && err.contains("not starting"),
        "{err}"
    );
}
