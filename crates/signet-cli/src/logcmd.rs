//! `signet log …`: list, show, verify, checkpoint, prove and export the audit log.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::json;
use signet_core::did::Did;
use signet_core::envelope;
use signet_core::statement;
use signet_log::bundle::{self, ProofBundle};
use signet_log::entry::Entry;
use signet_log::log::Log;
use signet_log::note::NoteVerifier;
use signet_log::sqlite::SqliteStore;
use signet_log::store::{Filter, Store, StoredEntry};
use signet_log::verify;
use signet_mcp::serve::records::entry_id;
use signet_mcp::serve::records::{self, short_agent, time_text};

use crate::cli::{
    ExportFormat, LogArgs, LogCheckpointArgs, LogCommand, LogExportArgs, LogListArgs, LogLocation,
    LogProveArgs, LogShowArgs, LogVerifyArgs,
};
use crate::commands::{EXIT_INVALID, out};
use crate::keyfile::{self, KeySource};

/// Run a `signet log` subcommand.
pub fn run(a: LogArgs) -> Result<ExitCode> {
    let loc = &a.location;
    match &a.command {
        LogCommand::List(l) => list(loc, l),
        LogCommand::Show(s) => show(loc, s),
        LogCommand::Verify(v) => verify_cmd(loc, v),
        LogCommand::Checkpoint(c) => checkpoint(loc, c),
        LogCommand::Prove(p) => prove(loc, p),
        LogCommand::Export(e) => export(loc, e),
        LogCommand::Timestamp(t) => crate::tsacmd::log_timestamp(&log_path(loc)?, t),
    }
}

/// The log file: `--log`, else `$SIGNET_HOME/log/signet.db`.
pub fn log_path(loc: &LogLocation) -> Result<PathBuf> {
    match &loc.log {
        Some(p) => Ok(p.clone()),
        None => Ok(keyfile::signet_home()?.join("log").join("signet.db")),
    }
}

fn open_ro(loc: &LogLocation) -> Result<SqliteStore> {
    let path = log_path(loc)?;
    SqliteStore::open_read_only(&path).map_err(|e| anyhow!("{e}"))
}

/// The trusted log key: `--log-key` (did:key, C2SP verifier key or a file holding one),
/// else `$SIGNET_HOME/keys/log.pub`. `origin` names the key for a did:key.
pub fn log_verifier(flag: Option<&str>, origin: &str) -> Result<NoteVerifier> {
    let text = match flag {
        Some(k) if k.starts_with("did:") || k.contains('+') => k.to_owned(),
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read log key `{path}`"))?,
        None => {
            let p = keyfile::default_key_path("log")?.with_extension("pub");
            std::fs::read_to_string(&p).with_context(|| {
                format!(
                    "no trusted log key: pass --log-key, or keep the log's public key in `{}`",
                    p.display()
                )
            })?
        }
    };
    let text = text.trim();
    if text.starts_with("did:") {
        let did: Did = text
            .parse()
            .map_err(|e| anyhow!("log key `{text}` is not a valid did:key: {e}"))?;
        return NoteVerifier::new(origin, did.public_key()).map_err(|e| anyhow!("log key: {e}"));
    }
    text.parse::<NoteVerifier>()
        .map_err(|e| anyhow!("log key `{text}` is not a did:key or verifier key: {e}"))
}

fn origin_of(store: &SqliteStore) -> Result<String> {
    store
        .meta("origin")?
        .ok_or_else(|| anyhow!("the log has no origin recorded; it was never opened by signet"))
}

fn find(store: &SqliteStore, id: &str) -> Result<StoredEntry> {
    records::find_entry(store, id).map_err(|e| anyhow!(e))
}

fn status_of(e: &StoredEntry) -> (bool, String) {
    records::entry_status(&e.data)
}

fn parse_time_flag(flag: &str, v: Option<&String>) -> Result<Option<i64>> {
    v.map(|t| {
        envelope::parse_time(t)
            .map(|u| u.0)
            .map_err(|e| anyhow!("--{flag}: {e}"))
    })
    .transpose()
}

fn list(loc: &LogLocation, a: &LogListArgs) -> Result<ExitCode> {
    let store = open_ro(loc)?;
    let filter = Filter {
        kind: a.kind.clone(),
        tool: a.tool.clone(),
        agent: a.agent.clone(),
        outcome: a.outcome.clone(),
        since: parse_time_flag("since", a.since.as_ref())?,
        until: parse_time_flag("until", a.until.as_ref())?,
        limit: a.limit,
    };
    let rows = store.query(&filter)?;
    let mut o = std::io::stdout().lock();
    for e in &rows {
        let (valid, status) = status_of(e);
        let c = &e.columns;
        if a.json {
            writeln!(
                o,
                "{}",
                json!({
                    "id": entry_id(&e.data), "index": e.index, "kind": c.kind,
                    "agent": c.agent, "tool": c.tool, "target": c.target,
                    "outcome": c.outcome, "time": time_text(c.at), "valid": valid,
                })
            )?;
        } else {
            writeln!(
                o,
                "{}  {:>6}  {:<9}  {:<26}  {:<16}  {:<28}  {:<17}  {}  {}",
                entry_id(&e.data),
                e.index,
                c.kind,
                short_agent(c.agent.as_deref()),
                c.tool.as_deref().unwrap_or("-"),
                c.target.as_deref().unwrap_or("-"),
                c.outcome.as_deref().unwrap_or("-"),
                time_text(c.at),
                status
            )?;
        }
    }
    o.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn show(loc: &LogLocation, a: &LogShowArgs) -> Result<ExitCode> {
    let store = open_ro(loc)?;
    let e = find(&store, &a.id)?;
    let entry: serde_json::Value = serde_json::from_slice(&e.data).unwrap_or(json!(null));
    let decoded = Entry::from_leaf_data(&e.data).ok().and_then(|en| match en {
        Entry::Intent(i) => jws_payload(&i.jws),
        Entry::Receipt(r) => jws_payload(&r.jws),
        _ => None,
    });
    let (valid, status) = status_of(&e);
    let v = json!({
        "id": entry_id(&e.data),
        "index": e.index,
        "valid": valid,
        "status": status,
        "entry": entry,
        "statement": decoded,
    });
    if a.json {
        out(&v.to_string())?;
    } else {
        out(&serde_json::to_string_pretty(&v)?)?;
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}

fn jws_payload(jws: &str) -> Option<serde_json::Value> {
    let parsed = signet_core::jws::Jws::parse(jws).ok()?;
    serde_json::from_slice(parsed.payload()).ok()
}

/// A log file that exists but cannot be read as a log is a failed verification (exit 3),
/// not a usage error: damage must never look like success or like a typo.
fn unreadable(a: &LogVerifyArgs, e: &dyn std::fmt::Display) -> Result<ExitCode> {
    let reason = format!("cannot read the log: {e}");
    if a.json {
        out(&json!({"valid": false, "problems": [{"index": null, "reason": reason}]}).to_string())?;
    } else {
        out(&format!("INVALID: {reason}"))?;
    }
    Ok(ExitCode::from(EXIT_INVALID))
}

fn verify_cmd(loc: &LogLocation, a: &LogVerifyArgs) -> Result<ExitCode> {
    let path = log_path(loc)?;
    if !path.exists() {
        bail!("no log at `{}`", path.display());
    }
    let store = match SqliteStore::open_read_only(&path) {
        Ok(s) => s,
        Err(e) => return unreadable(a, &e),
    };
    let origin = match store.meta("origin") {
        Ok(Some(o)) => o,
        Ok(None) => return unreadable(a, &"no origin recorded"),
        Err(e) => return unreadable(a, &e),
    };
    let key = log_verifier(loc.log_key.as_deref(), &origin)?;
    let total = match store.size() {
        Ok(n) => n,
        Err(e) => return unreadable(a, &e),
    };
    let bar = if std::io::stderr().is_terminal() && !a.json {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "verifying {bar:40} {pos}/{len} entries ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let anchors = a
        .tsa_anchor
        .as_deref()
        .map(crate::tsacmd::load_anchors)
        .transpose()?;
    let report = match verify::verify_log_with(&store, &key, anchors.as_ref(), &mut |done, _| {
        if let Some(b) = &bar {
            b.set_position(done);
        }
    }) {
        Ok(r) => r,
        Err(e) => return unreadable(a, &e),
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut problems = report.problems.clone();
    if let Some(stored) = store.meta("log_key")?
        && stored != key.to_string()
    {
        problems.insert(
            0,
            verify::Problem {
                index: None,
                reason: format!("the log names its key `{stored}`, but the trusted key is `{key}`"),
            },
        );
    }
    if a.json {
        out(&json!({
            "valid": problems.is_empty(),
            "entries": report.entries,
            "signatures": report.signatures,
            "checkpoints": report.checkpoints,
            "root": report.root.to_string(),
            "timestamps": crate::tsacmd::report_json(&report.timestamps),
            "problems": problems.iter().map(|p| json!({"index": p.index, "reason": p.reason})).collect::<Vec<_>>(),
        })
        .to_string())?;
    } else {
        for p in &problems {
            match p.index {
                Some(i) => out(&format!("INVALID entry {i}: {}", p.reason))?,
                None => out(&format!("INVALID: {}", p.reason))?,
            }
        }
        if problems.is_empty() {
            out(&format!(
                "VALID log `{origin}`: {} entries, {} signatures, {} checkpoints, root {}",
                report.entries, report.signatures, report.checkpoints, report.root
            ))?;
        } else {
            out(&format!(
                "INVALID log `{origin}`: {} problem(s) in {} entries",
                problems.len(),
                report.entries
            ))?;
        }
        // After the verdict, so the first line is always VALID or INVALID.
        for line in crate::tsacmd::report_lines(&report.timestamps) {
            out(&line)?;
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}

fn checkpoint(loc: &LogLocation, a: &LogCheckpointArgs) -> Result<ExitCode> {
    let source = match &a.key.log_key_source {
        Some(s) => s.parse()?,
        None => KeySource::File(keyfile::default_key_path("log")?),
    };
    let key = keyfile::load(&source)?;
    let path = log_path(loc)?;
    let store = SqliteStore::open(&path)?;
    let origin = origin_of(&store)?;
    let mut log = Log::open_maintenance(store, key, &origin)?;
    let note = log.checkpoint()?;
    let mut o = std::io::stdout().lock();
    o.write_all(note.as_bytes())?;
    o.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn prove(loc: &LogLocation, a: &LogProveArgs) -> Result<ExitCode> {
    let store = open_ro(loc)?;
    let index = match std::fs::read_to_string(&a.what) {
        Ok(text) => {
            let jws = text.trim();
            let mut found = None;
            store.scan(0, &mut |e| {
                let hit = match Entry::from_leaf_data(&e.data) {
                    Ok(Entry::Intent(i)) => i.jws == jws,
                    Ok(Entry::Receipt(r)) => r.jws == jws,
                    _ => false,
                };
                if hit {
                    found = Some(e.index);
                }
                Ok(found.is_none())
            })?;
            found.ok_or_else(|| {
                anyhow!(
                    "the record in `{}` is not in this log (digest {})",
                    a.what,
                    statement::intent_digest(jws)
                )
            })?
        }
        Err(_) => find(&store, &a.what)?.index,
    };
    let b = bundle::prove(&store, index)?;
    let text = serde_json::to_string_pretty(&b)?;
    match &a.out {
        Some(p) => std::fs::write(p, format!("{text}\n"))
            .with_context(|| format!("cannot write `{}`", p.display()))?,
        None => out(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn export(loc: &LogLocation, a: &LogExportArgs) -> Result<ExitCode> {
    let store = open_ro(loc)?;
    let mut sink: Box<dyn std::io::Write> = match &a.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create `{}`", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    if matches!(a.format, ExportFormat::Csv) {
        writeln!(sink, "index,id,kind,time,agent,tool,target,outcome,data")?;
    }
    let mut io_err = None;
    store.scan(0, &mut |e| {
        let c = &e.columns;
        let line = match a.format {
            ExportFormat::Jsonl => json!({
                "index": e.index,
                "id": entry_id(&e.data),
                "kind": c.kind,
                "time": time_text(c.at),
                "agent": c.agent, "tool": c.tool, "target": c.target, "outcome": c.outcome,
                "entry": serde_json::from_slice::<serde_json::Value>(&e.data).unwrap_or(json!(null)),
            })
            .to_string(),
            ExportFormat::Csv => [
                e.index.to_string(),
                entry_id(&e.data),
                c.kind.clone(),
                time_text(c.at),
                c.agent.clone().unwrap_or_default(),
                c.tool.clone().unwrap_or_default(),
                c.target.clone().unwrap_or_default(),
                c.outcome.clone().unwrap_or_default(),
                String::from_utf8_lossy(&e.data).into_owned(),
            ]
            .iter()
            .map(|f| csv_field(f))
            .collect::<Vec<_>>()
            .join(","),
        };
        if let Err(err) = writeln!(sink, "{line}") {
            io_err = Some(err);
            return Ok(false);
        }
        Ok(true)
    })?;
    if let Some(e) = io_err {
        return Err(e.into());
    }
    sink.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `signet verify` on a proof bundle: check it offline with the log key.
pub fn verify_bundle(input: &[u8], log_key: Option<&str>, as_json: bool) -> Result<ExitCode> {
    let result = ProofBundle::parse(input).and_then(|b| {
        let origin = b.checkpoint.lines().next().unwrap_or_default().to_owned();
        let key = log_verifier(log_key, &origin)
            .map_err(|e| bundle::BundleError::Checkpoint(e.to_string()))?;
        let anchors = crate::tsacmd::env_anchors()
            .map_err(|e| bundle::BundleError::Malformed(format!("{e:#}")))?;
        b.verify_with(&key, anchors.as_ref())
    });
    match result {
        Ok(v) => {
            if as_json {
                out(&json!({
                    "valid": true, "kind": "signet.log-proof.v1", "index": v.index,
                    "origin": v.checkpoint.origin, "tree_size": v.checkpoint.size.0,
                    "entry_kind": v.entry.kind(), "agent": v.summary.agent, "tool": v.summary.tool,
                    "outcome": v.summary.outcome, "time": time_text(v.summary.at.map(|t| t.0)),
                    "timestamp": crate::tsacmd::bundle_timestamp_json(&v.timestamp),
                })
                .to_string())?;
            } else {
                out(&format!(
                    "VALID {} entry {} in log `{}` (size {}), {}{} at {}",
                    v.entry.kind(),
                    v.index,
                    v.checkpoint.origin,
                    v.checkpoint.size.0,
                    short_agent(v.summary.agent.as_deref()),
                    v.summary
                        .tool
                        .as_deref()
                        .map(|t| format!(" tool {t}"))
                        .unwrap_or_default(),
                    time_text(v.summary.at.map(|t| t.0))
                ))?;
                if let Some(line) = crate::tsacmd::bundle_timestamp_line(&v.timestamp) {
                    out(&line)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if as_json {
                out(&json!({"valid": false, "reason": e.to_string()}).to_string())?;
            } else {
                out(&format!("INVALID: {e}"))?;
            }
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}
