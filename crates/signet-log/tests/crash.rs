//! Durability under crashes.
//!
//! - `kill_9_loses_no_committed_entry`: a writer appending from several threads is killed
//!   at random moments, again and again. After each kill the log reopens, every append that
//!   had returned is there with its content, the whole log verifies, and a `restart` marker
//!   is recorded.
//! - `power_loss_loses_no_committed_entry`: the same, and after each kill the files are
//!   damaged the way a power cut may leave them (below), before the log is reopened.
//!
//! ## The power-loss model
//!
//! `kill -9` alone loses nothing the process wrote: the kernel still holds its unsynced
//! writes. A power cut loses or tears exactly the writes that were not yet synced. Without
//! a custom SQLite VFS (unsafe code is forbidden here), the test cannot see `fsync` calls,
//! so it derives an upper bound for the synced bytes instead:
//!
//! 1. The writer runs with SQLite's automatic checkpoints off
//!    (`SqliteStore::set_wal_autocheckpoint(0)`), so while it runs the database file is
//!    not written at all and the WAL is only appended to (a WAL is rewritten from its start
//!    only after a checkpoint, and there is none).
//! 2. With `synchronous = FULL`, a commit returns after the WAL is fsynced up to and
//!    including the commit's last frame. After each append returns, the writer measures
//!    the WAL's size and reports it with its promise; that size is at least the end of the
//!    commit that made the entry durable.
//! 3. After the kill, `L` is the largest size reported with a promise this round. Every
//!    byte of the WAL past `L` may not have been synced (it may also belong to commits that
//!    were synced but not yet acknowledged: losing those is what a power cut a moment
//!    earlier does). The test then does one of: cut the WAL at a random length in
//!    `[L, len]`; overwrite `[c, len)` with zeros or with random bytes (pages that were
//!    allocated but never written, or torn writes); overwrite one random 512-byte sector
//!    past `L` and keep the later bytes (writes that reached the disk out of order);
//!    append random bytes past the end. It checks that the database file has the size it
//!    had when the promises were made, and deletes the `-shm` index (shared memory does
//!    not survive a power cut; SQLite rebuilds it from the WAL).
//! 4. The log must then reopen, keep every promised entry with its content, verify as a
//!    whole (so the latest signed checkpoint, committed with every batch, covers exactly
//!    the recovered entries), and record a `restart` marker when reopened for writing.
//!
//! Limits: the model trusts the disk to honour `fsync` and cannot cut inside a
//! checkpoint (copying the WAL into the database file), which SQLite orders with its own
//! syncs (WAL synced before the copy, database synced before the WAL is reused); the
//! `kill -9` test runs with frequent checkpoints (the background ones too). Bytes before
//! `L` are never changed, so the test does not model a disk that loses synced data.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::panic, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
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

/// One acknowledged append: `INDEX DETAIL WAL_BYTES DB_BYTES`.
struct Promise {
    index: u64,
    detail: String,
    wal: u64,
    db: u64,
}

fn parse(line: &str) -> Promise {
    let f: Vec<&str> = line.split(' ').collect();
    let [index, detail, wal, db] = f.as_slice() else {
        panic!("bad line from the writer: {line}");
    };
    Promise {
        index: index.parse().unwrap(),
        detail: (*detail).to_owned(),
        wal: wal.parse().unwrap(),
        db: db.parse().unwrap(),
    }
}

/// Run the crash writer on `db` and SIGKILL it after about `want` promises; returns the
/// promises it made.
fn run_and_kill(db: &Path, threads: usize, no_checkpoint: bool, want: usize) -> Vec<Promise> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_signet-log-crash-writer"));
    cmd.arg(db).arg(threads.to_string());
    if no_checkpoint {
        cmd.arg("--no-autocheckpoint");
    }
    let mut child = cmd
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
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < want && start.elapsed() < Duration::from_secs(20) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(50)) {
            got.push(parse(&line));
        }
    }
    // SIGKILL mid-batch: no chance to clean up. A varying delay of up to 3 ms moves the
    // kill across the writer's cycle, so it often lands after a commit's WAL frames were
    // written and before they were synced and acknowledged.
    std::thread::sleep(Duration::from_micros(
        u64::try_from(want * 7919 % 3000).unwrap(),
    ));
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    // Promises printed between our last read and the kill still count.
    while let Ok(line) = rx.try_recv() {
        got.push(parse(&line));
    }
    got
}

/// Reopen read-only: every promise holds, the log verifies.
fn check_promises(db: &Path, promised: &HashMap<u64, String>, round: &str) {
    let verifier = NoteVerifier::new(ORIGIN, &key().public_key()).unwrap();
    let store = SqliteStore::open_read_only(db).unwrap();
    for (i, detail) in promised {
        let e = store
            .entry(*i)
            .unwrap()
            .unwrap_or_else(|| panic!("round {round}: promised entry {i} lost"));
        let Entry::Lifecycle(l) = Entry::from_leaf_data(&e.data).unwrap() else {
            panic!("{round}: entry {i} changed kind");
        };
        assert_eq!(
            l.detail.as_deref(),
            Some(detail.as_str()),
            "{round}: entry {i}"
        );
    }
    let report = verify_log(&store, &verifier, &mut |_, _| {}).unwrap();
    assert!(report.is_valid(), "round {round}: {:?}", report.problems);
    assert_eq!(report.entries, store.size().unwrap());
}

/// Reopening for writing after the last crash records a restart, and each earlier round's
/// reopen recorded one too.
fn check_restarts(db: &Path, rounds: usize) {
    let log = Log::open(
        SqliteStore::open(db).unwrap(),
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
    assert_eq!(restarts, rounds, "one restart marker per crash");
}

#[test]
fn kill_9_loses_no_committed_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut promised: HashMap<u64, String> = HashMap::new();
    let rounds = 12;
    for round in 0..rounds {
        let got = run_and_kill(&db, 4, false, 50 + (round * 397) % 1500);
        assert!(
            !got.is_empty(),
            "round {round}: the writer made no progress"
        );
        promised.extend(got.into_iter().map(|p| (p.index, p.detail)));
        check_promises(&db, &promised, &format!("round {round}"));
    }
    check_restarts(&db, rounds);
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
    /// Uniform in `[lo, hi]`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn bytes(&mut self, n: u64) -> Vec<u8> {
        (0..n).map(|_| self.next().to_le_bytes()[3]).collect()
    }
}

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Damage the WAL past `synced` as a power cut may; returns a description.
fn power_cut(wal: &Path, synced: u64, rng: &mut Rng, round: usize) -> String {
    let len = std::fs::metadata(wal).unwrap().len();
    assert!(len >= synced, "the WAL shrank below an acknowledged commit");
    let mut f = std::fs::OpenOptions::new().write(true).open(wal).unwrap();
    let cut = rng.between(synced, len);
    let what = match round % 5 {
        0 => {
            f.set_len(cut).unwrap();
            "truncated"
        }
        1 => {
            f.seek(SeekFrom::Start(cut)).unwrap();
            f.write_all(&vec![0; usize::try_from(len - cut).unwrap()])
                .unwrap();
            "zeroed"
        }
        2 => {
            f.seek(SeekFrom::Start(cut)).unwrap();
            f.write_all(&rng.bytes(len - cut)).unwrap();
            "overwritten with random bytes"
        }
        3 => {
            // One sector past `synced` torn, the bytes after it kept.
            let first = synced.div_ceil(512);
            let last = (len / 512).max(first);
            let at = rng.between(first, last) * 512;
            f.seek(SeekFrom::Start(at)).unwrap();
            f.write_all(&rng.bytes(512)).unwrap();
            "one sector torn"
        }
        _ => {
            f.seek(SeekFrom::Start(len)).unwrap();
            let n = rng.between(1, 3 * 4096);
            f.write_all(&rng.bytes(n)).unwrap();
            return format!("{n} random bytes appended (synced {synced}, length {len})");
        }
    };
    format!("{what} at {cut} (synced {synced}, length {len})")
}

#[test]
fn power_loss_loses_no_committed_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("power.db");
    let (wal, shm) = (with_suffix(&db, "-wal"), with_suffix(&db, "-shm"));
    let mut promised: HashMap<u64, String> = HashMap::new();
    let mut rng = Rng(0x5EED_C0FF_EE11_D00D);
    let rounds = 10;
    for round in 0..rounds {
        // One client thread makes the reported sizes exact (nothing else is written
        // between a commit and its report); four make batches.
        let threads = if round % 2 == 0 { 1 } else { 16 };
        let got = run_and_kill(&db, threads, true, 40 + (round * 211) % 600);
        assert!(
            !got.is_empty(),
            "round {round}: the writer made no progress"
        );
        let synced = got.iter().map(|p| p.wal).max().unwrap_or(0);
        let db_len = got.iter().map(|p| p.db).max().unwrap_or(0);
        assert!(
            got.iter().all(|p| p.db == db_len),
            "the database file changed while checkpoints were off"
        );
        assert_eq!(std::fs::metadata(&db).unwrap().len(), db_len);
        promised.extend(got.into_iter().map(|p| (p.index, p.detail)));
        let what = power_cut(&wal, synced, &mut rng, round);
        if shm.exists() {
            std::fs::remove_file(&shm).unwrap();
        }
        check_promises(&db, &promised, &format!("round {round}, WAL {what}"));
    }
    check_restarts(&db, rounds);
}
