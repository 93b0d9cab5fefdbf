//! RFC 3161 time-stamps of checkpoints against a real `openssl ts` TSA (the responder and
//! test PKI of `crates/signet-tsa/tests/peers/`, made at run time): the writer's schedule
//! stores tokens, `verify_log_with` and proof bundles check them, `openssl ts -verify`
//! accepts the stored request / response pairs, a TSA that is down blocks no append and
//! shows as a gap, and a log made before time-stamps still opens.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use signet_core::alg::{Algorithm, SigningKey};
use signet_core::replay::UnixTime;
use signet_log::bundle::{self, BundleTimestamp};
use signet_log::entry::{Entry, LifecycleEntry, LifecycleEvent};
use signet_log::log::Log;
use signet_log::sqlite::SqliteStore;
use signet_log::store::Store;
use signet_log::timestamp::{META_FAILURES, Schedule, Stamper};
use signet_log::verify::verify_log_with;
use signet_log::writer;
use signet_tsa::http::Client;
use signet_tsa::{Imprint, TrustAnchors};

fn peers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../signet-tsa/tests/peers")
}

struct Tsa {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl Drop for Tsa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tsa {
    fn start() -> Tsa {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("bash")
            .arg(peers().join("make-pki.sh"))
            .arg(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "make-pki.sh failed");
        let mut child = Command::new("python3")
            .arg(peers().join("tsa_server.py"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
        Tsa { dir, child, port }
    }

    fn anchors(&self) -> TrustAnchors {
        TrustAnchors::from_pem(&std::fs::read(self.dir.path().join("root.pem")).unwrap()).unwrap()
    }

    fn stamper(&self, section: &str) -> Box<dyn Stamper> {
        Box::new(TestStamper {
            client: Client::new(
                &format!("http://127.0.0.1:{}/{section}", self.port),
                Duration::from_secs(30),
            )
            .unwrap(),
            anchors: self.anchors(),
        })
    }
}

struct TestStamper {
    client: Client,
    anchors: TrustAnchors,
}

impl Stamper for TestStamper {
    fn stamp(&self, data: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        self.client
            .timestamp(Imprint::of(data), &self.anchors)
            .map(|s| (s.request, s.response))
            .map_err(|e| e.to_string())
    }
}

fn key() -> SigningKey {
    SigningKey::from_seed(Algorithm::Ed25519, &[7; 32]).unwrap()
}

fn marker(i: i64) -> Entry {
    Entry::Lifecycle(LifecycleEntry {
        event: LifecycleEvent::Start,
        at: UnixTime(1_795_000_000 + i),
        detail: Some(format!("entry {i}")),
    })
}

/// Wait (bounded) until `f` holds for the store at `path`.
fn wait_for(path: &Path, what: &str, f: impl Fn(&SqliteStore) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let store = SqliteStore::open_read_only(path).unwrap();
        if f(&store) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn schedule(every_entries: u64) -> Schedule {
    Schedule {
        every_entries,
        every: Duration::from_secs(3600),
        retry_after: Duration::from_millis(50),
    }
}

#[test]
fn scheduled_tokens_are_stored_verified_and_accepted_by_openssl() {
    let tsa = Tsa::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let t = UnixTime(1_795_000_000);
    let log = Log::open(SqliteStore::open(&path).unwrap(), key(), "test/log", t, "v").unwrap();
    let verifier = log.verifier().clone();
    let (handle, w) = writer::spawn_with_timestamps(log, tsa.stamper("ec"), schedule(4)).unwrap();
    // The log-opened entry is due at once; then every 4 entries.
    wait_for(&path, "the first token", |s| {
        !s.timestamps().unwrap().is_empty()
    });
    for i in 0..8 {
        handle.append(&marker(i)).unwrap();
    }
    wait_for(&path, "a token covering every entry", |s| {
        s.timestamps().unwrap().last().is_some_and(|t| t.size == 9)
    });
    drop(handle);
    let log = w.join().unwrap();
    let store = log.store();

    let stamps = store.timestamps().unwrap();
    assert!(stamps.len() >= 2, "{}", stamps.len());
    let anchors = tsa.anchors();
    let report = verify_log_with(store, &verifier, Some(&anchors), &mut |_, _| {}).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    let ts = &report.timestamps;
    assert_eq!(ts.tokens, stamps.len() as u64);
    assert_eq!(ts.verified, ts.tokens);
    assert_eq!(ts.latest.as_ref().map(|l| l.0), Some(9));
    assert_eq!(ts.gap, None);
    assert_eq!(ts.last_failure, None);

    // OpenSSL accepts every stored request / response pair, and the note as the data.
    for (n, s) in stamps.iter().enumerate() {
        let q = dir.path().join(format!("{n}.tsq"));
        let r = dir.path().join(format!("{n}.tsr"));
        let d = dir.path().join(format!("{n}.note"));
        std::fs::write(&q, &s.request).unwrap();
        std::fs::write(&r, &s.response).unwrap();
        std::fs::write(&d, &s.note).unwrap();
        for (flag, file) in [("-queryfile", &q), ("-data", &d)] {
            let out = Command::new("openssl")
                .args(["ts", "-verify", flag])
                .arg(file)
                .arg("-in")
                .arg(&r)
                .arg("-CAfile")
                .arg(tsa.dir.path().join("root.pem"))
                .arg("-untrusted")
                .arg(tsa.dir.path().join("inter.pem"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    // A proof bundle uses the smallest time-stamped checkpoint covering the entry.
    let b = bundle::prove(store, 2).unwrap();
    let stamped = stamps.iter().find(|s| s.size > 2).unwrap();
    assert_eq!(b.checkpoint, stamped.note);
    assert!(b.timestamp.is_some());
    let text = serde_json::to_vec(&b).unwrap();
    let b = bundle::ProofBundle::parse(&text).unwrap();
    assert!(matches!(
        b.verify(&verifier).unwrap().timestamp,
        BundleTimestamp::Unchecked
    ));
    let v = b.verify_with(&verifier, Some(&anchors)).unwrap();
    let BundleTimestamp::Verified(t) = v.timestamp else {
        unreachable!("expected a verified time-stamp")
    };
    assert_eq!(t.imprint, Imprint::of(stamped.note.as_bytes()));
    // The token of another checkpoint does not fit this one.
    let mut other = b.clone();
    other.checkpoint = stamps.last().unwrap().note.clone();
    assert!(other.verify_with(&verifier, Some(&anchors)).is_err());
}

#[test]
fn a_tsa_that_is_down_blocks_nothing_and_shows_as_a_gap() {
    let tsa = Tsa::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let t = UnixTime(1_795_000_000);
    let log = Log::open(SqliteStore::open(&path).unwrap(), key(), "test/log", t, "v").unwrap();
    let verifier = log.verifier().clone();
    let (handle, w) = writer::spawn_with_timestamps(log, tsa.stamper("down"), schedule(2)).unwrap();
    for i in 0..6 {
        handle.append(&marker(i)).unwrap();
    }
    // Retried: the recorded count of consecutive failures grows.
    wait_for(&path, "two failed requests", |s| {
        s.meta(META_FAILURES)
            .unwrap()
            .and_then(|f| f.parse::<u64>().ok())
            .is_some_and(|f| f >= 2)
    });
    handle.append(&marker(6)).unwrap();
    drop(handle);
    let log = w.join().unwrap();
    let report =
        verify_log_with(log.store(), &verifier, Some(&tsa.anchors()), &mut |_, _| {}).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.entries, 8);
    let ts = &report.timestamps;
    assert_eq!(ts.tokens, 0);
    assert_eq!(ts.gap, Some((0, 8)));
    let (failures, reason, at) = ts.last_failure.clone().unwrap();
    assert!(failures >= 2);
    assert!(reason.contains("503"), "{reason}");
    assert!(at.is_some());
}

#[test]
fn a_bad_stored_token_is_a_problem_and_old_logs_still_open() {
    let tsa = Tsa::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let t = UnixTime(1_795_000_000);
    let log = Log::open(SqliteStore::open(&path).unwrap(), key(), "test/log", t, "v").unwrap();
    let verifier = log.verifier().clone();
    let (handle, w) = writer::spawn_with_timestamps(log, tsa.stamper("ec"), schedule(1)).unwrap();
    wait_for(&path, "a token", |s| !s.timestamps().unwrap().is_empty());
    drop(handle);
    w.join().unwrap().close(t, "v").unwrap();
    let anchors = tsa.anchors();

    // The response swapped for one over other data: the token no longer verifies.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        let other = Client::new(
            &format!("http://127.0.0.1:{}/ec", tsa.port),
            Duration::from_secs(30),
        )
        .unwrap()
        .timestamp(Imprint::of(b"something else"), &anchors)
        .unwrap();
        c.execute("UPDATE timestamps SET response = ?1", [other.response])
            .unwrap();
    }
    let store = SqliteStore::open_read_only(&path).unwrap();
    let report = verify_log_with(&store, &verifier, Some(&anchors), &mut |_, _| {}).unwrap();
    assert!(!report.is_valid());
    assert!(
        report.problems[0].reason.contains("token does not verify"),
        "{:?}",
        report.problems
    );
    // Without anchors the token is not checked, the rest is.
    let report = verify_log_with(&store, &verifier, None, &mut |_, _| {}).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert!(!report.timestamps.checked);
    drop(store);

    // A log made before time-stamps existed: no table. Read-only open and verify work;
    // a writer creates the table.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute("DROP TABLE timestamps", []).unwrap();
    }
    let store = SqliteStore::open_read_only(&path).unwrap();
    assert!(store.timestamps().unwrap().is_empty());
    let report = verify_log_with(&store, &verifier, Some(&anchors), &mut |_, _| {}).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.timestamps.gap, Some((0, report.entries)));
    drop(store);
    let log = Log::open(SqliteStore::open(&path).unwrap(), key(), "test/log", t, "v").unwrap();
    assert!(log.store().timestamps().unwrap().is_empty());
}
