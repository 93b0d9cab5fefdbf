//! `signet tsa verify`, `signet log timestamp`, `signet log verify --tsa-anchor` and proof
//! bundles with time-stamps, end to end against `openssl ts` (the test PKI and responder
//! of `crates/signet-tsa/tests/peers/`, made at run time).

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use signet_core::alg::{Algorithm, SigningKey};
use signet_core::replay::UnixTime;
use signet_log::log::Log;
use signet_log::sqlite::SqliteStore;

fn peers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../signet-tsa/tests/peers")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Env {
    home: tempfile::TempDir,
    pki: tempfile::TempDir,
    tsa: Option<Child>,
    port: u16,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(c) = &mut self.tsa {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Env {
    fn new() -> Env {
        let pki = tempfile::tempdir().unwrap();
        let ok = Command::new("bash")
            .arg(peers().join("make-pki.sh"))
            .arg(pki.path())
            .status()
            .unwrap()
            .success();
        assert!(ok);
        Env {
            home: tempfile::tempdir().unwrap(),
            pki,
            tsa: None,
            port: 0,
        }
    }

    fn start_tsa(&mut self) {
        let mut child = Command::new("python3")
            .arg(peers().join("tsa_server.py"))
            .arg(self.pki.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        self.port = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
        self.tsa = Some(child);
    }

    fn p(&self, name: &str) -> String {
        self.pki.path().join(name).to_string_lossy().into_owned()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .args(args)
            .env("SIGNET_HOME", self.home.path())
            .env_remove("SIGNET_LOG")
            .env_remove("SIGNET_TSA_ANCHOR")
            .env_remove("SIGNET_TSA_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `openssl ts -query` for `data` then `-reply` from `section`: (query, reply) paths.
    fn openssl_stamp(&self, data: &str, section: &str, token_only: bool) -> (String, String) {
        let q = self.p(&format!(
            "{section}{}.tsq",
            if token_only { ".token" } else { "" }
        ));
        let r = self.p(&format!(
            "{section}{}.tsr",
            if token_only { ".token" } else { "" }
        ));
        let o = Command::new("openssl")
            .args([
                "ts", "-query", "-data", data, "-sha256", "-cert", "-out", &q,
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        let mut args = vec!["ts", "-reply", "-config", &self.p("tsa.cnf")]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        args.extend(["-section", section, "-queryfile", &q, "-out", &r].map(str::to_owned));
        if token_only {
            args.push("-token_out".into());
        }
        let o = Command::new("openssl").args(&args).output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        (q, r)
    }
}

#[test]
fn tsa_verify_accepts_openssl_tokens_and_responses_and_says_why_not() {
    let env = Env::new();
    let data = env.p("data.txt");
    std::fs::write(&data, b"a checkpoint\n").unwrap();
    let other = env.p("other.txt");
    std::fs::write(&other, b"another checkpoint\n").unwrap();
    let root = env.p("root.pem");
    let (q, resp) = env.openssl_stamp(&data, "tsa_ec", false);
    let (_, token) = env.openssl_stamp(&data, "tsa_ec", true);

    for t in [&resp, &token] {
        let o = env.run(&["tsa", "verify", t, "--data", &data, "--trust-anchor", &root]);
        assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
        assert!(
            text(&o.stdout).starts_with("VALID time-stamp "),
            "{}",
            text(&o.stdout)
        );
    }
    // With the request: nonce checked too. JSON output.
    let o = env.run(&[
        "tsa",
        "verify",
        &resp,
        "--data",
        &data,
        "--trust-anchor",
        &root,
        "--request",
        &q,
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stdout));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["policy"], "1.3.6.1.4.1.99999.1");
    assert_eq!(v["chain"].as_array().unwrap().len(), 3);
    // base64 of the token works as well.
    let b64 = env.p("token.b64");
    std::fs::write(
        &b64,
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(&token).unwrap()),
    )
    .unwrap();
    let o = env.run(&[
        "tsa",
        "verify",
        &b64,
        "--data",
        &data,
        "--trust-anchor",
        &root,
    ]);
    assert!(o.status.success(), "{}", text(&o.stdout));

    // Each failure: exit 3 and the reason.
    let (_, expired) = env.openssl_stamp(&data, "tsa_expired", false);
    let cases = [
        (
            resp.clone(),
            other.clone(),
            root.clone(),
            "INVALID: message imprint does not match",
        ),
        (
            resp.clone(),
            data.clone(),
            env.p("other-root.pem"),
            "INVALID: untrusted chain",
        ),
        (
            expired,
            data.clone(),
            root.clone(),
            "INVALID: certificate `O=TEST FIXTURE,CN=signet test tsa expired` was not valid",
        ),
    ];
    for (t, d, anchor, want) in cases {
        let o = env.run(&["tsa", "verify", &t, "--data", &d, "--trust-anchor", &anchor]);
        assert_eq!(
            o.status.code(),
            Some(3),
            "{}{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        assert!(text(&o.stdout).starts_with(want), "{}", text(&o.stdout));
    }
    // A request with another nonce: the token does not answer it.
    let q2 = env.p("q2.tsq");
    let o = Command::new("openssl")
        .args([
            "ts", "-query", "-data", &data, "-sha256", "-cert", "-out", &q2,
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = env.run(&[
        "tsa",
        "verify",
        &resp,
        "--data",
        &data,
        "--trust-anchor",
        &root,
        "--request",
        &q2,
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stdout).starts_with("INVALID: nonce mismatch"),
        "{}",
        text(&o.stdout)
    );
    // Not a token at all: exit 3, malformed.
    let o = env.run(&[
        "tsa",
        "verify",
        &data,
        "--data",
        &data,
        "--trust-anchor",
        &root,
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stdout).starts_with("INVALID: malformed"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn log_timestamp_then_verify_and_prove() {
    let mut env = Env::new();
    env.start_tsa();
    let o = env.run(&["keygen", "--unencrypted", "--name", "log", "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let file = env.home.path().join("keys").join("log.key");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let seed = URL_SAFE_NO_PAD.decode(v["seed"].as_str().unwrap()).unwrap();
    let key = SigningKey::from_seed(Algorithm::Ed25519, &seed).unwrap();
    let db = env.home.path().join("log").join("signet.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let t = UnixTime(1_795_000_000);
    Log::open(
        SqliteStore::open(&db).unwrap(),
        key,
        "signet.test/tsa",
        t,
        "test",
    )
    .unwrap()
    .close(t, "test")
    .unwrap();
    let root = env.p("root.pem");

    // No token yet: valid, with the gap shown.
    let o = env.run(&["log", "verify", "--tsa-anchor", &root]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        text(&o.stdout).contains("TIMESTAMP GAP: entries 0..2 are not covered"),
        "{}",
        text(&o.stdout)
    );

    // A TSA that is down: an error, recorded, still valid, failure shown.
    let down = format!("http://127.0.0.1:{}/down", env.port);
    let o = env.run(&[
        "log",
        "timestamp",
        "--tsa-url",
        &down,
        "--tsa-anchor",
        &root,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = env.run(&["log", "verify", "--tsa-anchor", &root]);
    assert!(o.status.success());
    assert!(
        text(&o.stdout).contains("TIMESTAMP FAILURES: 1 in a row"),
        "{}",
        text(&o.stdout)
    );

    let url = format!("http://127.0.0.1:{}/ec", env.port);
    let o = env.run(&["log", "timestamp", "--tsa-url", &url, "--tsa-anchor", &root]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).starts_with("time-stamped checkpoint of size 2 at "));

    let o = env.run(&["log", "verify", "--tsa-anchor", &root, "--json"]);
    assert!(o.status.success(), "{}", text(&o.stdout));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["timestamps"]["tokens"], 1);
    assert_eq!(v["timestamps"]["verified"], 1);
    assert_eq!(v["timestamps"]["gap"], serde_json::Value::Null);
    assert_eq!(v["timestamps"]["latest"]["size"], 2);
    // The wrong anchor: the token is a problem, exit 3.
    let o = env.run(&["log", "verify", "--tsa-anchor", &env.p("other-root.pem")]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("token does not verify: untrusted chain"),
        "{}",
        text(&o.stdout)
    );

    // A proof bundle carries the token; `signet verify` checks it with SIGNET_TSA_ANCHOR.
    let bundle = env.home.path().join("proof.json");
    let o = env.run(&["log", "prove", "0", "-o", &bundle.to_string_lossy()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert!(b["timestamp"].is_string());
    let o = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["verify", &bundle.to_string_lossy()])
        .env("SIGNET_HOME", env.home.path())
        .env("SIGNET_TSA_ANCHOR", &root)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        text(&o.stdout).contains("VALID time-stamp: the checkpoint existed at"),
        "{}",
        text(&o.stdout)
    );
    let o = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["verify", &bundle.to_string_lossy()])
        .env("SIGNET_HOME", env.home.path())
        .env("SIGNET_TSA_ANCHOR", env.p("other-root.pem"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("time-stamp: untrusted chain"),
        "{}",
        text(&o.stdout)
    );
}

/// `signet proxy` with a `[tsa]` section: its log gets verified tokens on the schedule while
/// calls go through, and `signet log verify --tsa-anchor` checks them.
#[test]
fn the_proxy_time_stamps_its_log_on_the_configured_schedule() {
    use std::io::Write as _;
    let mut env = Env::new();
    env.start_tsa();
    let o = env.run(&["init", "--unencrypted"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let root = env.p("root.pem");
    let mut cfg = std::fs::OpenOptions::new()
        .append(true)
        .open(env.home.path().join("signet.toml"))
        .unwrap();
    write!(
        cfg,
        "\n[tsa]\nurl = \"http://127.0.0.1:{}/ec\"\ntrust_anchor = {root:?}\nevery_entries = 1\nevery_seconds = 1\ntimeout_seconds = 5\n",
        env.port
    )
    .unwrap();
    drop(cfg);

    let record = env.home.path().join("record");
    let mut proxy = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["proxy", "--name", "scripted", "--", "python3"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/script_server.py"))
        .env("SIGNET_HOME", env.home.path())
        .env_remove("SIGNET_LOG")
        .env_remove("SIGNET_CONFIG")
        .env("RECORD", &record)
        .env("MODE", "record")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = proxy.stdin.take().unwrap();
    let mut stdout = BufReader::new(proxy.stdout.take().unwrap());
    for id in 1..=2 {
        writeln!(
            stdin,
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\"name\":\"write\",\"arguments\":{{\"n\":{id}}}}}}}"
        )
        .unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["id"], id, "{line}");
        assert!(v.get("result").is_some(), "{line}");
    }
    // Tokens arrive beside the calls: poll the running proxy's log (WAL readers).
    let mut verified = 0;
    for _ in 0..100 {
        let o = env.run(&["log", "verify", "--tsa-anchor", &root, "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["valid"], true, "{v}");
        verified = v["timestamps"]["verified"].as_u64().unwrap();
        if verified >= 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(verified >= 1, "no time-stamp token within 20 s");
    drop(stdin);
    let out = proxy.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    let o = env.run(&["log", "verify", "--tsa-anchor", &root]);
    assert!(o.status.success(), "{}", text(&o.stdout));
    let stdout = text(&o.stdout);
    assert!(stdout.starts_with("VALID log "), "{stdout}");
    assert!(stdout.contains("TIMESTAMPS: "), "{stdout}");
    assert!(!stdout.contains("TIMESTAMP FAILURES"), "{stdout}");
    // An untrusted anchor makes every stored token a problem.
    let o = env.run(&["log", "verify", "--tsa-anchor", &env.p("other-root.pem")]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
}

/// A `[tsa]` section that cannot work stops the proxy before the server starts.
#[test]
fn a_misconfigured_tsa_stops_the_proxy_before_the_server_starts() {
    let env = Env::new();
    let o = env.run(&["init", "--unencrypted"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let cfg = env.home.path().join("signet.toml");
    let base = std::fs::read_to_string(&cfg).unwrap();
    let marker = env.home.path().join("server-ran");
    for (section, why) in [
        (
            "[tsa]\nurl = \"http://127.0.0.1:9/\"\ntrust_anchor = \"missing.pem\"\n".to_owned(),
            "trust_anchor",
        ),
        (
            format!(
                "[tsa]\nurl = \"ftp://x/\"\ntrust_anchor = {:?}\n",
                env.p("root.pem")
            ),
            "url",
        ),
        (
            format!(
                "[tsa]\nurl = \"http://127.0.0.1:9/\"\ntrust_anchor = {:?}\nevery_entries = 0\n",
                env.p("root.pem")
            ),
            "every_entries",
        ),
    ] {
        std::fs::write(&cfg, format!("{base}\n{section}")).unwrap();
        let o = env.run(&["proxy", "--", "touch", &marker.to_string_lossy()]);
        assert_eq!(o.status.code(), Some(1), "{section}");
        let err = text(&o.stderr);
        assert!(
            err.contains(why) && err.contains("not starting"),
            "{section}: {err}"
        );
        assert!(!marker.exists(), "the server ran despite {section}");
    }
}
