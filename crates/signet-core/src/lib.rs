//! signet-core: the sans-IO signing core of signet.
//!
//! This crate decides every byte that gets signed. It performs no I/O, reads no clock and
//! draws no randomness: callers pass time (`UnixTime`) and random bytes (seeds, nonces) in.
//! That makes every signing and verification path testable with fixed inputs.
//!
//! Modules:
//! - [`canon`]: strict RFC 8785 canonical JSON (the only producer of bytes to be signed).
//! - [`alg`]: signature algorithms (Ed25519, ML-DSA-65, composite ML-DSA-65 + Ed25519).
//! - [`did`]: `did:key` identities and short key ids.
//! - [`digest`]: SHA-256 digests with their text form.
//! - [`jws`]: compact JWS (RFC 7515) with a `typ` per statement kind.
//! - [`statement`]: the versioned intent and receipt statements.
//! - [`replay`]: issued-at window and the nonce-store trait.
//! - [`envelope`]: the `{tool_call, signet}` envelope of the original Signet proposal.

pub mod alg;
mod base58;
pub mod canon;
pub mod did;
pub mod digest;
pub mod envelope;
pub mod jws;
pub mod many;
pub mod replay;
pub mod statement;
