//! Two writers on one log file — two `signet proxy` processes sharing the default log, each
//! with its own connection and its own in-memory tree. Every append must land (each writer
//! catches up with the other's entries and checkpoints), at the index it reports, and the
//! result must verify as one log.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::panic, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]

mod support;

use std::collections::BTreeMap;

use signet_core::replay::UnixTime;
use signet_log::entry::{Entry, LifecycleEvent};
use signet_log::log::Log;
use signet_log::note::NoteVerifier;
use signet_log::sqlite::SqliteStore;
use signet_log::store::Store as _;
use signet_log::verify::verify_log;
use signet_log::writer;
use support::{ORIGIN, key, marker};

fn open(path: &std::path::Path, who: &str) -> Log<SqliteStore> {
    Log::open(
        SqliteStore::open(path).unwrap(),
        key(1),
        ORIGIN,
        UnixTime(1_795_000_000),
        who,
    )
    .unwrap()
}

#[test]
fn two_logs_on_one_file_interleave_without_losing_an_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let mut a = open(&db, "a");
    let mut b = open(&db, "b");
    let mut placed: BTreeMap<u64, String> = BTreeMap::new();
    for round in 0..20 {
        for (name, log) in [("a", &mut a), ("b", &mut b)] {
            let batch: Vec<Entry> = (0..=round % 3)
                .map(|i| marker(&format!("{name}-{round}-{i}")))
                .collect();
            let indices = log.append(&batch).unwrap();
            assert_eq!(indices.len(), batch.len());
            for (i, e) in indices.iter().zip(&batch) {
                let Entry::Lifecycle(l) = e else {
                    unreachable!()
                };
                assert!(placed.insert(*i, l.detail.clone().unwrap()).is_none());
            }
        }
    }
    // A checkpoint from the writer that is behind covers the other's entries too.
    a.checkpoint().unwrap();
    let store = SqliteStore::open_read_only(&db).unwrap();
    for (index, detail) in &placed {
        let e = store.entry(*index).unwrap().unwrap();
        let Entry::Lifecycle(l) = Entry::from_leaf_data(&e.data).unwrap() else {
            panic!("entry {index} is not a marker");
        };
        assert_eq!(l.detail.as_deref(), Some(detail.as_str()), "entry {index}");
    }
    let verifier = NoteVerifier::new(ORIGIN, &key(1).public_key()).unwrap();
    let report = verify_log(&store, &verifier, &mut |_, _| {}).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.entries, store.size().unwrap());
    // The log-opened marker of the first writer and every appended entry: the second
    // writer found the log marked open by a live writer, which is not a crash (no restart
    // marker).
    assert_eq!(report.entries, placed.len() as u64 + 1);
}

#[test]
fn a_crash_is_told_apart_from_another_live_writer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let a = open(&db, "a");
    let b = open(&db, "b"); // a is alive: no restart marker
    assert_eq!(b.size(), 1);
    // b stops while a runs: the log stays marked open, so a's crash will show.
    b.close(UnixTime(1_795_000_001), "b").unwrap();
    drop(a); // a crashes (never closes)
    let c = open(&db, "c");
    let last = c.store().entry(c.size() - 1).unwrap().unwrap();
    let Entry::Lifecycle(l) = Entry::from_leaf_data(&last.data).unwrap() else {
        panic!("not a marker");
    };
    assert_eq!(l.event, LifecycleEvent::Restart);
}

#[test]
fn two_group_commit_writers_on_one_file_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (ha, wa) = writer::spawn(open(&db, "a")).unwrap();
    let (hb, wb) = writer::spawn(open(&db, "b")).unwrap();
    let threads: Vec<_> = [("a", ha), ("b", hb)]
        .into_iter()
        .flat_map(|(name, h)| {
            (0..4).map(move |t| {
                let h = h.clone();
                std::thread::spawn(move || {
                    (0..100)
                        .map(|i| {
                            let detail = format!("{name}{t}-{i}");
                            (h.append(&marker(&detail)).unwrap(), detail)
                        })
                        .collect::<Vec<_>>()
                })
            })
        })
        .collect();
    let mut placed = BTreeMap::new();
    for t in threads {
        for (index, detail) in t.join().unwrap() {
            assert!(
                placed.insert(index, detail).is_none(),
                "index {index} twice"
            );
        }
    }
    wa.join()
        .unwrap()
        .close(UnixTime(1_795_000_100), "a")
        .unwrap();
    wb.join()
        .unwrap()
        .close(UnixTime(1_795_000_100), "b")
        .unwrap();

    let store = SqliteStore::open_read_only(&db).unwrap();
    assert_eq!(placed.len(), 800);
    for (index, detail) in &placed {
        let e = store.entry(*index).unwrap().unwrap();
        let Entry::Lifecycle(l) = Entry::from_leaf_data(&e.data).unwrap() else {
            panic!("entry {index} is not a marker");
        };
        assert_eq!(l.detail.as_deref(), Some(detail.as_str()));
    }
    let verifier = NoteVerifier::new(ORIGIN, &key(1).public_key()).unwrap();
    let report = verify_log(&store, &verifier, &mut |_, _| {}).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // 800 appended, the log-opened marker and two stop markers.
    assert_eq!(report.entries, 803);
    // The second writer to stop marked the log closed: reopening is not a restart.
    let reopened = open(&db, "c");
    assert_eq!(reopened.size(), 803);
}
