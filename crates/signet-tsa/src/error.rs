//! [`TsaError`]: every reason a time-stamp request, response or token is refused.
//!
//! Malformed input ([`TsaError::Malformed`]) is kept apart from a signature that does not
//! verify ([`TsaError::InvalidSignature`]) and from each policy check (imprint, nonce,
//! certificate, chain), so a caller can say exactly why a token was rejected.

/// Why a time-stamp was refused or could not be obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TsaError {
    /// The bytes are not what they claim to be (bad DER, missing fields, wrong versions).
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// Why it failed.
        detail: String,
    },
    /// The TSA answered with a status other than granted.
    #[error("the time-stamp authority refused the request: status `{status}`{text}")]
    Status {
        /// The status name.
        status: String,
        /// Status text and failure info, with a leading separator (may be empty).
        text: String,
    },
    /// The token is not a CMS `SignedData` with a `TSTInfo` inside.
    #[error("wrong content type: {0}")]
    ContentType(String),
    /// The message imprint uses a hash other than SHA-256.
    #[error("message imprint uses hash `{0}`, expected SHA-256 (`2.16.840.1.101.3.4.2.1`)")]
    ImprintAlgorithm(String),
    /// The token time-stamps other data.
    #[error(
        "message imprint does not match the data: token has `{found}`, data hashes to `{expected}`"
    )]
    ImprintMismatch {
        /// Hex SHA-256 of the data.
        expected: String,
        /// Hex hash in the token.
        found: String,
    },
    /// The nonce is not the one sent.
    #[error("nonce mismatch: sent `{expected}`, token has `{found}`")]
    NonceMismatch {
        /// The nonce sent (hex of the DER INTEGER content).
        expected: String,
        /// The nonce in the token, or `none`.
        found: String,
    },
    /// A required signed attribute is missing or wrong (content type, message digest).
    #[error("signed attributes: {0}")]
    SignedAttributes(String),
    /// The signed message digest is not the digest of the token content.
    #[error("signed message-digest attribute does not match the TSTInfo content")]
    MessageDigestMismatch,
    /// The ESSCertIDv2 signing-certificate attribute is missing or names another
    /// certificate.
    #[error("signing-certificate binding: {0}")]
    SigningCertificate(String),
    /// No certificate in the token (or given) matches the signer identifier.
    #[error("no certificate matches the signer identifier: {0}")]
    SignerNotFound(String),
    /// The signature over the signed attributes does not verify.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    /// An algorithm or key type signet does not accept.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The TSA certificate lacks the sole, critical `timeStamping` extended key usage, or
    /// has a key usage that does not allow signing.
    #[error("tsa certificate `{subject}` is not for time-stamping: {reason}")]
    KeyUsage {
        /// The certificate's subject.
        subject: String,
        /// What is wrong.
        reason: String,
    },
    /// A certificate on the path was not valid at the token's time.
    #[error(
        "certificate `{subject}` was not valid at the time-stamp time {at}: valid from {not_before} to {not_after}"
    )]
    CertificateValidity {
        /// The certificate's subject.
        subject: String,
        /// The token's `genTime` (RFC 3339).
        at: String,
        /// Start of validity (RFC 3339).
        not_before: String,
        /// End of validity (RFC 3339).
        not_after: String,
    },
    /// The TSA certificate does not chain to a pinned trust anchor.
    #[error("untrusted chain: {0}")]
    UntrustedChain(String),
    /// The HTTP exchange with the TSA failed (connection, timeout, HTTP status, size).
    #[error("time-stamp request to `{url}` failed: {detail}")]
    Http {
        /// The TSA URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The configuration is unusable (bad URL, no trust anchor).
    #[error("time-stamp configuration: {0}")]
    Config(String),
}

impl TsaError {
    /// True when the input could not be parsed (as opposed to a check that failed).
    #[must_use]
    pub fn is_malformed(&self) -> bool {
        matches!(self, TsaError::Malformed { .. })
    }

    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> Self {
        TsaError::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}
