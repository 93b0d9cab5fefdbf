//! Signature algorithms behind one abstraction.
//!
//! signet signs with one of three algorithms, all selected by [`Algorithm`]:
//!
//! | [`Algorithm`]                    | JOSE `alg`          | seed | public key | signature |
//! |----------------------------------|---------------------|------|------------|-----------|
//! | [`Algorithm::Ed25519`] (default) | `Ed25519`           | 32   | 32         | 64        |
//! | [`Algorithm::MlDsa65`]           | `ML-DSA-65`         | 32   | 1952       | 3309      |
//! | [`Algorithm::MlDsa65Ed25519`]    | `ML-DSA-65-Ed25519` | 64   | 1984       | 3373      |
//!
//! # Ed25519
//!
//! RFC 8032 Ed25519 via `ed25519-dalek`. Verification uses `verify_strict`, which rejects
//! small-order public keys and `R` points and non-canonical `S` values. [`PublicKey::from_bytes`]
//! additionally rejects encodings that do not decompress, non-canonical encodings and weak
//! (small-order) keys, so a public key has exactly one byte representation.
//!
//! # ML-DSA-65
//!
//! FIPS 204 ML-DSA-65 via the RustCrypto `ml-dsa` crate. The private key is the 32-byte seed `ξ`
//! of `ML-DSA.KeyGen_internal` (FIPS 204, Algorithm 6). Signing uses the *deterministic* variant
//! of `ML-DSA.Sign` (FIPS 204, Algorithm 2 with `rnd = {0}^32`, allowed by FIPS 204 §3.4): this
//! crate is sans-IO and draws no randomness, and deterministic signatures give reproducible test
//! vectors (checked against Wycheproof and against a second implementation, `libcrux-ml-dsa`).
//! Plain ML-DSA-65 signs and verifies with the empty context string, as the JOSE/COSE ML-DSA
//! specification requires.
//!
//! # Composite ML-DSA-65 + Ed25519
//!
//! `id-MLDSA65-Ed25519-SHA512` of the IETF LAMPS draft *Composite ML-DSA for use in X.509 Public
//! Key Infrastructure* (`draft-ietf-lamps-pq-composite-sigs`, editor's copy at
//! `lamps-wg/draft-composite-sigs` commit `a0b0c6b7f10bbb99d3e945ae8cb34035cc5be591`: the text
//! after the -07 WGLC with the IANA early-allocated OIDs; `id-MLDSA65-Ed25519-SHA512` is
//! `1.3.6.1.5.5.7.6.48`). JOSE uses it under the name `ML-DSA-65-Ed25519` with an empty
//! application context (`draft-ietf-jose-pq-composite-sigs-05`, §4.1 and Table 4).
//!
//! ```text
//! M'       = Prefix || Label || len(ctx) || ctx || SHA-512(M)      (ctx is always empty here)
//! Prefix   = "CompositeAlgorithmSignatures2025"                  (32 ASCII bytes)
//! Label    = "COMPSIG-MLDSA65-Ed25519-SHA512"                    (30 ASCII bytes)
//! mldsaSig = ML-DSA-65.Sign(mldsaSK, M', ctx = Label)              (deterministic, see above)
//! edSig    = Ed25519.Sign(edSK, M')
//! sig      = mldsaSig || edSig                                     (3309 + 64 bytes)
//! pk       = mldsaPK || edPK                                       (1952 + 32 bytes)
//! seed     = mldsaSeed || edSeed                                   (32 + 32 bytes)
//! ```
//!
//! Verification always checks both components and succeeds only if both verify. The draft's
//! KeyGen derives the two component keys independently; here both come from the caller's
//! 64-byte seed, whose halves must be independent random values.

use core::fmt;
use core::str::FromStr;

use ed25519_dalek::Signer as _;
use ml_dsa::MlDsa65;
use sha2::{Digest as _, Sha512};
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize as _, Zeroizing};

/// Length of an Ed25519 seed (RFC 8032 private key).
const ED25519_SEED_LEN: usize = 32;
/// Length of an Ed25519 public key.
const ED25519_PK_LEN: usize = 32;
/// Length of an Ed25519 signature.
const ED25519_SIG_LEN: usize = 64;
/// Length of the ML-DSA seed `ξ`.
const MLDSA_SEED_LEN: usize = 32;
/// Length of an ML-DSA-65 public key (FIPS 204, Table 2).
const MLDSA65_PK_LEN: usize = 1952;
/// Length of an ML-DSA-65 signature (FIPS 204, Table 2).
const MLDSA65_SIG_LEN: usize = 3309;
/// `MLDSA_SEED_LEN + ED25519_SEED_LEN`.
const COMPOSITE_SEED_LEN: usize = 64;
/// `MLDSA65_PK_LEN + ED25519_PK_LEN`.
const COMPOSITE_PK_LEN: usize = 1984;
/// `MLDSA65_SIG_LEN + ED25519_SIG_LEN`.
const COMPOSITE_SIG_LEN: usize = 3373;
/// Length of the composite message representative `M'`: prefix (32), label (30), `len(ctx)`
/// (1) and SHA-512 digest (64).
const COMPOSITE_M_PRIME_LEN: usize = 127;

/// The composite signature prefix: ASCII `CompositeAlgorithmSignatures2025`.
pub const COMPOSITE_PREFIX: &[u8; 32] = b"CompositeAlgorithmSignatures2025";

/// The composite signature label of `id-MLDSA65-Ed25519-SHA512`: ASCII
/// `COMPSIG-MLDSA65-Ed25519-SHA512`. It is also the ML-DSA context string of the ML-DSA component.
pub const COMPOSITE_LABEL: &[u8; 30] = b"COMPSIG-MLDSA65-Ed25519-SHA512";

/// Component name of the ML-DSA half, as reported by [`SignatureError::ComponentInvalid`].
pub const COMPONENT_ML_DSA_65: &str = "ML-DSA-65";

/// Component name of the Ed25519 half, as reported by [`SignatureError::ComponentInvalid`].
pub const COMPONENT_ED25519: &str = "Ed25519";

/// The longest algorithm name echoed back in an [`AlgError::UnknownAlgorithm`].
const MAX_ECHOED_NAME: usize = 64;

/// A signature algorithm supported by signet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Ed25519 (RFC 8032), the default.
    Ed25519,
    /// ML-DSA-65 (FIPS 204), post-quantum.
    MlDsa65,
    /// Composite ML-DSA-65 + Ed25519 (`id-MLDSA65-Ed25519-SHA512`), hybrid.
    MlDsa65Ed25519,
}

impl Algorithm {
    /// Every supported algorithm, default first.
    pub const ALL: [Algorithm; 3] = [
        Algorithm::Ed25519,
        Algorithm::MlDsa65,
        Algorithm::MlDsa65Ed25519,
    ];

    /// The fully-specified JOSE `alg` name.
    ///
    /// - `Ed25519`: RFC 9864 (fully-specified algorithms for JOSE and COSE).
    /// - `ML-DSA-65`: `draft-ietf-cose-dilithium` (ML-DSA for JOSE and COSE).
    /// - `ML-DSA-65-Ed25519`: `draft-ietf-jose-pq-composite-sigs-05`, §5.1 Table 4.
    #[must_use]
    pub fn jose_name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "Ed25519",
            Algorithm::MlDsa65 => "ML-DSA-65",
            Algorithm::MlDsa65Ed25519 => "ML-DSA-65-Ed25519",
        }
    }

    /// Looks up an algorithm by its exact (case-sensitive) JOSE `alg` name.
    ///
    /// Use this for JOSE headers; use [`FromStr`] for configuration, which is case-insensitive.
    #[must_use]
    pub fn from_jose_name(s: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|alg| alg.jose_name() == s)
    }

    /// Length in bytes of the seed accepted by [`SigningKey::from_seed`]: 32, 32 and 64.
    #[must_use]
    pub fn seed_len(self) -> usize {
        match self {
            Algorithm::Ed25519 => ED25519_SEED_LEN,
            Algorithm::MlDsa65 => MLDSA_SEED_LEN,
            Algorithm::MlDsa65Ed25519 => COMPOSITE_SEED_LEN,
        }
    }

    /// Length in bytes of an encoded public key: 32, 1952 and 1984.
    #[must_use]
    pub fn public_key_len(self) -> usize {
        match self {
            Algorithm::Ed25519 => ED25519_PK_LEN,
            Algorithm::MlDsa65 => MLDSA65_PK_LEN,
            Algorithm::MlDsa65Ed25519 => COMPOSITE_PK_LEN,
        }
    }

    /// Length in bytes of a signature: 64, 3309 and 3373.
    #[must_use]
    pub fn signature_len(self) -> usize {
        match self {
            Algorithm::Ed25519 => ED25519_SIG_LEN,
            Algorithm::MlDsa65 => MLDSA65_SIG_LEN,
            Algorithm::MlDsa65Ed25519 => COMPOSITE_SIG_LEN,
        }
    }
}

impl FromStr for Algorithm {
    type Err = AlgError;

    /// Parses a JOSE name or a configuration spelling, case-insensitively: `Ed25519` /
    /// `ed25519`, `ML-DSA-65` / `ml-dsa-65`, `ML-DSA-65-Ed25519` / `ml-dsa-65-ed25519`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|alg| alg.jose_name().eq_ignore_ascii_case(s))
            .ok_or_else(|| AlgError::UnknownAlgorithm(truncate_for_error(s)))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jose_name())
    }
}

/// Keeps at most [`MAX_ECHOED_NAME`] characters of untrusted input for an error message.
fn truncate_for_error(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHOED_NAME) {
        Some((end, _)) => format!("{}…", s.get(..end).unwrap_or_default()),
        None => s.to_owned(),
    }
}

/// Errors about algorithms, seeds and public keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlgError {
    /// The algorithm name is not supported (long names are truncated).
    #[error("unknown algorithm `{0}`")]
    UnknownAlgorithm(String),
    /// The seed has the wrong length for the algorithm.
    #[error("`{alg}` seed must be {expected} bytes, got {got}")]
    BadSeedLength {
        /// The algorithm.
        alg: Algorithm,
        /// The required length.
        expected: usize,
        /// The given length.
        got: usize,
    },
    /// The public key has the wrong length for the algorithm.
    #[error("`{alg}` public key must be {expected} bytes, got {got}")]
    BadPublicKeyLength {
        /// The algorithm.
        alg: Algorithm,
        /// The required length.
        expected: usize,
        /// The given length.
        got: usize,
    },
    /// The public key has the right length but is not a valid key.
    #[error("invalid `{alg}` public key: {reason}")]
    BadPublicKey {
        /// The algorithm.
        alg: Algorithm,
        /// Why the key was rejected.
        reason: &'static str,
    },
}

/// Errors from signature verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature has the wrong length for the algorithm.
    #[error("`{alg}` signature must be {expected} bytes, got {got}")]
    WrongLength {
        /// The algorithm.
        alg: Algorithm,
        /// The required length.
        expected: usize,
        /// The given length.
        got: usize,
    },
    /// The signature does not verify (for the composite: neither component verifies).
    #[error("invalid `{alg}` signature")]
    Invalid {
        /// The algorithm.
        alg: Algorithm,
    },
    /// One component of a composite signature does not verify; the other one does.
    #[error("invalid `{alg}` signature: the `{component}` component does not verify")]
    ComponentInvalid {
        /// The composite algorithm.
        alg: Algorithm,
        /// The failing component: [`COMPONENT_ML_DSA_65`] or [`COMPONENT_ED25519`].
        component: &'static str,
    },
}

/// Errors from a [`Signer`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The signing backend failed (for a [`SigningKey`]: ML-DSA rejection sampling gave up, which
    /// happens with probability below 2^-4000).
    #[error("`{alg}` signing failed: {reason}")]
    Backend {
        /// The algorithm.
        alg: Algorithm,
        /// What failed.
        reason: String,
    },
}

/// An ML-DSA-65 private key: the seed and its expansion.
struct MlDsaKey {
    /// The 32-byte seed `ξ`.
    seed: Zeroizing<[u8; MLDSA_SEED_LEN]>,
    /// The expanded key (zeroized on drop by `ml-dsa`).
    expanded: ml_dsa::ExpandedSigningKey<MlDsa65>,
}

impl MlDsaKey {
    /// Runs `ML-DSA.KeyGen_internal(ξ)`; returns the key and the encoded public key.
    fn from_seed(seed: &[u8; MLDSA_SEED_LEN]) -> (MlDsaKey, Vec<u8>) {
        let mut xi = ml_dsa::Seed::from(*seed);
        let expanded = ml_dsa::ExpandedSigningKey::<MlDsa65>::from_seed(&xi);
        xi.zeroize();
        let public = expanded.verifying_key().encode().to_vec();
        let key = MlDsaKey {
            seed: Zeroizing::new(*seed),
            expanded,
        };
        (key, public)
    }

    /// Deterministic `ML-DSA.Sign(sk, msg, ctx)`; `ctx` is at most 255 bytes here.
    fn sign(&self, msg: &[u8], ctx: &[u8]) -> Result<Vec<u8>, SignError> {
        self.expanded
            .sign_deterministic(msg, ctx)
            .map(|sig| sig.encode().to_vec())
            .map_err(|_| SignError::Backend {
                alg: Algorithm::MlDsa65,
                reason: "ml-dsa rejection sampling did not find a signature".to_owned(),
            })
    }
}

/// The private key material of a [`SigningKey`].
enum Inner {
    /// Ed25519 (zeroized on drop by `ed25519-dalek`).
    Ed25519(ed25519_dalek::SigningKey),
    /// ML-DSA-65.
    MlDsa65(Box<MlDsaKey>),
    /// Composite ML-DSA-65 + Ed25519.
    Composite {
        /// The ML-DSA-65 component.
        mldsa: Box<MlDsaKey>,
        /// The Ed25519 component.
        ed: ed25519_dalek::SigningKey,
    },
}

/// A private signing key for one [`Algorithm`].
///
/// Created from caller-provided seed bytes; the key material is zeroized on drop and never
/// printed (`Debug` shows only the algorithm).
pub struct SigningKey {
    /// The private key material.
    inner: Inner,
    /// The public key, computed once.
    public: PublicKey,
}

impl SigningKey {
    /// Derives a key from `seed` (see [`Algorithm::seed_len`]): the Ed25519 seed, the ML-DSA
    /// seed `ξ`, or for the composite the ML-DSA seed followed by the Ed25519 seed.
    ///
    /// The seed must come from a cryptographically secure random source; for the composite the
    /// two halves must be independent.
    ///
    /// # Errors
    ///
    /// [`AlgError::BadSeedLength`] if `seed` is not exactly `alg.seed_len()` bytes.
    pub fn from_seed(alg: Algorithm, seed: &[u8]) -> Result<Self, AlgError> {
        let bad_len = || AlgError::BadSeedLength {
            alg,
            expected: alg.seed_len(),
            got: seed.len(),
        };
        match alg {
            Algorithm::Ed25519 => {
                let ed_seed = Zeroizing::new(
                    <[u8; ED25519_SEED_LEN]>::try_from(seed).map_err(|_| bad_len())?,
                );
                let ed = ed25519_dalek::SigningKey::from_bytes(&ed_seed);
                let public = PublicKey {
                    alg,
                    bytes: ed.verifying_key().to_bytes().to_vec(),
                    did_text: DidCache::default(),
                    ed25519: Some(ed.verifying_key()),
                };
                Ok(SigningKey {
                    inner: Inner::Ed25519(ed),
                    public,
                })
            }
            Algorithm::MlDsa65 => {
                let ml_seed =
                    Zeroizing::new(<[u8; MLDSA_SEED_LEN]>::try_from(seed).map_err(|_| bad_len())?);
                let (mldsa, bytes) = MlDsaKey::from_seed(&ml_seed);
                Ok(SigningKey {
                    inner: Inner::MlDsa65(Box::new(mldsa)),
                    public: PublicKey {
                        alg,
                        bytes,
                        did_text: DidCache::default(),
                        ed25519: None,
                    },
                })
            }
            Algorithm::MlDsa65Ed25519 => {
                if seed.len() != COMPOSITE_SEED_LEN {
                    return Err(bad_len());
                }
                let (ml_part, ed_part) =
                    seed.split_at_checked(MLDSA_SEED_LEN).ok_or_else(bad_len)?;
                let ml_seed = Zeroizing::new(
                    <[u8; MLDSA_SEED_LEN]>::try_from(ml_part).map_err(|_| bad_len())?,
                );
                let ed_seed = Zeroizing::new(
                    <[u8; ED25519_SEED_LEN]>::try_from(ed_part).map_err(|_| bad_len())?,
                );
                let (mldsa, mut bytes) = MlDsaKey::from_seed(&ml_seed);
                let ed = ed25519_dalek::SigningKey::from_bytes(&ed_seed);
                bytes.extend_from_slice(ed.verifying_key().as_bytes());
                let ed25519 = Some(ed.verifying_key());
                Ok(SigningKey {
                    inner: Inner::Composite {
                        mldsa: Box::new(mldsa),
                        ed,
                    },
                    public: PublicKey {
                        alg,
                        bytes,
                        did_text: DidCache::default(),
                        ed25519,
                    },
                })
            }
        }
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.public.alg
    }

    /// The seed this key was derived from, for storing the key. Handle with care.
    #[must_use]
    pub fn seed(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.algorithm().seed_len()));
        match &self.inner {
            Inner::Ed25519(ed) => out.extend_from_slice(ed.as_bytes()),
            Inner::MlDsa65(mldsa) => out.extend_from_slice(mldsa.seed.as_slice()),
            Inner::Composite { mldsa, ed } => {
                out.extend_from_slice(mldsa.seed.as_slice());
                out.extend_from_slice(ed.as_bytes());
            }
        }
        out
    }

    /// The public key.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// Signs `msg` (deterministically for every algorithm).
    ///
    /// Never fails in practice: the only failure is ML-DSA rejection sampling exhausting its
    /// iteration bound, with probability below 2^-4000. Should it ever happen, the returned
    /// signature is empty and fails verification (fail closed); [`Signer::sign`] reports it as
    /// an error instead.
    #[must_use]
    pub fn sign(&self, msg: &[u8]) -> Signature {
        self.try_sign(msg).unwrap_or_else(|_| Signature(Vec::new()))
    }

    /// Signs `msg`, reporting a backend failure.
    fn try_sign(&self, msg: &[u8]) -> Result<Signature, SignError> {
        match &self.inner {
            Inner::Ed25519(ed) => Ok(Signature(ed25519_sign(ed, msg)?)),
            Inner::MlDsa65(mldsa) => Ok(Signature(mldsa.sign(msg, &[])?)),
            Inner::Composite { mldsa, ed } => {
                let m_prime = composite_message_representative(msg);
                let mut sig =
                    mldsa
                        .sign(&m_prime, COMPOSITE_LABEL)
                        .map_err(|_| SignError::Backend {
                            alg: Algorithm::MlDsa65Ed25519,
                            reason: "ml-dsa rejection sampling did not find a signature".to_owned(),
                        })?;
                sig.extend_from_slice(&ed25519_sign(ed, &m_prime)?);
                Ok(Signature(sig))
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, <redacted>)", self.algorithm())
    }
}

/// Ed25519-signs `msg`.
fn ed25519_sign(ed: &ed25519_dalek::SigningKey, msg: &[u8]) -> Result<Vec<u8>, SignError> {
    ed.try_sign(msg)
        .map(|sig| sig.to_bytes().to_vec())
        .map_err(|_| SignError::Backend {
            alg: Algorithm::Ed25519,
            reason: "ed25519 signing failed".to_owned(),
        })
}

/// Builds the composite message representative
/// `M' = Prefix || Label || len(ctx) || ctx || SHA-512(M)` with an empty `ctx`
/// (`draft-ietf-lamps-pq-composite-sigs`, "Prefix, Label and CTX").
///
/// Both components of an [`Algorithm::MlDsa65Ed25519`] signature sign `M'`; it is exposed for
/// interoperability tests.
#[must_use]
pub fn composite_message_representative(msg: &[u8]) -> Vec<u8> {
    let digest = Sha512::digest(msg);
    let mut m_prime = Vec::with_capacity(COMPOSITE_M_PRIME_LEN);
    m_prime.extend_from_slice(COMPOSITE_PREFIX);
    m_prime.extend_from_slice(COMPOSITE_LABEL);
    m_prime.push(0); // len(ctx): the application context is always empty.
    m_prime.extend_from_slice(&digest);
    m_prime
}

/// Something that signs with one key: a [`SigningKey`] in memory, or in future an HSM or KMS.
pub trait Signer {
    /// The algorithm of the key.
    fn algorithm(&self) -> Algorithm;

    /// The public key.
    fn public_key(&self) -> PublicKey;

    /// Signs `msg`.
    ///
    /// # Errors
    ///
    /// [`SignError`] if the backend cannot produce a signature.
    fn sign(&self, msg: &[u8]) -> Result<Signature, SignError>;
}

impl Signer for SigningKey {
    fn algorithm(&self) -> Algorithm {
        SigningKey::algorithm(self)
    }

    fn public_key(&self) -> PublicKey {
        SigningKey::public_key(self)
    }

    fn sign(&self, msg: &[u8]) -> Result<Signature, SignError> {
        self.try_sign(msg)
    }
}

/// A validated public key for one [`Algorithm`].
///
/// Equality compares the algorithm and the bytes in constant time.
#[derive(Clone)]
pub struct PublicKey {
    /// The algorithm.
    alg: Algorithm,
    /// The encoded key (for the composite: ML-DSA-65 key then Ed25519 key).
    bytes: Vec<u8>,
    /// The key's `did:key` text once computed (see [`crate::did`]), shared by clones: base58
    /// of an ML-DSA key costs a few hundred microseconds, and a signer's key is cloned for
    /// every signature. A cache of a function of `alg` and `bytes`, not part of the value.
    did_text: DidCache,
    /// The decoded Ed25519 key (the whole key, or the composite's Ed25519 half), decoded and
    /// validated once in [`PublicKey::from_bytes`]: decompressing the point costs about as
    /// much as a tenth of a verification. `None` for ML-DSA-65. A function of `bytes`.
    ed25519: Option<ed25519_dalek::VerifyingKey>,
}

/// The shared, lazily filled `did:key` text of a [`PublicKey`].
type DidCache = std::sync::Arc<std::sync::OnceLock<String>>;

impl PublicKey {
    /// Parses and validates an encoded public key.
    ///
    /// Ed25519 keys must be canonical encodings of points that decompress and are not of small
    /// order. Every 1952-byte string is a well-formed ML-DSA-65 key (`pkDecode` cannot fail), so
    /// only its length is checked. The composite checks both halves.
    ///
    /// # Errors
    ///
    /// [`AlgError::BadPublicKeyLength`] for a wrong length, [`AlgError::BadPublicKey`] for an
    /// invalid Ed25519 (component) key.
    pub fn from_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Self, AlgError> {
        if bytes.len() != alg.public_key_len() {
            return Err(AlgError::BadPublicKeyLength {
                alg,
                expected: alg.public_key_len(),
                got: bytes.len(),
            });
        }
        let ed25519 = match alg {
            Algorithm::Ed25519 => Some(
                ed25519_verifying_key(bytes)
                    .map_err(|reason| AlgError::BadPublicKey { alg, reason })?,
            ),
            Algorithm::MlDsa65 => None,
            Algorithm::MlDsa65Ed25519 => {
                let (_, ed_part) =
                    split_composite(bytes, MLDSA65_PK_LEN).ok_or(AlgError::BadPublicKeyLength {
                        alg,
                        expected: alg.public_key_len(),
                        got: bytes.len(),
                    })?;
                Some(
                    ed25519_verifying_key(ed_part)
                        .map_err(|reason| AlgError::BadPublicKey { alg, reason })?,
                )
            }
        };
        Ok(PublicKey {
            alg,
            bytes: bytes.to_vec(),
            did_text: DidCache::default(),
            ed25519,
        })
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The encoded key.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The decoded Ed25519 key, for an [`Algorithm::Ed25519`] key (not the composite's half).
    pub(crate) fn ed25519_key(&self) -> Option<&ed25519_dalek::VerifyingKey> {
        if self.alg == Algorithm::Ed25519 {
            self.ed25519.as_ref()
        } else {
            None
        }
    }

    /// The cache of the key's `did:key` text, filled only by [`crate::did`].
    pub(crate) fn did_text_cache(&self) -> &std::sync::OnceLock<String> {
        &self.did_text
    }

    /// Verifies `sig` over `msg`.
    ///
    /// # Errors
    ///
    /// [`SignatureError::WrongLength`] if `sig` is not `signature_len()` bytes,
    /// [`SignatureError::Invalid`] if it does not verify, and for the composite
    /// [`SignatureError::ComponentInvalid`] if exactly one component does not verify (both are
    /// always checked).
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
        let alg = self.alg;
        if sig.len() != alg.signature_len() {
            return Err(SignatureError::WrongLength {
                alg,
                expected: alg.signature_len(),
                got: sig.len(),
            });
        }
        let invalid = SignatureError::Invalid { alg };
        match alg {
            Algorithm::Ed25519 => {
                if ed25519_verify(self.ed25519.as_ref(), msg, sig) {
                    Ok(())
                } else {
                    Err(invalid)
                }
            }
            Algorithm::MlDsa65 => {
                if mldsa65_verify(&self.bytes, msg, &[], sig) {
                    Ok(())
                } else {
                    Err(invalid)
                }
            }
            Algorithm::MlDsa65Ed25519 => {
                let (Some((ml_pk, _)), Some((ml_sig, ed_sig))) = (
                    split_composite(&self.bytes, MLDSA65_PK_LEN),
                    split_composite(sig, MLDSA65_SIG_LEN),
                ) else {
                    return Err(invalid);
                };
                let m_prime = composite_message_representative(msg);
                let ml_ok = mldsa65_verify(ml_pk, &m_prime, COMPOSITE_LABEL, ml_sig);
                let ed_ok = ed25519_verify(self.ed25519.as_ref(), &m_prime, ed_sig);
                match (ml_ok, ed_ok) {
                    (true, true) => Ok(()),
                    (false, true) => Err(SignatureError::ComponentInvalid {
                        alg,
                        component: COMPONENT_ML_DSA_65,
                    }),
                    (true, false) => Err(SignatureError::ComponentInvalid {
                        alg,
                        component: COMPONENT_ED25519,
                    }),
                    (false, false) => Err(invalid),
                }
            }
        }
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.alg == other.alg && bool::from(self.bytes.as_slice().ct_eq(other.bytes.as_slice()))
    }
}

impl Eq for PublicKey {}

impl core::hash::Hash for PublicKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.alg.hash(state);
        self.bytes.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = self.bytes.get(..8).unwrap_or(&self.bytes);
        write!(f, "PublicKey({}, {}…)", self.alg, hex::encode(prefix))
    }
}

/// Splits `bytes` at `at`, requiring both halves to be non-empty.
fn split_composite(bytes: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    bytes
        .split_at_checked(at)
        .filter(|(_, rest)| !rest.is_empty())
}

/// Decodes a strict Ed25519 public key: 32 bytes, canonical, decompressing, not small-order.
fn ed25519_verifying_key(bytes: &[u8]) -> Result<ed25519_dalek::VerifyingKey, &'static str> {
    let arr = <[u8; ED25519_PK_LEN]>::try_from(bytes).map_err(|_| "wrong length")?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&arr).map_err(|_| "not a curve point")?;
    if !ed25519_encoding_is_canonical(&arr) {
        return Err("non-canonical point encoding");
    }
    if key.is_weak() {
        return Err("weak (small-order) key");
    }
    Ok(key)
}

/// Whether the encoding of a point that decompressed is the one compressing it gives back,
/// without compressing it (which costs a field inversion).
///
/// Decompression reads `y` from the low 255 bits without reducing it modulo
/// p = 2^255 − 19 and takes the sign of `x` from the top bit, where `-0 = 0`. Compression
/// writes `y mod p` and the sign of `x`. So the two agree exactly when `y < p` and, if the
/// sign bit is set, `x ≠ 0`; on the curve `x = 0` only for `y = 1` and `y = p − 1`.
fn ed25519_encoding_is_canonical(bytes: &[u8; ED25519_PK_LEN]) -> bool {
    /// p − 1 = 2^255 − 20, little-endian.
    const P_MINUS_1: [u8; ED25519_PK_LEN] = {
        let mut le = [0xff; ED25519_PK_LEN];
        le[0] = 0xec;
        le[31] = 0x7f;
        le
    };
    let mut y = *bytes;
    let sign = y[31] & 0x80 != 0;
    y[31] &= 0x7f;
    // Compare as little-endian integers: from the most significant byte down.
    let y_below_p = y.iter().rev().cmp(P_MINUS_1.iter().rev()).is_le();
    let mut one = [0_u8; ED25519_PK_LEN];
    one[0] = 1;
    y_below_p && !(sign && (y == one || y == P_MINUS_1))
}

/// Strict Ed25519 verification (`verify_strict`) with a key [`ed25519_verifying_key`]
/// accepted; `None` (no such key: a broken invariant) never verifies.
fn ed25519_verify(key: Option<&ed25519_dalek::VerifyingKey>, msg: &[u8], sig: &[u8]) -> bool {
    let Some(key) = key else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
        return false;
    };
    key.verify_strict(msg, &sig).is_ok()
}

/// `ML-DSA-65.Verify(pk, msg, sig, ctx)`.
fn mldsa65_verify(pk: &[u8], msg: &[u8], ctx: &[u8], sig: &[u8]) -> bool {
    let Ok(encoded) = ml_dsa::EncodedVerifyingKey::<MlDsa65>::try_from(pk) else {
        return false;
    };
    let key = ml_dsa::VerifyingKey::<MlDsa65>::decode(&encoded);
    let Ok(sig) = ml_dsa::Signature::<MlDsa65>::try_from(sig) else {
        return false;
    };
    key.verify_with_context(msg, ctx, &sig)
}

/// A signature produced by a [`SigningKey`] or [`Signer`] (for the composite: the ML-DSA-65
/// signature followed by the Ed25519 signature).
#[derive(Clone, PartialEq, Eq)]
pub struct Signature(Vec<u8>);

impl Signature {
    /// The signature bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The signature bytes, by value.
    #[must_use]
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl From<Vec<u8>> for Signature {
    fn from(bytes: Vec<u8>) -> Self {
        Signature(bytes)
    }
}

impl AsRef<[u8]> for Signature {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = self.0.get(..8).unwrap_or(&self.0);
        write!(
            f,
            "Signature({} bytes, {}…)",
            self.0.len(),
            hex::encode(prefix)
        )
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn seed(alg: Algorithm, fill: u8) -> Vec<u8> {
        vec![fill; alg.seed_len()]
    }

    fn key(alg: Algorithm, fill: u8) -> SigningKey {
        SigningKey::from_seed(alg, &seed(alg, fill)).unwrap()
    }

    fn with_first_byte(mut bytes: [u8; 32], first: u8) -> [u8; 32] {
        if let Some(b) = bytes.first_mut() {
            *b = first;
        }
        bytes
    }

    /// Flips the lowest bit of byte `at`.
    fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
        let mut out = bytes.to_vec();
        if let Some(b) = out.get_mut(at) {
            *b ^= 1;
        }
        out
    }

    #[test]
    fn lengths_are_consistent() {
        assert_eq!(
            COMPOSITE_SEED_LEN,
            MLDSA_SEED_LEN.checked_add(ED25519_SEED_LEN).unwrap()
        );
        assert_eq!(
            COMPOSITE_PK_LEN,
            MLDSA65_PK_LEN.checked_add(ED25519_PK_LEN).unwrap()
        );
        assert_eq!(
            COMPOSITE_SIG_LEN,
            MLDSA65_SIG_LEN.checked_add(ED25519_SIG_LEN).unwrap()
        );
        for alg in Algorithm::ALL {
            let sk = key(alg, 7);
            assert_eq!(sk.public_key().as_bytes().len(), alg.public_key_len());
            assert_eq!(sk.sign(b"m").as_bytes().len(), alg.signature_len());
            assert_eq!(sk.seed().len(), alg.seed_len());
        }
    }

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_jose_name(alg.jose_name()), Some(alg));
            assert_eq!(alg.to_string().parse::<Algorithm>().unwrap(), alg);
            assert_eq!(
                alg.jose_name().to_lowercase().parse::<Algorithm>().unwrap(),
                alg
            );
            assert_eq!(
                alg.jose_name().to_uppercase().parse::<Algorithm>().unwrap(),
                alg
            );
        }
        assert_eq!(
            "ml-dsa-65-ed25519".parse::<Algorithm>().unwrap(),
            Algorithm::MlDsa65Ed25519
        );
        assert_eq!(Algorithm::from_jose_name("ed25519"), None);
        assert_eq!(Algorithm::from_jose_name("EdDSA"), None);
        assert_eq!(
            "EdDSA".parse::<Algorithm>(),
            Err(AlgError::UnknownAlgorithm("EdDSA".to_owned()))
        );
        let long = "x".repeat(1000);
        let err = long.parse::<Algorithm>().unwrap_err();
        assert!(matches!(
            &err,
            AlgError::UnknownAlgorithm(echo) if echo.chars().count() == MAX_ECHOED_NAME.checked_add(1).unwrap()
        ));
        assert_eq!(
            AlgError::UnknownAlgorithm("rsa".to_owned()).to_string(),
            "unknown algorithm `rsa`"
        );
    }

    #[test]
    fn round_trip_every_algorithm() {
        for alg in Algorithm::ALL {
            let sk = key(alg, 1);
            let pk = sk.public_key();
            assert_eq!(pk.algorithm(), alg);
            let sig = sk.sign(b"hello");
            pk.verify(b"hello", sig.as_bytes()).unwrap();
            assert!(
                pk.verify(b"hellp", sig.as_bytes()).is_err(),
                "{alg}: other message accepted"
            );
            // Deterministic: same key, same message, same signature.
            assert_eq!(sk.sign(b"hello"), sig);
            // The trait gives the same result.
            assert_eq!(Signer::sign(&sk, b"hello").unwrap(), sig);
            assert_eq!(Signer::algorithm(&sk), alg);
            assert_eq!(Signer::public_key(&sk), pk);
            // Reparsing the public key gives an equal key.
            assert_eq!(PublicKey::from_bytes(alg, pk.as_bytes()).unwrap(), pk);
            // The seed round-trips.
            let again = SigningKey::from_seed(alg, &sk.seed()).unwrap();
            assert_eq!(again.public_key(), pk);
            // A different key does not verify.
            let other = key(alg, 2).public_key();
            assert_ne!(other, pk);
            assert!(other.verify(b"hello", sig.as_bytes()).is_err());
        }
    }

    #[test]
    fn wrong_seed_length_rejected() {
        for alg in Algorithm::ALL {
            for len in [0, 31, 33, 63, 65] {
                if len == alg.seed_len() {
                    continue;
                }
                let err = SigningKey::from_seed(alg, &vec![0; len]).unwrap_err();
                assert_eq!(
                    err,
                    AlgError::BadSeedLength {
                        alg,
                        expected: alg.seed_len(),
                        got: len
                    }
                );
            }
        }
    }

    #[test]
    fn wrong_public_key_length_rejected() {
        for alg in Algorithm::ALL {
            let pk = key(alg, 3).public_key();
            let short = pk
                .as_bytes()
                .get(..pk.as_bytes().len().checked_sub(1).unwrap())
                .unwrap();
            assert_eq!(
                PublicKey::from_bytes(alg, short).unwrap_err(),
                AlgError::BadPublicKeyLength {
                    alg,
                    expected: alg.public_key_len(),
                    got: alg.public_key_len().checked_sub(1).unwrap()
                }
            );
            let mut long = pk.as_bytes().to_vec();
            long.push(0);
            assert!(matches!(
                PublicKey::from_bytes(alg, &long),
                Err(AlgError::BadPublicKeyLength { .. })
            ));
        }
    }

    #[test]
    fn invalid_ed25519_keys_rejected() {
        // The identity point (small order).
        let identity = with_first_byte([0u8; 32], 1);
        assert!(matches!(
            PublicKey::from_bytes(Algorithm::Ed25519, &identity),
            Err(AlgError::BadPublicKey {
                alg: Algorithm::Ed25519,
                ..
            })
        ));
        // A y coordinate that is not on the curve (y = 2 has no valid x).
        let not_on_curve = with_first_byte([0u8; 32], 2);
        assert!(matches!(
            PublicKey::from_bytes(Algorithm::Ed25519, &not_on_curve),
            Err(AlgError::BadPublicKey { .. })
        ));
        // Non-canonical encoding of the identity: y = p + 1.
        let mut non_canonical = with_first_byte([0xffu8; 32], 0xee);
        if let Some(last) = non_canonical.last_mut() {
            *last = 0x7f;
        }
        assert!(PublicKey::from_bytes(Algorithm::Ed25519, &non_canonical).is_err());
        // The composite rejects a weak Ed25519 half too.
        let good = key(Algorithm::MlDsa65Ed25519, 4).public_key();
        let mut weak = good.as_bytes().get(..MLDSA65_PK_LEN).unwrap().to_vec();
        weak.extend_from_slice(&identity);
        assert!(matches!(
            PublicKey::from_bytes(Algorithm::MlDsa65Ed25519, &weak),
            Err(AlgError::BadPublicKey {
                alg: Algorithm::MlDsa65Ed25519,
                ..
            })
        ));
    }

    #[test]
    fn wrong_signature_length_rejected() {
        for alg in Algorithm::ALL {
            let sk = key(alg, 5);
            let pk = sk.public_key();
            let sig = sk.sign(b"m").into_vec();
            for cut in [0, 1, 64] {
                let len = sig.len().checked_sub(cut).unwrap();
                let short = sig.get(..len).unwrap();
                if cut == 0 {
                    continue;
                }
                assert_eq!(
                    pk.verify(b"m", short),
                    Err(SignatureError::WrongLength {
                        alg,
                        expected: alg.signature_len(),
                        got: len
                    })
                );
            }
            let mut long = sig.clone();
            long.push(0);
            assert!(matches!(
                pk.verify(b"m", &long),
                Err(SignatureError::WrongLength { .. })
            ));
        }
    }

    #[test]
    fn flipped_bytes_fail() {
        for alg in Algorithm::ALL {
            let sk = key(alg, 6);
            let pk = sk.public_key();
            let sig = sk.sign(b"payload").into_vec();
            let len = sig.len();
            for at in [
                0,
                1,
                len.checked_div(2).unwrap(),
                len.checked_sub(1).unwrap(),
            ] {
                assert!(
                    pk.verify(b"payload", &flip(&sig, at)).is_err(),
                    "{alg}: flipped byte {at} accepted"
                );
            }
        }
    }

    #[test]
    fn composite_components_are_both_checked() {
        let alg = Algorithm::MlDsa65Ed25519;
        let sk = key(alg, 8);
        let pk = sk.public_key();
        let sig = sk.sign(b"msg").into_vec();
        let (ml_sig, ed_sig) = sig.split_at(MLDSA65_SIG_LEN);

        // Corrupt each half: the error names the failing component.
        assert_eq!(
            pk.verify(b"msg", &flip(&sig, 10)),
            Err(SignatureError::ComponentInvalid {
                alg,
                component: COMPONENT_ML_DSA_65
            })
        );
        assert_eq!(
            pk.verify(
                b"msg",
                &flip(&sig, MLDSA65_SIG_LEN.checked_add(10).unwrap())
            ),
            Err(SignatureError::ComponentInvalid {
                alg,
                component: COMPONENT_ED25519
            })
        );
        // Both halves corrupt.
        let both = flip(&flip(&sig, 10), MLDSA65_SIG_LEN.checked_add(10).unwrap());
        assert_eq!(
            pk.verify(b"msg", &both),
            Err(SignatureError::Invalid { alg })
        );

        // Stripping a half changes the length.
        assert!(matches!(
            pk.verify(b"msg", ml_sig),
            Err(SignatureError::WrongLength { .. })
        ));
        assert!(matches!(
            pk.verify(b"msg", ed_sig),
            Err(SignatureError::WrongLength { .. })
        ));

        // Swapping halves with another composite key's signature over the same message.
        let other = key(alg, 9).sign(b"msg").into_vec();
        let (other_ml, other_ed) = other.split_at(MLDSA65_SIG_LEN);
        let mixed = [other_ml, ed_sig].concat();
        assert_eq!(
            pk.verify(b"msg", &mixed),
            Err(SignatureError::ComponentInvalid {
                alg,
                component: COMPONENT_ML_DSA_65
            })
        );
        let mixed = [ml_sig, other_ed].concat();
        assert_eq!(
            pk.verify(b"msg", &mixed),
            Err(SignatureError::ComponentInvalid {
                alg,
                component: COMPONENT_ED25519
            })
        );

        // Swapping the order of the halves.
        let swapped = [ed_sig, ml_sig].concat();
        assert_eq!(
            pk.verify(b"msg", &swapped),
            Err(SignatureError::Invalid { alg })
        );

        // Plain signatures over M by the component keys (same seeds) do not verify.
        let seed = sk.seed();
        let (ml_seed, ed_seed) = seed.split_at(MLDSA_SEED_LEN);
        let plain_ml = SigningKey::from_seed(Algorithm::MlDsa65, ml_seed).unwrap();
        let plain_ed = SigningKey::from_seed(Algorithm::Ed25519, ed_seed).unwrap();
        assert_eq!(
            plain_ml.public_key().as_bytes(),
            pk.as_bytes().get(..MLDSA65_PK_LEN).unwrap()
        );
        let plain_ml_sig = plain_ml.sign(b"msg").into_vec();
        let plain_ed_sig = plain_ed.sign(b"msg").into_vec();
        assert_eq!(
            pk.verify(b"msg", &[plain_ml_sig.as_slice(), ed_sig].concat()),
            Err(SignatureError::ComponentInvalid {
                alg,
                component: COMPONENT_ML_DSA_65
            })
        );
        assert_eq!(
            pk.verify(b"msg", &[ml_sig, plain_ed_sig.as_slice()].concat()),
            Err(SignatureError::ComponentInvalid {
                alg,
                component: COMPONENT_ED25519
            })
        );
        assert_eq!(
            pk.verify(
                b"msg",
                &[plain_ml_sig.as_slice(), plain_ed_sig.as_slice()].concat()
            ),
            Err(SignatureError::Invalid { alg })
        );
        // And a plain signature alone has the wrong length.
        assert!(matches!(
            pk.verify(b"msg", &plain_ml_sig),
            Err(SignatureError::WrongLength { .. })
        ));

        // Conversely the composite's ML-DSA half is not a plain ML-DSA-65 signature over M
        // (other context, other message).
        assert!(plain_ml.public_key().verify(b"msg", ml_sig).is_err());
        assert!(plain_ed.public_key().verify(b"msg", ed_sig).is_err());
    }

    #[test]
    fn composite_message_representative_layout() {
        let m_prime = composite_message_representative(b"abc");
        assert_eq!(m_prime.len(), COMPOSITE_M_PRIME_LEN);
        assert!(
            m_prime
                .starts_with(b"CompositeAlgorithmSignatures2025COMPSIG-MLDSA65-Ed25519-SHA512\x00")
        );
        assert!(m_prime.ends_with(&Sha512::digest(b"abc")));
    }

    #[test]
    fn debug_does_not_leak_seed() {
        for alg in Algorithm::ALL {
            let seed: Vec<u8> = (0..alg.seed_len())
                .map(|i| u8::try_from(i).unwrap().wrapping_mul(37).wrapping_add(11))
                .collect();
            let sk = SigningKey::from_seed(alg, &seed).unwrap();
            let debug = format!("{sk:?}");
            assert_eq!(debug, format!("SigningKey({alg}, <redacted>)"));
            assert!(!debug.contains(&hex::encode(&seed)));
            assert!(!debug.contains(&hex::encode(seed.get(..4).unwrap())));
            let pk_debug = format!("{:?}", sk.public_key());
            assert!(pk_debug.starts_with(&format!("PublicKey({alg}, ")));
        }
    }

    #[test]
    fn signature_conversions() {
        let sig = Signature::from(vec![1, 2, 3]);
        assert_eq!(sig.as_bytes(), &[1, 2, 3]);
        assert_eq!(sig.as_ref(), &[1, 2, 3]);
        assert_eq!(format!("{sig:?}"), "Signature(3 bytes, 010203…)");
        assert_eq!(sig.into_vec(), vec![1, 2, 3]);
    }

    /// The canonical-encoding check as it was written before: compress and compare.
    fn ed25519_key_by_compressing(
        bytes: &[u8],
    ) -> Result<ed25519_dalek::VerifyingKey, &'static str> {
        let arr = <[u8; ED25519_PK_LEN]>::try_from(bytes).map_err(|_| "wrong length")?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&arr).map_err(|_| "not a curve point")?;
        if key.to_edwards().compress().to_bytes() != arr {
            return Err("non-canonical point encoding");
        }
        if key.is_weak() {
            return Err("weak (small-order) key");
        }
        Ok(key)
    }

    fn assert_same_verdict(bytes: &[u8; ED25519_PK_LEN]) {
        assert_eq!(
            ed25519_verifying_key(bytes).map(|k| k.to_bytes()),
            ed25519_key_by_compressing(bytes).map(|k| k.to_bytes()),
            "key {}",
            hex::encode(bytes)
        );
    }

    #[test]
    fn canonical_encoding_check_agrees_with_compressing() {
        // Every y in [p, 2^255) with both sign bits; y = 0, 1, p - 1, p - 2 with both sign
        // bits (y = 1 and p - 1 are the points with x = 0).
        let mut cases = Vec::new();
        for low in 0xeb_u8..=0xff {
            let mut y = [0xff_u8; ED25519_PK_LEN];
            y[0] = low;
            y[31] = 0x7f;
            cases.push(y);
        }
        let mut small = [0_u8; ED25519_PK_LEN];
        for first in [0_u8, 1, 2] {
            small[0] = first;
            cases.push(small);
        }
        for y in cases {
            for sign in [0_u8, 0x80] {
                let mut bytes = y;
                bytes[31] |= sign;
                assert_same_verdict(&bytes);
            }
        }
        let mut rejected_non_canonical = 0;
        for low in 0xed_u8..=0xff {
            let mut y = [0xff_u8; ED25519_PK_LEN];
            y[0] = low;
            y[31] = 0x7f;
            assert!(!ed25519_encoding_is_canonical(&y));
            if ed25519_verifying_key(&y) == Err("non-canonical point encoding") {
                rejected_non_canonical += 1;
            }
        }
        // Some of the non-canonical encodings are curve points (checked, not assumed).
        assert!(rejected_non_canonical > 0);
        let mut minus_one = [0xff_u8; ED25519_PK_LEN];
        minus_one[0] = 0xec;
        minus_one[31] = 0xff;
        assert_eq!(
            ed25519_verifying_key(&minus_one),
            Err("non-canonical point encoding")
        );
        // Real keys, and real keys with the sign bit flipped.
        for i in 0..64_u8 {
            let key = SigningKey::from_seed(Algorithm::Ed25519, &[i; 32]).unwrap();
            let mut bytes = <[u8; 32]>::try_from(key.public_key().as_bytes()).unwrap();
            assert_same_verdict(&bytes);
            bytes[31] ^= 0x80;
            assert_same_verdict(&bytes);
        }
    }

    proptest::proptest! {
        #[test]
        fn prop_canonical_encoding_check_agrees(bytes in proptest::prelude::any::<[u8; 32]>()) {
            assert_same_verdict(&bytes);
        }
    }
}
