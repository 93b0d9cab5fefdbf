//! End-to-end tests of the `signet` binary: keygen, identity, sign, verify, bad input, and
//! interoperability with an independent JOSE implementation (npm `jose`).

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

struct Env {
    home: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_signet"));
        c.args(args)
            .env("SIGNET_HOME", self.home.path())
            .env_remove("SIGNET_PASSPHRASE")
            .env_remove("SIGNET_KEY_SOURCE")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        self.run_env(args, stdin, &[])
    }

    fn run_env(&self, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
        let mut c = self.cmd(args);
        for (k, v) in env {
            c.env(k, v);
        }
        if stdin.is_some() {
            c.stdin(Stdio::piped());
        }
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(input) = stdin {
            // A command that rejects its input early may exit before reading all of it;
            // the broken pipe is then expected, and its output is what the test checks.
            if let Err(e) = child.stdin.take().unwrap().write_all(input) {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
            }
        }
        child.wait_with_output().unwrap()
    }

    fn keygen_plain(&self, alg: &str, name: &str) -> serde_json::Value {
        let o = self.run(
            &[
                "keygen",
                "--unencrypted",
                "--algorithm",
                alg,
                "--name",
                name,
                "--json",
            ],
            None,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}
fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

const CALL: &[u8] = br#"{"name":"send_email","arguments":{"to":"alice@example.com","subject":"Meeting tomorrow","body":"..."}}"#;

fn assert_one_line_error(o: &Output, code: i32, needle: &str) {
    assert_eq!(o.status.code(), Some(code), "stderr: {}", stderr(o));
    let e = stderr(o);
    assert!(!e.contains("panicked"), "panic: {e}");
    assert_eq!(e.trim_end().lines().count(), 1, "not one line: {e}");
    assert!(e.contains(needle), "expected `{needle}` in: {e}");
}

#[test]
fn sign_and_verify_each_algorithm() {
    let env = Env::new();
    for alg in ["ed25519", "ml-dsa-65", "ml-dsa-65-ed25519"] {
        let id = env.keygen_plain(alg, alg);
        let o = env.run(
            &["sign", "--key-name", alg, "--audience", "mail-server"],
            Some(CALL),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let envelope: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(envelope["tool_call"]["name"], "send_email");
        assert_eq!(envelope["signet"]["signer"], id["did"]);
        let nonce = envelope["signet"]["nonce"].as_str().unwrap();
        assert_eq!(nonce.len(), 22);

        let v = env.run(&["verify", "--audience", "mail-server"], Some(&o.stdout));
        assert_eq!(v.status.code(), Some(0), "{}{}", stdout(&v), stderr(&v));
        assert!(stdout(&v).starts_with("VALID intent tool=send_email aud=mail-server"));

        let v = env.run(&["verify", "--json"], Some(&o.stdout));
        let j: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
        assert_eq!(j["valid"], true);
        assert_eq!(j["signer"], id["did"]);
        assert_eq!(j["statement"]["tool"], "send_email");
    }
}

#[test]
fn tampering_and_policy_checks_are_invalid_with_reasons() {
    let env = Env::new();
    let id = env.keygen_plain("ed25519", "agent");
    let other = env.keygen_plain("ed25519", "other");
    let o = env.run(&["sign", "--audience", "mail-server"], Some(CALL));
    assert!(o.status.success());
    let good: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();

    let mut edited = good.clone();
    edited["tool_call"]["arguments"]["to"] = "mallory@example.com".into();
    let v = env.run(&["verify"], Some(edited.to_string().as_bytes()));
    assert_eq!(v.status.code(), Some(3));
    assert!(
        stdout(&v).starts_with("INVALID: envelope arguments digest"),
        "{}",
        stdout(&v)
    );

    let v = env.run(
        &["verify", "--allowed-signer", other["did"].as_str().unwrap()],
        Some(good.to_string().as_bytes()),
    );
    assert_eq!(v.status.code(), Some(3));
    assert!(
        stdout(&v).contains("not in the allowed signers"),
        "{}",
        stdout(&v)
    );
    let v = env.run(
        &["verify", "--allowed-signer", id["did"].as_str().unwrap()],
        Some(good.to_string().as_bytes()),
    );
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));

    let v = env.run(
        &["verify", "--signer", other["did"].as_str().unwrap()],
        Some(good.to_string().as_bytes()),
    );
    assert_eq!(v.status.code(), Some(3));
    assert!(stdout(&v).contains("wrong key"), "{}", stdout(&v));

    let v = env.run(
        &["verify", "--audience", "db-server"],
        Some(good.to_string().as_bytes()),
    );
    assert_eq!(v.status.code(), Some(3));
    assert!(stdout(&v).contains("wrong audience"), "{}", stdout(&v));

    // Expired: verify as of ten minutes after signing.
    let iat = good["signet"]["timestamp"].as_str().unwrap();
    let t = time::OffsetDateTime::parse(iat, &time::format_description::well_known::Rfc3339)
        .unwrap()
        + time::Duration::minutes(10);
    let later = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let v = env.run(
        &["verify", "--at", &later],
        Some(good.to_string().as_bytes()),
    );
    assert_eq!(v.status.code(), Some(3));
    assert!(stdout(&v).contains("expired"), "{}", stdout(&v));
    let v = env.run(
        &["verify", "--no-time-check"],
        Some(good.to_string().as_bytes()),
    );
    assert_eq!(v.status.code(), Some(0));

    // A bare JWS, truncated.
    let jws = good["signet"]["request_signature"].as_str().unwrap();
    let v = env.run(&["verify"], Some(jws.as_bytes()));
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    let v = env.run(
        &["verify", "--json"],
        Some(&jws.as_bytes()[..jws.len() - 10]),
    );
    assert_eq!(v.status.code(), Some(3));
    let j: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(j["valid"], false);
    assert_eq!(j["malformed"], true);
    assert!(j["reason"].as_str().unwrap().contains("signature"), "{j}");

    // Not JSON, not a JWS.
    let v = env.run(&["verify"], Some(b"hello there"));
    assert_eq!(v.status.code(), Some(3));
    assert!(
        stdout(&v).starts_with("INVALID: not a valid signet jws"),
        "{}",
        stdout(&v)
    );

    // Unknown algorithm in the header.
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    parts[0] = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"HS256","kid":"{}","typ":"signet-intent+jws"}}"#,
        id["did"].as_str().unwrap()
    ));
    let v = env.run(&["verify"], Some(parts.join(".").as_bytes()));
    assert_eq!(v.status.code(), Some(3));
    assert!(
        stdout(&v).contains("unknown or unsupported algorithm `HS256`"),
        "{}",
        stdout(&v)
    );
}

#[test]
fn bad_input_gets_one_line_errors() {
    let env = Env::new();
    // No key yet.
    let o = env.run(&["sign"], Some(CALL));
    assert_one_line_error(&o, 1, "does not exist (create one with `signet keygen`)");
    env.keygen_plain("ed25519", "agent");
    let o = env.run(&["sign"], Some(b"{not json"));
    assert_one_line_error(&o, 1, "bad tool call: not valid json");
    let o = env.run(
        &["sign"],
        Some(br#"{"name":"x","arguments":{"a":1,"a":2}}"#),
    );
    assert_one_line_error(&o, 1, "duplicate object key `a`");
    let o = env.run(
        &["sign"],
        Some(br#"{"name":"x","arguments":{"id":12345678901234567890}}"#),
    );
    assert_one_line_error(&o, 1, "12345678901234567890");
    let o = env.run(&["sign", "--key-source", "vault:x"], Some(CALL));
    assert_one_line_error(&o, 1, "must be `file:PATH` or `env:VAR`");
    let o = env.run(
        &["sign", "--key-source", "env:SIGNET_TEST_MISSING"],
        Some(CALL),
    );
    assert_one_line_error(
        &o,
        1,
        "environment variable `SIGNET_TEST_MISSING` is not set",
    );
    let o = env.run(&["verify", "--signer", "did:key:nope"], Some(b"x"));
    assert_one_line_error(&o, 1, "--signer `did:key:nope` is not a valid did:key");
    // Refuses to overwrite a key.
    let o = env.run(&["keygen", "--unencrypted"], None);
    assert_one_line_error(&o, 1, "refusing to overwrite");
}

#[test]
fn encrypted_key_default_and_key_sources() {
    let env = Env::new();
    let pass = [("SIGNET_PASSPHRASE", "correct horse battery staple")];
    let o = env.run_env(&["keygen", "--json"], None, &pass);
    assert!(o.status.success(), "{}", stderr(&o));
    let id: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let path = env.home.path().join("keys/agent.key");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{text}"
    );
    assert!(!text.contains("seed"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // No passphrase and no terminal: a clear error, not a hang.
    let o = env.run(&["identity"], None);
    assert_one_line_error(&o, 1, "SIGNET_PASSPHRASE");
    let o = env.run_env(&["identity"], None, &[("SIGNET_PASSPHRASE", "wrong")]);
    assert_one_line_error(&o, 1, "wrong passphrase");
    let o = env.run_env(&["identity", "--json"], None, &pass);
    assert!(o.status.success(), "{}", stderr(&o));
    let id2: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(id, id2);

    // key_source env:VAR holds the same text a key file holds.
    let o = env.run_env(
        &[
            "identity",
            "--json",
            "--key-source",
            "env:SIGNET_PRIVATE_KEY",
        ],
        None,
        &[pass[0], ("SIGNET_PRIVATE_KEY", &text)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(),
        id
    );
    let src = format!("file:{}", path.display());
    let o = env.run_env(&["identity", "--json", "--key-source", &src], None, &pass);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(),
        id
    );
}

#[test]
fn identity_text_output() {
    let env = Env::new();
    let id = env.keygen_plain("ed25519", "agent");
    let o = env.run(&["identity"], None);
    let s = stdout(&o);
    assert!(
        s.contains(&format!("did:        {}", id["did"].as_str().unwrap())),
        "{s}"
    );
    assert!(s.contains("algorithm:  Ed25519"), "{s}");
    assert!(id["did"].as_str().unwrap().starts_with("did:key:z6Mk"));
    assert_eq!(id["kid"], id["did"]);
}

fn peers_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("SIGNET_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/peers"))
}

/// A signet JWS verifies with npm `jose`, an independent JOSE implementation, given only
/// the public key; a tampered one does not. The peers are installed by
/// `scripts/install-peers.sh` (part of the test command).
#[test]
fn jws_verifies_with_npm_jose() {
    let js = peers_dir().join("js");
    assert!(
        js.join("node_modules/jose/package.json").exists(),
        "npm jose missing under {}: run scripts/install-peers.sh",
        js.display()
    );
    let script = js.join("signet-verify.mjs");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jose/verify.mjs"),
        &script,
    )
    .unwrap();

    let env = Env::new();
    let id = env.keygen_plain("ed25519", "agent");
    let o = env.run(
        &["sign", "--output", "jws", "--audience", "srv"],
        Some(CALL),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let jws = stdout(&o).trim().to_owned();
    let x = id["public_key"].as_str().unwrap();

    let node = Command::new("node")
        .arg(&script)
        .arg(&jws)
        .arg(x)
        .output()
        .unwrap();
    assert!(node.status.success(), "jose: {}", stderr(&node));
    let r: serde_json::Value = serde_json::from_slice(&node.stdout).unwrap();
    assert_eq!(r["header"]["alg"], "Ed25519");
    assert_eq!(r["header"]["typ"], "signet-intent+jws");
    assert_eq!(r["header"]["kid"], id["did"]);
    let payload: serde_json::Value = serde_json::from_str(r["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["tool"], "send_email");
    assert_eq!(payload["type"], "signet.intent.v1");

    // Flip one payload character: jose must reject it too.
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let mut p = parts[1].clone().into_bytes();
    p[5] = if p[5] == b'A' { b'B' } else { b'A' };
    parts[1] = String::from_utf8(p).unwrap();
    let node = Command::new("node")
        .arg(&script)
        .arg(parts.join("."))
        .arg(x)
        .output()
        .unwrap();
    assert!(!node.status.success(), "jose accepted a tampered jws");
}
