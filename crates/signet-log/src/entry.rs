//! Log entries: what the audit log records, and the exact bytes that become Merkle leaves.
//!
//! An entry is a JSON object with a `kind` member; its leaf data is its RFC 8785 canonical
//! form (spec §13). Four kinds:
//!
//! - `intent`: an agent's signed intent (compact JWS), with the call's arguments when the
//!   log keeps them (their digest must equal the intent's `args`).
//! - `receipt`: the gateway's signed receipt (compact JWS).
//! - `pin`: a change to a pinned tool definition (added, changed, removed, accepted).
//! - `lifecycle`: the log opened, a proxy started or stopped, a restart after a crash, a key
//!   rotation, or a dangerous mode (fail-open) switched on.
//!
//! [`Entry::from_leaf_data`] accepts only canonical bytes that decode to a known entry and
//! re-encode to the same bytes, so an unknown member or a re-spelling is an error, never
//! silently dropped.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use signet_core::alg::PublicKey;
use signet_core::canon;
use signet_core::digest::Digest;
use signet_core::jws::Jws;
use signet_core::many::Ed25519Many;
use signet_core::replay::UnixTime;
use signet_core::statement::{self, Intent, Receipt, StatementError};

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry {
    /// A signed intent.
    Intent(IntentEntry),
    /// A signed receipt.
    Receipt(ReceiptEntry),
    /// A tool-pin change.
    Pin(PinEntry),
    /// A lifecycle marker.
    Lifecycle(LifecycleEntry),
}

/// A signed intent and, optionally, the arguments it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentEntry {
    /// The intent's compact JWS.
    pub jws: String,
    /// The signer's full `did:key`, when the JWS `kid` is a short key id (long keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The call's arguments, when kept; their digest must equal the intent's `args`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<serde_json::Value>,
}

/// A signed receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptEntry {
    /// The receipt's compact JWS.
    pub jws: String,
    /// The gateway's full `did:key`, when the JWS `kid` is a short key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Signed by the server's side (`signet guard`) and received with the result: the
    /// other half of a bilateral record. Its `log_index` is a position in the server's
    /// log, not in this one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remote: bool,
}

/// What happened to a pinned tool definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinChange {
    /// First seen and pinned (trust on first use).
    Pinned,
    /// A tool appeared that was not pinned.
    Added,
    /// A pinned tool's definition changed.
    Changed,
    /// A pinned tool disappeared.
    Removed,
    /// A human accepted the current definition as the new pin.
    Accepted,
}

/// A tool-pin change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinEntry {
    /// The server (audience) the tool belongs to.
    pub server: String,
    /// The tool's name.
    pub tool: String,
    /// What happened.
    pub change: PinChange,
    /// The pinned definition's digest before the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Digest>,
    /// The definition's digest after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Digest>,
    /// What signet did about it: `warn`, `hide`, `block` or `accept`.
    pub action: String,
    /// When, seconds since the Unix epoch.
    pub at: UnixTime,
}

/// A lifecycle event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LifecycleEvent {
    /// The log was created.
    LogOpened,
    /// A proxy or server started writing to the log.
    Start,
    /// It stopped cleanly.
    Stop,
    /// The log was reopened after a writer stopped without a clean stop (crash, kill).
    Restart,
    /// A signing key was replaced.
    KeyRotation,
    /// A dangerous mode was switched on (for example fail-open).
    Dangerous,
}

/// A lifecycle marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleEntry {
    /// What happened.
    pub event: LifecycleEvent,
    /// When, seconds since the Unix epoch.
    pub at: UnixTime,
    /// Free text: the program and version, the key ids involved, the mode switched on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Errors decoding or checking an entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The leaf data is not a known entry.
    #[error("not a valid log entry: {0}")]
    Decode(String),
    /// The leaf data is not the canonical encoding of its entry.
    #[error("entry is not in canonical form")]
    NotCanonical,
    /// The statement inside does not verify.
    #[error("{0}")]
    Statement(#[from] StatementError),
    /// The entry's `key` is not a `did:key` naming the JWS signer.
    #[error("entry key `{0}` does not name the jws signer")]
    BadKey(String),
    /// The kept arguments do not match the intent's `args` digest.
    #[error("kept arguments do not match the intent's arguments digest")]
    ArgumentsMismatch,
    /// Canonicalization failed.
    #[error("{0}")]
    Canon(#[from] canon::CanonError),
}

impl Entry {
    /// The entry's leaf data: its canonical JSON bytes.
    ///
    /// # Errors
    /// [`EntryError::Canon`] if it holds a value canonical JSON cannot represent (for
    /// example an unsafe integer among kept arguments).
    pub fn leaf_data(&self) -> Result<Vec<u8>, EntryError> {
        Ok(canon::to_canonical_vec_of(self)?)
    }

    /// Decode leaf data, requiring the canonical encoding.
    ///
    /// # Errors
    /// [`EntryError::Decode`] or [`EntryError::NotCanonical`].
    pub fn from_leaf_data(data: &[u8]) -> Result<Self, EntryError> {
        let entry: Entry =
            serde_json::from_slice(data).map_err(|e| EntryError::Decode(e.to_string()))?;
        if entry.leaf_data()? != data {
            return Err(EntryError::NotCanonical);
        }
        Ok(entry)
    }

    /// The entry kind as text: `intent`, `receipt`, `pin` or `lifecycle`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Intent(_) => "intent",
            Entry::Receipt(_) => "receipt",
            Entry::Pin(_) => "pin",
            Entry::Lifecycle(_) => "lifecycle",
        }
    }

    /// Verify the signatures inside (intents and receipts) and the entry's own bindings,
    /// and return what listing needs. Pin and lifecycle entries carry no signature; the
    /// signed checkpoints cover them.
    ///
    /// # Errors
    /// Any [`EntryError`].
    pub fn check(&self) -> Result<Summary, EntryError> {
        self.summarize(true)
    }

    /// What listing needs, decoding the statements inside without checking signatures (for
    /// entries the caller just signed; verification uses [`Entry::check`]).
    ///
    /// # Errors
    /// [`EntryError`] if a statement does not decode.
    pub fn summary(&self) -> Result<Summary, EntryError> {
        self.summarize(false)
    }

    /// [`Entry::check`] for many entries signed by few keys: the same checks and the same
    /// result, but each signer's key is decoded and validated once per `cache` (see
    /// [`KeyCache`]). Whole-log verification uses one cache per thread.
    ///
    /// # Errors
    /// As [`Entry::check`].
    pub fn check_cached(&self, cache: &mut KeyCache) -> Result<Summary, EntryError> {
        self.summarize_with(Mode::Cached(cache))
    }

    /// [`Entry::check_cached`] with the Ed25519 signature check queued in the cache instead
    /// of done: returns the result of every other check and the queued check's ticket. Call
    /// [`KeyCache::finish`] for the answers; where the ticket's answer is false the entry's
    /// result is [`EntryError`] [`signature_refused`], whatever the other checks said (as
    /// [`Entry::check`] checks the signature first). Same checks, same results, faster for
    /// many entries (see `signet_core::many`).
    pub fn check_queued(
        &self,
        cache: &mut KeyCache,
    ) -> (Result<Summary, EntryError>, Option<usize>) {
        cache.ticket = None;
        let result = self.summarize_with(Mode::Queued(cache));
        (result, cache.ticket.take())
    }

    fn summarize(&self, verify: bool) -> Result<Summary, EntryError> {
        self.summarize_with(if verify { Mode::Verify } else { Mode::Decode })
    }

    fn summarize_with(&self, mut mode: Mode<'_>) -> Result<Summary, EntryError> {
        let verify = !matches!(mode, Mode::Decode);
        match self {
            Entry::Intent(e) => {
                let intent: Intent = statement_of(&e.jws, e.key.as_deref(), &mut mode)?;
                if verify && let Some(args) = &e.arguments {
                    let d = Digest::of_json(args).map_err(|_| EntryError::ArgumentsMismatch)?;
                    if d != intent.args {
                        return Err(EntryError::ArgumentsMismatch);
                    }
                }
                Ok(Summary {
                    at: Some(intent.iat),
                    agent: Some(intent.signer.clone()),
                    tool: Some(intent.tool.as_str().to_owned()),
                    target: e.arguments.as_ref().and_then(target_of),
                    outcome: None,
                    intent_digest: Some(statement::intent_digest(&e.jws)),
                    receipt: None,
                })
            }
            Entry::Receipt(e) => {
                let r: Receipt = statement_of(&e.jws, e.key.as_deref(), &mut mode)?;
                Ok(Summary {
                    at: Some(r.iat),
                    agent: Some(r.signer.clone()),
                    tool: None,
                    target: None,
                    outcome: Some(r.outcome.to_string()),
                    intent_digest: None,
                    // A remote receipt's log index is in the server's log.
                    receipt: Some((r.intent, r.log_index.filter(|_| !e.remote))),
                })
            }
            Entry::Pin(p) => Ok(Summary {
                at: Some(p.at),
                agent: None,
                tool: Some(p.tool.clone()),
                target: Some(p.server.clone()),
                outcome: Some(format!("pin-{}", pin_change_name(p.change))),
                intent_digest: None,
                receipt: None,
            }),
            Entry::Lifecycle(l) => Ok(Summary {
                at: Some(l.at),
                agent: None,
                tool: None,
                target: l.detail.clone(),
                outcome: Some(lifecycle_name(l.event).to_owned()),
                intent_digest: None,
                receipt: None,
            }),
        }
    }
}

/// How [`Entry::summarize_with`] treats the statements inside.
enum Mode<'a> {
    /// Decode only.
    Decode,
    /// Verify with signet-core's [`statement::verify_parsed`].
    Verify,
    /// Verify with the same result, reusing decoded keys.
    Cached(&'a mut KeyCache),
    /// As `Cached`, with the Ed25519 check queued in the cache.
    Queued(&'a mut KeyCache),
}

/// The error an entry whose statement signature (Ed25519) does not verify gets from
/// [`Entry::check`]: the result for a false answer to [`Entry::check_queued`]'s ticket.
#[must_use]
pub fn signature_refused() -> EntryError {
    EntryError::from(statement::signature_refused(
        signet_core::alg::Algorithm::Ed25519,
    ))
}

/// Decode (and unless `mode` is [`Mode::Decode`], verify) the statement in `jws`.
fn statement_of<T: statement::Statement>(
    jws: &str,
    key: Option<&str>,
    mode: &mut Mode<'_>,
) -> Result<T, EntryError> {
    let parsed = Jws::parse(jws).map_err(StatementError::from)?;
    match mode {
        Mode::Decode => {
            entry_key(key)?;
            serde_json::from_slice(parsed.payload()).map_err(|e| EntryError::Decode(e.to_string()))
        }
        Mode::Cached(cache) => match cache.resolve(&parsed.header().kid, key) {
            Some(pk) => Ok(statement::verify_parsed::<T>(&parsed, Some(&pk))?.statement),
            // A key that does not resolve takes the uncached path, which names the reason.
            None => verify_core(&parsed, key),
        },
        Mode::Queued(cache) => match cache.resolve(&parsed.header().kid, key) {
            Some(pk) => {
                let (result, ticket) =
                    statement::verify_parsed_queued::<T>(&parsed, Some(&pk), &mut cache.many);
                cache.ticket = ticket;
                Ok(result?.statement)
            }
            None => verify_core(&parsed, key),
        },
        Mode::Verify => verify_core(&parsed, key),
    }
}

fn verify_core<T: statement::Statement>(parsed: &Jws, key: Option<&str>) -> Result<T, EntryError> {
    let key = entry_key(key)?;
    Ok(statement::verify_parsed::<T>(parsed, key.as_ref())?.statement)
}

/// Resolved signer keys, for verifying many statements signed by few keys.
///
/// [`Entry::check`] decodes the entry's `did:key` (if any) and resolves the header `kid`
/// against it for every statement. With a cache, [`Entry::check_cached`] does that once per
/// distinct `(kid, entry key)` pair and then calls the same [`statement::verify_parsed`]
/// with the resolved key, so every check and every reason is the core's. A decoded
/// [`PublicKey`] keeps its Ed25519 point, so no point is decompressed again per statement.
/// Pairs that do not resolve are not cached: they take the uncached path, which names the
/// reason. [`Entry::check_queued`] also queues Ed25519 checks in the cache, answered by
/// [`KeyCache::finish`] with `signet_core::many` (the same answers as `verify_strict`,
/// computed together). Batched Ed25519 verification is deliberately not used: a batch
/// equation accepts, with probability up to 1/2 per batch, a signature whose `R` has a
/// small-order component, which `verify_strict` always refuses (see `docs/spec.md` §13.5).
#[derive(Debug, Default)]
pub struct KeyCache {
    /// `(kid, entry key)` → the resolved key.
    resolved: HashMap<(String, Option<String>), PublicKey>,
    /// Queued Ed25519 checks.
    many: Ed25519Many,
    /// The ticket of the check the last statement queued.
    ticket: Option<usize>,
}

/// Distinct keys kept at most; a log with more signers than this still verifies, with the
/// cache cleared when full.
const KEY_CACHE_MAX: usize = 4096;

impl KeyCache {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Answer the checks [`Entry::check_queued`] queued, by ticket, and empty the queue.
    pub fn finish(&mut self) -> Vec<bool> {
        self.many.finish()
    }

    /// The key `kid` names (checked against the entry's `key`), if it resolves.
    fn resolve(&mut self, kid: &str, key: Option<&str>) -> Option<PublicKey> {
        let id = (kid.to_owned(), key.map(str::to_owned));
        if let Some(k) = self.resolved.get(&id) {
            return Some(k.clone());
        }
        let resolved = entry_key(key)
            .ok()
            .and_then(|k| statement::resolve_key(kid, k.as_ref()).ok())?;
        if self.resolved.len() >= KEY_CACHE_MAX {
            self.resolved.clear();
        }
        self.resolved.insert(id, resolved.clone());
        Some(resolved)
    }
}

fn entry_key(key: Option<&str>) -> Result<Option<signet_core::alg::PublicKey>, EntryError> {
    key.map(|k| {
        k.parse::<signet_core::did::Did>()
            .map(|d| d.public_key().clone())
            .map_err(|_| EntryError::BadKey(k.chars().take(80).collect()))
    })
    .transpose()
}

/// The name of a pin change, as in the JSON form.
#[must_use]
pub fn pin_change_name(c: PinChange) -> &'static str {
    match c {
        PinChange::Pinned => "pinned",
        PinChange::Added => "added",
        PinChange::Changed => "changed",
        PinChange::Removed => "removed",
        PinChange::Accepted => "accepted",
    }
}

/// The name of a lifecycle event, as in the JSON form.
#[must_use]
pub fn lifecycle_name(e: LifecycleEvent) -> &'static str {
    match e {
        LifecycleEvent::LogOpened => "log-opened",
        LifecycleEvent::Start => "start",
        LifecycleEvent::Stop => "stop",
        LifecycleEvent::Restart => "restart",
        LifecycleEvent::KeyRotation => "key-rotation",
        LifecycleEvent::Dangerous => "dangerous",
    }
}

/// Argument names that usually say what a call acts on, in order of preference.
const TARGET_KEYS: &[&str] = &[
    "path",
    "file",
    "filename",
    "uri",
    "url",
    "target",
    "source",
    "destination",
    "command",
    "query",
    "name",
    "id",
];

/// The call's target for display: the first string argument among a fixed list of names
/// (`path`, `file`, `uri`, `url`, `target`, `command`, `query`, …).
#[must_use]
pub fn target_of(arguments: &serde_json::Value) -> Option<String> {
    let obj = arguments.as_object()?;
    TARGET_KEYS
        .iter()
        .find_map(|k| obj.get(*k).and_then(serde_json::Value::as_str))
        .map(|s| s.chars().take(200).collect())
}

/// What a verified entry says, for listing and filtering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// When (the statement's `iat`, or the marker's `at`).
    pub at: Option<UnixTime>,
    /// The signer (agent for intents, gateway for receipts).
    pub agent: Option<String>,
    /// The tool.
    pub tool: Option<String>,
    /// What the call acted on (from kept arguments), or the pin's server.
    pub target: Option<String>,
    /// The outcome (receipts), the pin change or the lifecycle event.
    pub outcome: Option<String>,
    /// For an intent: the digest receipts use to name it.
    pub intent_digest: Option<Digest>,
    /// For a receipt: the intent digest it attests and the intent's log index (`None`
    /// for a remote receipt, whose index is in the server's log).
    pub receipt: Option<(Digest, Option<u64>)>,
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn leaf_data_round_trips_and_is_strict() {
        let e = Entry::Lifecycle(LifecycleEntry {
            event: LifecycleEvent::Restart,
            at: UnixTime(1_795_000_000),
            detail: Some("signet 0.1.0".into()),
        });
        let data = e.leaf_data().unwrap();
        assert_eq!(
            std::str::from_utf8(&data).unwrap(),
            r#"{"at":1795000000,"detail":"signet 0.1.0","event":"restart","kind":"lifecycle"}"#
        );
        assert_eq!(Entry::from_leaf_data(&data).unwrap(), e);
        // Not canonical (spaces), unknown member, unknown kind.
        assert!(matches!(
            Entry::from_leaf_data(br#"{"at":1795000000, "event":"restart","kind":"lifecycle"}"#),
            Err(EntryError::NotCanonical)
        ));
        assert!(
            Entry::from_leaf_data(br#"{"at":1,"event":"restart","kind":"lifecycle","x":1}"#)
                .is_err()
        );
        assert!(Entry::from_leaf_data(br#"{"kind":"other"}"#).is_err());
    }

    #[test]
    fn target_prefers_path_like_arguments() {
        let v = serde_json::json!({"content": "x", "path": "/srv/a.txt", "name": "n"});
        assert_eq!(target_of(&v).as_deref(), Some("/srv/a.txt"));
        assert_eq!(target_of(&serde_json::json!({"n": 1})), None);
        assert_eq!(target_of(&serde_json::json!([1])), None);
    }
}
