//! The signed tool-call envelope of the original Signet proposal.
//!
//! ```json
//! {
//!   "tool_call": { "name": "send_email", "arguments": { "to": "alice@example.com" } },
//!   "signet": {
//!     "request_signature": "<compact JWS of a signet.intent.v1 statement>",
//!     "signer": "did:key:z6Mk…",
//!     "timestamp": "2026-03-30T11:37:25Z",
//!     "nonce": "…"
//!   }
//! }
//! ```
//!
//! The signature is the intent JWS ([`crate::statement::Intent`]). The envelope's `signer`
//! (the full `did:key`, also for long keys whose JWS `kid` is a short key id), `timestamp`
//! (the intent's `iat` as RFC 3339 UTC) and `nonce` are copies for readers; verification
//! checks that each equals the signed value, and that `tool_call` hashes to the signed
//! tool name and argument digest. An absent `arguments` is hashed as `{}`.
//!
//! Arguments are hashed in canonical mode only; a call whose arguments cannot be
//! canonicalized (for example an integer beyond ±(2^53−1)) is refused with the reason.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::alg::{PublicKey, Signer};
use crate::canon::{self, CanonError};
use crate::did::{Did, kid_for};
use crate::digest::Digest;
use crate::replay::UnixTime;
use crate::statement::{
    self, Audience, FieldError, Intent, IntentV1, Nonce, RpcId, SessionId, StatementError,
    ToolName, Verified,
};

/// The `tool_call` member: what the agent asks to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    /// The tool's name.
    pub name: ToolName,
    /// The arguments object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The `signet` member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignetBlock {
    /// The intent's compact JWS.
    pub request_signature: String,
    /// The signer's full `did:key`.
    pub signer: String,
    /// The intent's `iat` as RFC 3339 UTC (`…Z`).
    pub timestamp: String,
    /// The intent's nonce.
    pub nonce: Nonce,
}

/// A signed tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The call.
    pub tool_call: ToolCall,
    /// Its signature and the signer's identity.
    pub signet: SignetBlock,
}

/// Context signed into an intent besides the call itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// The server the call is for.
    pub aud: Audience,
    /// Digest of the tool definition the model saw, if known.
    pub tool_def: Option<Digest>,
    /// The JSON-RPC id, if known.
    pub rpc_id: Option<RpcId>,
    /// The MCP session, if any.
    pub session: Option<SessionId>,
}

/// Why a tool call could not be signed or an envelope did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The input is not strict JSON.
    #[error("not valid json: {0}")]
    Json(CanonError),
    /// The JSON does not have the expected shape.
    #[error("{what}: {reason}")]
    Shape {
        /// What was being read.
        what: &'static str,
        /// Why it did not fit.
        reason: String,
    },
    /// A field value is invalid.
    #[error("{0}")]
    Field(#[from] FieldError),
    /// The arguments cannot be hashed canonically.
    #[error("arguments cannot be canonicalized: {0}")]
    Arguments(CanonError),
    /// The envelope's `signer` is not a valid `did:key`.
    #[error("envelope signer `{signer}` is not a valid did:key: {reason}")]
    Signer {
        /// The value.
        signer: String,
        /// Why.
        reason: String,
    },
    /// The intent JWS did not verify.
    #[error("{0}")]
    Statement(#[from] StatementError),
    /// A readable copy in the envelope differs from the signed value.
    #[error("envelope {field} `{envelope}` does not match the signed value `{signed}`")]
    Mismatch {
        /// Which field.
        field: &'static str,
        /// The envelope's value.
        envelope: String,
        /// The signed value.
        signed: String,
    },
    /// A time could not be represented.
    #[error("timestamp out of range: {0}")]
    Time(i64),
}

impl EnvelopeError {
    /// True when the input is malformed (as opposed to well-formed but not validly signed).
    #[must_use]
    pub fn is_malformed(&self) -> bool {
        match self {
            EnvelopeError::Statement(e) => e.is_malformed(),
            EnvelopeError::Mismatch { .. } => false,
            _ => true,
        }
    }
}

/// Format a Unix time as RFC 3339 UTC with a `Z` suffix and whole seconds.
///
/// # Errors
/// [`EnvelopeError::Time`] if the time is outside years 0000-9999.
pub fn format_time(t: UnixTime) -> Result<String, EnvelopeError> {
    let dt = OffsetDateTime::from_unix_timestamp(t.0).map_err(|_| EnvelopeError::Time(t.0))?;
    if !(0..=9999).contains(&dt.year()) {
        return Err(EnvelopeError::Time(t.0));
    }
    dt.format(&Rfc3339).map_err(|_| EnvelopeError::Time(t.0))
}

/// Parse an RFC 3339 timestamp into a Unix time (fractional seconds are refused).
///
/// # Errors
/// [`EnvelopeError::Shape`] if it is not RFC 3339 with whole seconds.
pub fn parse_time(s: &str) -> Result<UnixTime, EnvelopeError> {
    let dt = OffsetDateTime::parse(s, &Rfc3339).map_err(|e| EnvelopeError::Shape {
        what: "timestamp",
        reason: format!("`{s}` is not rfc 3339: {e}"),
    })?;
    if dt.nanosecond() != 0 {
        return Err(EnvelopeError::Shape {
            what: "timestamp",
            reason: format!("`{s}` has fractional seconds"),
        });
    }
    Ok(UnixTime(dt.unix_timestamp()))
}

/// Parse a tool call given as `{"name", "arguments"}`, or as a JSON-RPC `tools/call`
/// request (`{"jsonrpc","id","method":"tools/call","params":{…}}`, whose `id` is returned).
///
/// # Errors
/// [`EnvelopeError::Json`] or [`EnvelopeError::Shape`] for anything else.
pub fn parse_tool_call(text: &[u8]) -> Result<(ToolCall, Option<RpcId>), EnvelopeError> {
    let value = canon::parse_strict(text).map_err(EnvelopeError::Json)?;
    let serde_json::Value::Object(mut obj) = value else {
        return Err(EnvelopeError::Shape {
            what: "tool call",
            reason: "expected a json object".into(),
        });
    };
    let mut rpc_id = None;
    let call = if obj.contains_key("method") {
        let method = obj.get("method").and_then(|m| m.as_str()).unwrap_or("");
        if method != "tools/call" {
            return Err(EnvelopeError::Shape {
                what: "tool call",
                reason: format!("json-rpc method is `{method}`, expected `tools/call`"),
            });
        }
        if let Some(id) = obj.get("id") {
            rpc_id = Some(RpcId::from_json(id)?);
        }
        match obj.remove("params") {
            Some(serde_json::Value::Object(mut params)) => {
                // `_meta` travels beside the call and is not part of what is signed.
                params.remove("_meta");
                params
            }
            _ => {
                return Err(EnvelopeError::Shape {
                    what: "tool call",
                    reason: "json-rpc request has no `params` object".into(),
                });
            }
        }
    } else {
        obj
    };
    let call: ToolCall = serde_json::from_value(serde_json::Value::Object(call)).map_err(|e| {
        EnvelopeError::Shape {
            what: "tool call",
            reason: format!("{e} (expected `name` and optional `arguments` object)"),
        }
    })?;
    Ok((call, rpc_id))
}

/// The digest of a call's arguments (absent = `{}`).
///
/// # Errors
/// [`EnvelopeError::Arguments`] if they cannot be canonicalized.
pub fn arguments_digest(call: &ToolCall) -> Result<Digest, EnvelopeError> {
    let empty = serde_json::Map::new();
    Digest::of_json_object(call.arguments.as_ref().unwrap_or(&empty)).map_err(|e| match e {
        crate::digest::DigestError::Canon(c) => EnvelopeError::Arguments(c),
        other => EnvelopeError::Shape {
            what: "arguments",
            reason: other.to_string(),
        },
    })
}

/// Build and sign the intent for `call`, and wrap it in an [`Envelope`].
///
/// # Errors
/// Argument canonicalization, field validation or signing failures.
pub fn sign_tool_call(
    signer: &dyn Signer,
    call: ToolCall,
    ctx: CallContext,
    iat: UnixTime,
    nonce: Nonce,
) -> Result<(Envelope, Intent), EnvelopeError> {
    let pk = signer.public_key();
    let intent = Intent {
        version: IntentV1,
        aud: ctx.aud,
        tool: call.name.clone(),
        args: arguments_digest(&call)?,
        tool_def: ctx.tool_def,
        signer: kid_for(&pk),
        iat,
        nonce: nonce.clone(),
        rpc_id: ctx.rpc_id,
        session: ctx.session,
        inputs: None,
        prev: None,
    };
    let jws = statement::sign(signer, &intent)?;
    let envelope = Envelope {
        tool_call: call,
        signet: SignetBlock {
            request_signature: jws,
            signer: Did::from_public_key(&pk).to_string(),
            timestamp: format_time(iat)?,
            nonce,
        },
    };
    Ok((envelope, intent))
}

/// Parse an envelope strictly.
///
/// # Errors
/// [`EnvelopeError::Json`] or [`EnvelopeError::Shape`].
pub fn parse_envelope(text: &[u8]) -> Result<Envelope, EnvelopeError> {
    let value = canon::parse_strict(text).map_err(EnvelopeError::Json)?;
    serde_json::from_value(value).map_err(|e| EnvelopeError::Shape {
        what: "envelope",
        reason: e.to_string(),
    })
}

/// Verify an envelope: the intent's signature (with `key`, or the key in the envelope's
/// `signer` did:key), and that the call and the readable copies match what was signed.
/// Freshness and trust in the signer are the caller's to check.
///
/// # Errors
/// Any [`EnvelopeError`]; see [`EnvelopeError::is_malformed`].
pub fn verify_envelope(
    envelope: &Envelope,
    key: Option<&PublicKey>,
) -> Result<Verified<Intent>, EnvelopeError> {
    let did: Did = envelope
        .signet
        .signer
        .parse()
        .map_err(|e: crate::did::DidError| EnvelopeError::Signer {
            signer: envelope.signet.signer.clone(),
            reason: e.to_string(),
        })?;
    if let Some(k) = key
        && k != did.public_key()
    {
        return Err(EnvelopeError::Statement(StatementError::WrongKey {
            kid: envelope.signet.signer.clone(),
            key: kid_for(k),
        }));
    }
    let verified =
        statement::verify::<Intent>(&envelope.signet.request_signature, Some(did.public_key()))?;
    let intent = &verified.statement;
    let mismatch = |field, envelope: String, signed: String| {
        Err(EnvelopeError::Mismatch {
            field,
            envelope,
            signed,
        })
    };
    if envelope.tool_call.name != intent.tool {
        return mismatch(
            "tool name",
            envelope.tool_call.name.to_string(),
            intent.tool.to_string(),
        );
    }
    let args = arguments_digest(&envelope.tool_call)?;
    if args != intent.args {
        return mismatch(
            "arguments digest",
            args.to_string(),
            intent.args.to_string(),
        );
    }
    let ts = format_time(intent.iat)?;
    if envelope.signet.timestamp != ts {
        return mismatch("timestamp", envelope.signet.timestamp.clone(), ts);
    }
    if envelope.signet.nonce != intent.nonce {
        return mismatch(
            "nonce",
            envelope.signet.nonce.to_string(),
            intent.nonce.to_string(),
        );
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::alg::{Algorithm, SigningKey};

    fn ctx() -> CallContext {
        CallContext {
            aud: Audience::new("demo-server").unwrap(),
            tool_def: None,
            rpc_id: None,
            session: None,
        }
    }

    fn signed(alg: Algorithm) -> (SigningKey, Envelope) {
        let k = SigningKey::from_seed(alg, &vec![3; alg.seed_len()]).unwrap();
        let (call, _) = parse_tool_call(
            br#"{"name":"send_email","arguments":{"to":"alice@example.com","n":1.50}}"#,
        )
        .unwrap();
        let (env, _) = sign_tool_call(
            &k,
            call,
            ctx(),
            UnixTime(1_774_870_645),
            Nonce::from_random([1; 16]),
        )
        .unwrap();
        (k, env)
    }

    #[test]
    fn round_trip_each_algorithm() {
        for alg in Algorithm::ALL {
            let (k, env) = signed(alg);
            assert_eq!(env.signet.timestamp, "2026-03-30T11:37:25Z");
            let text = serde_json::to_vec(&env).unwrap();
            let parsed = parse_envelope(&text).unwrap();
            let v = verify_envelope(&parsed, None).unwrap();
            assert_eq!(v.key, k.public_key());
            verify_envelope(&parsed, Some(&k.public_key())).unwrap();
        }
    }

    #[test]
    fn edited_call_or_copies_detected() {
        let (_, env) = signed(Algorithm::Ed25519);
        let mut e = env.clone();
        e.tool_call
            .arguments
            .as_mut()
            .unwrap()
            .insert("to".into(), serde_json::json!("mallory@example.com"));
        assert!(matches!(
            verify_envelope(&e, None),
            Err(EnvelopeError::Mismatch {
                field: "arguments digest",
                ..
            })
        ));
        let mut e = env.clone();
        e.tool_call.name = ToolName::new("delete_all").unwrap();
        assert!(matches!(
            verify_envelope(&e, None),
            Err(EnvelopeError::Mismatch {
                field: "tool name",
                ..
            })
        ));
        let mut e = env.clone();
        e.signet.timestamp = "2026-03-30T11:37:26Z".into();
        assert!(matches!(
            verify_envelope(&e, None),
            Err(EnvelopeError::Mismatch {
                field: "timestamp",
                ..
            })
        ));
        let mut e = env.clone();
        let other = SigningKey::from_seed(Algorithm::Ed25519, &[9; 32]).unwrap();
        e.signet.signer = Did::from_public_key(&other.public_key()).to_string();
        let err = verify_envelope(&e, None).unwrap_err();
        assert!(!err.is_malformed(), "{err}");
    }

    #[test]
    fn bad_inputs_named() {
        assert!(matches!(
            parse_tool_call(b"not json"),
            Err(EnvelopeError::Json(_))
        ));
        assert!(matches!(
            parse_tool_call(br#"{"name":"x","arguments":[1]}"#),
            Err(EnvelopeError::Shape { .. })
        ));
        assert!(matches!(
            parse_tool_call(br#"{"name":"x","extra":1}"#),
            Err(EnvelopeError::Shape { .. })
        ));
        let (call, id) = parse_tool_call(
            br#"{"jsonrpc":"2.0","id":"r1","method":"tools/call","params":{"name":"x","_meta":{"p":1}}}"#,
        )
        .unwrap();
        assert_eq!(call.name.as_str(), "x");
        assert_eq!(id.unwrap().as_str(), "\"r1\"");
        let (call, _) = parse_tool_call(br#"{"name":"x","arguments":{"n":9007199254740993}}"#)
            .err()
            .map(|e| (e, ()))
            .unwrap();
        assert!(matches!(
            call,
            EnvelopeError::Json(CanonError::UnsafeInteger { .. })
        ));
        assert!(parse_time("2026-03-30T11:37:25.5Z").is_err());
        assert_eq!(
            parse_time("2026-03-30T13:37:25+02:00").unwrap(),
            UnixTime(1_774_870_645)
        );
    }
}
