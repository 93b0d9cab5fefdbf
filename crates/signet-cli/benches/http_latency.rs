//! Added latency of the Streamable HTTP side: the same client calling the reference
//! "everything" server (`streamableHttp`, PEERS.md) directly, through `signet proxy` alone,
//! and through `signet proxy` → `signet guard` → the server (the proxy signs the intent, the guard verifies it and
//! signs the receipt, the proxy verifies the receipt; both logs durable: WAL,
//! synchronous=FULL, every intent and receipt committed before the call / result moves on).
//!
//! The client is this harness: one keep-alive HTTP/1.1 connection per path, a handshake-era
//! session (`initialize`, `Mcp-Session-Id`), and
//! `tools/call echo` with an 800-byte message, `SIGNET_BENCH_CALLS` times (default 1000)
//! after 100 warm-up calls. Reports p50 / p99 / max round trip for both and the difference.
//! `SIGNET_BENCH_DIR` picks where the logs live (default `/tmp`). Needs the peers
//! (`scripts/install-peers.sh`).
//!
//! Run: `cargo bench -p signet-cli --bench http_latency`

#![expect(clippy::unwrap_used, reason = "bench harness")]
#![expect(clippy::expect_used, reason = "bench harness")]
#![expect(clippy::print_stdout, reason = "bench harness")]
#![expect(clippy::indexing_slicing, reason = "bench harness")]
#![expect(clippy::arithmetic_side_effects, reason = "bench harness")]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One keep-alive HTTP/1.1 connection to an MCP endpoint.
struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
    path: String,
}

impl Conn {
    fn new(url: &str) -> Self {
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let s = TcpStream::connect(host).unwrap();
        s.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(s),
            host: host.to_owned(),
            path: path.to_owned(),
        }
    }

    /// POST `body`; the response head and body (Content-Length or chunked).
    fn post(&mut self, session: Option<&str>, body: &str) -> (String, String) {
        let mut req = format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nmcp-protocol-version: 2025-06-18\r\ncontent-length: {}\r\n",
            self.path,
            self.host,
            body.len()
        );
        if let Some(id) = session {
            req.push_str(&format!("mcp-session-id: {id}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.reader.get_mut().write_all(req.as_bytes()).unwrap();
        let mut head = String::new();
        loop {
            let mut line = String::new();
            assert!(
                self.reader.read_line(&mut line).unwrap() > 0,
                "connection closed"
            );
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
        };
        let mut body = Vec::new();
        if let Some(n) = header("content-length") {
            body.resize(n.parse().unwrap(), 0);
            self.reader.read_exact(&mut body).unwrap();
        } else if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size).unwrap();
                let n = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; n + 2];
                self.reader.read_exact(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        (head, String::from_utf8_lossy(&body).into_owned())
    }
}

fn session(conn: &mut Conn) -> String {
    let (head, body) = conn.post(
        None,
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#,
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    let id = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("mcp-session-id")
                .then(|| v.trim().to_owned())
        })
        .expect("no Mcp-Session-Id");
    conn.post(
        Some(&id),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    );
    id
}

fn run(url: &str, calls: usize) -> Vec<Duration> {
    let mut conn = Conn::new(url);
    let id = session(&mut conn);
    let message = "x".repeat(800);
    let mut times = Vec::with_capacity(calls);
    for i in 0..calls + 100 {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{{"name":"echo","arguments":{{"message":"{message}"}}}}}}"#,
            i + 1
        );
        let t = Instant::now();
        let (head, resp) = conn.post(Some(&id), &body);
        let took = t.elapsed();
        assert!(
            head.starts_with("HTTP/1.1 200") && resp.contains("Echo: x"),
            "{head}\n{resp}"
        );
        if i >= 100 {
            times.push(took);
        }
    }
    times.sort();
    times
}

fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `signet init` in a fresh home under `dir`.
fn home(dir: &Path, name: &str) -> PathBuf {
    let h = dir.join(name);
    std::fs::create_dir_all(&h).unwrap();
    let ok = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["init", "--unencrypted"])
        .env("SIGNET_HOME", &h)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    h
}

fn signet(home: &Path, args: &[&str]) -> Killed {
    Killed(
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .args(args)
            .env("SIGNET_HOME", home)
            .env_remove("SIGNET_LOG")
            .env_remove("SIGNET_CONFIG")
            .env("SIGNET_LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn main() {
    let calls: usize = std::env::var("SIGNET_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let js = root
        .join("target/peers/js/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    assert!(js.exists(), "run scripts/install-peers.sh first");
    let base =
        std::env::var_os("SIGNET_BENCH_DIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    let dir = tempfile::tempdir_in(base).unwrap();

    let server_port = free_port();
    let _server = Killed(
        Command::new("node")
            .arg(&js)
            .arg("streamableHttp")
            .env("PORT", server_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(server_port);
    let server_url = format!("http://127.0.0.1:{server_port}/mcp");

    let guard_home = home(dir.path(), "guard");
    let agent_home = home(dir.path(), "agent");
    let guard_did = std::fs::read_to_string(guard_home.join("keys/gateway.pub")).unwrap();
    let guard_port = free_port();
    let guard_listen = format!("127.0.0.1:{guard_port}");
    let _guard = signet(
        &guard_home,
        &[
            "guard",
            "--listen",
            &guard_listen,
            "--upstream",
            &server_url,
        ],
    );
    wait_port(guard_port);
    let guard_url = format!("http://{guard_listen}/mcp");
    let proxy_port = free_port();
    let proxy_listen = format!("127.0.0.1:{proxy_port}");
    let _proxy = signet(
        &agent_home,
        &[
            "proxy",
            "--listen",
            &proxy_listen,
            "--upstream",
            &guard_url,
            "--server-key",
            guard_did.trim(),
        ],
    );
    wait_port(proxy_port);
    let proxy_url = format!("http://{proxy_listen}/mcp");

    // The proxy alone in front of the server (no guard): one hop.
    let solo_home = home(dir.path(), "solo");
    let solo_port = free_port();
    let solo_listen = format!("127.0.0.1:{solo_port}");
    let _solo = signet(
        &solo_home,
        &["proxy", "--listen", &solo_listen, "--upstream", &server_url],
    );
    wait_port(solo_port);
    let solo_url = format!("http://{solo_listen}/mcp");

    let direct = run(&server_url, calls);
    let solo = run(&solo_url, calls);
    let through = run(&proxy_url, calls);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("http_latency: {calls} calls each, one keep-alive connection");
    for (name, t) in [
        ("direct", &direct),
        ("proxy", &solo),
        ("proxy+guard", &through),
    ] {
        println!(
            "  {name:<12} p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            ms(percentile(t, 0.5)),
            ms(percentile(t, 0.99)),
            ms(*t.last().unwrap())
        );
    }
    for (name, t) in [("proxy", &solo), ("proxy+guard", &through)] {
        println!(
            "  added by {name:<12} p50 {:.3} ms  p99 {:.3} ms",
            ms(percentile(t, 0.5)) - ms(percentile(&direct, 0.5)),
            ms(percentile(t, 0.99)) - ms(percentile(&direct, 0.99))
        );
    }
}
