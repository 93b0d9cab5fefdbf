//! Time-stamp requests (RFC 3161 §2.4.1): a SHA-256 message imprint, a nonce and
//! `certReq = TRUE`, and the parsing of responses and tokens.
//!
//! Sans-IO: the caller passes the nonce (the HTTP client draws it from the OS RNG).

use der::asn1::{Any, Int, OctetString};
use der::{Decode, Encode, Tagged as _};
use sha2::{Digest as _, Sha256};
use spki::AlgorithmIdentifierOwned;

use crate::asn1::{ID_SHA256, MessageImprint, TimeStampReq, TimeStampResp};
use crate::error::TsaError;

/// The SHA-256 hash of the time-stamped data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Imprint(pub [u8; 32]);

impl Imprint {
    /// The imprint of `data`.
    #[must_use]
    pub fn of(data: &[u8]) -> Self {
        Imprint(Sha256::digest(data).into())
    }

    /// Lowercase hex.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex_of(&self.0)
    }

    pub(crate) fn message_imprint(&self) -> Result<MessageImprint, TsaError> {
        Ok(MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: ID_SHA256,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(self.0.to_vec())
                .map_err(|e| TsaError::malformed("message imprint", e))?,
        })
    }
}

pub(crate) fn hex_of(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A time-stamp request: imprint, nonce, and `certReq = TRUE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// What is time-stamped.
    pub imprint: Imprint,
    /// The nonce the token must echo.
    pub nonce: u64,
}

impl Request {
    /// A request for `imprint` with `nonce`.
    #[must_use]
    pub fn new(imprint: Imprint, nonce: u64) -> Self {
        Request { imprint, nonce }
    }

    /// The DER `TimeStampReq` (what is POSTed as `application/timestamp-query`).
    ///
    /// # Errors
    /// [`TsaError::Malformed`] if encoding fails (it does not for valid inputs).
    pub fn to_der(&self) -> Result<Vec<u8>, TsaError> {
        TimeStampReq {
            version: 1,
            message_imprint: self.imprint.message_imprint()?,
            req_policy: None,
            nonce: Some(nonce_int(self.nonce)?),
            cert_req: true,
            extensions: None,
        }
        .to_der()
        .map_err(|e| TsaError::malformed("time-stamp request", e))
    }

    /// Parse a DER `TimeStampReq` that signet made (SHA-256 imprint and a nonce).
    ///
    /// # Errors
    /// [`TsaError::Malformed`] for bad DER, a version other than 1, no nonce or a nonce
    /// that is not a `u64`; [`TsaError::ImprintAlgorithm`] for a hash other than SHA-256.
    pub fn from_der(der: &[u8]) -> Result<Self, TsaError> {
        let req = TimeStampReq::from_der(der)
            .map_err(|e| TsaError::malformed("time-stamp request", e))?;
        if req.version != 1 {
            return Err(TsaError::malformed(
                "time-stamp request",
                format!("version `{}`", req.version),
            ));
        }
        let imprint = imprint_of(&req.message_imprint)?;
        let nonce = req
            .nonce
            .ok_or_else(|| TsaError::malformed("time-stamp request", "no nonce"))?;
        let nonce = u64::from_der(
            &nonce
                .to_der()
                .map_err(|e| TsaError::malformed("time-stamp request", e))?,
        )
        .map_err(|e| TsaError::malformed("time-stamp request nonce", e))?;
        Ok(Request { imprint, nonce })
    }
}

/// The SHA-256 imprint in `mi`.
pub(crate) fn imprint_of(mi: &MessageImprint) -> Result<Imprint, TsaError> {
    let alg = &mi.hash_algorithm;
    if alg.oid != ID_SHA256 || alg.parameters.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(TsaError::ImprintAlgorithm(alg.oid.to_string()));
    }
    let bytes: [u8; 32] = mi
        .hashed_message
        .as_bytes()
        .try_into()
        .map_err(|_| TsaError::malformed("message imprint", "a SHA-256 hash is 32 bytes"))?;
    Ok(Imprint(bytes))
}

pub(crate) fn nonce_int(n: u64) -> Result<Int, TsaError> {
    let der = n.to_der().map_err(|e| TsaError::malformed("nonce", e))?;
    Int::from_der(&der).map_err(|e| TsaError::malformed("nonce", e))
}

/// The names of `PKIStatus` values.
fn status_name(status: u8) -> String {
    match status {
        0 => "granted".into(),
        1 => "grantedWithMods".into(),
        2 => "rejection".into(),
        3 => "waiting".into(),
        4 => "revocationWarning".into(),
        5 => "revocationNotification".into(),
        other => format!("unknown ({other})"),
    }
}

/// The names of `PKIFailureInfo` bits.
const FAILURE_BITS: [(usize, &str); 8] = [
    (0, "badAlg"),
    (2, "badRequest"),
    (5, "badDataFormat"),
    (14, "timeNotAvailable"),
    (15, "unacceptedPolicy"),
    (16, "unacceptedExtension"),
    (17, "addInfoNotAvailable"),
    (25, "systemFailure"),
];

/// The token inside a DER `TimeStampResp`, if its status is granted (or granted with
/// modifications).
///
/// # Errors
/// [`TsaError::Malformed`] for bad DER or a granted response without a token;
/// [`TsaError::Status`] when the TSA did not grant the request.
pub fn token_from_response(der: &[u8]) -> Result<Vec<u8>, TsaError> {
    let resp =
        TimeStampResp::from_der(der).map_err(|e| TsaError::malformed("time-stamp response", e))?;
    if resp.status.status > 1 {
        let mut text = resp.status.text();
        if let Some(bits) = &resp.status.fail_info {
            let names: Vec<&str> = FAILURE_BITS
                .iter()
                .filter(|(bit, _)| bits.bits().nth(*bit).unwrap_or(false))
                .map(|(_, name)| *name)
                .collect();
            if !names.is_empty() {
                if !text.is_empty() {
                    text.push_str("; ");
                }
                text.push_str("failure: ");
                text.push_str(&names.join(", "));
            }
        }
        return Err(TsaError::Status {
            status: status_name(resp.status.status),
            text: if text.is_empty() {
                String::new()
            } else {
                format!(" ({text})")
            },
        });
    }
    resp.time_stamp_token
        .ok_or_else(|| TsaError::malformed("time-stamp response", "granted but has no token"))?
        .to_der()
        .map_err(|e| TsaError::malformed("time-stamp response", e))
}

/// What a blob of DER is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A bare token (a CMS `ContentInfo`).
    Token,
    /// A full `TimeStampResp`.
    Response,
}

/// Tell a bare token from a full response: a `ContentInfo` starts with an OBJECT
/// IDENTIFIER, a `TimeStampResp` with the `PKIStatusInfo` SEQUENCE.
///
/// # Errors
/// [`TsaError::Malformed`] when it is neither.
pub fn kind_of(der: &[u8]) -> Result<Kind, TsaError> {
    let outer = Any::from_der(der).map_err(|e| TsaError::malformed("time-stamp token", e))?;
    if outer.tag() != der::Tag::Sequence {
        return Err(TsaError::malformed(
            "time-stamp token",
            "not a DER SEQUENCE",
        ));
    }
    // The first element alone (a reader over the content allows the rest to follow).
    let mut reader = der::SliceReader::new(outer.value())
        .map_err(|e| TsaError::malformed("time-stamp token", e))?;
    let first = Any::decode(&mut reader).map_err(|e| TsaError::malformed("time-stamp token", e))?;
    match first.tag() {
        der::Tag::ObjectIdentifier => Ok(Kind::Token),
        der::Tag::Sequence => Ok(Kind::Response),
        other => Err(TsaError::malformed(
            "time-stamp token",
            format!("neither a token nor a response (starts with {other})"),
        )),
    }
}

/// The token in `der`, which is either a bare token or a full response.
///
/// # Errors
/// As [`kind_of`] and [`token_from_response`].
pub fn token_of(der: &[u8]) -> Result<Vec<u8>, TsaError> {
    match kind_of(der)? {
        Kind::Token => Ok(der.to_vec()),
        Kind::Response => token_from_response(der),
    }
}
