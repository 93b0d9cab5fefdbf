//! Tampering with the SQLite file directly (edit, delete, reorder, insert, truncate, …) is
//! always detected by whole-log verification: every mutation, 100 %. Bad signatures in a
//! log of several verification chunks are reported at their own index.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]

mod support;

use std::path::Path;

use rusqlite::{Connection, params};
use signet_core::replay::UnixTime;
use signet_log::log::Log;
use signet_log::note::NoteVerifier;
use signet_log::sqlite::SqliteStore;
use signet_log::verify::verify_log;
use support::{ORIGIN, call, key, marker, pin};

/// Build a closed log of about `calls * 2 + 20` entries at `path`.
fn build(path: &Path, calls: u64) -> NoteVerifier {
    let agent = key(1);
    let gateway = key(2);
    let mut log = Log::open(
        SqliteStore::open(path).unwrap(),
        key(3),
        ORIGIN,
        UnixTime(1_795_000_000),
        "test",
    )
    .unwrap();
    log.keep_every(16);
    for n in 0..calls {
        if n.is_multiple_of(10) {
            log.append(&[pin(n), marker(&format!("m{n}"))]).unwrap();
        }
        let at = log.size();
        log.append(&call(&agent, &gateway, n, at)).unwrap();
    }
    let v = log.verifier().clone();
    log.close(UnixTime(1_795_000_999), "test").unwrap();
    v
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MUTATIONS: &[&str] = &[
    "flip-data-byte",
    "delete-entry",
    "swap-entries",
    "insert-entry-middle",
    "append-entry",
    "delete-last-entries",
    "edit-column",
    "edit-node",
    "delete-node",
    "edit-latest-checkpoint",
    "delete-latest-checkpoint",
    "edit-kept-checkpoint",
    "replace-entry-with-other-valid-entry",
    "truncate-file",
];

/// Apply mutation `m` to the log file at `path`; returns a description.
fn mutate(path: &Path, m: &str, rng: &mut Rng) -> String {
    if m == "truncate-file" {
        let len = std::fs::metadata(path).unwrap().len();
        let to = rng.below(len);
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.set_len(to).unwrap();
        return format!("truncate to {to} of {len} bytes");
    }
    let c = Connection::open(path).unwrap();
    let n: u64 = c
        .query_row("SELECT count(*) FROM entries", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64;
    let i = rng.below(n);
    let desc = match m {
        "flip-data-byte" => {
            let mut data: Vec<u8> = c
                .query_row("SELECT data FROM entries WHERE idx = ?1", [i as i64], |r| {
                    r.get(0)
                })
                .unwrap();
            let at = rng.below(data.len() as u64) as usize;
            data[at] ^= 1 << rng.below(8);
            c.execute(
                "UPDATE entries SET data = ?1 WHERE idx = ?2",
                params![data, i as i64],
            )
            .unwrap();
            format!("flip a bit of entry {i} at byte {at}")
        }
        "delete-entry" => {
            c.execute("DELETE FROM entries WHERE idx = ?1", [i as i64])
                .unwrap();
            format!("delete entry {i}")
        }
        "swap-entries" => {
            let mut j = rng.below(n);
            if j == i {
                j = (i + 1) % n;
            }
            c.execute_batch(&format!(
                "UPDATE entries SET idx = -1 WHERE idx = {i};
                 UPDATE entries SET idx = {i} WHERE idx = {j};
                 UPDATE entries SET idx = {j} WHERE idx = -1;"
            ))
            .unwrap();
            format!("swap entries {i} and {j}")
        }
        "insert-entry-middle" => {
            // Shift the tail up by one and copy entry i into the gap.
            let rows: Vec<i64> = {
                let mut st = c
                    .prepare("SELECT idx FROM entries WHERE idx > ?1 ORDER BY idx DESC")
                    .unwrap();
                st.query_map([i as i64], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            };
            for r in rows {
                c.execute(
                    "UPDATE entries SET idx = ?1 WHERE idx = ?2",
                    params![r + 1, r],
                )
                .unwrap();
            }
            c.execute(
                "INSERT INTO entries(idx, kind, at, agent, tool, target, outcome, reference, data)
                 SELECT idx + 1, kind, at, agent, tool, target, outcome, reference, data FROM entries WHERE idx = ?1",
                [i as i64],
            )
            .unwrap();
            format!("insert a copy of entry {i} after it")
        }
        "append-entry" => {
            c.execute(
                "INSERT INTO entries(idx, kind, at, agent, tool, target, outcome, reference, data)
                 SELECT ?1, kind, at, agent, tool, target, outcome, reference, data FROM entries WHERE idx = ?2",
                params![n as i64, i as i64],
            )
            .unwrap();
            format!("append a copy of entry {i}")
        }
        "delete-last-entries" => {
            let k = 1 + rng.below(5.min(n));
            c.execute("DELETE FROM entries WHERE idx >= ?1", [(n - k) as i64])
                .unwrap();
            format!("delete the last {k} entries")
        }
        "edit-column" => {
            let col = ["tool", "agent", "target", "outcome", "at", "kind"][rng.below(6) as usize];
            let v = if col == "at" {
                "12345".to_owned()
            } else {
                "'forged'".to_owned()
            };
            c.execute(
                &format!("UPDATE entries SET {col} = {v} WHERE idx = ?1"),
                [i as i64],
            )
            .unwrap();
            format!("set column {col} of entry {i}")
        }
        "edit-node" => {
            let (level, idx, mut h): (i64, i64, Vec<u8>) = c
                .query_row(
                    "SELECT level, idx, hash FROM nodes ORDER BY random() LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap();
            h[rng.below(32) as usize] ^= 0x80;
            c.execute(
                "UPDATE nodes SET hash = ?1 WHERE level = ?2 AND idx = ?3",
                params![h, level, idx],
            )
            .unwrap();
            format!("edit node ({level}, {idx})")
        }
        "delete-node" => {
            c.execute("DELETE FROM nodes WHERE (level, idx) IN (SELECT level, idx FROM nodes ORDER BY random() LIMIT 1)", []).unwrap();
            "delete a node".into()
        }
        "edit-latest-checkpoint" => {
            let note: String = c
                .query_row("SELECT note FROM latest", [], |r| r.get(0))
                .unwrap();
            let mut b = note.into_bytes();
            let at = rng.below(b.len() as u64) as usize;
            b[at] = if b[at] == b'A' { b'B' } else { b'A' };
            c.execute(
                "UPDATE latest SET note = ?1",
                [String::from_utf8_lossy(&b).into_owned()],
            )
            .unwrap();
            format!("edit the latest checkpoint at byte {at}")
        }
        "delete-latest-checkpoint" => {
            c.execute("DELETE FROM latest", []).unwrap();
            "delete the latest checkpoint".into()
        }
        "edit-kept-checkpoint" => {
            let (size, note): (i64, String) = c
                .query_row(
                    "SELECT size, note FROM checkpoints ORDER BY random() LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            let edited = note.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1);
            c.execute(
                "UPDATE checkpoints SET note = ?1 WHERE size = ?2",
                params![edited, size],
            )
            .unwrap();
            format!("edit the size in kept checkpoint {size}")
        }
        "replace-entry-with-other-valid-entry" => {
            let mut j = rng.below(n);
            if j == i {
                j = (i + 1) % n;
            }
            c.execute(
                "UPDATE entries SET (kind, at, agent, tool, target, outcome, reference, data) =
                 (SELECT kind, at, agent, tool, target, outcome, reference, data FROM entries WHERE idx = ?1)
                 WHERE idx = ?2",
                params![j as i64, i as i64],
            )
            .unwrap();
            format!("overwrite entry {i} with entry {j}")
        }
        other => unreachable!("{other}"),
    };
    drop(c);
    desc
}

/// Is the damage detected? Either the file cannot be read, or verification reports a problem.
fn detected(path: &Path, key: &NoteVerifier) -> bool {
    let Ok(store) = SqliteStore::open_read_only(path) else {
        return true;
    };
    match verify_log(&store, key, &mut |_, _| {}) {
        Err(_) => true,
        Ok(report) => !report.is_valid(),
    }
}

#[test]
fn every_mutation_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("pristine.db");
    let key = build(&pristine, 60);
    {
        let store = SqliteStore::open_read_only(&pristine).unwrap();
        let report = verify_log(&store, &key, &mut |_, _| {}).unwrap();
        assert!(report.is_valid(), "pristine log: {:?}", report.problems);
        assert!(report.entries > 100);
        assert!(report.checkpoints > 3);
    }
    let mut rng = Rng(0x5EED_0F51_6E7A);
    let mut tried = 0;
    let mut missed = Vec::new();
    for round in 0..12 {
        for m in MUTATIONS {
            let copy = dir.path().join(format!("t-{round}-{m}.db"));
            std::fs::copy(&pristine, &copy).unwrap();
            let what = mutate(&copy, m, &mut rng);
            tried += 1;
            if !detected(&copy, &key) {
                missed.push(what);
            }
            std::fs::remove_file(&copy).unwrap();
            let _ = std::fs::remove_file(copy.with_extension("db-wal"));
            let _ = std::fs::remove_file(copy.with_extension("db-shm"));
        }
    }
    assert!(
        missed.is_empty(),
        "{} of {tried} mutations went undetected: {missed:#?}",
        missed.len()
    );
}

#[test]
fn a_log_signed_by_another_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    build(&path, 5);
    let other = NoteVerifier::new(ORIGIN, &key(9).public_key()).unwrap();
    assert!(detected(&path, &other));
}

/// `data` (an entry's leaf JSON) with one character of its JWS signature changed.
fn with_bad_signature(data: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(data).unwrap();
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let jws = v["jws"].as_str().unwrap();
    let sig_at = jws.rfind('.').unwrap() + 11;
    let mut bad = jws.to_owned();
    let c = if &jws[sig_at..=sig_at] == "A" {
        "B"
    } else {
        "A"
    };
    bad.replace_range(sig_at..=sig_at, c);
    text.replacen(jws, &bad, 1).into_bytes()
}

#[test]
fn bad_signatures_are_reported_by_index_across_many_chunks() {
    // More than two of the verifier's 4096-entry chunks, signed by two keys, so each
    // verifier thread's key cache (and its precomputed tables) is reused from chunk to
    // chunk; one bad signature in the first chunk and one in the last.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.db");
    let (agent, gateway) = (key(1), key(2));
    let mut log = Log::open(
        SqliteStore::open(&path).unwrap(),
        key(3),
        ORIGIN,
        UnixTime(1_795_000_000),
        "test",
    )
    .unwrap();
    let mut at = log.size();
    let mut entries = Vec::new();
    for n in 0..4_600 {
        entries.extend(call(&agent, &gateway, n, at));
        at += 2;
    }
    for batch in entries.chunks(1000) {
        log.append(batch).unwrap();
    }
    let key = log.verifier().clone();
    log.close(UnixTime(1_795_000_999), "test").unwrap();
    let total = {
        let store = SqliteStore::open_read_only(&path).unwrap();
        let report = verify_log(&store, &key, &mut |_, _| {}).unwrap();
        assert!(report.is_valid(), "{:?}", report.problems.first());
        assert_eq!(report.signatures, 9_200);
        report.entries
    };
    assert!(total > 2 * 4096);
    // Two receipts (a bad intent would also make its receipt name an intent that is not
    // in the log): one early on, one near the end (index 0 is `log-opened`, intents are
    // odd, receipts even, the last entry is `stop`).
    let bad = [102_u64, total - 2];
    assert!(bad.iter().all(|i| i % 2 == 0));
    {
        let c = Connection::open(&path).unwrap();
        for i in bad {
            let data: Vec<u8> = c
                .query_row(
                    "SELECT data FROM entries WHERE idx = ?1",
                    [i64::try_from(i).unwrap()],
                    |r| r.get(0),
                )
                .unwrap();
            c.execute(
                "UPDATE entries SET data = ?1 WHERE idx = ?2",
                params![with_bad_signature(&data), i64::try_from(i).unwrap()],
            )
            .unwrap();
        }
    }
    let store = SqliteStore::open_read_only(&path).unwrap();
    let report = verify_log(&store, &key, &mut |_, _| {}).unwrap();
    let by_index: Vec<(u64, &str)> = report
        .problems
        .iter()
        .filter_map(|p| p.index.map(|i| (i, p.reason.as_str())))
        .collect();
    assert_eq!(
        by_index.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        bad.to_vec(),
        "{:#?}",
        report.problems
    );
    let refused = signet_log::entry::signature_refused().to_string();
    for (i, reason) in by_index {
        assert!(reason.contains(&refused), "entry {i}: {reason}");
    }
}
