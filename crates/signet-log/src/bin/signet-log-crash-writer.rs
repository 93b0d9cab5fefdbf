//! Test tool for the crash tests (`tests/crash.rs`), not part of signet's interface.
//!
//! `signet-log-crash-writer DB THREADS` opens the log at DB with a fixed TEST FIXTURE key and
//! appends entries from THREADS threads through the group-commit writer, forever. After each
//! append returns, it prints `INDEX DETAIL` on stdout: a promise that the entry is durable.
//! The test kills it with SIGKILL at a random moment and checks every promise.

use std::io::Write as _;
use std::path::PathBuf;
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

fn run() -> Result<(), String> {
    let mut args = std::env::args_os().skip(1);
    let db = PathBuf::from(args.next().ok_or("usage: DB THREADS")?);
    let threads: usize = args
        .next()
        .and_then(|t| t.to_str().and_then(|t| t.parse().ok()))
        .unwrap_or(4);
    let store = SqliteStore::open(&db).map_err(|e| e.to_string())?;
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
                    let Ok(mut o) = out.lock() else { return };
                    if writeln!(o, "{index} {detail}")
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
