//! Test tool for the crash tests (`tests/crash.rs`), not part of signet's interface.
//!
//! `signet-log-crash-writer DB THREADS [--no-autocheckpoint]` opens the log at DB with a
//! fixed TEST FIXTURE key and appends entries from THREADS threads through the group-commit
//! writer, forever. After each append returns, it prints `INDEX DETAIL WAL_BYTES DB_BYTES`
//! on stdout: a promise that the entry is durable, with the sizes of `DB-wal` and `DB`
//! measured after the append returned (so they include at least every byte of the commit
//! that made the entry durable). The test kills it with SIGKILL at a random moment and
//! checks every promise.
//!
//! Without `--no-autocheckpoint` the WAL is checkpointed often (every 64 pages by the
//! writer, every 20 entries by the background checkpointer), so kills land during
//! checkpoints too. `--no-autocheckpoint` turns SQLite's automatic WAL checkpoints (and
//! the background ones) off before the log is opened, so the database file is not written while the tool runs and the WAL is only
//! appended to: the power-loss test relies on that to know which bytes were synced.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use signet_core::alg::{Algorithm, SigningKey};
use signet_core::replay::UnixTime;
use signet_log::entry::{Entry, LifecycleEntry, LifecycleEvent};
use signet_log::log::Log;
use signet_log::sqlite::SqliteStore;
use signet_log::writer;

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "crash-writer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The TEST FIXTURE log key the crash tests verify with.
fn key() -> Result<SigningKey, String> {
    SigningKey::from_seed(Algorithm::Ed25519, &[7u8; 32]).map_err(|e| e.to_string())
}

/// The size of `path` in bytes, 0 if it does not exist.
fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn run() -> Result<(), String> {
    let mut args = std::env::args_os().skip(1);
    let db = PathBuf::from(
        args.next()
            .ok_or("usage: DB THREADS [--no-autocheckpoint]")?,
    );
    let threads: usize = args
        .next()
        .and_then(|t| t.to_str().and_then(|t| t.parse().ok()))
        .unwrap_or(4);
    let no_checkpoint = args.next().is_some_and(|a| a == "--no-autocheckpoint");
    let mut wal = db.clone().into_os_string();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let store = SqliteStore::open(&db).map_err(|e| e.to_string())?;
    if no_checkpoint {
        store.set_wal_autocheckpoint(0).map_err(|e| e.to_string())?;
    } else {
        // Checkpoints often, the writer's and the background ones, so kills land in them.
        store
            .set_wal_autocheckpoint(64)
            .map_err(|e| e.to_string())?;
        store.set_background_checkpoint_entries(20);
    }
    let log = Log::open(
        store,
        key()?,
        "signet.test/crash",
        UnixTime(1_795_000_000),
        "crash-writer",
    )
    .map_err(|e| e.to_string())?;
    let (handle, _writer) = writer::spawn(log).map_err(|e| e.to_string())?;
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    std::thread::scope(|s| {
        for t in 0..threads {
            let handle = handle.clone();
            let out = Arc::clone(&out);
            let (db, wal) = (&db, &wal);
            s.spawn(move || {
                for n in 0u64.. {
                    let detail = format!("t{t}-n{n}");
                    let entry = Entry::Lifecycle(LifecycleEntry {
                        event: LifecycleEvent::Start,
                        at: UnixTime(1_795_000_000),
                        detail: Some(detail.clone()),
                    });
                    let Ok(index) = handle.append(&entry) else {
                        return;
                    };
                    let (wal_bytes, db_bytes) = (size(wal), size(db));
                    let Ok(mut o) = out.lock() else { return };
                    if writeln!(o, "{index} {detail} {wal_bytes} {db_bytes}")
                        .and_then(|()| o.flush())
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok(())
}
