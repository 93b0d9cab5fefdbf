//! The statements signet signs: the tool-call *intent* and the *receipt*.
//!
//! Each statement is a JSON object with a versioned `type` member, serialized with RFC 8785
//! and signed as a compact JWS whose `typ` names its kind (see [`crate::jws`]). Verification
//! is strict:
//!
//! - the signature must verify with the signer's key, and the header `kid` must name that
//!   key (its `did:key`, or its short key id for long keys);
//! - the statement's `signer` member must equal the header `kid`;
//! - unknown members are refused, and the payload must be exactly the canonical
//!   serialization of the statement it decodes to (no `null` for an absent optional
//!   member, no second encoding), so every byte signed is a byte understood;
//! - the `typ` header must be the kind expected, so an intent never verifies as a receipt.
//!
//! Freshness (`iat` window) and nonce uniqueness are checked separately with
//! [`crate::replay`], because an auditor verifying an old record checks signatures, not
//! freshness.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::alg::{PublicKey, Signer};
use crate::canon::{self, CanonError};
use crate::did::{Did, KeyId, kid_for};
use crate::digest::Digest;
use crate::jws::{self, Jws, JwsError, StatementKind};
use crate::replay::UnixTime;

/// Longest accepted tool name, in bytes.
pub const MAX_TOOL_NAME: usize = 256;
/// Longest accepted free-text identifier (`aud`, `session`, `rpc_id`), in bytes.
pub const MAX_IDENT: usize = 1024;

/// Errors building or checking statement fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A tool name is empty, too long, or has control characters.
    #[error("invalid tool name `{0}`: must be 1-256 bytes without control characters")]
    ToolName(String),
    /// A nonce is not 16-128 base64url characters.
    #[error("invalid nonce `{0}`: must be 16-128 base64url characters")]
    Nonce(String),
    /// An identifier is empty, too long, or has control characters.
    #[error("invalid {what} `{value}`: must be 1-1024 bytes without control characters")]
    Ident {
        /// Which field.
        what: &'static str,
        /// The value.
        value: String,
    },
}

fn valid_text(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && !s.chars().any(char::is_control)
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $check:expr, $err:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validate and wrap.
            ///
            /// # Errors
            /// [`FieldError`] when the value is not acceptable.
            pub fn new(value: impl Into<String>) -> Result<Self, FieldError> {
                let value = value.into();
                let check: fn(&str) -> bool = $check;
                if check(&value) {
                    Ok(Self(value))
                } else {
                    let err: fn(String) -> FieldError = $err;
                    Err(err(value))
                }
            }

            /// The text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_newtype!(
    /// An MCP tool name: 1-256 bytes, no control characters.
    ToolName,
    |s| valid_text(s, MAX_TOOL_NAME),
    FieldError::ToolName
);

string_newtype!(
    /// A nonce: 16-128 characters of the base64url alphabet (signet generates 22, i.e.
    /// 128 random bits).
    Nonce,
    |s| (16..=128).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
    FieldError::Nonce
);

string_newtype!(
    /// The audience of an intent: the MCP server it is meant for (1-1024 bytes).
    Audience,
    |s| valid_text(s, MAX_IDENT),
    |value| FieldError::Ident { what: "audience", value }
);

string_newtype!(
    /// An MCP session id (1-1024 bytes).
    SessionId,
    |s| valid_text(s, MAX_IDENT),
    |value| FieldError::Ident { what: "session id", value }
);

string_newtype!(
    /// A JSON-RPC request id, held as its exact JSON text (`7`, `"req-7"`), so that numbers
    /// of any size and strings are kept without change.
    RpcId,
    |s| valid_text(s, MAX_IDENT),
    |value| FieldError::Ident { what: "json-rpc id", value }
);

impl Nonce {
    /// A nonce from 16 random bytes supplied by the caller (22 base64url characters).
    #[must_use]
    pub fn from_random(bytes: [u8; 16]) -> Self {
        use base64::Engine as _;
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

impl RpcId {
    /// The id of a JSON-RPC message, as its canonical JSON text.
    ///
    /// # Errors
    /// [`FieldError::Ident`] if the id is not a string or number, or is too long.
    pub fn from_json(id: &serde_json::Value) -> Result<Self, FieldError> {
        let bad = || FieldError::Ident {
            what: "json-rpc id",
            value: id.to_string(),
        };
        match id {
            serde_json::Value::String(_) | serde_json::Value::Number(_) => {
                let text = canon::to_canonical_vec(id).map_err(|_| bad())?;
                let text = String::from_utf8(text).map_err(|_| bad())?;
                Self::new(text)
            }
            _ => Err(bad()),
        }
    }
}

macro_rules! version_tag {
    ($(#[$doc:meta])* $name:ident, $text:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl $name {
            /// The tag text.
            pub const TEXT: &'static str = $text;
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($text)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                if s == $text {
                    Ok($name)
                } else {
                    Err(serde::de::Error::custom(format!(
                        "unsupported statement type `{s}`, expected `{}`",
                        $text
                    )))
                }
            }
        }
    };
}

version_tag!(
    /// The `type` of an intent statement, version 1: `signet.intent.v1`.
    IntentV1,
    "signet.intent.v1"
);
version_tag!(
    /// The `type` of a receipt statement, version 1: `signet.receipt.v1`.
    ReceiptV1,
    "signet.receipt.v1"
);

version_tag!(
    /// The `type` of a pin-set statement, version 1: `signet.pins.v1`.
    PinSetV1,
    "signet.pins.v1"
);

/// A signed set of tool pins: the digests of the tool definitions (spec §2, over each
/// tool's whole definition object as listed) that a server's tools must have, signed by
/// someone the proxy is configured to trust for pins. Tools absent from the set are not
/// pinned (a proxy treats them as added).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinSet {
    /// Always `signet.pins.v1`.
    #[serde(rename = "type")]
    pub version: PinSetV1,
    /// The MCP server the pins are for (the audience of its intents).
    pub server: Audience,
    /// Tool name → digest of its full definition.
    pub tools: std::collections::BTreeMap<ToolName, Digest>,
    /// The signer; equals the JWS `kid`.
    pub signer: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: UnixTime,
}

impl Statement for PinSet {
    const KIND: StatementKind = StatementKind::PinSet;
    fn signer(&self) -> &str {
        &self.signer
    }
}

/// A tool-call intent: what an agent asks a server to do, signed before the call runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// Always `signet.intent.v1`.
    #[serde(rename = "type")]
    pub version: IntentV1,
    /// The MCP server the call is meant for.
    pub aud: Audience,
    /// The tool's name.
    pub tool: ToolName,
    /// Digest of the call's `arguments` (canonical JSON; `{}` when absent).
    pub args: Digest,
    /// Digest of the pinned tool definition the model saw, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_def: Option<Digest>,
    /// The signer: `did:key` (Ed25519) or short key id; equals the JWS `kid`.
    pub signer: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: UnixTime,
    /// A single-use random nonce.
    pub nonce: Nonce,
    /// The JSON-RPC request id, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_id: Option<RpcId>,
    /// The MCP session id, when the transport has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionId>,
    /// For a later round of a multi-round-trip `tools/call` (MCP 2026-07-28): digest of the
    /// round's `inputResponses` and `requestState` (see [`inputs_digest`]), which the server
    /// acts on as much as on the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Digest>,
    /// For a later round of a multi-round-trip `tools/call`: the [`intent_digest`] of the
    /// round whose `input_required` result this round answers, linking the rounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<Digest>,
}

/// The digest an intent's `inputs` member carries: of the JSON object holding the retry's
/// `inputResponses` and `requestState` members (whichever are present, as sent).
///
/// # Errors
/// [`DigestError`](crate::digest::DigestError) if a member has no canonical JSON form.
pub fn inputs_digest(
    input_responses: Option<&serde_json::Value>,
    request_state: Option<&serde_json::Value>,
) -> Result<Digest, crate::digest::DigestError> {
    let mut object = serde_json::Map::new();
    if let Some(v) = input_responses {
        object.insert("inputResponses".to_owned(), v.clone());
    }
    if let Some(v) = request_state {
        object.insert("requestState".to_owned(), v.clone());
    }
    Digest::of_json_object(&object)
}

/// How a call ended, as attested by a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The server ran the tool and returned a result.
    Executed,
    /// The call failed: a JSON-RPC error, an `isError` result, or no response.
    Failed,
    /// Policy refused the call; it never reached the server.
    Denied,
    /// Policy requires a human approval first; the call did not run.
    ApprovalRequired,
    /// The server answered with an `input_required` result (MCP 2026-07-28 multi-round-trip
    /// request): it needs the client's input and a retry, which has its own intent linked to
    /// this one (`prev`).
    InputRequired,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Executed => "executed",
            Outcome::Failed => "failed",
            Outcome::Denied => "denied",
            Outcome::ApprovalRequired => "approval-required",
            Outcome::InputRequired => "input-required",
        })
    }
}

/// The effect of a policy decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// The call may run.
    Allow,
    /// The call is refused.
    Deny,
    /// The call needs a human approval first.
    ApprovalRequired,
}

/// A policy decision as signed into a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Allow, deny or approval-required.
    pub effect: Effect,
    /// The ids of the rules that decided (may be empty, e.g. for a default).
    pub rules: Vec<String>,
    /// Digest of the whole policy set in force, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Digest>,
}

/// A receipt: the gateway's attestation of how one call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always `signet.receipt.v1`.
    #[serde(rename = "type")]
    pub version: ReceiptV1,
    /// Digest of the intent's compact JWS (`sha256-bytes:`), see [`intent_digest`].
    pub intent: Digest,
    /// How the call ended.
    pub outcome: Outcome,
    /// Digest of the response (the JSON-RPC `result` or `error`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Digest>,
    /// The policy decision that let the call run or stopped it.
    pub decision: Decision,
    /// Audit-log index of the intent entry this receipt attests, when the call was logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// The gateway signer; equals the JWS `kid`.
    pub signer: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: UnixTime,
}

/// The digest a receipt uses to name its intent: SHA-256 over the intent's compact JWS.
#[must_use]
pub fn intent_digest(intent_jws: &str) -> Digest {
    Digest::of_bytes(intent_jws.trim_end_matches(['\n', '\r']).as_bytes())
}

/// A statement type signet can sign.
pub trait Statement: Serialize + DeserializeOwned {
    /// Its JWS kind.
    const KIND: StatementKind;
    /// The `signer` member.
    fn signer(&self) -> &str;

    /// The canonical (RFC 8785) bytes of the statement: the JWS payload. A type may write
    /// them directly; they must equal [`canon::to_canonical_vec_of`]`(self)`, which is the
    /// default.
    ///
    /// # Errors
    /// As [`canon::to_canonical_vec_of`].
    fn to_canonical_bytes(&self) -> Result<Vec<u8>, CanonError> {
        canon::to_canonical_vec_of(self)
    }
}

impl Statement for Intent {
    const KIND: StatementKind = StatementKind::Intent;
    fn signer(&self) -> &str {
        &self.signer
    }

    /// Written member by member in canonical order, without a [`serde_json::Value`]; debug
    /// builds (and so every test) check it against the generic serialization.
    fn to_canonical_bytes(&self) -> Result<Vec<u8>, CanonError> {
        let out = self.write_canonical()?;
        debug_assert_eq!(
            Ok(&out),
            canon::to_canonical_vec_of(self).as_ref(),
            "direct intent serialization differs from the generic one"
        );
        Ok(out)
    }
}

impl Intent {
    /// The canonical bytes of the intent, written directly. Members in RFC 8785 order:
    /// `args`, `aud`, `iat`, `nonce`, `rpc_id`, `session`, `signer`, `tool`, `tool_def`,
    /// `type` (all ASCII names, so UTF-16 order is byte order).
    fn write_canonical(&self) -> Result<Vec<u8>, CanonError> {
        fn member(out: &mut Vec<u8>, name: &[u8], value: &str) {
            out.extend_from_slice(name);
            canon::write_string(value, out);
        }
        let iat = canon::safe_integer_text(self.iat.0)?;
        let args = self.args.to_string();
        let tool_def = self.tool_def.map(|digest| digest.to_string());
        let mut out = Vec::with_capacity(
            256_usize
                .saturating_add(self.aud.as_str().len())
                .saturating_add(self.signer.len())
                .saturating_add(self.tool.as_str().len()),
        );
        member(&mut out, b"{\"args\":", &args);
        member(&mut out, b",\"aud\":", self.aud.as_str());
        out.extend_from_slice(b",\"iat\":");
        out.extend_from_slice(iat.as_bytes());
        if let Some(inputs) = &self.inputs {
            member(&mut out, b",\"inputs\":", &inputs.to_string());
        }
        member(&mut out, b",\"nonce\":", self.nonce.as_str());
        if let Some(prev) = &self.prev {
            member(&mut out, b",\"prev\":", &prev.to_string());
        }
        if let Some(rpc_id) = &self.rpc_id {
            member(&mut out, b",\"rpc_id\":", rpc_id.as_str());
        }
        if let Some(session) = &self.session {
            member(&mut out, b",\"session\":", session.as_str());
        }
        member(&mut out, b",\"signer\":", &self.signer);
        member(&mut out, b",\"tool\":", self.tool.as_str());
        if let Some(tool_def) = &tool_def {
            member(&mut out, b",\"tool_def\":", tool_def);
        }
        member(&mut out, b",\"type\":", IntentV1::TEXT);
        out.push(b'}');
        Ok(out)
    }
}

impl Statement for Receipt {
    const KIND: StatementKind = StatementKind::Receipt;
    fn signer(&self) -> &str {
        &self.signer
    }
}

/// Why a statement could not be signed or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The JWS is malformed or its signature is invalid.
    #[error("{0}")]
    Jws(#[from] JwsError),
    /// The JWS is of another statement kind.
    #[error("wrong statement type: expected `{expected}`, got `{got}`")]
    WrongKind {
        /// The expected kind.
        expected: StatementKind,
        /// The kind in the header.
        got: StatementKind,
    },
    /// The payload does not decode to the statement (unknown or missing members, bad values).
    #[error("malformed {kind} statement: {reason}")]
    Decode {
        /// The kind.
        kind: StatementKind,
        /// The decoder's message.
        reason: String,
    },
    /// The payload is not the canonical encoding of the statement it decodes to.
    #[error("{0} payload is not the canonical encoding of its statement")]
    NotCanonical(StatementKind),
    /// The statement's `signer` differs from the header's `kid`.
    #[error("statement signer `{signer}` does not match jws kid `{kid}`")]
    SignerMismatch {
        /// The `signer` member.
        signer: String,
        /// The header `kid`.
        kid: String,
    },
    /// The header `kid` does not name the key offered.
    #[error("wrong key: jws kid `{kid}` does not name the key `{key}`")]
    WrongKey {
        /// The header `kid`.
        kid: String,
        /// The key offered (its kid form).
        key: String,
    },
    /// No key was offered and the `kid` is not a self-describing `did:key`.
    #[error("unknown signer `{0}`: the kid is a key id, the full did:key is needed")]
    UnknownSigner(String),
    /// The `kid` is not a valid did:key or key id.
    #[error("invalid kid `{0}`")]
    BadKid(String),
    /// The statement could not be serialized canonically.
    #[error("cannot canonicalize statement: {0}")]
    Canon(#[from] CanonError),
}

impl StatementError {
    /// True when the input is malformed (as opposed to well-formed but not validly signed).
    #[must_use]
    pub fn is_malformed(&self) -> bool {
        match self {
            StatementError::Jws(e) => e.is_malformed(),
            StatementError::WrongKind { .. }
            | StatementError::SignerMismatch { .. }
            | StatementError::WrongKey { .. }
            | StatementError::UnknownSigner(_) => false,
            _ => true,
        }
    }
}

/// Sign a statement with `signer`. The statement's `signer` member must already be the
/// signer's kid ([`kid_for`]).
///
/// # Errors
/// [`StatementError::SignerMismatch`] if the `signer` member is not the key's kid;
/// canonicalization or signing failures.
pub fn sign<T: Statement>(signer: &dyn Signer, statement: &T) -> Result<String, StatementError> {
    let kid = kid_for(&signer.public_key());
    if statement.signer() != kid {
        return Err(StatementError::SignerMismatch {
            signer: statement.signer().to_owned(),
            kid,
        });
    }
    let payload = statement.to_canonical_bytes()?;
    Ok(jws::sign(signer, &kid, T::KIND, &payload)?)
}

/// A statement whose signature verified.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    /// The statement.
    pub statement: T,
    /// The key that signed it.
    pub key: PublicKey,
    /// The header `kid`.
    pub kid: String,
}

/// Does `kid` name `key`? (`kid` is the key's `did:key`, or its short key id.)
#[must_use]
pub fn kid_names_key(kid: &str, key: &PublicKey) -> bool {
    // Both forms have exactly one spelling per key (a parsed `did:key` is the canonical
    // string of its key, a parsed key id is its canonical text), so `kid` names `key` exactly
    // when it equals the key's own DID or key id: a string comparison, without decoding
    // `kid` and validating the key in it again.
    if kid.starts_with("did:key:") {
        Did::from_public_key(key).as_str() == kid
    } else {
        KeyId::from_public_key(key).as_str() == kid
    }
}

/// Resolve the key for `kid`: `key` if given (and `kid` must name it), otherwise the key
/// embedded in a `did:key` kid.
///
/// # Errors
/// [`StatementError::WrongKey`], [`StatementError::UnknownSigner`] or
/// [`StatementError::BadKid`].
pub fn resolve_key(kid: &str, key: Option<&PublicKey>) -> Result<PublicKey, StatementError> {
    match key {
        Some(k) if kid_names_key(kid, k) => Ok(k.clone()),
        Some(k) => Err(StatementError::WrongKey {
            kid: kid.to_owned(),
            key: kid_for(k),
        }),
        None => match kid.parse::<Did>() {
            Ok(did) => Ok(did.public_key().clone()),
            Err(_) if kid.parse::<KeyId>().is_ok() => {
                Err(StatementError::UnknownSigner(kid.to_owned()))
            }
            Err(_) => Err(StatementError::BadKid(kid.to_owned())),
        },
    }
}

/// Verify a compact JWS as a statement of type `T`.
///
/// `key`: the signer's public key if known (the `kid` must name it); if `None`, the `kid`
/// must be a `did:key`, and the caller must still decide whether that signer is trusted
/// (for example against `allowed_signers`).
///
/// # Errors
/// Any [`StatementError`]; see [`StatementError::is_malformed`].
pub fn verify<T: Statement>(
    compact: &str,
    key: Option<&PublicKey>,
) -> Result<Verified<T>, StatementError> {
    let jws = Jws::parse(compact)?;
    verify_parsed(&jws, key)
}

/// [`verify`] for an already parsed JWS.
///
/// # Errors
/// As [`verify`].
pub fn verify_parsed<T: Statement>(
    jws: &Jws,
    key: Option<&PublicKey>,
) -> Result<Verified<T>, StatementError> {
    let key = kind_and_key::<T>(jws, key)?;
    jws.verify(&key)?;
    verified_payload(jws, key)
}

/// The checks of [`verify_parsed`] before the signature's: the statement kind, and the key
/// the header's `kid` names (checked against `key`).
fn kind_and_key<T: Statement>(
    jws: &Jws,
    key: Option<&PublicKey>,
) -> Result<PublicKey, StatementError> {
    let header = jws.header();
    if header.typ != T::KIND {
        return Err(StatementError::WrongKind {
            expected: T::KIND,
            got: header.typ,
        });
    }
    resolve_key(&header.kid, key)
}

/// The checks of [`verify_parsed`] after the signature's.
fn verified_payload<T: Statement>(
    jws: &Jws,
    key: PublicKey,
) -> Result<Verified<T>, StatementError> {
    let header = jws.header();
    let statement: T =
        serde_json::from_slice(jws.payload()).map_err(|e| StatementError::Decode {
            kind: T::KIND,
            reason: e.to_string(),
        })?;
    if statement.to_canonical_bytes()? != jws.payload() {
        return Err(StatementError::NotCanonical(T::KIND));
    }
    if statement.signer() != header.kid {
        return Err(StatementError::SignerMismatch {
            signer: statement.signer().to_owned(),
            kid: header.kid.clone(),
        });
    }
    Ok(Verified {
        statement,
        kid: header.kid.clone(),
        key,
    })
}

/// [`verify_parsed`] with an Ed25519 signature check queued in `many` (see
/// [`Jws::verify_queued`]) instead of done: returns the result of every other check and the
/// queued check's ticket. When `many.finish()[ticket]` is false, [`verify_parsed`] would
/// have returned [`signature_refused`] for the statement's algorithm, whatever the other
/// checks say (the signature is checked before the payload is decoded); when it is true,
/// the result is [`verify_parsed`]'s.
pub fn verify_parsed_queued<T: Statement>(
    jws: &Jws,
    key: Option<&PublicKey>,
    many: &mut crate::many::Ed25519Many,
) -> (Result<Verified<T>, StatementError>, Option<usize>) {
    let key = match kind_and_key::<T>(jws, key) {
        Ok(k) => k,
        Err(e) => return (Err(e), None),
    };
    let ticket = match jws.verify_queued(&key, many) {
        Ok(t) => t,
        Err(e) => return (Err(e.into()), None),
    };
    (verified_payload(jws, key), ticket)
}

/// The error [`verify_parsed`] returns for a statement whose signature (of `alg`) does not
/// verify.
#[must_use]
pub fn signature_refused(alg: crate::alg::Algorithm) -> StatementError {
    StatementError::Jws(Jws::refused(alg))
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    #![expect(clippy::indexing_slicing, reason = "tests")]
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::alg::{Algorithm, SigningKey};

    fn key(alg: Algorithm, b: u8) -> SigningKey {
        SigningKey::from_seed(alg, &vec![b; alg.seed_len()]).unwrap()
    }

    fn intent(k: &SigningKey) -> Intent {
        Intent {
            version: IntentV1,
            aud: Audience::new("stdio:npx -y @modelcontextprotocol/server-filesystem").unwrap(),
            tool: ToolName::new("write_file").unwrap(),
            args: Digest::of_json_text(br#"{"path":"/tmp/x","content":"hi"}"#).unwrap(),
            tool_def: Some(Digest::of_json_text(br#"{"name":"write_file"}"#).unwrap()),
            signer: kid_for(&k.public_key()),
            iat: UnixTime(1_800_000_000),
            nonce: Nonce::from_random([7; 16]),
            rpc_id: Some(RpcId::from_json(&serde_json::json!(7)).unwrap()),
            session: None,
            inputs: None,
            prev: None,
        }
    }

    fn receipt(k: &SigningKey, intent_jws: &str) -> Receipt {
        Receipt {
            version: ReceiptV1,
            intent: intent_digest(intent_jws),
            outcome: Outcome::Executed,
            response: Some(Digest::of_json_text(br#"{"content":[]}"#).unwrap()),
            decision: Decision {
                effect: Effect::Allow,
                rules: vec![],
                policy: None,
            },
            log_index: Some(2),
            signer: kid_for(&k.public_key()),
            iat: UnixTime(1_800_000_001),
        }
    }

    #[test]
    fn intent_round_trip_all_algorithms() {
        for alg in Algorithm::ALL {
            let k = key(alg, 1);
            let i = intent(&k);
            let jws = sign(&k, &i).unwrap();
            let v = verify::<Intent>(&jws, Some(&k.public_key())).unwrap();
            assert_eq!(v.statement, i);
            if alg == Algorithm::Ed25519 {
                // did:key kid is self-describing.
                let v2 = verify::<Intent>(&jws, None).unwrap();
                assert_eq!(v2.key, k.public_key());
            } else {
                assert!(matches!(
                    verify::<Intent>(&jws, None),
                    Err(StatementError::UnknownSigner(_))
                ));
            }
        }
    }

    #[test]
    fn intent_never_verifies_as_receipt() {
        let k = key(Algorithm::Ed25519, 1);
        let jws = sign(&k, &intent(&k)).unwrap();
        let err = verify::<Receipt>(&jws, None).unwrap_err();
        assert!(matches!(err, StatementError::WrongKind { .. }));
        assert!(!err.is_malformed());
    }

    #[test]
    fn receipt_round_trip_and_binding() {
        let agent = key(Algorithm::Ed25519, 1);
        let gateway = key(Algorithm::Ed25519, 2);
        let ijws = sign(&agent, &intent(&agent)).unwrap();
        let r = receipt(&gateway, &ijws);
        let rjws = sign(&gateway, &r).unwrap();
        let v = verify::<Receipt>(&rjws, None).unwrap();
        assert_eq!(v.statement.intent, intent_digest(&ijws));
        assert_eq!(v.key, gateway.public_key());
    }

    #[test]
    fn signer_must_be_the_key() {
        let a = key(Algorithm::Ed25519, 1);
        let b = key(Algorithm::Ed25519, 2);
        let i = intent(&a);
        assert!(matches!(
            sign(&b, &i),
            Err(StatementError::SignerMismatch { .. })
        ));
        let jws = sign(&a, &i).unwrap();
        assert!(matches!(
            verify::<Intent>(&jws, Some(&b.public_key())),
            Err(StatementError::WrongKey { .. })
        ));
    }

    /// Re-sign a payload with a valid signature to show that the checks after the
    /// signature (unknown fields, canonical form, signer) hold on their own.
    fn forge(k: &SigningKey, kind: StatementKind, payload: &str) -> String {
        jws::sign(k, &kid_for(&k.public_key()), kind, payload.as_bytes()).unwrap()
    }

    #[test]
    fn unknown_fields_and_nulls_refused_even_when_signed() {
        let k = key(Algorithm::Ed25519, 1);
        let i = intent(&k);
        let mut v = serde_json::to_value(&i).unwrap();
        v["extra"] = serde_json::json!("x");
        let p = String::from_utf8(canon::to_canonical_vec(&v).unwrap()).unwrap();
        let err = verify::<Intent>(&forge(&k, StatementKind::Intent, &p), None).unwrap_err();
        assert!(matches!(err, StatementError::Decode { .. }), "{err}");

        let mut v = serde_json::to_value(&i).unwrap();
        v["session"] = serde_json::Value::Null;
        let p = String::from_utf8(canon::to_canonical_vec(&v).unwrap()).unwrap();
        let err = verify::<Intent>(&forge(&k, StatementKind::Intent, &p), None).unwrap_err();
        assert_eq!(err, StatementError::NotCanonical(StatementKind::Intent));

        let mut v = serde_json::to_value(&i).unwrap();
        v["type"] = serde_json::json!("signet.intent.v2");
        let p = String::from_utf8(canon::to_canonical_vec(&v).unwrap()).unwrap();
        let err = verify::<Intent>(&forge(&k, StatementKind::Intent, &p), None).unwrap_err();
        assert!(err.to_string().contains("signet.intent.v2"), "{err}");
    }

    #[test]
    fn signer_field_must_match_kid() {
        let k = key(Algorithm::Ed25519, 1);
        let other = key(Algorithm::Ed25519, 2);
        let mut i = intent(&k);
        i.signer = kid_for(&other.public_key());
        let p = String::from_utf8(canon::to_canonical_vec_of(&i).unwrap()).unwrap();
        let err = verify::<Intent>(&forge(&k, StatementKind::Intent, &p), None).unwrap_err();
        assert!(matches!(err, StatementError::SignerMismatch { .. }));
    }

    #[test]
    fn payload_swap_breaks_signature() {
        let k = key(Algorithm::Ed25519, 1);
        let jws = sign(&k, &intent(&k)).unwrap();
        let mut i2 = intent(&k);
        i2.tool = ToolName::new("delete_file").unwrap();
        let p2 = canon::to_canonical_vec_of(&i2).unwrap();
        let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(p2);
        let err = verify::<Intent>(&parts.join("."), None).unwrap_err();
        assert!(matches!(
            err,
            StatementError::Jws(JwsError::BadSignature(_))
        ));
        assert!(!err.is_malformed());
    }

    #[test]
    fn field_validation() {
        assert!(ToolName::new("").is_err());
        assert!(ToolName::new("a\nb").is_err());
        assert!(ToolName::new("x".repeat(257)).is_err());
        assert!(Nonce::new("short").is_err());
        assert!(Nonce::new("abcdefghijklmnop").is_ok());
        assert!(Nonce::new("abcdefghijklmno=").is_err());
        assert_eq!(
            RpcId::from_json(&serde_json::json!("a")).unwrap().as_str(),
            "\"a\""
        );
        assert!(RpcId::from_json(&serde_json::json!(null)).is_err());
        assert!(RpcId::from_json(&serde_json::json!({"a":1})).is_err());
    }

    /// `kid_names_key` as it was written before: parse the kid, compare keys.
    fn kid_names_key_by_parsing(kid: &str, key: &PublicKey) -> bool {
        if let Ok(did) = kid.parse::<Did>() {
            return did.public_key() == key;
        }
        if let Ok(id) = kid.parse::<KeyId>() {
            return id == KeyId::from_public_key(key);
        }
        false
    }

    #[test]
    fn kid_names_key_agrees_with_parsing() {
        let keys: Vec<PublicKey> = Algorithm::ALL
            .into_iter()
            .flat_map(|alg| [key(alg, 1).public_key(), key(alg, 2).public_key()])
            .collect();
        let mut kids: Vec<String> = Vec::new();
        for k in &keys {
            let did = Did::from_public_key(k).to_string();
            let id = KeyId::from_public_key(k).to_string();
            kids.push(format!("{did}x"));
            kids.push(did.replacen('z', "Z", 1));
            kids.push(did.get(..did.len() - 1).unwrap().to_owned());
            kids.push(format!("{did}#key-1"));
            kids.push(did.to_uppercase());
            kids.push(format!("{id}A"));
            kids.push(id.replace("kid:", "KID:"));
            kids.push(did);
            kids.push(id);
        }
        kids.extend(["", "did:key:", "did:key:z", "kid:", "did:web:example.com"].map(String::from));
        for kid in &kids {
            for k in &keys {
                assert_eq!(
                    kid_names_key(kid, k),
                    kid_names_key_by_parsing(kid, k),
                    "kid {kid} key {k:?}"
                );
            }
        }
    }

    fn arb_text() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![
            "[ -~]{1,40}",
            "[a-z\"\\\\/\u{e9}\u{ffff}\u{10000}\u{1f600}]{1,12}",
        ]
    }

    proptest::proptest! {
        #[test]
        fn prop_intent_direct_bytes_match_generic(
            aud in arb_text(),
            tool in arb_text(),
            session in proptest::option::of(arb_text()),
            rpc_id in proptest::option::of(arb_text()),
            with_tool_def in proptest::prelude::any::<bool>(),
            with_inputs in proptest::prelude::any::<bool>(),
            with_prev in proptest::prelude::any::<bool>(),
            iat in proptest::prop_oneof![
                proptest::prelude::any::<i64>(),
                -9_007_199_254_740_993_i64..9_007_199_254_740_993,
            ],
            nonce in proptest::prelude::any::<[u8; 16]>(),
        ) {
            let k = key(Algorithm::Ed25519, 1);
            let intent = Intent {
                version: IntentV1,
                aud: Audience::new(aud).unwrap(),
                tool: ToolName::new(tool).unwrap(),
                args: Digest::of_bytes(b"args"),
                tool_def: with_tool_def.then(|| Digest::of_raw(b"def")),
                signer: kid_for(&k.public_key()),
                iat: UnixTime(iat),
                nonce: Nonce::from_random(nonce),
                rpc_id: rpc_id.map(|id| RpcId::new(id).unwrap()),
                session: session.map(|s| SessionId::new(s).unwrap()),
                inputs: with_inputs.then(|| Digest::of_bytes(b"inputs")),
                prev: with_prev.then(|| Digest::of_bytes(b"jws")),
            };
            let generic = canon::to_canonical_vec_of(&intent);
            proptest::prop_assert_eq!(intent.write_canonical(), generic.clone());
            proptest::prop_assert_eq!(intent.to_canonical_bytes(), generic);
        }
    }
}
