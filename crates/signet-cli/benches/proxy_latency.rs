//! End-to-end latency of `signet proxy`: the same client talking to the same stdio server
//! directly and through the proxy (durable logging on: WAL, synchronous=FULL, every intent
//! and receipt committed before the call / result moves on).
//!
//! The server is `tests/peers/script_server.py` (answers each `tools/call` with a fixed
//! result); the client is this harness: it writes one `tools/call` (~1 KB of arguments) and
//! waits for its answer, `SIGNET_BENCH_CALLS` times (default 2000) after 200 warm-up calls.
//! Reports p50 / p99 / max round trip for both, the added latency, calls per second, and
//! the proxy's peak RSS (`VmHWM`). `SIGNET_BENCH_DIR` picks where the log lives (default
//! `/tmp`).
//!
//! Run: `cargo bench -p signet-cli --bench proxy_latency`

#![expect(clippy::unwrap_used, reason = "bench harness")]
#![expect(clippy::expect_used, reason = "bench harness")]
#![expect(clippy::print_stdout, reason = "bench harness")]
#![expect(clippy::indexing_slicing, reason = "bench harness")]
#![expect(clippy::arithmetic_side_effects, reason = "bench harness")]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

type Run = (Vec<Duration>, Duration, Option<u64>);

fn run(cmd: &[String], env: &[(&str, &Path)], calls: usize) -> Run {
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .env("RECORD", "/dev/null")
        .env("MODE", "record")
        .env("SIGNET_LOG_LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let content = "x".repeat(800);
    let mut one = |i: usize| {
        let msg = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{{\"name\":\"write_file\",\"arguments\":{{\"path\":\"/srv/reports/q3.md\",\"content\":\"{content}\"}}}}}}\n"
        );
        let want = [
            format!("\"id\":{i},"),
            format!("\"id\": {i},"),
            format!("\"id\":{i}}}"),
        ];
        let t = Instant::now();
        stdin.write_all(msg.as_bytes()).unwrap();
        stdin.flush().unwrap();
        loop {
            line.clear();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "the peer closed");
            if want.iter().any(|w| line.contains(w.as_str())) {
                break;
            }
        }
        t.elapsed()
    };
    for i in 0..200 {
        one(i);
    }
    let start = Instant::now();
    let mut times: Vec<Duration> = (0..calls).map(|i| one(1000 + i)).collect();
    let total = start.elapsed();
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        });
    drop(stdin);
    let _ = child.wait();
    times.sort();
    (times, total, rss)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let calls: usize = std::env::var("SIGNET_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--test") {
            20
        } else {
            2000
        });
    let server = vec![
        "python3".to_owned(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/peers/script_server.py")
            .display()
            .to_string(),
    ];
    let dir = std::env::var("SIGNET_BENCH_DIR").unwrap_or_else(|_| "/tmp".into());
    let home = tempfile::Builder::new()
        .prefix("signet-bench-")
        .tempdir_in(dir)
        .unwrap();
    let signet = env!("CARGO_BIN_EXE_signet");
    let o = Command::new(signet)
        .args(["init", "--unencrypted"])
        .env("SIGNET_HOME", home.path())
        .output()
        .expect("signet init");
    assert!(o.status.success());
    let mut proxied = vec![signet.to_owned(), "proxy".into(), "--".into()];
    proxied.extend(server.iter().cloned());

    let (direct, dt, _) = run(&server, &[], calls);
    let (via, vt, rss) = run(&proxied, &[("SIGNET_HOME", home.path())], calls);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{calls} sequential tools/call round trips (~1 KB arguments), after 200 warm-up calls"
    );
    for (name, t, total) in [("direct", &direct, dt), ("through signet proxy", &via, vt)] {
        println!(
            "{name:<22} p50 {:>8.1} µs  p99 {:>8.1} µs  max {:>9.1} µs  {:>7.0} calls/s",
            us(percentile(t, 0.5)),
            us(percentile(t, 0.99)),
            us(*t.last().unwrap()),
            calls as f64 / total.as_secs_f64()
        );
    }
    println!(
        "added                  p50 {:>8.1} µs  p99 {:>8.1} µs",
        us(percentile(&via, 0.5)) - us(percentile(&direct, 0.5)),
        us(percentile(&via, 0.99)) - us(percentile(&direct, 0.99))
    );
    if let Some(kb) = rss {
        println!("proxy peak RSS (VmHWM) {:.1} MB", kb as f64 / 1024.0);
    }
}
