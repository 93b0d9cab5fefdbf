//! Compact JWS (RFC 7515) as signet signs and checks it.
//!
//! A signet JWS is an ordinary compact JWS, `BASE64URL(header) . BASE64URL(payload) .
//! BASE64URL(signature)`, that any JOSE library verifies given the public key. signet is
//! stricter than RFC 7515 on what it accepts, so that one statement has exactly one signed
//! encoding:
//!
//! - The protected header has exactly the members `alg`, `kid` and `typ`, all strings, and
//!   its bytes are RFC 8785 canonical (`{"alg":…,"kid":…,"typ":…}`). Any other member
//!   (`crit`, `b64`, `jwk`, `jku`, `x5u`, `x5c`, …) is refused: keys never come from the
//!   message itself, and no extension can change how the payload is read.
//! - `alg` is a fully-specified name from [`Algorithm`]; `none` and anything else is refused.
//! - `typ` names the statement kind ([`StatementKind`]); a signature over one kind never
//!   verifies as another.
//! - The payload is RFC 8785 canonical JSON.
//! - Base64url is unpadded with zero trailing bits (no second spelling of the same bytes).
//! - The whole compact form is at most [`MAX_COMPACT_LEN`] bytes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::alg::{Algorithm, PublicKey, SignError, Signer};
use crate::canon;

/// Largest compact JWS accepted, in bytes (an ML-DSA-65 + Ed25519 signature is ~4.5 KiB of
/// base64url; statements are small).
pub const MAX_COMPACT_LEN: usize = 64 * 1024;

/// The kinds of statement signet signs; each has its own JWS `typ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatementKind {
    /// A tool-call intent, signed by the agent before the call (`signet-intent+jws`).
    Intent,
    /// A receipt, signed by the gateway after the call (`signet-receipt+jws`).
    Receipt,
    /// A signed set of tool pins for one server (`signet-pins+jws`).
    PinSet,
}

impl StatementKind {
    /// Every kind.
    pub const ALL: [StatementKind; 3] = [
        StatementKind::Intent,
        StatementKind::Receipt,
        StatementKind::PinSet,
    ];

    /// The JWS `typ` header value.
    #[must_use]
    pub fn typ(self) -> &'static str {
        match self {
            StatementKind::Intent => "signet-intent+jws",
            StatementKind::Receipt => "signet-receipt+jws",
            StatementKind::PinSet => "signet-pins+jws",
        }
    }

    /// The kind for a `typ` value.
    #[must_use]
    pub fn from_typ(typ: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.typ() == typ)
    }
}

impl fmt::Display for StatementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.typ())
    }
}

/// Why a compact JWS was refused.
///
/// [`JwsError::BadSignature`] is the only "signature invalid" case; every other variant is
/// malformed input (see [`JwsError::is_malformed`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// Longer than [`MAX_COMPACT_LEN`].
    #[error("jws is {len} bytes, more than the limit of {max}")]
    TooLong {
        /// Actual length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not three dot-separated parts.
    #[error("not a compact jws: expected 3 dot-separated parts, found {0}")]
    Parts(usize),
    /// A part is empty.
    #[error("not a compact jws: the {0} is empty (truncated?)")]
    EmptyPart(&'static str),
    /// A part is not strict unpadded base64url.
    #[error("the jws {0} is not valid unpadded base64url (truncated?)")]
    Base64(&'static str),
    /// The header is not a JSON object of the allowed form.
    #[error("bad jws header: {0}")]
    Header(String),
    /// The header carries a member signet does not accept.
    #[error("jws header member `{0}` is not accepted")]
    UnsupportedHeader(String),
    /// The header's `alg` is not one signet knows.
    #[error("unknown or unsupported algorithm `{0}`")]
    UnknownAlgorithm(String),
    /// The header's `typ` is not a signet statement kind.
    #[error("unknown statement type `{0}`")]
    UnknownType(String),
    /// The header or payload is valid JSON but not in canonical form.
    #[error("jws {0} is not in rfc 8785 canonical form")]
    NotCanonical(&'static str),
    /// The payload is not strict JSON.
    #[error("jws payload is not valid json: {0}")]
    Payload(canon::CanonError),
    /// The signature has the wrong length for `alg`.
    #[error("signature is {got} bytes, `{alg}` signatures are {expected}")]
    SignatureLength {
        /// The header's algorithm.
        alg: Algorithm,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// The key offered for verification is of another algorithm than `alg`.
    #[error("key algorithm `{key}` does not match jws alg `{alg}`")]
    AlgorithmMismatch {
        /// The header's algorithm.
        alg: Algorithm,
        /// The key's algorithm.
        key: Algorithm,
    },
    /// The signature does not verify.
    #[error("signature invalid: {0}")]
    BadSignature(String),
    /// The signer failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

impl JwsError {
    /// True for every error except a signature that does not verify.
    #[must_use]
    pub fn is_malformed(&self) -> bool {
        !matches!(
            self,
            JwsError::BadSignature(_) | JwsError::AlgorithmMismatch { .. } | JwsError::Sign(_)
        )
    }
}

impl From<SignError> for JwsError {
    fn from(e: SignError) -> Self {
        JwsError::Sign(e.to_string())
    }
}

/// The protected header of a signet JWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The signature algorithm.
    pub alg: Algorithm,
    /// The signer's key id: its `did:key` (Ed25519) or its short key id (long keys).
    pub kid: String,
    /// The statement kind.
    pub typ: StatementKind,
}

impl Header {
    /// The canonical JSON bytes of the header.
    #[must_use]
    pub fn to_canonical_bytes(&self) -> Vec<u8> {
        // Members in RFC 8785 order: alg < kid < typ. String escaping via serde_json, which
        // matches RFC 8785 for strings.
        let mut out = Vec::with_capacity(self.kid.len().saturating_add(64));
        out.extend_from_slice(b"{\"alg\":");
        push_json_string(&mut out, self.alg.jose_name());
        out.extend_from_slice(b",\"kid\":");
        push_json_string(&mut out, &self.kid);
        out.extend_from_slice(b",\"typ\":");
        push_json_string(&mut out, self.typ.typ());
        out.push(b'}');
        out
    }
}

fn push_json_string(out: &mut Vec<u8>, s: &str) {
    canon::write_string(s, out);
}

/// Check that `payload` is canonical JSON: the one-pass check, and on failure the full
/// canonicalizer for the precise error.
fn check_canonical_payload(payload: &[u8]) -> Result<(), JwsError> {
    if canon::is_canonical(payload) {
        return Ok(());
    }
    let canonical = canon::canonicalize(payload).map_err(JwsError::Payload)?;
    if canonical != payload {
        return Err(JwsError::NotCanonical("payload"));
    }
    Ok(())
}

/// A parsed, well-formed compact JWS whose signature has not been checked yet.
#[derive(Clone)]
pub struct Jws {
    header: Header,
    payload: Vec<u8>,
    signature: Vec<u8>,
    /// `BASE64URL(header) '.' BASE64URL(payload)`: the bytes the signature covers.
    signing_input_len: usize,
    compact: String,
}

impl fmt::Debug for Jws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jws")
            .field("header", &self.header)
            .field("payload_len", &self.payload.len())
            .finish_non_exhaustive()
    }
}

/// Sign canonical `payload` bytes as a compact JWS of `kind`, with `kid` in the header.
///
/// The caller passes canonical payload bytes (from [`canon`]); this is checked.
///
/// # Errors
/// [`JwsError::NotCanonical`] if `payload` is not canonical JSON; [`JwsError::Sign`] if the
/// signer fails.
pub fn sign(
    signer: &dyn Signer,
    kid: &str,
    kind: StatementKind,
    payload: &[u8],
) -> Result<String, JwsError> {
    check_canonical_payload(payload)?;
    let header = Header {
        alg: signer.algorithm(),
        kid: kid.to_owned(),
        typ: kind,
    };
    let header = header.to_canonical_bytes();
    let alg = signer.algorithm();
    // Room for the three parts: base64url is 4 characters per 3 bytes.
    let capacity = header
        .len()
        .saturating_add(payload.len())
        .saturating_add(alg.signature_len())
        .saturating_mul(4)
        .wrapping_div(3)
        .saturating_add(8);
    let mut compact = String::with_capacity(capacity);
    URL_SAFE_NO_PAD.encode_string(&header, &mut compact);
    compact.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut compact);
    let sig = signer.sign(compact.as_bytes())?;
    compact.push('.');
    URL_SAFE_NO_PAD.encode_string(sig.as_bytes(), &mut compact);
    Ok(compact)
}

fn b64(part: &str, what: &'static str) -> Result<Vec<u8>, JwsError> {
    if part.is_empty() {
        return Err(JwsError::EmptyPart(what));
    }
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwsError::Base64(what))
}

impl Jws {
    /// Parse a compact JWS strictly (see the module docs). Does not check the signature.
    ///
    /// # Errors
    /// Any malformed-input [`JwsError`].
    pub fn parse(compact: &str) -> Result<Self, JwsError> {
        let compact = compact.trim_end_matches(['\n', '\r']);
        if compact.len() > MAX_COMPACT_LEN {
            return Err(JwsError::TooLong {
                len: compact.len(),
                max: MAX_COMPACT_LEN,
            });
        }
        let mut parts = compact.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Parts(compact.split('.').count()));
        };
        let header_bytes = b64(h, "header")?;
        let payload = b64(p, "payload")?;
        let signature = b64(s, "signature")?;
        let header = parse_header(&header_bytes)?;

        check_canonical_payload(&payload)?;
        let expected = header.alg.signature_len();
        if signature.len() != expected {
            return Err(JwsError::SignatureLength {
                alg: header.alg,
                expected,
                got: signature.len(),
            });
        }
        let signing_input_len = h.len().saturating_add(1).saturating_add(p.len());
        Ok(Self {
            header,
            payload,
            signature,
            signing_input_len,
            compact: compact.to_owned(),
        })
    }

    /// The protected header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The payload bytes (canonical JSON). Not authenticated until [`Jws::verify`] passed.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The compact serialization.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.compact
    }

    /// Check the signature with `key`.
    ///
    /// # Errors
    /// [`JwsError::AlgorithmMismatch`] if `key` is of another algorithm than the header's
    /// `alg`; [`JwsError::BadSignature`] if the signature does not verify.
    pub fn verify(&self, key: &PublicKey) -> Result<(), JwsError> {
        if key.algorithm() != self.header.alg {
            return Err(JwsError::AlgorithmMismatch {
                alg: self.header.alg,
                key: key.algorithm(),
            });
        }
        let input = self
            .compact
            .as_bytes()
            .get(..self.signing_input_len)
            .ok_or(JwsError::Parts(0))?;
        key.verify(input, &self.signature)
            .map_err(|e| JwsError::BadSignature(e.to_string()))
    }
}

impl Jws {
    /// [`Jws::verify`] with an Ed25519 signature check queued in `many` instead of done
    /// here: `Ok(Some(ticket))` when queued (the signature is valid exactly when
    /// `many.finish()[ticket]` is true, otherwise [`Jws::verify`] would have returned
    /// [`Jws::refused`]), `Ok(None)` when checked here and valid, and [`Jws::verify`]'s
    /// error otherwise.
    ///
    /// # Errors
    /// As [`Jws::verify`].
    pub fn verify_queued(
        &self,
        key: &PublicKey,
        many: &mut crate::many::Ed25519Many,
    ) -> Result<Option<usize>, JwsError> {
        if key.algorithm() == self.header.alg
            && let Some(input) = self.compact.as_bytes().get(..self.signing_input_len)
            && let Some(ticket) = many.push(key, input, &self.signature)
        {
            return Ok(Some(ticket));
        }
        self.verify(key).map(|()| None)
    }

    /// The error [`Jws::verify`] returns for a well-formed signature of `alg` that does not
    /// verify.
    #[must_use]
    pub fn refused(alg: crate::alg::Algorithm) -> JwsError {
        JwsError::BadSignature(crate::alg::SignatureError::Invalid { alg }.to_string())
    }
}

fn parse_header(bytes: &[u8]) -> Result<Header, JwsError> {
    match parse_canonical_header(bytes) {
        Some(header) => Ok(header),
        None => parse_header_generic(bytes),
    }
}

/// The header when `bytes` are exactly the canonical header
/// `{"alg":"…","kid":"…","typ":"…"}` of a known `alg` and `typ` and a non-empty `kid`;
/// `None` otherwise (then [`parse_header_generic`] finds the reason). It accepts exactly the
/// headers the generic parser accepts: both end by requiring
/// `header.to_canonical_bytes() == bytes`.
fn parse_canonical_header(bytes: &[u8]) -> Option<Header> {
    /// The text up to the next `"`, if it has no escape or control character.
    fn plain_string(bytes: &[u8]) -> Option<(&str, &[u8])> {
        let end = bytes.iter().position(|&b| b == b'"')?;
        let (text, rest) = bytes.split_at(end);
        if text.iter().any(|&b| b == b'\\' || b < 0x20) {
            return None;
        }
        Some((std::str::from_utf8(text).ok()?, rest))
    }
    let rest = bytes.strip_prefix(b"{\"alg\":\"")?;
    let (alg, rest) = plain_string(rest)?;
    let rest = rest.strip_prefix(b"\",\"kid\":\"")?;
    let (kid, rest) = plain_string(rest)?;
    let rest = rest.strip_prefix(b"\",\"typ\":\"")?;
    let (typ, rest) = plain_string(rest)?;
    if rest != b"\"}" || kid.is_empty() {
        return None;
    }
    let header = Header {
        alg: Algorithm::from_jose_name(alg)?,
        kid: kid.to_owned(),
        typ: StatementKind::from_typ(typ)?,
    };
    (header.to_canonical_bytes() == bytes).then_some(header)
}

/// Parse a header strictly as JSON, reporting why it is refused.
fn parse_header_generic(bytes: &[u8]) -> Result<Header, JwsError> {
    let value = canon::parse_strict(bytes).map_err(|e| JwsError::Header(e.to_string()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(JwsError::Header("not a json object".into()));
    };
    if let Some(extra) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "alg" | "kid" | "typ"))
    {
        return Err(JwsError::UnsupportedHeader(extra.clone()));
    }
    let field = |name: &str| -> Result<&str, JwsError> {
        match map.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(JwsError::Header(format!("`{name}` is not a string"))),
            None => Err(JwsError::Header(format!("`{name}` is missing"))),
        }
    };
    let alg_name = field("alg")?;
    let alg = Algorithm::from_jose_name(alg_name)
        .ok_or_else(|| JwsError::UnknownAlgorithm(alg_name.to_owned()))?;
    let typ_name = field("typ")?;
    let typ = StatementKind::from_typ(typ_name)
        .ok_or_else(|| JwsError::UnknownType(typ_name.to_owned()))?;
    let kid = field("kid")?;
    if kid.is_empty() {
        return Err(JwsError::Header("`kid` is empty".into()));
    }
    let header = Header {
        alg,
        kid: kid.to_owned(),
        typ,
    };
    if header.to_canonical_bytes() != bytes {
        return Err(JwsError::NotCanonical("header"));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    #![expect(clippy::indexing_slicing, reason = "tests")]
    use super::*;
    use crate::alg::SigningKey;
    use crate::did::kid_for;

    fn key(alg: Algorithm) -> SigningKey {
        let seed: Vec<u8> = (0..alg.seed_len()).map(|i| i as u8).collect();
        SigningKey::from_seed(alg, &seed).unwrap()
    }

    fn encode(header: &str, payload: &str, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    #[test]
    fn sign_parse_verify_each_algorithm() {
        for alg in Algorithm::ALL {
            let k = key(alg);
            let kid = kid_for(&k.public_key());
            let jws = sign(&k, &kid, StatementKind::Intent, br#"{"a":1}"#).unwrap();
            let parsed = Jws::parse(&jws).unwrap();
            assert_eq!(parsed.header().alg, alg);
            assert_eq!(parsed.header().kid, kid);
            assert_eq!(parsed.payload(), br#"{"a":1}"#);
            parsed.verify(&k.public_key()).unwrap();
        }
    }

    #[test]
    fn header_is_canonical_and_minimal() {
        let k = key(Algorithm::Ed25519);
        let jws = sign(&k, "kid-1", StatementKind::Receipt, b"{}").unwrap();
        let h = URL_SAFE_NO_PAD
            .decode(jws.split('.').next().unwrap())
            .unwrap();
        assert_eq!(
            h,
            br#"{"alg":"Ed25519","kid":"kid-1","typ":"signet-receipt+jws"}"#
        );
    }

    #[test]
    fn non_canonical_payload_is_not_signed() {
        let k = key(Algorithm::Ed25519);
        assert_eq!(
            sign(&k, "k", StatementKind::Intent, br#"{"b":1,"a":2}"#),
            Err(JwsError::NotCanonical("payload"))
        );
    }

    #[test]
    fn wrong_key_and_wrong_alg_rejected() {
        let k = key(Algorithm::Ed25519);
        let other = SigningKey::from_seed(Algorithm::Ed25519, &[9u8; 32]).unwrap();
        let jws = sign(&k, "k", StatementKind::Intent, b"{}").unwrap();
        let parsed = Jws::parse(&jws).unwrap();
        assert!(matches!(
            parsed.verify(&other.public_key()),
            Err(JwsError::BadSignature(_))
        ));
        let ml = key(Algorithm::MlDsa65);
        assert!(matches!(
            parsed.verify(&ml.public_key()),
            Err(JwsError::AlgorithmMismatch { .. })
        ));
    }

    #[test]
    fn malformed_inputs_have_specific_errors() {
        let k = key(Algorithm::Ed25519);
        let jws = sign(&k, "k", StatementKind::Intent, b"{}").unwrap();
        let (hp, _sig) = jws.rsplit_once('.').unwrap();
        assert_eq!(Jws::parse(hp).unwrap_err(), JwsError::Parts(2));
        assert_eq!(
            Jws::parse(&format!("{hp}.")).unwrap_err(),
            JwsError::EmptyPart("signature")
        );
        // Truncated signature: still base64url, wrong length.
        let truncated = &jws[..jws.len() - 4];
        assert!(matches!(
            Jws::parse(truncated).unwrap_err(),
            JwsError::SignatureLength { .. } | JwsError::Base64("signature")
        ));
        assert_eq!(
            Jws::parse(&format!("{jws}=")).unwrap_err(),
            JwsError::Base64("signature")
        );
        let sig = [0u8; 64];
        assert_eq!(
            Jws::parse(&encode(
                r#"{"alg":"none","kid":"k","typ":"signet-intent+jws"}"#,
                "{}",
                &sig
            ))
            .unwrap_err(),
            JwsError::UnknownAlgorithm("none".into())
        );
        assert_eq!(
            Jws::parse(&encode(
                r#"{"alg":"EdDSA","kid":"k","typ":"signet-intent+jws"}"#,
                "{}",
                &sig
            ))
            .unwrap_err(),
            JwsError::UnknownAlgorithm("EdDSA".into())
        );
        assert_eq!(
            Jws::parse(&encode(
                r#"{"alg":"Ed25519","jwk":{},"kid":"k","typ":"signet-intent+jws"}"#,
                "{}",
                &sig
            ))
            .unwrap_err(),
            JwsError::UnsupportedHeader("jwk".into())
        );
        assert_eq!(
            Jws::parse(&encode(
                r#"{"alg":"Ed25519","kid":"k","typ":"JWT"}"#,
                "{}",
                &sig
            ))
            .unwrap_err(),
            JwsError::UnknownType("JWT".into())
        );
        assert_eq!(
            Jws::parse(&encode(
                r#"{"kid":"k","alg":"Ed25519","typ":"signet-intent+jws"}"#,
                "{}",
                &sig
            ))
            .unwrap_err(),
            JwsError::NotCanonical("header")
        );
        assert_eq!(
            Jws::parse(&encode(
                r#"{"alg":"Ed25519","kid":"k","typ":"signet-intent+jws"}"#,
                r#"{"b":1, "a":2}"#,
                &sig
            ))
            .unwrap_err(),
            JwsError::NotCanonical("payload")
        );
        assert!(matches!(
            Jws::parse(&"a".repeat(MAX_COMPACT_LEN + 1)).unwrap_err(),
            JwsError::TooLong { .. }
        ));
    }

    #[test]
    fn every_single_byte_flip_fails() {
        for alg in [Algorithm::Ed25519, Algorithm::MlDsa65Ed25519] {
            let k = key(alg);
            let jws = sign(&k, "k", StatementKind::Intent, br#"{"tool":"x"}"#).unwrap();
            let pk = k.public_key();
            let bytes = jws.as_bytes();
            // Flip a low bit of every character of header and payload, and a sample of
            // signature characters (the composite signature is ~5 KiB of text).
            let step = if alg == Algorithm::Ed25519 { 1 } else { 7 };
            for i in (0..bytes.len()).step_by(step) {
                let mut m = bytes.to_vec();
                m[i] ^= 0x01;
                let Ok(s) = String::from_utf8(m) else {
                    continue;
                };
                let ok = Jws::parse(&s).and_then(|j| j.verify(&pk)).is_ok();
                assert!(!ok, "flip at {i} still verified for {alg}");
            }
        }
    }
}
