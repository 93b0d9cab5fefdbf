//! `signet serve` over the real MCP protocol (rmcp on an in-memory pipe, JSON-RPC lines
//! written by hand, handshake era): the `tools/list` answer and representative results of
//! every tool, good and bad input, compared with checked-in JSON snapshots in
//! `tests/snapshots/`. Keys, clock and nonces are fixed, so every byte is reproducible.
//!
//! Regenerate after an intended change with `SIGNET_UPDATE_SNAPSHOTS=1 cargo test -p
//! signet-mcp --test serve_snapshots`, and review the diff.
//!
//! Also pins down what rmcp does with bad input through our handler: missing fields and
//! wrong types are `isError` tool results, only an unknown tool is a JSON-RPC error.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]
#![expect(clippy::panic, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use signet_core::alg::{Algorithm, SigningKey};
use signet_core::replay::UnixTime;
use signet_core::statement::{Audience, Decision, Effect};
use signet_log::log::Log;
use signet_log::note::NoteVerifier;
use signet_log::sqlite::SqliteStore;
use signet_log::writer;
use signet_mcp::serve::{
    self, CancellationToken, PolicyAnswer, PolicyEvaluate, PolicyQuery, ServeContext, SignetServer,
};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

const NOW: i64 = 1_800_000_000;
const ORIGIN: &str = "test.example/signet";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(Algorithm::Ed25519, &[seed; 32]).unwrap()
}

/// A policy that blocks deletions of production targets and wants approval for payments.
struct FakePolicy;

impl PolicyEvaluate for FakePolicy {
    fn evaluate(&self, q: &PolicyQuery<'_>) -> Result<PolicyAnswer, String> {
        let target = q.arguments["target"].as_str().unwrap_or_default();
        let (effect, rules, reason) = if q.tool == "db:delete" && target.contains("prod") {
            (
                Effect::Deny,
                vec!["no-prod-deletions".to_owned()],
                "production data is never deleted by agents",
            )
        } else if q.tool.starts_with("payment:") {
            (
                Effect::ApprovalRequired,
                vec!["payments-need-approval".to_owned()],
                "a human approves every payment",
            )
        } else if q.tool == "policy:broken" {
            return Err("the rate-limit store is unavailable".into());
        } else {
            (Effect::Allow, vec![], "")
        };
        Ok(PolicyAnswer {
            decision: Decision {
                effect,
                rules,
                policy: None,
            },
            reason: reason.to_owned(),
            categories: vec![q.tool.split(':').next().unwrap_or_default().to_owned()],
        })
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    server: SignetServer,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signet.db");
    let log_key = key(2);
    let verifier = NoteVerifier::from_signing_key(ORIGIN, &log_key).unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let log = Log::open(store, log_key, ORIGIN, UnixTime(NOW), "snapshot test").unwrap();
    let (handle, _writer) = writer::spawn(log).unwrap();
    let ctx = ServeContext {
        audience: Audience::new("signet:serve").unwrap(),
        agent: Ok(key(1)),
        sink: Box::new(handle),
        log_path: Some(path),
        log_key: Some(verifier),
        policy: Some(Box::new(FakePolicy)),
        clock: Arc::new(|| UnixTime(NOW)),
        random: Arc::new(|| Ok([7u8; 16])),
    };
    Fixture {
        _dir: dir,
        server: SignetServer::new(Arc::new(ctx)),
    }
}

/// A hand-written MCP client on an in-memory pipe.
struct Client {
    write: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    read: BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>,
    next_id: u64,
}

impl Client {
    async fn start(server: SignetServer) -> Self {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let (sr, sw) = tokio::io::split(theirs);
        tokio::spawn(async move {
            serve::serve_io(server, (sr, sw), CancellationToken::new())
                .await
                .unwrap();
        });
        let (r, w) = tokio::io::split(ours);
        let mut c = Client {
            write: w,
            read: BufReader::new(r),
            next_id: 1,
        };
        let init = c
            .request(
                "initialize",
                json!({"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "snapshot-test", "version": "0"}}),
            )
            .await;
        assert_eq!(init["result"]["serverInfo"]["name"], "signet", "{init}");
        c.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        c
    }

    async fn send(&mut self, msg: &Value) {
        let mut line = serde_json::to_vec(msg).unwrap();
        line.push(b'\n');
        self.write.write_all(&line).await.unwrap();
        self.write.flush().await.unwrap();
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let mut line = String::new();
            let n = self.read.read_line(&mut line).await.unwrap();
            assert!(n > 0, "server closed the pipe");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.get("id") == Some(&json!(id)) {
                return v;
            }
        }
    }

    async fn call(&mut self, name: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
            .await
    }
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Compare `actual` with the snapshot `name`, or write it when `SIGNET_UPDATE_SNAPSHOTS` is
/// set.
fn check_snapshot(name: &str, actual: &Value) {
    let path = snapshot_dir().join(name);
    let text = format!(
        "{}\n",
        serde_json::to_string_pretty(&signet_core::canon::sorted_members(actual.clone())).unwrap()
    );
    if std::env::var_os("SIGNET_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(snapshot_dir()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot `{}`: run with SIGNET_UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    if expected != text {
        let first = expected
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(text.lines().count()));
        panic!(
            "`{}` differs from the snapshot at line {}:\n  snapshot: {}\n  actual:   {}\n(if intended: SIGNET_UPDATE_SNAPSHOTS=1 cargo test -p signet-mcp --test serve_snapshots)",
            path.display(),
            first + 1,
            expected.lines().nth(first).unwrap_or("<end>"),
            text.lines().nth(first).unwrap_or("<end>")
        );
    }
}

fn is_tool_error(resp: &Value) -> bool {
    resp["result"]["isError"] == json!(true)
}

fn text_of(resp: &Value) -> String {
    resp["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_list_snapshot() {
    let f = fixture();
    let mut c = Client::start(f.server.clone()).await;
    let list = c.request("tools/list", json!({})).await;
    let tools = list["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "sign_action",
            "check_policy",
            "verify_signature",
            "list_actions",
            "verify_log",
            "prove_action",
            "get_identity"
        ]
    );
    for t in tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert_eq!(t["outputSchema"]["type"], "object", "{t}");
    }
    check_snapshot("tools_list.json", &list["result"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_results_snapshot() {
    let f = fixture();
    let mut c = Client::start(f.server.clone()).await;
    let mut record = Vec::new();

    let sign_args = json!({"agent_id": "agent-7", "action_type": "file:read",
                           "target": "/src/main.py", "payload": {"lines": [1, 20]}});
    let signed = c.call("sign_action", sign_args.clone()).await;
    assert!(!is_tool_error(&signed), "{signed}");
    let sc = signed["result"]["structuredContent"].clone();
    let jws = sc["jws"].as_str().unwrap().to_owned();
    let id = sc["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sig_"));
    record.push(json!({"call": ["sign_action", sign_args], "result": signed["result"]}));

    let mut push = |name: &str, args: Value, resp: &Value| {
        record.push(
            json!({"call": [name, args], "result": resp["result"], "error": resp.get("error")}),
        );
    };

    let calls: Vec<(&str, Value)> = vec![
        ("get_identity", json!({})),
        ("verify_signature", json!({"record": jws})),
        (
            "verify_signature",
            json!({"record": jws, "audience": "other-server"}),
        ),
        (
            "check_policy",
            json!({"agent_id": "agent-7", "action_type": "db:delete", "target": "prod/users"}),
        ),
        (
            "check_policy",
            json!({"agent_id": "agent-7", "action_type": "payment:send", "target": "acct-1", "payload": {"eur": 10}}),
        ),
        (
            "check_policy",
            json!({"agent_id": "agent-7", "action_type": "file:read", "target": "/src/main.py"}),
        ),
        ("list_actions", json!({"limit": 5})),
        ("verify_log", json!({})),
    ];
    for (name, args) in calls {
        let r = c.call(name, args.clone()).await;
        assert!(!is_tool_error(&r), "{name} {args}: {r}");
        push(name, args, &r);
    }

    let proof = c.call("prove_action", json!({"id": id})).await;
    assert!(!is_tool_error(&proof), "{proof}");
    push("prove_action", json!({"id": id}), &proof);
    let bundle = proof["result"]["structuredContent"]["bundle"].clone();
    let vb = c.call("verify_signature", json!({"record": bundle})).await;
    assert_eq!(
        vb["result"]["structuredContent"]["verdict"], "VALID",
        "{vb}"
    );
    push(
        "verify_signature",
        json!({"record": "<the bundle above>"}),
        &vb,
    );

    // A signature with one character changed: INVALID with the reason, not an error.
    let mut chars: Vec<char> = jws.chars().collect();
    let last = chars.len() - 2;
    chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let bad_sig = c
        .call("verify_signature", json!({"record": tampered}))
        .await;
    assert!(!is_tool_error(&bad_sig), "{bad_sig}");
    assert_eq!(bad_sig["result"]["structuredContent"]["verdict"], "INVALID");
    push(
        "verify_signature",
        json!({"record": "<the jws, one signature character changed>"}),
        &bad_sig,
    );

    // Bad input: every one an isError tool result whose text says what is wrong.
    let bad: Vec<(&str, Value, &str)> = vec![
        (
            "sign_action",
            json!({"agent_id": "a", "action_type": "file:read"}),
            "missing field `target`",
        ),
        (
            "sign_action",
            json!({"agent_id": 7, "action_type": "file:read", "target": "/x"}),
            "`agent_id` must be a string, got a number",
        ),
        (
            "sign_action",
            json!({"agent_id": "a", "action_type": "", "target": "/x"}),
            "`action_type` must not be empty",
        ),
        (
            "sign_action",
            json!({"agent_id": "a", "action_type": "file:read", "target": "/x", "extra": 1}),
            "unknown field `extra`",
        ),
        (
            "check_policy",
            json!({"agent_id": "a", "action_type": "policy:broken", "target": "/x"}),
            "the policy could not be evaluated",
        ),
        ("verify_signature", json!({}), "missing field `record`"),
        (
            "verify_signature",
            json!({"record": 42}),
            "`record` must be a string or an object, got a number",
        ),
        (
            "verify_signature",
            json!({"record": "garbage.not.ajws"}),
            "INVALID: not a valid signet jws",
        ),
        (
            "verify_signature",
            json!({"record": jws, "signer": "did:key:nope"}),
            "`signer` is not a valid did:key",
        ),
        (
            "list_actions",
            json!({"limit": "ten"}),
            "`limit` must be a non-negative integer, got a string",
        ),
        (
            "list_actions",
            json!({"limit": 0}),
            "`limit` must be between 1 and 500",
        ),
        ("prove_action", json!({}), "missing field `id`"),
        (
            "prove_action",
            json!({"id": "sig_ffffffffffff"}),
            "no entry with id `sig_ffffffffffff`",
        ),
        ("prove_action", json!({"id": 9999}), "no entry 9999"),
        (
            "verify_log",
            json!({"deep": true}),
            "unknown field `deep`; this tool takes no arguments",
        ),
    ];
    for (name, args, want) in bad {
        let r = c.call(name, args.clone()).await;
        assert!(
            r.get("error").is_none(),
            "{name} {args}: JSON-RPC error {r}"
        );
        assert!(is_tool_error(&r), "{name} {args}: {r}");
        assert!(
            text_of(&r).contains(want),
            "{name} {args}: `{}` lacks `{want}`",
            text_of(&r)
        );
        push(name, args, &r);
    }

    // Only an unknown tool is a JSON-RPC error.
    let unknown = c.call("delete_log", json!({})).await;
    assert!(unknown.get("error").is_some(), "{unknown}");
    push("delete_log", json!({}), &unknown);
    // Arguments that are not an object are refused by rmcp itself (JSON-RPC error).
    let not_obj = c
        .request(
            "tools/call",
            json!({"name": "sign_action", "arguments": [1, 2]}),
        )
        .await;
    push("sign_action", json!("<arguments: [1, 2]>"), &not_obj);

    check_snapshot("tool_results.json", &Value::Array(record));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_closed_without_key_or_log() {
    let ctx = ServeContext {
        audience: Audience::new("signet:serve").unwrap(),
        agent: Err("cannot read `/nope/agent.key`".into()),
        sink: Box::new(signet_mcp::gateway::Unavailable("the log is locked".into())),
        log_path: None,
        log_key: None,
        policy: None,
        clock: Arc::new(|| UnixTime(NOW)),
        random: Arc::new(|| Ok([7u8; 16])),
    };
    let mut c = Client::start(SignetServer::new(Arc::new(ctx))).await;
    let args = json!({"agent_id": "a", "action_type": "file:read", "target": "/x"});
    let r = c.call("sign_action", args.clone()).await;
    assert!(is_tool_error(&r));
    assert!(
        text_of(&r).contains("the agent key could not be loaded"),
        "{r}"
    );
    let r = c.call("check_policy", args).await;
    assert!(is_tool_error(&r));
    assert!(text_of(&r).contains("no policy is configured"), "{r}");
    for name in ["list_actions", "verify_log"] {
        let r = c.call(name, json!({})).await;
        assert!(is_tool_error(&r), "{name}: {r}");
    }

    // A key but no log: nothing is signed into thin air.
    let ctx = ServeContext {
        audience: Audience::new("signet:serve").unwrap(),
        agent: Ok(key(1)),
        sink: Box::new(signet_mcp::gateway::Unavailable("the log is locked".into())),
        log_path: None,
        log_key: None,
        policy: None,
        clock: Arc::new(|| UnixTime(NOW)),
        random: Arc::new(|| Ok([7u8; 16])),
    };
    let mut c = Client::start(SignetServer::new(Arc::new(ctx))).await;
    let r = c
        .call(
            "sign_action",
            json!({"agent_id": "a", "action_type": "file:read", "target": "/x"}),
        )
        .await;
    assert!(is_tool_error(&r));
    assert!(
        text_of(&r).contains("the audit log cannot be written (the log is locked)"),
        "{r}"
    );
    assert!(r["result"].get("structuredContent").is_none(), "{r}");
}
