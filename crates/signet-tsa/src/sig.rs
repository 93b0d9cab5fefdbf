//! Signature verification for tokens and certificates: RSA PKCS #1 v1.5 (2048 bits or
//! more), ECDSA on P-256 and P-384, and Ed25519, each with SHA-256, SHA-384 or SHA-512.
//! RSA-PSS and anything else are refused as unsupported.
//!
//! The RSA code only verifies (the `rsa` crate's timing advisory RUSTSEC-2023-0071 is about
//! private-key operations).

use der::asn1::ObjectIdentifier;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::asn1::{ID_SHA256, ID_SHA384, ID_SHA512};
use crate::error::TsaError;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// A hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// The hash named by `alg` (parameters must be absent or NULL).
    ///
    /// # Errors
    /// [`TsaError::UnsupportedAlgorithm`] for any other hash.
    pub fn from_algorithm(alg: &AlgorithmIdentifierOwned) -> Result<Self, TsaError> {
        if let Some(p) = &alg.parameters
            && !p.is_null()
        {
            return Err(TsaError::UnsupportedAlgorithm(format!(
                "hash `{}` with parameters",
                alg.oid
            )));
        }
        Self::from_oid(&alg.oid)
    }

    fn from_oid(oid: &ObjectIdentifier) -> Result<Self, TsaError> {
        match *oid {
            ID_SHA256 => Ok(HashAlg::Sha256),
            ID_SHA384 => Ok(HashAlg::Sha384),
            ID_SHA512 => Ok(HashAlg::Sha512),
            other => Err(TsaError::UnsupportedAlgorithm(format!("hash `{other}`"))),
        }
    }

    /// The digest of `data`.
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha256 => Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => Sha384::digest(data).to_vec(),
            HashAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// How a signature algorithm identifier says to hash: given by the identifier itself
/// (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`), taken from the CMS digest algorithm
/// (`rsaEncryption`, `id-ecPublicKey`), or none (Ed25519 signs the message itself).
enum Scheme {
    Rsa(Option<HashAlg>),
    Ecdsa(Option<HashAlg>),
    Ed25519,
}

fn scheme(alg: &AlgorithmIdentifierOwned) -> Result<Scheme, TsaError> {
    Ok(match alg.oid {
        RSA_ENCRYPTION => Scheme::Rsa(None),
        SHA256_WITH_RSA => Scheme::Rsa(Some(HashAlg::Sha256)),
        SHA384_WITH_RSA => Scheme::Rsa(Some(HashAlg::Sha384)),
        SHA512_WITH_RSA => Scheme::Rsa(Some(HashAlg::Sha512)),
        EC_PUBLIC_KEY => Scheme::Ecdsa(None),
        ECDSA_SHA256 => Scheme::Ecdsa(Some(HashAlg::Sha256)),
        ECDSA_SHA384 => Scheme::Ecdsa(Some(HashAlg::Sha384)),
        ECDSA_SHA512 => Scheme::Ecdsa(Some(HashAlg::Sha512)),
        ED25519 => Scheme::Ed25519,
        other => {
            return Err(TsaError::UnsupportedAlgorithm(format!(
                "signature algorithm `{other}`"
            )));
        }
    })
}

/// Verify `signature` over `message` with the key in `spki`, by the signature algorithm
/// `alg`; `cms_digest` is the CMS `digestAlgorithm` when `alg` does not name a hash itself.
///
/// # Errors
/// [`TsaError::UnsupportedAlgorithm`] for an algorithm or key signet does not accept, or a
/// key that does not match the algorithm; [`TsaError::InvalidSignature`] when the signature
/// does not verify (or does not parse).
pub fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    cms_digest: Option<HashAlg>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), TsaError> {
    let key_bytes = spki.subject_public_key.as_bytes().ok_or_else(|| {
        TsaError::UnsupportedAlgorithm("public key is not a whole number of bytes".into())
    })?;
    let need_hash = |h: Option<HashAlg>| {
        h.or(cms_digest).ok_or_else(|| {
            TsaError::UnsupportedAlgorithm(format!(
                "signature algorithm `{}` names no hash",
                alg.oid
            ))
        })
    };
    match scheme(alg)? {
        Scheme::Rsa(h) => {
            if spki.algorithm.oid != RSA_ENCRYPTION {
                return Err(key_mismatch(spki, alg));
            }
            let hash = need_hash(h)?;
            verify_rsa(key_bytes, hash, &hash.digest(message), signature)
        }
        Scheme::Ecdsa(h) => {
            if spki.algorithm.oid != EC_PUBLIC_KEY {
                return Err(key_mismatch(spki, alg));
            }
            let hash = need_hash(h)?;
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(|| {
                    TsaError::UnsupportedAlgorithm("ec key without a named curve".into())
                })?;
            verify_ecdsa(curve, key_bytes, &hash.digest(message), signature)
        }
        Scheme::Ed25519 => {
            if spki.algorithm.oid != ED25519 {
                return Err(key_mismatch(spki, alg));
            }
            let key: [u8; 32] = key_bytes.try_into().map_err(|_| {
                TsaError::UnsupportedAlgorithm("ed25519 key is not 32 bytes".into())
            })?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&key)
                .map_err(|e| TsaError::UnsupportedAlgorithm(format!("ed25519 key: {e}")))?;
            let sig = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|e| TsaError::InvalidSignature(format!("ed25519 signature: {e}")))?;
            vk.verify_strict(message, &sig)
                .map_err(|_| TsaError::InvalidSignature("ed25519 signature does not verify".into()))
        }
    }
}

fn key_mismatch(spki: &SubjectPublicKeyInfoOwned, alg: &AlgorithmIdentifierOwned) -> TsaError {
    TsaError::UnsupportedAlgorithm(format!(
        "a `{}` key cannot make a `{}` signature",
        spki.algorithm.oid, alg.oid
    ))
}

fn verify_rsa(key: &[u8], hash: HashAlg, digest: &[u8], signature: &[u8]) -> Result<(), TsaError> {
    use rsa::pkcs1::DecodeRsaPublicKey as _;
    use rsa::traits::PublicKeyParts as _;
    let pk = rsa::PublicKey::from_pkcs1_der(key)
        .map_err(|e| TsaError::UnsupportedAlgorithm(format!("rsa key: {e}")))?;
    let bits = pk.n_bits_precision() as usize;
    if bits < MIN_RSA_BITS {
        return Err(TsaError::UnsupportedAlgorithm(format!(
            "rsa key of {bits} bits (at least {MIN_RSA_BITS} required)"
        )));
    }
    let scheme = match hash {
        HashAlg::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
        HashAlg::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
        HashAlg::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
    };
    pk.verify(scheme, digest, signature)
        .map_err(|_| TsaError::InvalidSignature("rsa signature does not verify".into()))
}

fn verify_ecdsa(
    curve: ObjectIdentifier,
    key: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<(), TsaError> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
    let bad = |_| TsaError::InvalidSignature("ecdsa signature does not verify".into());
    match curve {
        P256 => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                .map_err(|e| TsaError::UnsupportedAlgorithm(format!("p-256 key: {e}")))?;
            let sig = p256::ecdsa::Signature::from_der(signature)
                .map_err(|e| TsaError::InvalidSignature(format!("ecdsa signature: {e}")))?;
            vk.verify_prehash(digest, &sig).map_err(bad)
        }
        P384 => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key)
                .map_err(|e| TsaError::UnsupportedAlgorithm(format!("p-384 key: {e}")))?;
            let sig = p384::ecdsa::Signature::from_der(signature)
                .map_err(|e| TsaError::InvalidSignature(format!("ecdsa signature: {e}")))?;
            vk.verify_prehash(digest, &sig).map_err(bad)
        }
        other => Err(TsaError::UnsupportedAlgorithm(format!(
            "ec curve `{other}`"
        ))),
    }
}
