//! Known-answer tests for the signature algorithms, from published vectors.
//!
//! Provenance of every file is in `testdata/mldsa/README.md` and `testdata/composite/README.md`.

#![expect(clippy::unwrap_used, reason = "tests")]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use signet_core::alg::{
    Algorithm, COMPONENT_ED25519, COMPONENT_ML_DSA_65, PublicKey, SignatureError, SigningKey,
    composite_message_representative,
};

const WYCHEPROOF_SIGN_SEED: &str =
    include_str!("../../../testdata/mldsa/wycheproof_mldsa_65_sign_seed_tc1.json");
const ACVP_KEYGEN: &str = include_str!("../../../testdata/mldsa/acvp_keygen_mldsa65_tc26.json");
const LAMPS_SEED_PEM: &str = include_str!("../../../testdata/mldsa/ML-DSA-65-seed.priv");
const LAMPS_PUB_PEM: &str = include_str!("../../../testdata/mldsa/ML-DSA-65.pub");
const LAMPS_COMPOSITE: &str =
    include_str!("../../../testdata/composite/lamps_id-MLDSA65-Ed25519-SHA512.json");
const JOSE_COMPOSITE: &str =
    include_str!("../../../testdata/composite/jose_ML-DSA-65-Ed25519.json");

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap()
}

fn hex_field(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(field(v, name)).unwrap()
}

fn b64_field(v: &Value, name: &str) -> Vec<u8> {
    STANDARD.decode(field(v, name)).unwrap()
}

/// Flips the lowest bit of byte `at`.
fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if let Some(b) = out.get_mut(at) {
        *b ^= 1;
    }
    out
}

/// The DER body of a PEM document.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(body).unwrap()
}

/// RFC 8032 §7.1, TEST 1 and TEST 2: (secret key, public key, message, signature).
const RFC8032: [(&str, &str, &str, &str); 2] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
];

#[test]
fn ed25519_rfc8032() {
    for (sk, pk, msg, sig) in RFC8032 {
        let key = SigningKey::from_seed(Algorithm::Ed25519, &hex::decode(sk).unwrap()).unwrap();
        assert_eq!(hex::encode(key.public_key().as_bytes()), pk);
        let msg = hex::decode(msg).unwrap();
        let signature = key.sign(&msg);
        assert_eq!(hex::encode(signature.as_bytes()), sig);
        let public = PublicKey::from_bytes(Algorithm::Ed25519, &hex::decode(pk).unwrap()).unwrap();
        public.verify(&msg, signature.as_bytes()).unwrap();
        assert!(
            public
                .verify(&msg, &flip(signature.as_bytes(), 63))
                .is_err()
        );
    }
}

/// Wycheproof `mldsa_65_sign_seed_test` tcId 1: seed → public key, deterministic signature with
/// the empty context, and verification — all byte-exact.
#[test]
fn mldsa65_wycheproof_sign_seed() {
    let v = json(WYCHEPROOF_SIGN_SEED);
    assert_eq!(field(&v, "ctx"), "");
    let seed = hex_field(&v, "privateSeed");
    let pk = hex_field(&v, "publicKey");
    let msg = hex_field(&v, "msg");
    let sig = hex_field(&v, "sig");

    let key = SigningKey::from_seed(Algorithm::MlDsa65, &seed).unwrap();
    assert_eq!(key.public_key().as_bytes(), pk.as_slice(), "keyGen");
    assert_eq!(
        key.sign(&msg).as_bytes(),
        sig.as_slice(),
        "deterministic sigGen"
    );

    let public = PublicKey::from_bytes(Algorithm::MlDsa65, &pk).unwrap();
    public.verify(&msg, &sig).unwrap();
    assert!(public.verify(b"Hello world!", &sig).is_err());
    for at in [0, 100, 3000, 3308] {
        assert_eq!(
            public.verify(&msg, &flip(&sig, at)),
            Err(SignatureError::Invalid {
                alg: Algorithm::MlDsa65
            }),
            "flipped byte {at}"
        );
    }
    // A different public key (one flipped bit in t1) rejects the signature.
    let other = PublicKey::from_bytes(Algorithm::MlDsa65, &flip(&pk, 1000)).unwrap();
    assert!(other.verify(&msg, &sig).is_err());
}

/// NIST ACVP ML-DSA keyGen (FIPS 204), ML-DSA-65 tcId 26: seed → public key.
#[test]
fn mldsa65_acvp_keygen() {
    let v = json(ACVP_KEYGEN);
    assert_eq!(field(&v, "parameterSet"), "ML-DSA-65");
    let key = SigningKey::from_seed(Algorithm::MlDsa65, &hex_field(&v, "seed")).unwrap();
    assert_eq!(key.public_key().as_bytes(), hex_field(&v, "pk").as_slice());
}

/// The ML-DSA-65 example key of the LAMPS ML-DSA certificates draft: a PKCS#8 seed-only private
/// key and its SubjectPublicKeyInfo.
#[test]
fn mldsa65_lamps_certificate_example() {
    // PKCS#8 OneAsymmetricKey with privateKey [0] seed (draft-ietf-lamps-dilithium-certificates).
    let pkcs8_prefix = hex::decode("3034020100300b060960864801650304031204228020").unwrap();
    let private = pem_der(LAMPS_SEED_PEM);
    let seed = private.strip_prefix(pkcs8_prefix.as_slice()).unwrap();
    assert_eq!(seed, (0u8..32).collect::<Vec<u8>>().as_slice());
    // SubjectPublicKeyInfo with id-ml-dsa-65 (2.16.840.1.101.3.4.3.18) and a 1952-byte key.
    let spki_prefix = hex::decode("308207b2300b0609608648016503040312038207a100").unwrap();
    let spki = pem_der(LAMPS_PUB_PEM);
    let pk = spki.strip_prefix(spki_prefix.as_slice()).unwrap();

    let key = SigningKey::from_seed(Algorithm::MlDsa65, seed).unwrap();
    assert_eq!(key.public_key().as_bytes(), pk);
}

/// LAMPS composite test vector for `id-MLDSA65-Ed25519-SHA512`: the private key (ML-DSA seed ||
/// Ed25519 seed) derives the published public key, and the published (randomized) signature
/// verifies.
#[test]
fn composite_lamps_test_vector() {
    let alg = Algorithm::MlDsa65Ed25519;
    let v = json(LAMPS_COMPOSITE);
    assert_eq!(field(&v, "tcId"), "id-MLDSA65-Ed25519-SHA512");
    let msg = b64_field(&v, "m");
    let pk = b64_field(&v, "pk");
    let sk = b64_field(&v, "sk");
    let sig = b64_field(&v, "s");

    let key = SigningKey::from_seed(alg, &sk).unwrap();
    assert_eq!(key.public_key().as_bytes(), pk.as_slice());

    let public = PublicKey::from_bytes(alg, &pk).unwrap();
    public.verify(&msg, &sig).unwrap();
    assert_eq!(
        public.verify(&msg, &flip(&sig, 7)),
        Err(SignatureError::ComponentInvalid {
            alg,
            component: COMPONENT_ML_DSA_65
        })
    );
    assert_eq!(
        public.verify(&msg, &flip(&sig, 3310)),
        Err(SignatureError::ComponentInvalid {
            alg,
            component: COMPONENT_ED25519
        })
    );
    assert_eq!(
        public.verify(b"The quick brown fox jumps over the lazy dog", &sig),
        Err(SignatureError::Invalid { alg })
    );

    // Our own (deterministic) signature verifies; its Ed25519 half equals the vector's, since
    // Ed25519 is deterministic and both sign the same M'.
    let ours = key.sign(&msg);
    public.verify(&msg, ours.as_bytes()).unwrap();
    assert_eq!(ours.as_bytes().get(3309..), sig.get(3309..));
}

/// The JOSE composite example of `draft-ietf-jose-pq-composite-sigs` (all-zero seeds): the key,
/// the message representative `M'` of the JWS signing input, and the byte-exact signature.
#[test]
fn composite_jose_example() {
    let alg = Algorithm::MlDsa65Ed25519;
    let v = json(JOSE_COMPOSITE);
    let jwk = v.get("jwk").unwrap();
    assert_eq!(field(jwk, "alg"), alg.jose_name());
    assert_eq!(field(jwk, "kty"), "AKP");

    let seed = [hex_field(&v, "mldsa_seed"), hex_field(&v, "eddsa_seed")].concat();
    let key = SigningKey::from_seed(alg, &seed).unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(field(jwk, "priv")).unwrap(), seed);
    let pk = URL_SAFE_NO_PAD.decode(field(jwk, "pub")).unwrap();
    assert_eq!(key.public_key().as_bytes(), pk.as_slice());

    let jws = field(&v, "jws");
    let (signing_input, sig_b64) = jws.rsplit_once('.').unwrap();
    let header = URL_SAFE_NO_PAD
        .decode(signing_input.split('.').next().unwrap())
        .unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    assert_eq!(Algorithm::from_jose_name(field(&header, "alg")), Some(alg));
    let sig = URL_SAFE_NO_PAD.decode(sig_b64).unwrap();

    assert_eq!(
        composite_message_representative(signing_input.as_bytes()),
        hex_field(&v, "raw_to_be_signed")
    );
    let public = PublicKey::from_bytes(alg, &pk).unwrap();
    public.verify(signing_input.as_bytes(), &sig).unwrap();
    assert!(public.verify(b"other input", &sig).is_err());

    // The example's ML-DSA component was produced with the deterministic variant, so the whole
    // composite signature is reproduced byte for byte.
    let ours = key.sign(signing_input.as_bytes());
    assert_eq!(ours.as_bytes(), sig.as_slice());
}
