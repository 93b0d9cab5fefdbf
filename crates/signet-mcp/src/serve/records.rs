//! One signed record, verified: a compact JWS (intent, receipt, pin set) or a
//! `{tool_call, signet}` envelope. Shared by `signet verify` and `signet serve`'s
//! `verify_signature`, so both give the same verdict and reason. Also the short forms log
//! entries are listed with (`sig_…` ids, `agent:…`, times), shared by `signet log` and
//! `signet serve`.

use signet_core::alg::PublicKey;
use signet_core::did::Did;
use signet_core::envelope;
use signet_core::jws::{Jws, StatementKind};
use signet_core::replay::UnixTime;
use signet_core::statement::{self, Intent, PinSet, Receipt};
use signet_log::merkle;

/// A record that verified.
#[derive(Debug, Clone)]
pub struct RecordReport {
    /// Which statement it is.
    pub kind: StatementKind,
    /// The key that signed it.
    pub key: PublicKey,
    /// The decoded statement.
    pub statement: serde_json::Value,
    /// When it was signed.
    pub iat: UnixTime,
    /// The audience, for an intent.
    pub aud: Option<String>,
    /// One line saying what it is (`intent tool=… aud=…`).
    pub summary: String,
}

/// A verification failure: the reason, and whether the input was malformed (not a record at
/// all) rather than a record whose check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Why.
    pub reason: String,
    /// The input could not be read as a record.
    pub malformed: bool,
}

impl<E: std::fmt::Display> From<(E, bool)> for Invalid {
    fn from((e, malformed): (E, bool)) -> Self {
        Invalid {
            reason: e.to_string(),
            malformed,
        }
    }
}

/// Verify one record: an envelope (text starting with `{`) or a compact JWS whose `typ`
/// says intent, receipt or pin set. `signer`, when given, is the only key accepted (needed
/// for ML-DSA keys, whose `kid` is a short key id).
///
/// # Errors
/// [`Invalid`] with the reason when the input is not a record or does not verify.
pub fn check_record(input: &[u8], signer: Option<&PublicKey>) -> Result<RecordReport, Invalid> {
    let text = std::str::from_utf8(input).map_err(|_| Invalid {
        reason: "input is not utf-8 text".into(),
        malformed: true,
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Invalid {
            reason: "input is empty".into(),
            malformed: true,
        });
    }
    if text.starts_with('{') {
        let env = envelope::parse_envelope(text.as_bytes())
            .map_err(|e| Invalid::from((format!("malformed envelope: {e}"), true)))?;
        let v = envelope::verify_envelope(&env, signer).map_err(|e| {
            let m = e.is_malformed();
            Invalid::from((e, m))
        })?;
        return Ok(intent_report(v.statement, v.key));
    }
    let jws = Jws::parse(text).map_err(|e| {
        let m = e.is_malformed();
        Invalid::from((format!("not a valid signet jws: {e}"), m))
    })?;
    let map = |e: statement::StatementError| {
        let m = e.is_malformed();
        Invalid::from((e, m))
    };
    match jws.header().typ {
        StatementKind::Receipt => {
            let v = statement::verify_parsed::<Receipt>(&jws, signer).map_err(map)?;
            let r = &v.statement;
            Ok(RecordReport {
                kind: StatementKind::Receipt,
                summary: format!("receipt outcome={} intent={}", r.outcome, r.intent),
                iat: r.iat,
                aud: None,
                statement: serde_json::to_value(r).unwrap_or_default(),
                key: v.key,
            })
        }
        StatementKind::PinSet => {
            let v = statement::verify_parsed::<PinSet>(&jws, signer).map_err(map)?;
            let p = &v.statement;
            Ok(RecordReport {
                kind: StatementKind::PinSet,
                summary: format!("pin set server={} tools={}", p.server, p.tools.len()),
                iat: p.iat,
                aud: None,
                statement: serde_json::to_value(p).unwrap_or_default(),
                key: v.key,
            })
        }
        _ => {
            let v = statement::verify_parsed::<Intent>(&jws, signer).map_err(map)?;
            Ok(intent_report(v.statement, v.key))
        }
    }
}

fn intent_report(i: Intent, key: PublicKey) -> RecordReport {
    RecordReport {
        kind: StatementKind::Intent,
        summary: format!("intent tool={} aud={}", i.tool, i.aud),
        iat: i.iat,
        aud: Some(i.aud.to_string()),
        statement: serde_json::to_value(&i).unwrap_or_default(),
        key,
    }
}

/// Does `input` look like a log proof bundle (a JSON object of type `signet.log-proof.v1`)?
#[must_use]
pub fn is_proof_bundle(input: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(input)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .is_some_and(|t| t == signet_log::bundle::BUNDLE_TYPE)
}

/// A did:key short enough to read (long ML-DSA DIDs are abbreviated).
#[must_use]
pub fn short_did(did: &Did) -> String {
    let s = did.to_string();
    if s.len() <= 64 {
        s
    } else {
        let head = s.get(..24).unwrap_or_default();
        let tail = s.get(s.len().saturating_sub(8)..).unwrap_or_default();
        format!("{head}…{tail} ({})", did.key_id())
    }
}

/// A log entry's id: `sig_` and the first 12 hex digits of its leaf hash (what
/// `signet log list` shows and `signet log show` / `prove` accept).
#[must_use]
pub fn entry_id(data: &[u8]) -> String {
    let h = merkle::leaf_hash(data);
    let hex = hex::encode(h.as_bytes());
    format!("sig_{}", hex.get(..12).unwrap_or_default())
}

/// A time (seconds since the epoch) as RFC 3339, `-` when absent.
#[must_use]
pub fn time_text(at: Option<i64>) -> String {
    at.map(|t| envelope::format_time(UnixTime(t)).unwrap_or_else(|_| t.to_string()))
        .unwrap_or_else(|| "-".into())
}

/// A signer shortened for a table: `agent:z6Mk…abcd`.
#[must_use]
pub fn short_agent(a: Option<&str>) -> String {
    match a {
        None => "-".into(),
        Some(s) => {
            let core = s.strip_prefix("did:key:").unwrap_or(s);
            if core.len() > 16 {
                format!(
                    "agent:{}…{}",
                    core.get(..8).unwrap_or_default(),
                    core.get(core.len().saturating_sub(4)..).unwrap_or_default()
                )
            } else {
                format!("agent:{core}")
            }
        }
    }
}

/// An entry's verification status as listed: `(true, "VALID")` or
/// `(false, "INVALID (<reason>)")`.
#[must_use]
pub fn entry_status(data: &[u8]) -> (bool, String) {
    match signet_log::entry::Entry::from_leaf_data(data).and_then(|en| en.check()) {
        Ok(_) => (true, "VALID".into()),
        Err(err) => (false, format!("INVALID ({err})")),
    }
}

/// Find an entry by index (`42`) or by `sig_…` id prefix (at least 4 hex digits).
///
/// # Errors
/// No such entry, an ambiguous id, or the store failed; the text says which.
pub fn find_entry<S: signet_log::store::Store + ?Sized>(
    store: &S,
    id: &str,
) -> Result<signet_log::store::StoredEntry, String> {
    if let Ok(i) = id.parse::<u64>() {
        return store.entry(i).map_err(|e| e.to_string())?.ok_or_else(|| {
            format!(
                "no entry {i}: the log has {} entries",
                store.size().unwrap_or(0)
            )
        });
    }
    if let Ok(digest) = id.parse::<signet_core::digest::Digest>() {
        return find_intent(store, id, &digest);
    }
    if !id.starts_with("sig_") || id.len() < 8 {
        return Err(format!(
            "`{id}` is not an entry index, a `sig_…` id or an intent digest"
        ));
    }
    let mut found = Vec::new();
    store
        .scan(0, &mut |e| {
            if entry_id(&e.data).starts_with(id) {
                found.push(e);
            }
            Ok(found.len() < 2)
        })
        .map_err(|e| e.to_string())?;
    match found.len() {
        0 => Err(format!("no entry with id `{id}`")),
        1 => found
            .pop()
            .ok_or_else(|| format!("no entry with id `{id}`")),
        _ => Err(format!(
            "`{id}` matches more than one entry; give more digits"
        )),
    }
}

/// The intent entry whose JWS has this digest (what a receipt's `intent` and a retry's
/// `prev` name).
fn find_intent<S: signet_log::store::Store + ?Sized>(
    store: &S,
    id: &str,
    digest: &signet_core::digest::Digest,
) -> Result<signet_log::store::StoredEntry, String> {
    let mut found = None;
    store
        .scan(0, &mut |e| {
            if let Ok(signet_log::entry::Entry::Intent(i)) =
                signet_log::entry::Entry::from_leaf_data(&e.data)
                && signet_core::statement::intent_digest(&i.jws) == *digest
            {
                found = Some(e);
                return Ok(false);
            }
            Ok(true)
        })
        .map_err(|e| e.to_string())?;
    found.ok_or_else(|| format!("no intent with digest `{id}`"))
}
