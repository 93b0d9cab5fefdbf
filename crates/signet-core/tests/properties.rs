//! Property tests across modules: canonicalize → sign → verify.
//!
//! - Canonical JSON: for arbitrary JSON values (safe integers, finite floats, strings with
//!   escapes and non-ASCII characters, nested arrays and objects), the canonical bytes are a
//!   fixed point of [`canon::canonicalize`], read back to the same value, and equal the
//!   canonical form of the value's ordinary JSON text.
//! - Signing: an arbitrary tool call signed with an arbitrary key of each algorithm verifies
//!   (as a statement and as an envelope, also after a trip through JSON text); flipping any
//!   one byte of the compact JWS makes it fail, and so does another key.
//!
//! ML-DSA keys are slow to generate even optimized, so those runs use fewer cases.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value};
use signet_core::alg::{Algorithm, SigningKey};
use signet_core::canon;
use signet_core::digest::Digest;
use signet_core::envelope::{self, CallContext, ToolCall};
use signet_core::replay::UnixTime;
use signet_core::statement::{self, Audience, Intent, Nonce, Receipt, RpcId, SessionId, ToolName};

/// 2^53 − 1, the largest integer every JSON consumer reads exactly.
const MAX_SAFE: i64 = 9_007_199_254_740_991;
/// [`MAX_SAFE`] as a binary64 (exact).
const MAX_SAFE_F64: f64 = 9_007_199_254_740_991.0;

/// Safe integers, edges over-represented.
fn arb_int() -> impl Strategy<Value = i64> {
    prop_oneof![
        prop::sample::select(vec![0, 1, -1, MAX_SAFE, -MAX_SAFE, 1 << 31, -(1 << 32)]),
        -MAX_SAFE..=MAX_SAFE,
    ]
}

/// Finite binary64 values that a canonical serializer must accept: everything except
/// integral values with magnitude in (2^53 − 1, 10^21), which RFC 8785 would print as an
/// unsafe integer literal (see the `canon` module docs).
fn arb_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::sample::select(vec![
            0.0,
            -0.0,
            0.1,
            4.5,
            1e-6,
            1e-7,
            1e21,
            -1e21,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            MAX_SAFE_F64,
            123_456_789.125,
        ]),
        -1e6..1e6_f64,
    ]
    .prop_filter("finite and not an unsafe integral value", |f| {
        f.is_finite() && !(f.fract() == 0.0 && f.abs() > MAX_SAFE_F64 && f.abs() < 1e21)
    })
}

/// Strings: arbitrary Unicode, plain identifiers, and short mixes of the characters that
/// need escaping or that sort differently in UTF-16 and UTF-8 (`\u{fffd}` vs `😀`).
fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z_]{0,8}",
        prop::collection::vec(
            prop::sample::select(vec![
                'a', '"', '\\', '/', '\u{0}', '\u{8}', '\n', '\u{1f}', '\u{7f}', 'é', '€',
                '\u{2028}', '\u{fffd}', '😀',
            ]),
            0..8,
        )
        .prop_map(String::from_iter),
    ]
}

/// JSON values nested up to four levels.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_int().prop_map(Value::from),
        arb_float().prop_map(Value::from),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(arb_string(), inner, 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn canonical_output_is_a_fixed_point(value in arb_json()) {
        let canonical = canon::to_canonical_vec(&value)?;
        prop_assert_eq!(&canon::canonicalize(&canonical)?, &canonical);
        // It reads back to a value with the same canonical form.
        let parsed = canon::parse_strict(&canonical)?;
        prop_assert_eq!(&canon::to_canonical_vec(&parsed)?, &canonical);
        // The value's ordinary JSON text (as serde_json writes it) canonicalizes the same.
        let pretty = serde_json::to_vec_pretty(&value)?;
        prop_assert_eq!(&canon::canonicalize(&pretty)?, &canonical);
    }
}

/// Text accepted by the identifier newtypes: 1..=40 bytes, no control characters.
fn arb_ident() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{1,40}", "\\PC{1,10}"]
}

fn arb_tool_call() -> impl Strategy<Value = ToolCall> {
    let name = prop_oneof!["[a-zA-Z0-9_.-]{1,32}", "\\PC{1,16}"]
        .prop_filter_map("valid tool name", |s| ToolName::new(s).ok());
    let arguments = prop::option::of(
        prop::collection::btree_map(arb_string(), arb_json(), 0..5)
            .prop_map(|members| members.into_iter().collect::<Map<String, Value>>()),
    );
    (name, arguments).prop_map(|(name, arguments)| ToolCall { name, arguments })
}

fn arb_context() -> impl Strategy<Value = CallContext> {
    let aud = arb_ident().prop_filter_map("valid audience", |s| Audience::new(s).ok());
    let tool_def = prop::option::of(any::<[u8; 8]>().prop_map(|b| Digest::of_bytes(&b)));
    let rpc_id = prop::option::of(
        prop_oneof![
            arb_int().prop_map(Value::from),
            arb_ident().prop_map(Value::String),
        ]
        .prop_filter_map("valid json-rpc id", |id| RpcId::from_json(&id).ok()),
    );
    let session = prop::option::of(
        arb_ident().prop_filter_map("valid session id", |s| SessionId::new(s).ok()),
    );
    (aud, tool_def, rpc_id, session).prop_map(|(aud, tool_def, rpc_id, session)| CallContext {
        aud,
        tool_def,
        rpc_id,
        session,
    })
}

/// Everything one signing case needs besides the algorithm.
#[derive(Debug, Clone)]
struct Case {
    seed: Vec<u8>,
    other_seed: Vec<u8>,
    call: ToolCall,
    ctx: CallContext,
    iat: UnixTime,
    nonce: Nonce,
    /// Where to flip a byte of the compact JWS.
    at: Index,
    /// What to XOR it with: 1..128 keeps it ASCII (so still a `str`) and changes it.
    delta: u8,
}

fn arb_case(alg: Algorithm) -> impl Strategy<Value = Case> {
    let seed = prop::collection::vec(any::<u8>(), alg.seed_len());
    (
        seed.clone(),
        seed,
        arb_tool_call(),
        arb_context(),
        // Years 1970 to 9999, the range an envelope timestamp can show.
        (0i64..253_402_300_800).prop_map(UnixTime),
        any::<[u8; 16]>().prop_map(Nonce::from_random),
        any::<Index>(),
        1u8..128,
    )
        .prop_filter("two different keys", |(seed, other_seed, ..)| {
            seed != other_seed
        })
        .prop_map(
            |(seed, other_seed, call, ctx, iat, nonce, at, delta)| Case {
                seed,
                other_seed,
                call,
                ctx,
                iat,
                nonce,
                at,
                delta,
            },
        )
}

/// A fixed key of an algorithm other than `alg`.
fn key_of_another_algorithm(alg: Algorithm) -> Result<SigningKey, TestCaseError> {
    let other = match alg {
        Algorithm::Ed25519 => Algorithm::MlDsa65,
        Algorithm::MlDsa65 => Algorithm::MlDsa65Ed25519,
        Algorithm::MlDsa65Ed25519 => Algorithm::Ed25519,
    };
    Ok(SigningKey::from_seed(other, &vec![7; other.seed_len()])?)
}

fn sign_verify_tamper(alg: Algorithm, case: Case) -> Result<(), TestCaseError> {
    let key = SigningKey::from_seed(alg, &case.seed)?;
    let pk = key.public_key();
    let (env, intent) =
        envelope::sign_tool_call(&key, case.call.clone(), case.ctx, case.iat, case.nonce)?;
    let jws = env.signet.request_signature.as_str();

    // Signing is deterministic, and the envelope carries exactly the signed intent.
    prop_assert_eq!(statement::sign(&key, &intent)?, jws);

    // It verifies: as an intent with the key, as an envelope with the key in its `signer`
    // or given, and after a trip through JSON text.
    let verified = statement::verify::<Intent>(jws, Some(&pk))?;
    prop_assert_eq!(&verified.statement, &intent);
    prop_assert_eq!(&verified.key, &pk);
    prop_assert_eq!(&envelope::verify_envelope(&env, None)?.statement, &intent);
    prop_assert_eq!(
        &envelope::verify_envelope(&env, Some(&pk))?.statement,
        &intent
    );
    let text = serde_json::to_vec(&env)?;
    let reparsed = envelope::parse_envelope(&text)?;
    prop_assert_eq!(
        &envelope::verify_envelope(&reparsed, None)?.statement,
        &intent
    );
    // It is an intent, not a receipt.
    prop_assert!(statement::verify::<Receipt>(jws, Some(&pk)).is_err());

    // Any one byte flipped: nothing verifies.
    let mut bytes = jws.as_bytes().to_vec();
    let i = case.at.index(bytes.len());
    let Some(b) = bytes.get_mut(i) else {
        return Err(TestCaseError::fail("flip index out of range"));
    };
    *b ^= case.delta;
    let tampered = String::from_utf8(bytes)?;
    prop_assert_ne!(tampered.as_str(), jws);
    prop_assert!(
        statement::verify::<Intent>(&tampered, Some(&pk)).is_err(),
        "byte {} flipped by {:#04x} still verifies",
        i,
        case.delta
    );
    prop_assert!(statement::verify::<Intent>(&tampered, None).is_err());
    let mut tampered_env = env.clone();
    tampered_env.signet.request_signature = tampered;
    prop_assert!(envelope::verify_envelope(&tampered_env, None).is_err());
    prop_assert!(envelope::verify_envelope(&tampered_env, Some(&pk)).is_err());

    // Another key of the same or another algorithm: nothing verifies.
    let other = SigningKey::from_seed(alg, &case.other_seed)?.public_key();
    prop_assert_ne!(&other, &pk);
    let foreign = key_of_another_algorithm(alg)?.public_key();
    for wrong in [&other, &foreign] {
        prop_assert!(statement::verify::<Intent>(jws, Some(wrong)).is_err());
        prop_assert!(envelope::verify_envelope(&env, Some(wrong)).is_err());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn ed25519_sign_verify_tamper(case in arb_case(Algorithm::Ed25519)) {
        sign_verify_tamper(Algorithm::Ed25519, case)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn mldsa65_sign_verify_tamper(case in arb_case(Algorithm::MlDsa65)) {
        sign_verify_tamper(Algorithm::MlDsa65, case)?;
    }

    #[test]
    fn composite_sign_verify_tamper(case in arb_case(Algorithm::MlDsa65Ed25519)) {
        sign_verify_tamper(Algorithm::MlDsa65Ed25519, case)?;
    }
}
