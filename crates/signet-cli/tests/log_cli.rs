//! End-to-end tests of `signet log …` and `signet verify <bundle>` on a real SQLite log: a
//! log is written through the library (as the proxy will), then inspected, verified, proved
//! and exported with the binary, and tampered with directly in the file.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use signet_core::alg::{Algorithm, SigningKey};
use signet_core::did::kid_for;
use signet_core::digest::Digest;
use signet_core::replay::UnixTime;
use signet_core::statement::{
    self, Audience, Decision, Effect, Intent, IntentV1, Nonce, Outcome, Receipt, ReceiptV1,
    ToolName,
};
use signet_log::entry::{Entry, IntentEntry, ReceiptEntry};
use signet_log::log::Log;
use signet_log::sqlite::SqliteStore;

const ORIGIN: &str = "signet.test/cli-log";

struct Env {
    home: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            home: tempfile::tempdir().unwrap(),
        }
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .args(args)
            .env("SIGNET_HOME", self.home.path())
            .env_remove("SIGNET_LOG")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
    fn db(&self) -> PathBuf {
        self.home.path().join("log").join("signet.db")
    }
    /// `signet keygen --unencrypted` and the key it wrote.
    fn keygen(&self, name: &str) -> SigningKey {
        let o = self.run(&["keygen", "--unencrypted", "--name", name, "--json"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let file = self.home.path().join("keys").join(format!("{name}.key"));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let seed = URL_SAFE_NO_PAD.decode(v["seed"].as_str().unwrap()).unwrap();
        SigningKey::from_seed(Algorithm::Ed25519, &seed).unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Write `calls` signed intent + receipt pairs to a new log at `db`.
fn write_log(db: &Path, log_key: SigningKey, calls: u64) {
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let agent = SigningKey::from_seed(Algorithm::Ed25519, &[11; 32]).unwrap();
    let gateway = SigningKey::from_seed(Algorithm::Ed25519, &[12; 32]).unwrap();
    let mut log = Log::open(
        SqliteStore::open(db).unwrap(),
        log_key,
        ORIGIN,
        UnixTime(1_795_000_000),
        "test",
    )
    .unwrap();
    for n in 0..calls {
        let tool = if n % 2 == 0 {
            "read_file"
        } else {
            "write_file"
        };
        let args = json!({"path": format!("/srv/notes/{n}.md")});
        let intent = Intent {
            version: IntentV1,
            aud: Audience::new("stdio:filesystem").unwrap(),
            tool: ToolName::new(tool).unwrap(),
            args: Digest::of_json(&args).unwrap(),
            tool_def: None,
            signer: kid_for(&agent.public_key()),
            iat: UnixTime(1_795_000_000 + i64::try_from(n).unwrap()),
            nonce: Nonce::from_random([u8::try_from(n).unwrap(); 16]),
            rpc_id: None,
            session: None,
            inputs: None,
            prev: None,
        };
        let ijws = statement::sign(&agent, &intent).unwrap();
        let at = log.size();
        let receipt = Receipt {
            version: ReceiptV1,
            intent: statement::intent_digest(&ijws),
            outcome: Outcome::Executed,
            response: Some(Digest::of_bytes(b"ok")),
            decision: Decision {
                effect: Effect::Allow,
                rules: vec![],
                policy: None,
            },
            log_index: Some(at),
            signer: kid_for(&gateway.public_key()),
            iat: intent.iat,
        };
        let rjws = statement::sign(&gateway, &receipt).unwrap();
        log.append(&[
            Entry::Intent(IntentEntry {
                jws: ijws,
                key: None,
                arguments: Some(args),
            }),
            Entry::Receipt(ReceiptEntry {
                jws: rjws,
                key: None,
                remote: false,
            }),
        ])
        .unwrap();
    }
    log.close(UnixTime(1_795_001_000), "test").unwrap();
}

fn setup(calls: u64) -> Env {
    let env = Env::new();
    let key = env.keygen("log");
    write_log(&env.db(), key, calls);
    env
}

#[test]
fn list_show_and_filters() {
    let env = setup(4);
    let o = env.run(&["log", "list"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    // log-opened, 4 × (intent, receipt), stop.
    assert_eq!(out.lines().count(), 10, "{out}");
    assert!(
        out.lines()
            .all(|l| l.starts_with("sig_") && l.ends_with("VALID")),
        "{out}"
    );
    assert!(
        out.contains("read_file") && out.contains("/srv/notes/1.md"),
        "{out}"
    );

    let o = env.run(&["log", "list", "--tool", "write_file", "--json"]);
    let rows: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r["tool"] == "write_file" && r["valid"] == true)
    );

    let o = env.run(&["log", "list", "--kind", "receipt", "--limit", "1", "--json"]);
    let last: serde_json::Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(last["index"], 8);
    assert_eq!(last["outcome"], "executed");

    let o = env.run(&[
        "log",
        "list",
        "--since",
        "2026-11-18T11:06:42Z",
        "--kind",
        "intent",
    ]);
    assert_eq!(text(&o.stdout).lines().count(), 2, "{}", text(&o.stdout));

    let o = env.run(&["log", "show", "1", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["statement"]["tool"], "read_file");
    assert_eq!(v["valid"], true);
    let id = v["id"].as_str().unwrap().to_owned();
    let o = env.run(&["log", "show", &id[..10], "--json"]);
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(w["index"], 1);

    let o = env.run(&["log", "show", "99"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("no entry 99"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn verify_checkpoint_prove_and_export() {
    let env = setup(5);
    let o = env.run(&["log", "verify"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        text(&o.stdout).starts_with("VALID log `signet.test/cli-log`: 12 entries, 10 signatures"),
        "{}",
        text(&o.stdout)
    );

    let o = env.run(&[
        "log",
        "checkpoint",
        "--log-key-source",
        &format!("file:{}", env.home.path().join("keys/log.key").display()),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let note = text(&o.stdout);
    assert!(note.starts_with("signet.test/cli-log\n12\n"), "{note}");
    assert!(note.contains("\n\u{2014} signet.test/cli-log "), "{note}");

    let bundle = env.home.path().join("bundle.json");
    let o = env.run(&["log", "prove", "4", "-o", bundle.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = env.run(&["verify", bundle.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).starts_with("VALID receipt entry 4 in log `signet.test/cli-log` (size 12)"),
        "{}",
        text(&o.stdout)
    );

    // Offline with an explicit key (the did:key of the log key) works too.
    let did = std::fs::read_to_string(env.home.path().join("keys/log.pub")).unwrap();
    let o = env.run(&["verify", "--log-key", did.trim(), bundle.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));

    // Another key, an edited entry, an edited proof: INVALID, exit 3.
    let other = SigningKey::from_seed(Algorithm::Ed25519, &[99; 32]).unwrap();
    let other_did = signet_core::did::Did::from_public_key(&other.public_key()).to_string();
    let o = env.run(&["verify", "--log-key", &other_did, bundle.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stdout).starts_with("INVALID: checkpoint does not verify"),
        "{}",
        text(&o.stdout)
    );
    let mut b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    b["index"] = json!(3);
    std::fs::write(&bundle, b.to_string()).unwrap();
    let o = env.run(&["verify", bundle.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stdout).contains("inclusion proof fails"),
        "{}",
        text(&o.stdout)
    );

    // A receipt file proves too.
    let o = env.run(&["log", "show", "6", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let receipt = env.home.path().join("receipt.jws");
    std::fs::write(&receipt, v["entry"]["jws"].as_str().unwrap()).unwrap();
    let o = env.run(&["log", "prove", receipt.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["index"], 6);

    let o = env.run(&["log", "export", "--format", "jsonl"]);
    let lines: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 12);
    assert_eq!(lines[1]["entry"]["kind"], "intent");
    let o = env.run(&["log", "export", "--format", "csv"]);
    let csv = text(&o.stdout);
    assert_eq!(csv.lines().count(), 13);
    assert!(csv.starts_with("index,id,kind,time,agent,tool,target,outcome,data\n"));
    assert!(csv.contains(",\"{\"\"arguments\"\""), "{csv}");
}

#[test]
fn tampering_fails_verification_with_exit_3() {
    let env = setup(3);
    {
        let c = rusqlite::Connection::open(env.db()).unwrap();
        c.execute(
            "UPDATE entries SET tool = 'delete_everything' WHERE idx = 3",
            [],
        )
        .unwrap();
    }
    let o = env.run(&["log", "verify"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    let out = text(&o.stdout);
    assert!(
        out.contains("INVALID entry 3: stored listing columns differ"),
        "{out}"
    );
    assert!(
        out.trim_end().ends_with("1 problem(s) in 8 entries"),
        "{out}"
    );
    let o = env.run(&["log", "list", "--json"]);
    assert!(o.status.success());

    // The log file cut short is damage, not a usage error.
    let len = std::fs::metadata(env.db()).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(env.db())
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let o = env.run(&["log", "verify", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
}

#[test]
fn verify_needs_a_trusted_key_and_rejects_another() {
    let env = setup(2);
    std::fs::remove_file(env.home.path().join("keys/log.pub")).unwrap();
    let o = env.run(&["log", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("no trusted log key"),
        "{}",
        text(&o.stderr)
    );
    let other = SigningKey::from_seed(Algorithm::Ed25519, &[99; 32]).unwrap();
    let did = signet_core::did::Did::from_public_key(&other.public_key()).to_string();
    let o = env.run(&["log", "verify", "--log-key", &did]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stdout).contains("but the trusted key is"),
        "{}",
        text(&o.stdout)
    );
}
