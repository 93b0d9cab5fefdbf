//! signet-tsa: RFC 3161 trusted time-stamps, verified fully offline.
//!
//! A signet log asks a time-stamp authority (TSA) to time-stamp its signed checkpoints, so
//! that a record cannot be backdated or silently re-created later. This crate builds the
//! request, talks to the TSA, and verifies tokens against pinned trust anchors with no
//! network.
//!
//! Modules:
//! - [`request`]: [`Request`] (SHA-256 [`Imprint`], nonce, `certReq`), response status,
//!   telling a bare token from a full response;
//! - [`verify`]: [`verify_token`] / [`verify_response`] against [`TrustAnchors`]: content
//!   types, imprint, nonce, signed attributes and their signature, the ESSCertIDv2 binding,
//!   the TSA certificate's `timeStamping` usage and validity, and its chain;
//! - [`sig`]: RSA PKCS #1 v1.5, ECDSA P-256 / P-384 and Ed25519 signature checks;
//! - [`asn1`]: the RFC 3161 / RFC 5035 structures and object identifiers;
//! - [`http`] (feature `http`, on by default): the blocking client with a timeout;
//! - [`error`]: [`TsaError`], the reasons.
//!
//! Parsing uses RustCrypto's `der`, `cms`, `x509-cert` and `spki`; everything but [`http`]
//! is sans-IO (the caller passes the nonce).

pub mod asn1;
pub mod error;
#[cfg(feature = "http")]
pub mod http;
pub mod request;
pub mod sig;
pub mod verify;

pub use error::TsaError;
pub use request::{Imprint, Kind, Request, kind_of, token_from_response, token_of};
pub use verify::{Timestamp, TrustAnchors, verify_response, verify_token};
