//! End-to-end tests of the Streamable HTTP side with real peers (PEERS.md): the official
//! Python MCP SDK client → `signet proxy --listen … --upstream …` → `signet guard` → the
//! reference "everything" server over Streamable HTTP. Both logs must verify offline and
//! hold the same bilateral record (the agent's intent, the server's receipt) for every
//! call; the security defaults (Origin, Host, bearer token, size limits, the 2026-07-28
//! mirror headers) are checked with raw HTTP requests; and the official conformance suite
//! must give the same per-scenario results directly and through signet.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::expect_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]
#![expect(clippy::panic, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use signet_core::statement::{self, Intent, Outcome, Receipt};
use signet_log::entry::Entry;

mod support;

use support::{Home, free_port, peer_script, peers, python, root, wait_port};

/// A child process killed when dropped; its stderr collected for failure messages.
struct Proc {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    /// Ask it to stop (SIGTERM) and wait up to 10 s.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(50));
        self.stderr.lock().unwrap().clone()
    }
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawn `cmd` with stderr collected; `marker` (when given) is waited for in stderr and the
/// rest of that line returned.
fn spawn(mut cmd: Command, marker: Option<&str>) -> (Proc, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let text = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel::<String>();
    let sink = Arc::clone(&text);
    let marker_owned = marker.map(str::to_owned);
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if let Some(m) = &marker_owned
                && let Some(pos) = line.find(m.as_str())
            {
                let _ = tx.send(line[pos + m.len()..].to_owned());
            }
            let mut t = sink.lock().unwrap();
            t.push_str(&line);
            t.push('\n');
        }
    });
    let proc = Proc {
        child,
        stderr: text,
    };
    let found = match marker {
        Some(m) => match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(rest) => rest,
            Err(_) => panic!("`{m}` not seen; stderr:\n{}", proc.stderr()),
        },
        None => String::new(),
    };
    (proc, found)
}

/// The "everything" server over Streamable HTTP; its endpoint URL.
fn everything() -> (Proc, String) {
    let js = peers().join("js/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let port = free_port();
    let mut cmd = Command::new("node");
    cmd.arg(js)
        .arg("streamableHttp")
        .env("PORT", port.to_string());
    let (p, _) = spawn(cmd, None);
    wait_port(port, &|| p.stderr());
    (p, format!("http://127.0.0.1:{port}/mcp"))
}

/// What the HTTP tests add to a home: listeners.
trait Listen {
    /// `signet proxy|guard --listen 127.0.0.1:0 …`; the process and its endpoint URL.
    fn listen(&self, args: &[&str]) -> (Proc, String);
    /// The log's entries without their indices.
    fn log_entries(&self) -> Vec<Entry>;
}

impl Listen for Home {
    fn listen(&self, args: &[&str]) -> (Proc, String) {
        let mut all = args.to_vec();
        all.extend(["--listen", "127.0.0.1:0"]);
        let mut cmd = self.command(&all);
        cmd.env("SIGNET_LOG_LEVEL", "info");
        let (p, rest) = spawn(cmd, Some("listening on "));
        let url = rest.split_whitespace().next().unwrap().to_owned();
        (p, url)
    }
    fn log_entries(&self) -> Vec<Entry> {
        self.entries().into_iter().map(|(_, e)| e).collect()
    }
}

/// The Python SDK's Streamable HTTP client (handshake era): `Ok(report)` or `Err(stderr)`.
fn client(url: &str, headers: &[&str], calls: &Value) -> Result<Value, String> {
    client_in("handshake", url, headers, calls)
}

/// The Python SDK's Streamable HTTP client in an era (`handshake` / `modern`).
fn client_in(era: &str, url: &str, headers: &[&str], calls: &Value) -> Result<Value, String> {
    let mut cmd = Command::new(python());
    cmd.arg(peer_script("mcp_http_client.py"))
        .args(["--era", era])
        .arg(url);
    for h in headers {
        cmd.args(["--header", h]);
    }
    let o = cmd
        .arg(calls.to_string())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if o.status.success() {
        Ok(serde_json::from_slice(&o.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

fn calls() -> Value {
    json!([
        {"tool": "echo", "arguments": {"message": "hi"}},
        {"tool": "get-sum", "arguments": {"a": 2, "b": 3}},
        {"tool": "get-structured-content", "arguments": {"location": "Chicago"}},
    ])
}

/// A result without signet's receipt, for comparing with the direct one.
fn without_receipt(call: &Value) -> Value {
    let mut c = call.clone();
    if let Some(meta) = c.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("dev.signet/receipt");
    }
    if c["meta"].as_object().is_some_and(serde_json::Map::is_empty) {
        c["meta"] = Value::Null;
    }
    c
}

/// A Python-SDK MCP server (`tests/peers/py_server.py`) over Streamable HTTP.
fn py_server() -> (Proc, String) {
    let port = free_port();
    let mut cmd = Command::new(python());
    cmd.arg(peer_script("py_server.py"))
        .env("PY_SERVER_HTTP_PORT", port.to_string());
    let (p, _) = spawn(cmd, None);
    wait_port(port, &|| p.stderr());
    (p, format!("http://127.0.0.1:{port}/mcp"))
}

#[test]
fn agent_to_proxy_to_guard_to_server_gives_one_bilateral_record_per_call() {
    let (server, server_url) = everything();
    bilateral(server, &server_url, "handshake", &calls(), 3);
}

#[test]
fn the_stateless_era_goes_through_proxy_and_guard_too() {
    let (server, server_url) = py_server();
    let calls = json!([
        {"tool": "add", "arguments": {"a": 2, "b": 40}},
        {"tool": "fail", "arguments": {"reason": "on purpose"}},
    ]);
    bilateral(server, &server_url, "modern", &calls, 2);
}

/// Call `server_url` directly and through proxy → guard in `era`; the results must be the
/// same, each carrying the guard's receipt, and both logs must hold the same `n` pairs.
fn bilateral(server: Proc, server_url: &str, era: &str, calls: &Value, n: usize) {
    let direct = client_in(era, server_url, &[], calls).unwrap();
    if era == "modern" {
        assert_eq!(direct["protocol"], "2026-07-28");
    }

    let guard_home = Home::new();
    let (guard, guard_url) = guard_home.listen(&["guard", "--upstream", server_url]);
    let agent_home = Home::new();
    let guard_did = guard_home.did("gateway");
    let (proxy, proxy_url) = agent_home.listen(&[
        "proxy",
        "--upstream",
        &guard_url,
        "--server-key",
        &guard_did,
    ]);

    let through = client_in(era, &proxy_url, &[], calls).unwrap_or_else(|e| {
        panic!(
            "{e}\nproxy:\n{}\nguard:\n{}",
            proxy.stderr(),
            guard.stderr()
        )
    });
    assert_eq!(through["tools"], direct["tools"]);
    assert_eq!(through["protocol"], direct["protocol"]);
    let guard_key = guard_home.public_key("gateway");
    let mut receipts = Vec::new();
    for (d, t) in direct["calls"]
        .as_array()
        .unwrap()
        .iter()
        .zip(through["calls"].as_array().unwrap())
    {
        assert_eq!(without_receipt(t), *d, "same result through signet");
        let jws = t["meta"]["dev.signet/receipt"]
            .as_str()
            .unwrap_or_else(|| panic!("no receipt in {t}"));
        let v = statement::verify::<Receipt>(jws, None).unwrap();
        assert_eq!(
            v.key, guard_key,
            "the receipt is the server's (the guard's)"
        );
        let expected = if d["isError"] == true {
            Outcome::Failed
        } else {
            Outcome::Executed
        };
        assert_eq!(v.statement.outcome, expected);
        receipts.push(jws.to_owned());
    }
    assert!(proxy.stop().contains("listening on"));
    guard.stop();
    drop(server);

    // Both logs verify offline and hold the same pairs: the agent's intent and the
    // server's receipt that names it.
    agent_home.verify_log();
    guard_home.verify_log();
    let agent_key = agent_home.public_key("agent");
    // At the agent's side the guard's receipt is `remote` (its log index is in the guard's
    // log); at the guard it is its own.
    let pairs = |home: &Home, remote: bool| -> Vec<(String, String)> {
        let entries = home.log_entries();
        let intents: Vec<&str> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Intent(i) => Some(i.jws.as_str()),
                _ => None,
            })
            .collect();
        entries
            .iter()
            .filter_map(|e| match e {
                Entry::Receipt(r) => {
                    assert_eq!(r.remote, remote);
                    Some(r.jws.clone())
                }
                _ => None,
            })
            .map(|r| {
                let v = statement::verify::<Receipt>(&r, None).unwrap();
                assert_eq!(v.key, guard_key);
                let intent = intents
                    .iter()
                    .find(|i| statement::intent_digest(i) == v.statement.intent)
                    .unwrap_or_else(|| panic!("no intent for receipt {r}"));
                let vi = statement::verify::<Intent>(intent, None).unwrap();
                assert_eq!(vi.key, agent_key, "the intent is the agent's");
                // The handshake era's `Mcp-Session-Id` is signed into the intent.
                assert_eq!(vi.statement.session.is_some(), era == "handshake");
                assert_eq!(vi.statement.aud.as_str(), guard_url);
                ((*intent).to_owned(), r)
            })
            .collect()
    };
    let at_agent = pairs(&agent_home, true);
    let at_server = pairs(&guard_home, false);
    assert_eq!(at_agent.len(), n);
    assert_eq!(
        at_agent, at_server,
        "both sides logged the same bilateral records"
    );
    let logged: Vec<&String> = at_agent.iter().map(|(_, r)| r).collect();
    assert_eq!(logged, receipts.iter().collect::<Vec<_>>());

    // One record exported with its proof verifies with only the log's public key.
    let bundle = agent_home.path().join("bundle.json");
    let o = agent_home.run(&["log", "prove", "1", "--out", bundle.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = agent_home.run(&["verify", bundle.to_str().unwrap()]);
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with("VALID"),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn unsigned_calls_and_receipts_from_unpinned_keys_are_refused() {
    let (_server, server_url) = everything();
    let guard_home = Home::new();
    let (guard, guard_url) = guard_home.listen(&["guard", "--upstream", &server_url]);

    // Straight to the guard, unsigned: refused with a signed denial, never run.
    let r = client(
        &guard_url,
        &[],
        &json!([{"tool": "echo", "arguments": {"message": "x"}}]),
    )
    .unwrap();
    let c = &r["calls"][0];
    assert_eq!(c["isError"], true);
    let text = c["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("BLOCKED by require-signatures"), "{text}");
    let v = statement::verify::<Receipt>(c["meta"]["dev.signet/receipt"].as_str().unwrap(), None)
        .unwrap();
    assert_eq!(v.statement.outcome, Outcome::Denied);

    // A proxy that pins another key: the guard's receipt is not accepted; the result is
    // withheld and the call attested as failed by the proxy.
    let agent_home = Home::new();
    let wrong = agent_home.did("log");
    let (proxy, proxy_url) =
        agent_home.listen(&["proxy", "--upstream", &guard_url, "--server-key", &wrong]);
    let err = client(
        &proxy_url,
        &[],
        &json!([{"tool": "echo", "arguments": {"message": "y"}}]),
    )
    .expect_err("the result must be withheld");
    assert!(err.contains("not a pinned server key"), "{err}");

    // The agent's signed call, replayed straight to the guard: the nonce was used.
    let (jws, args) = agent_home
        .log_entries()
        .into_iter()
        .find_map(|e| match e {
            Entry::Intent(i) => Some((i.jws, i.arguments.unwrap())),
            _ => None,
        })
        .unwrap();
    let sid = session(&guard_url);
    let replay = json!({
        "jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "echo", "arguments": args, "_meta": {"dev.signet/intent": jws}},
    });
    let (status, _, body) = read_all(post_in_session(&guard_url, &sid, &replay.to_string()));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let text = answer["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("BLOCKED by invalid-signature"), "{text}");
    assert!(text.contains("replayed: nonce"), "{text}");
    proxy.stop();
    guard.stop();
    agent_home.verify_log();
    let own = agent_home.public_key("gateway");
    let failed = agent_home.log_entries().iter().any(|e| match e {
        Entry::Receipt(r) => {
            let v = statement::verify::<Receipt>(&r.jws, None).unwrap();
            v.key == own && v.statement.outcome == Outcome::Failed
        }
        _ => false,
    });
    assert!(failed, "the proxy attested the call as failed");
}

/// One raw HTTP/1.1 request; the status code and body.
fn raw(url: &str, method: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let (status, _, body) = raw_full(url, method, headers, body);
    (status, body)
}

/// Send one raw HTTP/1.1 request (`connection: close`) on a new connection.
fn send_raw(url: &str, method: &str, headers: &[(&str, &str)], body: &str) -> TcpStream {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let addr: SocketAddr = host.parse().unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nconnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("host: {host}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!(
        "content-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ));
    s.write_all(req.as_bytes()).unwrap();
    s
}

/// POST `body` in the handshake-era session `sid`; the connection, to read the answer from.
fn post_in_session(url: &str, sid: &str, body: &str) -> TcpStream {
    send_raw(
        url,
        "POST",
        &[
            ("mcp-session-id", sid),
            ("mcp-protocol-version", "2025-06-18"),
        ],
        body,
    )
}

/// A handshake-era session (`initialize`, `notifications/initialized`); its id.
fn session(url: &str) -> String {
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let (status, head, body) = raw_full(url, "POST", &[], init);
    assert_eq!(status, 200, "{head}{body}");
    let id = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("mcp-session-id")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no session id in {head}"));
    let (status, ..) = read_all(post_in_session(
        url,
        &id,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    ));
    assert_eq!(status, 202);
    id
}

/// One raw HTTP/1.1 request; the status code, head and body.
fn raw_full(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    read_all(send_raw(url, method, headers, body))
}

/// Read an answer to its end (the requests say `connection: close`): status, head, body.
fn read_all(mut s: TcpStream) -> (u16, String, String) {
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text}"));
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_owned(), body.to_owned())
}

#[test]
fn server_sent_events_are_relayed_as_they_stream() {
    let (_server, server_url) = everything();
    let guard_home = Home::new();
    let (guard, guard_url) = guard_home.listen(&["guard", "--upstream", &server_url]);
    let agent_home = Home::new();
    let guard_did = guard_home.did("gateway");
    let (proxy, proxy_url) = agent_home.listen(&[
        "proxy",
        "--upstream",
        &guard_url,
        "--server-key",
        &guard_did,
    ]);
    let sid = session(&proxy_url);
    // Three progress notifications one second apart, then the result: through proxy and
    // guard each must arrive when the server sends it, not all at the end.
    let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"trigger-long-running-operation","arguments":{"duration":3,"steps":3},"_meta":{"progressToken":"p1"}}}"#;
    let stream = post_in_session(&proxy_url, &sid, call);
    let mut seen: Vec<(Instant, String)> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        if let Some(data) = line.strip_prefix("data: ") {
            seen.push((Instant::now(), data.to_owned()));
        } else if let Some(id) = line.strip_prefix("id: ") {
            ids.push(id.to_owned());
        }
    }
    let progress: Vec<&(Instant, String)> = seen
        .iter()
        .filter(|(_, d)| d.contains("notifications/progress"))
        .collect();
    assert_eq!(
        progress.len(),
        3,
        "{seen:?}\n{}\n{}",
        proxy.stderr(),
        guard.stderr()
    );
    let (done, result) = seen.last().unwrap();
    let result: Value = serde_json::from_str(result).unwrap();
    assert!(
        result["result"]["_meta"]["dev.signet/receipt"].is_string(),
        "{result}"
    );
    // The server sleeps a second per step: a relay that buffered the stream would deliver
    // the first notification together with the result.
    let gap = done.duration_since(progress[0].0);
    assert!(
        gap >= Duration::from_millis(1500),
        "the first progress notification came only {gap:?} before the result"
    );

    // Resumption (handshake era): a GET with `Last-Event-ID` = the first event's id gets
    // the rest of the stream again, through proxy and guard, ids kept.
    assert_eq!(ids.len(), 4, "{ids:?}");
    let get = send_raw(
        &proxy_url,
        "GET",
        &[
            ("mcp-session-id", &sid),
            ("mcp-protocol-version", "2025-06-18"),
            ("last-event-id", &ids[0]),
        ],
        "",
    );
    get.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut replay = String::new();
    for line in BufReader::new(get).lines() {
        let Ok(line) = line else { break }; // the stream stays open: stop at the timeout
        replay.push_str(&line);
        replay.push('\n');
        if line.contains(r#""id":2"#) {
            break;
        }
    }
    for id in &ids[1..] {
        assert!(
            replay.contains(&format!("id: {id}")),
            "{id} not replayed:\n{replay}"
        );
    }
    assert!(!replay.contains(&format!("id: {}", ids[0])), "{replay}");
    proxy.stop();
    guard.stop();
}

#[test]
fn the_listener_refuses_what_it_should() {
    let (_server, server_url) = everything();
    let home = Home::new();
    let mut cmd = home.command(&[
        "proxy",
        "--upstream",
        &server_url,
        "--bearer-token-env",
        "TEST_TOKEN",
        "--max-message-bytes",
        "4096",
        "--listen",
        "127.0.0.1:0",
    ]);
    cmd.env("TEST_TOKEN", "0123456789abcdef-token");
    let (proxy, rest) = spawn(cmd, Some("listening on "));
    let url = rest.split_whitespace().next().unwrap().to_owned();
    let auth = ("authorization", "Bearer 0123456789abcdef-token");
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"m"}}}"#;

    // No token, a wrong token.
    assert_eq!(raw(&url, "POST", &[], init).0, 401);
    assert_eq!(
        raw(&url, "POST", &[("authorization", "Bearer nope")], init).0,
        401
    );
    // A browser page from elsewhere (DNS rebinding / CSRF), a rebound Host name.
    let (status, body) = raw(
        &url,
        "POST",
        &[auth, ("origin", "http://evil.example")],
        init,
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("origin `http://evil.example` is not allowed"),
        "{body}"
    );
    assert_eq!(
        raw(&url, "POST", &[auth, ("host", "evil.example:80")], init).0,
        403
    );
    // Too large.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"echo","arguments":{{"message":"{}"}}}}}}"#,
        "x".repeat(5000)
    );
    assert_eq!(raw(&url, "POST", &[auth], &big).0, 413);
    // 2026-07-28 mirror headers that disagree with the body, or are missing.
    let (status, body) = raw(
        &url,
        "POST",
        &[auth, ("mcp-method", "tools/call"), ("mcp-name", "get-env")],
        call,
    );
    assert_eq!(status, 400, "{body}");
    let e: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["error"]["code"], -32020);
    assert_eq!(e["id"], 2);
    let (status, _) = raw(
        &url,
        "POST",
        &[auth, ("mcp-protocol-version", "2026-07-28")],
        call,
    );
    assert_eq!(status, 400);
    // Another path; a method MCP does not use.
    assert_eq!(raw(&url, "POST", &[auth], "{}").0 / 100, 4);
    let other = url.replace("/mcp", "/other");
    assert_eq!(raw(&other, "POST", &[auth], init).0, 404);
    assert_eq!(raw(&url, "PUT", &[auth], init).0, 405);
    // None of the refused calls reached the log.
    assert!(
        !home
            .log_entries()
            .iter()
            .any(|e| matches!(e, Entry::Intent(_))),
        "a refused request left an intent"
    );

    // With the token, a real client works (and gets receipts).
    let r = client(
        &url,
        &["Authorization: Bearer 0123456789abcdef-token"],
        &json!([{"tool": "echo", "arguments": {"message": "ok"}}]),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", proxy.stderr()));
    assert_eq!(r["calls"][0]["content"][0]["text"], "Echo: ok");
    assert!(r["calls"][0]["meta"]["dev.signet/receipt"].is_string());
    proxy.stop();
    home.verify_log();
}

fn conformance(url: &str, out: &Path) -> Vec<(String, String)> {
    let o = Command::new(root().join("scripts/conformance.sh"))
        .arg(url)
        .arg(out)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "conformance.sh: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}

#[test]
fn the_conformance_suite_gives_the_same_results_through_signet() {
    let (_server, server_url) = everything();
    let tmp = tempfile::tempdir().unwrap();
    let direct = conformance(&server_url, &tmp.path().join("direct.txt"));
    assert!(direct.len() >= 30, "{direct:?}");

    let guard_home = Home::new();
    let (guard, guard_url) = guard_home.listen(&["guard", "--upstream", &server_url]);
    let agent_home = Home::new();
    let guard_did = guard_home.did("gateway");
    let (proxy, proxy_url) = agent_home.listen(&["proxy", "--upstream", &server_url]);
    let (chain, chain_url) = agent_home.listen(&[
        "proxy",
        "--upstream",
        &guard_url,
        "--server-key",
        &guard_did,
    ]);
    // (Both proxies write the same log file, as two proxies in one client config do.)

    // The server accepts any Host (its dns-rebinding-protection scenario fails directly);
    // signet refuses a non-loopback Host on a loopback listener, so that one passes.
    let expected: Vec<(String, String)> = direct
        .iter()
        .map(|(s, v)| {
            let v = if s == "dns-rebinding-protection" {
                "PASS"
            } else {
                v
            };
            (s.clone(), v.to_owned())
        })
        .collect();
    let through_proxy = conformance(&proxy_url, &tmp.path().join("proxy.txt"));
    assert_eq!(through_proxy, expected, "proxy\n{}", proxy.stderr());
    let through_both = conformance(&chain_url, &tmp.path().join("chain.txt"));
    assert_eq!(
        through_both,
        expected,
        "proxy + guard\n{}\n{}",
        chain.stderr(),
        guard.stderr()
    );
    proxy.stop();
    chain.stop();
    guard.stop();
    agent_home.verify_log();
    guard_home.verify_log();
    // The suite's tool calls went through signet: intents and receipts on every side.
    let count = |entries: Vec<Entry>| {
        let intents = entries
            .iter()
            .filter(|e| matches!(e, Entry::Intent(_)))
            .count();
        let receipts = entries
            .iter()
            .filter(|e| matches!(e, Entry::Receipt(_)))
            .count();
        (intents, receipts)
    };
    let (i, r) = count(agent_home.log_entries());
    assert!(i >= 10 && r >= i, "proxy log: {i} intents, {r} receipts");
    let (i, r) = count(guard_home.log_entries());
    assert!(i >= 10 && r >= i, "guard log: {i} intents, {r} receipts");
}

/// A CA and a server certificate for 127.0.0.1 signed by it (openssl); the CA's PEM path
/// and the server's certificate and key paths.
fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=signet test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

#[test]
fn an_https_upstream_is_reached_over_verified_tls() {
    let (_server, server_url) = everything();
    let server_port: u16 = server_url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/mcp")
        .parse()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki(tmp.path());
    let tls_port = free_port();
    let mut cmd = Command::new(python());
    cmd.arg(peer_script("tls_relay.py"))
        .arg(tls_port.to_string())
        .arg(server_port.to_string())
        .arg(&cert)
        .arg(&key);
    let (_relay, _) = spawn(cmd, Some("ready"));
    let https_url = format!("https://127.0.0.1:{tls_port}/mcp");
    let echo = json!([{"tool": "echo", "arguments": {"message": "over tls"}}]);

    // Trusting the test CA: the call goes through and is attested.
    let home = Home::new();
    let (proxy, url) = home.listen(&[
        "proxy",
        "--upstream",
        &https_url,
        "--upstream-ca",
        ca.to_str().unwrap(),
    ]);
    let r = client(&url, &[], &echo).unwrap_or_else(|e| panic!("{e}\n{}", proxy.stderr()));
    assert_eq!(r["calls"][0]["content"][0]["text"], "Echo: over tls");
    assert!(r["calls"][0]["meta"]["dev.signet/receipt"].is_string());
    proxy.stop();
    home.verify_log();

    // With the default (Mozilla) roots the test CA is unknown: nothing reaches the server.
    let other = Home::new();
    let (proxy, url) = other.listen(&["proxy", "--upstream", &https_url]);
    let err = client(&url, &[], &echo).expect_err("an untrusted certificate must fail");
    assert!(!err.is_empty());
    let stderr = proxy.stop();
    assert!(
        stderr.contains("could not be reached") && stderr.to_lowercase().contains("certificate"),
        "{stderr}"
    );
}

#[test]
fn the_guard_enforces_its_policy_and_the_proxy_passes_on_its_signed_refusal() {
    let (_server, server_url) = everything();
    let guard_home = Home::new();
    std::fs::write(
        guard_home.path().join("no-sums.cedar"),
        "@id(\"no-sums\")\n@reason(\"this server does no arithmetic\")\n\
         forbid (principal, action == Signet::Action::\"call_tool\", resource)\n\
         when { resource.name == \"get-sum\" };\n",
    )
    .unwrap();
    std::fs::write(
        guard_home.path().join("signet.toml"),
        "[policy]\nfiles = [\"no-sums.cedar\"]\n",
    )
    .unwrap();
    let (guard, guard_url) = guard_home.listen(&["guard", "--upstream", &server_url]);
    let agent_home = Home::new();
    let guard_did = guard_home.did("gateway");
    let (proxy, proxy_url) = agent_home.listen(&[
        "proxy",
        "--upstream",
        &guard_url,
        "--server-key",
        &guard_did,
    ]);
    let r = client(
        &proxy_url,
        &[],
        &json!([
            {"tool": "get-sum", "arguments": {"a": 1, "b": 2}},
            {"tool": "echo", "arguments": {"message": "allowed"}},
        ]),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}\n{}", proxy.stderr(), guard.stderr()));
    let refused = &r["calls"][0];
    assert_eq!(refused["isError"], true);
    let text = refused["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("BLOCKED by no-sums: this server does no arithmetic"),
        "{text}"
    );
    let v = statement::verify::<Receipt>(
        refused["meta"]["dev.signet/receipt"].as_str().unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(
        v.key,
        guard_home.public_key("gateway"),
        "the guard's refusal"
    );
    assert_eq!(v.statement.outcome, Outcome::Denied);
    assert_eq!(v.statement.decision.rules, vec!["no-sums".to_owned()]);
    assert_eq!(r["calls"][1]["content"][0]["text"], "Echo: allowed");
    proxy.stop();
    guard.stop();
    agent_home.verify_log();
    guard_home.verify_log();
}

#[test]
fn a_client_that_goes_away_does_not_leave_a_call_unattested() {
    let (_server, server_url) = everything();
    let home = Home::new();
    let (proxy, url) = home.listen(&["proxy", "--upstream", &server_url]);
    let sid = session(&url);
    // A two-second call with a progress notification each second; the client hangs up half
    // a second in (the call was forwarded by then), so relaying the first notification
    // fails: the stream must still be read to its end and the result attested.
    let call = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"trigger-long-running-operation","arguments":{"duration":2,"steps":2},"_meta":{"progressToken":"p"}}}"#;
    let stream = post_in_session(&url, &sid, call);
    std::thread::sleep(Duration::from_millis(500));
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop(stream);
    // The server finishes the call after two seconds; the proxy still attests it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let executed = loop {
        let found = home.log_entries().iter().any(|e| match e {
            Entry::Receipt(r) => {
                statement::verify::<Receipt>(&r.jws, None)
                    .unwrap()
                    .statement
                    .outcome
                    == Outcome::Executed
            }
            _ => false,
        });
        if found || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        executed,
        "no receipt for the abandoned call\n{:?}\n{}",
        home.log_entries(),
        proxy.stderr()
    );
    proxy.stop();
    home.verify_log();
}
