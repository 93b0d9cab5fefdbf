//! `signet tsa …`: RFC 3161 time-stamp tokens.
//!
//! `signet tsa verify TOKEN --data FILE --trust-anchor CERT.pem` checks one token (a bare
//! token or a full `TimeStampResp`, DER or base64) fully offline with `signet-tsa`; with
//! `--request` also the nonce of the request it answers. VALID exits 0, INVALID exits 3.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use base64::Engine as _;
use clap::{Args, Subcommand};
use serde_json::json;
use signet_tsa::{Imprint, Request, TrustAnchors, verify_token};

use crate::commands::{EXIT_INVALID, out};

/// `signet tsa`.
#[derive(Debug, Args)]
pub struct TsaArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TsaCommand,
}

/// The `signet tsa` subcommands.
#[derive(Debug, Subcommand)]
pub enum TsaCommand {
    /// Verify one time-stamp token offline; prints VALID or INVALID (exit 0 / 3).
    Verify(TsaVerifyArgs),
}

/// `signet tsa verify`.
#[derive(Debug, Args)]
pub struct TsaVerifyArgs {
    /// The token or full response: DER, or base64 of the DER.
    pub token: PathBuf,
    /// The time-stamped data (its SHA-256 must be the token's message imprint).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// PEM file with the trusted root (or TSA) certificate(s) the TSA must chain to.
    #[arg(long, value_name = "CERT.pem", env = "SIGNET_TSA_ANCHOR")]
    pub trust_anchor: PathBuf,
    /// The DER request the token answers: its nonce and imprint are checked too.
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `signet tsa …`.
///
/// # Errors
/// Unreadable files or a bad trust anchor; a token that fails verification is INVALID
/// (exit 3), not an error.
pub fn run(a: TsaArgs) -> Result<ExitCode> {
    match a.command {
        TsaCommand::Verify(v) => verify(&v),
    }
}

/// DER as is, or base64 (standard, padded; whitespace ignored) of it.
pub fn der_or_base64(bytes: &[u8]) -> Vec<u8> {
    if bytes.first() == Some(&0x30) {
        return bytes.to_vec();
    }
    let text: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&text)
        .unwrap_or_else(|_| bytes.to_vec())
}

fn verify(a: &TsaVerifyArgs) -> Result<ExitCode> {
    let raw =
        std::fs::read(&a.token).with_context(|| format!("cannot read `{}`", a.token.display()))?;
    let data =
        std::fs::read(&a.data).with_context(|| format!("cannot read `{}`", a.data.display()))?;
    let pem = std::fs::read(&a.trust_anchor)
        .with_context(|| format!("cannot read `{}`", a.trust_anchor.display()))?;
    let anchors = TrustAnchors::from_pem(&pem)
        .with_context(|| format!("trust anchor `{}`", a.trust_anchor.display()))?;
    let imprint = Imprint::of(&data);
    let request = match &a.request {
        Some(p) => {
            let der = std::fs::read(p).with_context(|| format!("cannot read `{}`", p.display()))?;
            Some(Request::from_der(&der_or_base64(&der))?)
        }
        None => None,
    };
    let result = (|| {
        if let Some(r) = &request
            && r.imprint != imprint
        {
            return Err(signet_tsa::TsaError::ImprintMismatch {
                expected: imprint.to_hex(),
                found: r.imprint.to_hex(),
            });
        }
        let token = signet_tsa::token_of(&der_or_base64(&raw))?;
        verify_token(&token, &imprint, request.map(|r| r.nonce), &anchors)
    })();
    match result {
        Ok(ts) => {
            if a.json {
                out(&json!({
                    "valid": true, "time": ts.time_text, "unix_time": ts.time, "tsa": ts.tsa,
                    "chain": ts.chain, "serial": ts.serial, "policy": ts.policy,
                    "imprint": ts.imprint.to_hex(), "nonce": ts.nonce, "accuracy": ts.accuracy,
                })
                .to_string())?;
            } else {
                out(&format!(
                    "VALID time-stamp {} by `{}` (serial {}, policy {}{}), chain: {}",
                    ts.time_text,
                    ts.tsa,
                    ts.serial,
                    ts.policy,
                    ts.accuracy
                        .map(|x| format!(", accuracy {x}"))
                        .unwrap_or_default(),
                    ts.chain.join(" <- ")
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if a.json {
                out(&json!({"valid": false, "reason": e.to_string()}).to_string())?;
            } else {
                out(&format!("INVALID: {e}"))?;
            }
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}

/// Read trust anchors from a PEM file.
///
/// # Errors
/// Unreadable file or no certificate in it.
pub fn load_anchors(path: &std::path::Path) -> Result<TrustAnchors> {
    let pem = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    TrustAnchors::from_pem(&pem).with_context(|| format!("trust anchor `{}`", path.display()))
}

/// Trust anchors from `$SIGNET_TSA_ANCHOR`, if set (for `signet verify BUNDLE`).
///
/// # Errors
/// As [`load_anchors`].
pub fn env_anchors() -> Result<Option<TrustAnchors>> {
    std::env::var_os("SIGNET_TSA_ANCHOR")
        .filter(|v| !v.is_empty())
        .map(|p| load_anchors(std::path::Path::new(&p)))
        .transpose()
}

/// `signet log timestamp`: one token for the latest checkpoint, verified, then stored.
///
/// # Errors
/// No log or checkpoint, an unusable TSA configuration, a failed or unverifiable exchange
/// (recorded in the log's metadata too), or a store failure.
pub fn log_timestamp(path: &std::path::Path, a: &crate::cli::LogTimestampArgs) -> Result<ExitCode> {
    use signet_log::store::{Commit, Store as _, StoredTimestamp};
    use signet_log::timestamp::{META_FAILURES, META_LAST_ERROR, META_LAST_ERROR_AT};
    if !path.exists() {
        anyhow::bail!("no log at `{}`", path.display());
    }
    let anchors = load_anchors(&a.tsa_anchor)?;
    let client =
        signet_tsa::http::Client::new(&a.tsa_url, std::time::Duration::from_secs(a.timeout))?;
    let mut store = signet_log::sqlite::SqliteStore::open(path)?;
    let (size, note) = store
        .latest_checkpoint()?
        .ok_or_else(|| anyhow::anyhow!("the log has no signed checkpoint"))?;
    let now = crate::commands::now()?.0;
    match client.timestamp(Imprint::of(note.as_bytes()), &anchors) {
        Ok(s) => {
            store.put_timestamp(
                &StoredTimestamp {
                    size,
                    note,
                    request: s.request,
                    response: s.response,
                    stored_at: now,
                },
                &[(META_FAILURES, "0")],
            )?;
            out(&format!(
                "time-stamped checkpoint of size {size} at {} by `{}`",
                s.timestamp.time_text, s.timestamp.tsa
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let failures = store
                .meta(META_FAILURES)?
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
                .saturating_add(1)
                .to_string();
            let reason = format!("checkpoint of size {size}: {e}");
            let at = now.to_string();
            store.commit(&Commit {
                meta: &[
                    (META_FAILURES, failures.as_str()),
                    (META_LAST_ERROR, reason.as_str()),
                    (META_LAST_ERROR_AT, at.as_str()),
                ],
                ..Default::default()
            })?;
            Err(anyhow::anyhow!("{e}"))
        }
    }
}

/// The time-stamp part of `signet log verify --json`.
pub fn report_json(t: &signet_log::verify::TimestampReport) -> serde_json::Value {
    json!({
        "tokens": t.tokens,
        "verified": t.verified,
        "checked": t.checked,
        "latest": t.latest.as_ref().map(|(size, time)| json!({"size": size, "time": time})),
        "gap": t.gap.map(|(from, to)| json!({"from": from, "to": to})),
        "last_failure": t.last_failure.as_ref().map(|(n, reason, at)| json!({
            "consecutive": n, "reason": reason, "at": at,
        })),
    })
}

/// The time-stamp lines of `signet log verify`.
pub fn report_lines(t: &signet_log::verify::TimestampReport) -> Vec<String> {
    let mut lines = Vec::new();
    if t.tokens > 0 {
        let latest = t
            .latest
            .as_ref()
            .map(|(size, time)| {
                format!(
                    ", newest covers {size} entries{}",
                    time.as_deref()
                        .map(|x| format!(" at {x}"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_default();
        lines.push(if t.checked {
            format!(
                "TIMESTAMPS: {} of {} tokens verified{latest}",
                t.verified, t.tokens
            )
        } else {
            format!(
                "TIMESTAMPS: {} tokens, not checked (give --tsa-anchor){latest}",
                t.tokens
            )
        });
    }
    // A gap matters once time-stamps are in use: tokens stored, a TSA tried, or anchors
    // given to check them. A log that never had a TSA prints nothing here.
    let in_use = t.tokens > 0 || t.checked || t.last_failure.is_some();
    if let Some((from, to)) = t.gap.filter(|_| in_use) {
        lines.push(format!(
            "TIMESTAMP GAP: entries {from}..{to} are not covered by any time-stamp token"
        ));
    }
    if let Some((n, reason, at)) = &t.last_failure {
        lines.push(format!(
            "TIMESTAMP FAILURES: {n} in a row, last{}: {reason}",
            at.map(|a| format!(" at {}", records_time(a)))
                .unwrap_or_default()
        ));
    }
    lines
}

fn records_time(unix: i64) -> String {
    u64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(i64::try_from(s).ok()?).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// A bundle's time-stamp for `--json`.
pub fn bundle_timestamp_json(t: &signet_log::bundle::BundleTimestamp) -> serde_json::Value {
    use signet_log::bundle::BundleTimestamp;
    match t {
        BundleTimestamp::None => serde_json::Value::Null,
        BundleTimestamp::Unchecked => json!({"checked": false}),
        BundleTimestamp::Verified(ts) => json!({
            "checked": true, "time": ts.time_text, "tsa": ts.tsa, "serial": ts.serial,
        }),
    }
}

/// A bundle's time-stamp as a line of text.
pub fn bundle_timestamp_line(t: &signet_log::bundle::BundleTimestamp) -> Option<String> {
    use signet_log::bundle::BundleTimestamp;
    match t {
        BundleTimestamp::None => None,
        BundleTimestamp::Unchecked => Some(
            "TIMESTAMP present, not checked (set SIGNET_TSA_ANCHOR to a trust anchor PEM)".into(),
        ),
        BundleTimestamp::Verified(ts) => Some(format!(
            "VALID time-stamp: the checkpoint existed at {} (tsa `{}`)",
            ts.time_text, ts.tsa
        )),
    }
}
