//! Durability under `kill -9`: a writer appending from several threads is killed at random
//! moments, again and again. After each kill the log reopens, every append that had returned
//! is there with its content, the whole log verifies, and a `restart` marker is recorded.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::panic, reason = "tests")]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use signet_core::alg::{Algorithm, SigningKey};
use signet_core::replay::UnixTime;
use signet_log::entry::{Entry, LifecycleEvent};
use signet_log::log::Log;
use signet_log::note::NoteVerifier;
use signet_log::sqlite::SqliteStore;
use signet_log::store::Store as _;
use signet_log::verify::verify_log;

const ORIGIN: &str = "signet.test/crash";

fn key() -> SigningKey {
    SigningKey::from_seed(Algorithm::Ed25519, &[7u8; 32]).unwrap()
}

#[test]
fn kill_9_loses_no_committed_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let verifier = NoteVerifier::new(ORIGIN, &key().public_key()).unwrap();
    let mut promised: HashMap<u64, String> = HashMap::new();
    let rounds = 12;
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_signet-log-crash-writer"))
            .arg(&db)
            .arg("4")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Read promises on a thread; kill after a varying number of them (or time).
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let want = 50 + (round * 397) % 1500;
        let start = Instant::now();
        let mut got = 0;
        while got < want && start.elapsed() < Duration::from_secs(20) {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(50)) {
                let (i, d) = line.split_once(' ').unwrap();
                promised.insert(i.parse().unwrap(), d.to_owned());
                got += 1;
            }
        }
        assert!(got > 0, "round {round}: the writer made no progress");
        // SIGKILL mid-batch: no chance to clean up.
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        // Promises printed between our last read and the kill still count.
        while let Ok(line) = rx.try_recv() {
            let (i, d) = line.split_once(' ').unwrap();
            promised.insert(i.parse().unwrap(), d.to_owned());
        }

        // Reopen read-only: every promise holds, the log verifies.
        let store = SqliteStore::open_read_only(&db).unwrap();
        for (i, detail) in &promised {
            let e = store
                .entry(*i)
                .unwrap()
                .unwrap_or_else(|| panic!("round {round}: promised entry {i} lost"));
            let Entry::Lifecycle(l) = Entry::from_leaf_data(&e.data).unwrap() else {
                panic!("entry {i} changed kind");
            };
            assert_eq!(l.detail.as_deref(), Some(detail.as_str()), "entry {i}");
        }
        let report = verify_log(&store, &verifier, &mut |_, _| {}).unwrap();
        assert!(report.is_valid(), "round {round}: {:?}", report.problems);
        drop(store);
    }
    // Reopening for writing after the last kill records a restart.
    let log = Log::open(
        SqliteStore::open(&db).unwrap(),
        key(),
        ORIGIN,
        UnixTime(1_795_000_001),
        "test",
    )
    .unwrap();
    let last = log.store().entry(log.size() - 1).unwrap().unwrap();
    let Entry::Lifecycle(l) = Entry::from_leaf_data(&last.data).unwrap() else {
        panic!("last entry is not a lifecycle marker");
    };
    assert_eq!(l.event, LifecycleEvent::Restart);
    // And each earlier round's reopen recorded one too.
    let mut restarts = 0;
    log.store()
        .scan(0, &mut |e| {
            if let Ok(Entry::Lifecycle(l)) = Entry::from_leaf_data(&e.data)
                && l.event == LifecycleEvent::Restart
            {
                restarts += 1;
            }
            Ok(true)
        })
        .unwrap();
    assert_eq!(restarts, rounds, "one restart marker per kill");
}
