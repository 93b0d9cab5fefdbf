//! The client configurations in docs/clients.md and the README are valid: every JSON block
//! parses, every server entry runs `signet proxy … -- <command>`, and the `signet` argument
//! lists parse with the real CLI (`signet proxy --help`-level check via clap: the binary
//! accepts them up to the server command).

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]
#![expect(clippy::panic, reason = "tests")]

use std::path::Path;

fn json_blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        match (&mut cur, line.trim_start()) {
            (None, "```json") => cur = Some(String::new()),
            (Some(b), "```") => {
                out.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

fn check_file(rel: &str) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut servers = 0;
    for block in json_blocks(&text) {
        let v: serde_json::Value = serde_json::from_str(&block)
            .unwrap_or_else(|e| panic!("{rel}: invalid JSON ({e}):\n{block}"));
        let Some(map) = v["mcpServers"].as_object() else {
            continue;
        };
        for (name, s) in map {
            assert_eq!(s["command"], "signet", "{rel} {name}");
            let args: Vec<&str> = s["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            if args[0] == "serve" {
                // `signet serve` (its own MCP server): checked by serve_e2e.rs.
                continue;
            }
            assert_eq!(args[0], "proxy", "{rel} {name}");
            let sep = args.iter().position(|a| *a == "--").unwrap();
            assert!(sep + 1 < args.len(), "{rel} {name}: no server command");
            // The proxy flags before `--` are accepted by the real CLI: run it with a server
            // command that exits at once, with no stdin, in an empty SIGNET_HOME.
            let home = tempfile::tempdir().unwrap();
            let mut flags: Vec<&str> = args[..=sep].to_vec();
            flags.push("true");
            let o = std::process::Command::new(env!("CARGO_BIN_EXE_signet"))
                .args(&flags)
                .env("SIGNET_HOME", home.path())
                .env_remove("SIGNET_LOG")
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{rel} {name}: {flags:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            servers += 1;
        }
    }
    servers
}

#[test]
fn client_configs_in_the_docs_are_valid() {
    assert!(check_file("docs/clients.md") >= 4);
    assert!(check_file("README.md") >= 1);
}
