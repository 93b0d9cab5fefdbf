//! The language-neutral vectors in `testdata/signet/`: each file is one case, valid or
//! `fail_*`, described in `testdata/README.md`.
//!
//! `check_vectors` reads every file and checks it against its `expect` member using only
//! the data in the file. `vectors_are_reproducible` regenerates every case from the fixed
//! test seeds and asserts the committed files are byte-identical (signing is deterministic
//! for every algorithm), so the files cannot drift from the code. Regenerate with
//! `SIGNET_REGENERATE_VECTORS=1 cargo test -p signet-core --test vectors vectors_are_reproducible`.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use signet_core::alg::{Algorithm, PublicKey, SigningKey, composite_message_representative};
use signet_core::canon;
use signet_core::did::{Did, KeyId, kid_for};
use signet_core::digest::Digest;
use signet_core::envelope::{self, CallContext};
use signet_core::jws::{Jws, StatementKind};
use signet_core::replay::UnixTime;
use signet_core::statement::{
    self, Audience, Decision, Effect, Intent, IntentV1, Nonce, Outcome, PinSet, PinSetV1, Receipt,
    ReceiptV1, RpcId, SessionId, ToolName,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/signet")
}

/// TEST FIXTURE seeds: public in this repository, never to be used for anything real.
fn seed(alg: Algorithm, who: u8) -> Vec<u8> {
    (0..alg.seed_len())
        .map(|i| who.wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

fn key(alg: Algorithm, who: u8) -> SigningKey {
    SigningKey::from_seed(alg, &seed(alg, who)).unwrap()
}

fn key_json(alg: Algorithm, who: u8) -> Value {
    let k = key(alg, who);
    let pk = k.public_key();
    json!({
        "alg": alg.jose_name(),
        "seed_hex": hex::encode(seed(alg, who)),
        "public_key": URL_SAFE_NO_PAD.encode(pk.as_bytes()),
        "did": Did::from_public_key(&pk).to_string(),
        "key_id": KeyId::from_public_key(&pk).to_string(),
        "kid": kid_for(&pk),
    })
}

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// A compact JWS over arbitrary header and payload bytes, validly signed by `k`: used to
/// show that checks after the signature stand on their own.
fn raw_jws(k: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = k.sign(input.as_bytes());
    format!("{input}.{}", b64(sig.as_bytes()))
}

fn header(alg: Algorithm, kid: &str, typ: &str) -> String {
    format!(
        r#"{{"alg":"{}","kid":"{kid}","typ":"{typ}"}}"#,
        alg.jose_name()
    )
}

const CALL: &str = r##"{"name":"write_file","arguments":{"path":"/srv/reports/q3.md","content":"# Q3\n\nRevenue up 4.50%","mode":420,"tags":["finance","q3"]}}"##;
const IAT: UnixTime = UnixTime(1_795_000_000);

fn intent_for(k: &SigningKey) -> Intent {
    let (call, _) = envelope::parse_tool_call(CALL.as_bytes()).unwrap();
    Intent {
        version: IntentV1,
        aud: Audience::new("stdio:npx -y @modelcontextprotocol/server-filesystem /srv").unwrap(),
        tool: call.name.clone(),
        args: envelope::arguments_digest(&call).unwrap(),
        tool_def: Some(
            Digest::of_json_text(
                br#"{"name":"write_file","description":"Write a file","inputSchema":{"type":"object"}}"#,
            )
            .unwrap(),
        ),
        signer: kid_for(&k.public_key()),
        iat: IAT,
        nonce: Nonce::from_random(*b"signet-vector-01"),
        rpc_id: Some(RpcId::from_json(&json!(7)).unwrap()),
        session: Some(SessionId::new("5b1f0c52-vector-session").unwrap()),
        inputs: None,
        prev: None,
    }
}

fn receipt_for(gateway: &SigningKey, intent_jws: &str) -> Receipt {
    Receipt {
        version: ReceiptV1,
        intent: statement::intent_digest(intent_jws),
        outcome: Outcome::Executed,
        response: Some(
            Digest::of_json_text(br#"{"content":[{"type":"text","text":"wrote 27 bytes"}]}"#)
                .unwrap(),
        ),
        decision: Decision {
            effect: Effect::Allow,
            rules: vec!["allow-reports-folder".into()],
            policy: Some(Digest::of_bytes(b"example policy set")),
        },
        log_index: Some(1),
        signer: kid_for(&gateway.public_key()),
        iat: UnixTime(IAT.0 + 1),
    }
}

fn canonical_text(v: &impl serde::Serialize) -> String {
    String::from_utf8(canon::to_canonical_vec_of(v).unwrap()).unwrap()
}

fn case(description: &str, kind: &str, input: String, expect: Value) -> Value {
    json!({"description": description, "kind": kind, "input": input, "expect": expect})
}

fn valid(extra: Value) -> Value {
    let mut v = json!({"valid": true});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v
}

fn invalid(malformed: bool, error: &str) -> Value {
    json!({"valid": false, "malformed": malformed, "error": error})
}

fn with(mut v: Value, k: &str, val: Value) -> Value {
    v[k] = val;
    v
}

/// Every case, by file name (without `.json`).
fn generate() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let ed = key(Algorithm::Ed25519, 1);
    let gw = key(Algorithm::Ed25519, 2);

    // Valid intents, one per algorithm.
    for alg in Algorithm::ALL {
        let k = key(alg, 1);
        let i = intent_for(&k);
        let jws = statement::sign(&k, &i).unwrap();
        let (h, p) = {
            let mut it = jws.split('.');
            (it.next().unwrap().to_owned(), it.next().unwrap().to_owned())
        };
        let c = case(
            &format!("intent signed with {alg}; verifies with the key"),
            "intent",
            jws,
            valid(json!({
                "statement": serde_json::to_value(&i).unwrap(),
                "payload": canonical_text(&i),
                "signing_input": format!("{h}.{p}"),
            })),
        );
        out.insert(
            format!("intent_{}", alg.jose_name().to_lowercase()),
            with(c, "key", key_json(alg, 1)),
        );
    }

    let intent = intent_for(&ed);
    let ijws = statement::sign(&ed, &intent).unwrap();
    let ed_key = key_json(Algorithm::Ed25519, 1);
    let kid = kid_for(&ed.public_key());

    // Receipt.
    let r = receipt_for(&gw, &ijws);
    let rjws = statement::sign(&gw, &r).unwrap();
    out.insert(
        "receipt_ed25519".into(),
        with(
            case(
                "receipt for intent_ed25519, signed by the gateway key; `intent` is sha256-bytes of the intent JWS",
                "receipt",
                rjws.clone(),
                valid(json!({
                    "statement": serde_json::to_value(&r).unwrap(),
                    "payload": canonical_text(&r),
                    "intent_jws": ijws.clone(),
                })),
            ),
            "key",
            key_json(Algorithm::Ed25519, 2),
        ),
    );

    // A signed pin set.
    let tool_def = json!({"name": "write_file", "description": "Write a file",
                          "inputSchema": {"type": "object"}});
    let pins = PinSet {
        version: PinSetV1,
        server: intent.aud.clone(),
        tools: [(
            ToolName::new("write_file").unwrap(),
            Digest::of_json(&tool_def).unwrap(),
        )]
        .into_iter()
        .collect(),
        signer: kid_for(&ed.public_key()),
        iat: IAT,
    };
    let pins_jws = statement::sign(&ed, &pins).unwrap();
    out.insert(
        "pins_ed25519".into(),
        with(
            case(
                "signed pin set: each tool's digest is of its full definition (here `definition`)",
                "pins",
                pins_jws.clone(),
                valid(json!({
                    "statement": serde_json::to_value(&pins).unwrap(),
                    "payload": canonical_text(&pins),
                    "definition": tool_def,
                })),
            ),
            "key",
            ed_key.clone(),
        ),
    );
    out.insert(
        "fail_pins_as_intent".into(),
        with(
            case(
                "a pin set presented as an intent: the JWS typ separates the kinds",
                "intent",
                pins_jws,
                invalid(false, "wrong statement type"),
            ),
            "key",
            ed_key.clone(),
        ),
    );

    // A multi-round-trip call (MCP 2026-07-28): the first round's receipt is
    // `input-required`; the retry's intent signs the answers (`inputs`) and names the first
    // round's intent (`prev`).
    let mut first_round = receipt_for(&gw, &ijws);
    first_round.outcome = Outcome::InputRequired;
    first_round.response = Some(
        Digest::of_json_text(
            br#"{"resultType":"input_required","requestState":"st-1","inputRequests":{"confirm":{"method":"elicitation/create","params":{"message":"Overwrite?","requestedSchema":{"type":"object"}}}}}"#,
        )
        .unwrap(),
    );
    let first_round_jws = statement::sign(&gw, &first_round).unwrap();
    out.insert(
        "receipt_input_required".into(),
        with(
            case(
                "receipt of a round that ended with an input_required result (outcome input-required)",
                "receipt",
                first_round_jws,
                valid(json!({
                    "statement": serde_json::to_value(&first_round).unwrap(),
                    "payload": canonical_text(&first_round),
                    "intent_jws": ijws.clone(),
                })),
            ),
            "key",
            key_json(Algorithm::Ed25519, 2),
        ),
    );
    let answers = json!({"confirm": {"action": "accept", "content": {"overwrite": true}}});
    let retry = Intent {
        inputs: Some(statement::inputs_digest(Some(&answers), Some(&json!("st-1"))).unwrap()),
        prev: Some(statement::intent_digest(&ijws)),
        nonce: Nonce::from_random(*b"signet-vector-03"),
        rpc_id: Some(RpcId::from_json(&json!(8)).unwrap()),
        ..intent.clone()
    };
    let retry_jws = statement::sign(&ed, &retry).unwrap();
    out.insert(
        "intent_retry_round".into(),
        with(
            case(
                "intent of the retry round: `inputs` = digest of {\"inputResponses\": …, \"requestState\": \"st-1\"}, `prev` = sha256-bytes of intent_ed25519's JWS",
                "intent",
                retry_jws,
                valid(json!({
                    "statement": serde_json::to_value(&retry).unwrap(),
                    "payload": canonical_text(&retry),
                    "inputs_object": {"inputResponses": answers, "requestState": "st-1"},
                    "prev_jws": ijws.clone(),
                })),
            ),
            "key",
            ed_key.clone(),
        ),
    );

    // Envelopes.
    for alg in [Algorithm::Ed25519, Algorithm::MlDsa65] {
        let k = key(alg, 1);
        let (call, rpc_id) = sorted_call(CALL);
        let (env, _) = envelope::sign_tool_call(
            &k,
            call,
            CallContext {
                aud: Audience::new("filesystem-server").unwrap(),
                tool_def: None,
                rpc_id,
                session: None,
            },
            IAT,
            Nonce::from_random(*b"signet-vector-02"),
        )
        .unwrap();
        let text = serde_json::to_string(&env).unwrap();
        out.insert(
            format!("envelope_{}", alg.jose_name().to_lowercase()),
            with(
                case(
                    &format!("{{tool_call, signet}} envelope signed with {alg}; the envelope's signer is the full did:key"),
                    "envelope",
                    text,
                    valid(json!({})),
                ),
                "key",
                key_json(alg, 1),
            ),
        );
    }

    let ed_case = |desc: &str, kind: &str, input: String, expect: Value| {
        with(case(desc, kind, input, expect), "key", ed_key.clone())
    };
    let parts: Vec<String> = ijws.split('.').map(str::to_owned).collect();
    let payload = canonical_text(&intent);
    let ih = header(Algorithm::Ed25519, &kid, "signet-intent+jws");

    // Signature and structure failures.
    let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
    sig[10] ^= 0x01;
    out.insert(
        "fail_intent_bad_signature".into(),
        ed_case(
            "one bit of the signature flipped",
            "intent",
            format!("{}.{}.{}", parts[0], parts[1], b64(&sig)),
            invalid(false, "signature invalid"),
        ),
    );
    let mut p = payload.clone().into_bytes();
    let at = payload.find("write_file").unwrap();
    p[at] = b'W';
    out.insert(
        "fail_intent_payload_edited".into(),
        ed_case(
            "tool name in the payload changed after signing",
            "intent",
            format!("{}.{}.{}", parts[0], b64(&p), parts[2]),
            invalid(false, "signature invalid"),
        ),
    );
    out.insert(
        "fail_intent_truncated".into(),
        ed_case(
            "the last 10 characters of the JWS are missing",
            "intent",
            ijws[..ijws.len() - 10].to_owned(),
            invalid(true, "signature is"),
        ),
    );
    out.insert(
        "fail_intent_two_parts".into(),
        ed_case(
            "the signature part is missing",
            "intent",
            format!("{}.{}", parts[0], parts[1]),
            invalid(true, "expected 3 dot-separated parts"),
        ),
    );
    out.insert(
        "fail_intent_padded".into(),
        ed_case(
            "base64url padding added to the signature",
            "intent",
            format!("{ijws}="),
            invalid(true, "not valid unpadded base64url"),
        ),
    );
    out.insert(
        "fail_intent_as_receipt".into(),
        ed_case(
            "a valid intent offered where a receipt is expected",
            "receipt",
            ijws.clone(),
            invalid(false, "wrong statement type"),
        ),
    );
    out.insert(
        "fail_receipt_as_intent".into(),
        with(
            case(
                "a valid receipt offered where an intent is expected",
                "intent",
                rjws,
                invalid(false, "wrong statement type"),
            ),
            "key",
            key_json(Algorithm::Ed25519, 2),
        ),
    );
    out.insert(
        "fail_intent_wrong_key".into(),
        with(
            case(
                "a valid intent checked with another key",
                "intent",
                ijws.clone(),
                invalid(false, "wrong key"),
            ),
            "key",
            key_json(Algorithm::Ed25519, 3),
        ),
    );

    // Header failures (validly signed).
    let hdr_case = |name: &str, desc: &str, h: String, err: &str| {
        (
            name.to_owned(),
            ed_case(
                desc,
                "intent",
                raw_jws(&ed, &h, &payload),
                invalid(true, err),
            ),
        )
    };
    for (name, c) in [
        hdr_case(
            "fail_header_alg_none",
            "alg `none`",
            format!(r#"{{"alg":"none","kid":"{kid}","typ":"signet-intent+jws"}}"#),
            "unknown or unsupported algorithm `none`",
        ),
        hdr_case(
            "fail_header_alg_eddsa",
            "the polymorphic `EdDSA` name is not accepted; signet uses the fully-specified `Ed25519`",
            format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"signet-intent+jws"}}"#),
            "unknown or unsupported algorithm `EdDSA`",
        ),
        hdr_case(
            "fail_header_jwk",
            "a key embedded in the header is refused",
            format!(
                r#"{{"alg":"Ed25519","jwk":{{"crv":"Ed25519","kty":"OKP","x":"AA"}},"kid":"{kid}","typ":"signet-intent+jws"}}"#
            ),
            "header member `jwk` is not accepted",
        ),
        hdr_case(
            "fail_header_crit",
            "`crit` is refused",
            format!(
                r#"{{"alg":"Ed25519","crit":["b64"],"kid":"{kid}","typ":"signet-intent+jws"}}"#
            ),
            "header member `crit` is not accepted",
        ),
        hdr_case(
            "fail_header_not_canonical",
            "header members out of canonical order",
            format!(r#"{{"typ":"signet-intent+jws","alg":"Ed25519","kid":"{kid}"}}"#),
            "header is not in rfc 8785 canonical form",
        ),
        hdr_case(
            "fail_header_unknown_typ",
            "typ `JWT`",
            format!(r#"{{"alg":"Ed25519","kid":"{kid}","typ":"JWT"}}"#),
            "unknown statement type `JWT`",
        ),
    ] {
        out.insert(name, c);
    }

    // Payload failures (validly signed).
    let mut v = serde_json::to_value(&intent).unwrap();
    v["extra"] = json!("not covered by any spec");
    out.insert(
        "fail_payload_unknown_member".into(),
        ed_case(
            "an unknown member in a validly signed intent",
            "intent",
            raw_jws(
                &ed,
                &ih,
                &String::from_utf8(canon::to_canonical_vec(&v).unwrap()).unwrap(),
            ),
            invalid(true, "unknown field `extra`"),
        ),
    );
    let mut v = serde_json::to_value(&intent).unwrap();
    v.as_object_mut().unwrap().remove("session");
    v["session"] = Value::Null;
    out.insert(
        "fail_payload_null_optional".into(),
        ed_case(
            "an optional member present as null instead of absent",
            "intent",
            raw_jws(
                &ed,
                &ih,
                &String::from_utf8(canon::to_canonical_vec(&v).unwrap()).unwrap(),
            ),
            invalid(true, "not the canonical encoding"),
        ),
    );
    let pretty = serde_json::to_string_pretty(&intent).unwrap();
    out.insert(
        "fail_payload_not_canonical".into(),
        ed_case(
            "a validly signed payload with whitespace",
            "intent",
            raw_jws(&ed, &ih, &pretty),
            invalid(true, "payload is not in rfc 8785 canonical form"),
        ),
    );
    let mut v = serde_json::to_value(&intent).unwrap();
    v["type"] = json!("signet.intent.v2");
    out.insert(
        "fail_payload_unknown_version".into(),
        ed_case(
            "an unknown statement version",
            "intent",
            raw_jws(
                &ed,
                &ih,
                &String::from_utf8(canon::to_canonical_vec(&v).unwrap()).unwrap(),
            ),
            invalid(true, "signet.intent.v2"),
        ),
    );
    let mut i2 = intent.clone();
    i2.signer = kid_for(&gw.public_key());
    out.insert(
        "fail_payload_signer_mismatch".into(),
        ed_case(
            "the statement's signer is not the header kid",
            "intent",
            raw_jws(&ed, &ih, &canonical_text(&i2)),
            invalid(false, "does not match jws kid"),
        ),
    );

    // Composite: stripping and swapping.
    let ck = key(Algorithm::MlDsa65Ed25519, 1);
    let cjws = statement::sign(&ck, &intent_for(&ck)).unwrap();
    let cp: Vec<&str> = cjws.split('.').collect();
    let csig = URL_SAFE_NO_PAD.decode(cp[2]).unwrap();
    let (ml, edsig) = csig.split_at(3309);
    let ckey = key_json(Algorithm::MlDsa65Ed25519, 1);
    let ckid = kid_for(&ck.public_key());
    let comp = |desc: &str, input: String, err: &str| {
        with(
            case(desc, "intent", input, invalid(false, err)),
            "key",
            ckey.clone(),
        )
    };
    // Stripped to its ML-DSA half, relabelled as plain ML-DSA-65.
    let ml_only_header = header(Algorithm::MlDsa65, &ckid, "signet-intent+jws");
    out.insert(
        "fail_composite_stripped_to_mldsa".into(),
        comp(
            "composite signature stripped to its ML-DSA-65 half and relabelled `ML-DSA-65`",
            format!("{}.{}.{}", b64(ml_only_header.as_bytes()), cp[1], b64(ml)),
            "does not match jws alg",
        ),
    );
    let ed_only_header = header(Algorithm::Ed25519, &ckid, "signet-intent+jws");
    out.insert(
        "fail_composite_stripped_to_ed25519".into(),
        comp(
            "composite signature stripped to its Ed25519 half and relabelled `Ed25519`",
            format!(
                "{}.{}.{}",
                b64(ed_only_header.as_bytes()),
                cp[1],
                b64(edsig)
            ),
            "does not match jws alg",
        ),
    );
    let mut swapped = edsig.to_vec();
    swapped.extend_from_slice(ml);
    out.insert(
        "fail_composite_halves_swapped".into(),
        comp(
            "composite signature with its halves in the wrong order",
            format!("{}.{}.{}", cp[0], cp[1], b64(&swapped)),
            "signature invalid",
        ),
    );
    // Ed25519 half replaced by another key's valid signature over the same M'.
    let other = key(Algorithm::Ed25519, 9);
    let input = format!("{}.{}", cp[0], cp[1]);
    let other_ed = other.sign(&composite_message_representative(input.as_bytes()));
    let mut mixed = ml.to_vec();
    mixed.extend_from_slice(other_ed.as_bytes());
    out.insert(
        "fail_composite_ed25519_half_replaced".into(),
        comp(
            "composite whose Ed25519 half is another key's valid signature over the same message",
            format!("{input}.{}", b64(&mixed)),
            "Ed25519",
        ),
    );
    // A plain ML-DSA-65 signature over M (not M') in the composite slot with a valid Ed25519 half.
    let mk = key(Algorithm::MlDsa65, 1);
    let _ = mk; // the composite's own ML-DSA key signs the wrong message:
    let plain_ml = SigningKey::from_seed(
        Algorithm::MlDsa65,
        &seed(Algorithm::MlDsa65Ed25519, 1)[..32],
    )
    .unwrap()
    .sign(input.as_bytes());
    let mut wrong_msg = plain_ml.into_vec();
    wrong_msg.extend_from_slice(edsig);
    out.insert("fail_composite_mldsa_over_plain_message".into(), comp(
        "composite whose ML-DSA half is a plain ML-DSA-65 signature over the signing input instead of M'",
        format!("{input}.{}", b64(&wrong_msg)), "ML-DSA-65"));

    // Envelope failures.
    let (call, rpc_id) = sorted_call(CALL);
    let (env, _) = envelope::sign_tool_call(
        &ed,
        call,
        CallContext {
            aud: Audience::new("filesystem-server").unwrap(),
            tool_def: None,
            rpc_id,
            session: None,
        },
        IAT,
        Nonce::from_random(*b"signet-vector-02"),
    )
    .unwrap();
    let env_v = serde_json::to_value(&env).unwrap();
    let env_case = |name: &str, desc: &str, v: Value, err: &str, malformed: bool| {
        (
            name.to_owned(),
            ed_case(
                desc,
                "envelope",
                canon::sorted_members(v).to_string(),
                invalid(malformed, err),
            ),
        )
    };
    let mut a = env_v.clone();
    a["tool_call"]["arguments"]["path"] = json!("/etc/passwd");
    let mut t = env_v.clone();
    t["signet"]["timestamp"] = json!("2026-11-18T10:13:21Z");
    let mut n = env_v.clone();
    n["signet"]["nonce"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    let mut x = env_v.clone();
    x["signet"]["note"] = json!("extra");
    for (name, c) in [
        env_case(
            "fail_envelope_arguments_edited",
            "arguments changed after signing",
            a,
            "arguments digest",
            false,
        ),
        env_case(
            "fail_envelope_timestamp_edited",
            "readable timestamp differs from the signed iat",
            t,
            "timestamp",
            false,
        ),
        env_case(
            "fail_envelope_nonce_edited",
            "readable nonce differs from the signed nonce",
            n,
            "nonce",
            false,
        ),
        env_case(
            "fail_envelope_unknown_member",
            "unknown member in the signet block",
            x,
            "unknown field `note`",
            true,
        ),
    ] {
        out.insert(name, c);
    }

    // Canonical JSON (RFC 8785 + signet's strict rules).
    let canon_case =
        |desc: &str, input: &str, expect: Value| case(desc, "canon", input.to_owned(), expect);
    out.insert("canon_normalizes".into(), canon_case(
        "whitespace, member order, number spelling and escapes normalized per RFC 8785",
        "{ \"b\" : [1.0, 1E30, 4.50, -0, 0.000001], \"a\" : \"\\u00e9\\u20ac\\ud83d\\ude00\\n\" }",
        valid(json!({"output": "{\"a\":\"é€😀\\n\",\"b\":[1,1e+30,4.5,0,0.000001]}"}))));
    for (name, desc, input, err) in [
        (
            "fail_canon_duplicate_key",
            "duplicate member names",
            r#"{"a":1,"a":2}"#,
            "duplicate object key `a`",
        ),
        (
            "fail_canon_lone_surrogate",
            "an unpaired surrogate escape",
            r#"["\ud800"]"#,
            "lone utf-16 surrogate",
        ),
        (
            "fail_canon_unsafe_integer",
            "an integer beyond 2^53-1 would be silently rounded",
            "[9007199254740993]",
            "outside the safe range",
        ),
        (
            "fail_canon_integer_with_fraction",
            "an unsafe integer written with .0",
            "[9007199254740993.0]",
            "outside the safe range",
        ),
        (
            "fail_canon_non_finite",
            "a number that overflows binary64",
            "[1e400]",
            "not a finite binary64",
        ),
        (
            "fail_canon_trailing_data",
            "data after the value",
            "{} {}",
            "invalid json",
        ),
    ] {
        out.insert(name.into(), canon_case(desc, input, invalid(true, err)));
    }

    // did:key.
    let did_case = |desc: &str, input: String, expect: Value| case(desc, "did", input, expect);
    for alg in Algorithm::ALL {
        let kj = key_json(alg, 1);
        out.insert(
            format!("did_{}", alg.jose_name().to_lowercase()),
            did_case(&format!("did:key of the {alg} test key"), kj["did"].as_str().unwrap().to_owned(),
                valid(json!({"alg": alg.jose_name(), "public_key": kj["public_key"], "key_id": kj["key_id"]}))),
        );
    }
    let ed_did = ed_key["did"].as_str().unwrap().to_owned();
    for (name, desc, input, err) in [
        (
            "fail_did_method",
            "not did:key",
            ed_did.replace("did:key:", "did:web:"),
            "not a did:key",
        ),
        (
            "fail_did_fragment",
            "a DID URL with a fragment",
            format!("{ed_did}#key-1"),
            "must not have a path, query or fragment",
        ),
        (
            "fail_did_multibase",
            "base64 multibase instead of base58btc",
            ed_did.replace("did:key:z", "did:key:m"),
            "bad multibase",
        ),
        (
            "fail_did_truncated",
            "key one byte short",
            {
                let raw = bs58::decode(&ed_did["did:key:z".len()..])
                    .into_vec()
                    .unwrap();
                format!(
                    "did:key:z{}",
                    bs58::encode(&raw[..raw.len() - 1]).into_string()
                )
            },
            "invalid did:key public key",
        ),
        (
            "fail_did_overlong_varint",
            "multicodec varint not in its shortest form",
            {
                let raw = bs58::decode(&ed_did["did:key:z".len()..])
                    .into_vec()
                    .unwrap();
                let mut v = vec![0xed, 0x81, 0x00];
                v.extend_from_slice(&raw[2..]);
                format!("did:key:z{}", bs58::encode(v).into_string())
            },
            "bad multicodec varint",
        ),
    ] {
        out.insert(name.into(), did_case(desc, input, invalid(true, err)));
    }
    out
}

fn pk_of(case: &Value) -> PublicKey {
    let k = &case["key"];
    let alg = Algorithm::from_jose_name(k["alg"].as_str().unwrap()).unwrap();
    PublicKey::from_bytes(
        alg,
        &URL_SAFE_NO_PAD
            .decode(k["public_key"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// Check one case using only the file's data. Returns the error message on failure.
fn run_case(c: &Value) -> Result<Value, (String, bool)> {
    let input = c["input"].as_str().unwrap();
    let st = |e: statement::StatementError| {
        let m = e.is_malformed();
        (e.to_string(), m)
    };
    match c["kind"].as_str().unwrap() {
        "intent" => {
            let pk = pk_of(c);
            let v = statement::verify::<Intent>(input, Some(&pk)).map_err(st)?;
            // The key file's seed reproduces the key.
            Ok(serde_json::to_value(&v.statement).unwrap())
        }
        "receipt" => {
            let pk = pk_of(c);
            let v = statement::verify::<Receipt>(input, Some(&pk)).map_err(st)?;
            Ok(serde_json::to_value(&v.statement).unwrap())
        }
        "pins" => {
            let pk = pk_of(c);
            let v = statement::verify::<PinSet>(input, Some(&pk)).map_err(st)?;
            Ok(serde_json::to_value(&v.statement).unwrap())
        }
        "envelope" => {
            let env =
                envelope::parse_envelope(input.as_bytes()).map_err(|e| (e.to_string(), true))?;
            let v = envelope::verify_envelope(&env, Some(&pk_of(c))).map_err(|e| {
                let m = e.is_malformed();
                (e.to_string(), m)
            })?;
            Ok(serde_json::to_value(&v.statement).unwrap())
        }
        "canon" => canon::canonicalize(input.as_bytes())
            .map(|b| Value::String(String::from_utf8(b).unwrap()))
            .map_err(|e| (e.to_string(), true)),
        "did" => input
            .parse::<Did>()
            .map(|d| {
                json!({"alg": d.public_key().algorithm().jose_name(),
                "public_key": URL_SAFE_NO_PAD.encode(d.public_key().as_bytes()),
                "key_id": d.key_id().to_string()})
            })
            .map_err(|e| (e.to_string(), true)),
        other => Err((format!("unknown kind {other}"), true)),
    }
}

/// [`CALL`] parsed, its arguments in sorted member order ([`canon::sorted_members`]), so the
/// vectors' text does not depend on serde_json's `preserve_order`.
fn sorted_call(text: &str) -> (envelope::ToolCall, Option<RpcId>) {
    let (mut call, rpc_id) = envelope::parse_tool_call(text.as_bytes()).unwrap();
    call.arguments = call
        .arguments
        .and_then(|a| match canon::sorted_members(Value::Object(a)) {
            Value::Object(m) => Some(m),
            _ => None,
        });
    (call, rpc_id)
}

#[test]
fn check_vectors() {
    let mut n = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let c: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let expect = &c["expect"];
        assert_eq!(
            name.starts_with("fail_"),
            expect["valid"] == false,
            "{name}: fail_ prefix must match expect.valid"
        );
        // Keys in the vectors derive from their (test fixture) seeds.
        if let Some(k) = c.get("key") {
            let alg = Algorithm::from_jose_name(k["alg"].as_str().unwrap()).unwrap();
            let sk =
                SigningKey::from_seed(alg, &hex::decode(k["seed_hex"].as_str().unwrap()).unwrap())
                    .unwrap();
            assert_eq!(sk.public_key(), pk_of(&c), "{name}: seed/public key");
            assert_eq!(kid_for(&sk.public_key()), k["kid"], "{name}: kid");
        }
        match run_case(&c) {
            Ok(got) => {
                assert_eq!(
                    expect["valid"], true,
                    "{name}: verified but should fail: {got}"
                );
                if let Some(s) = expect.get("statement") {
                    assert_eq!(&got, s, "{name}: statement");
                }
                if let Some(o) = expect.get("output") {
                    assert_eq!(&got, o, "{name}: output");
                }
                if c["kind"] == "did" {
                    assert_eq!(&got["public_key"], &expect["public_key"], "{name}");
                }
                if let Some(p) = expect.get("payload") {
                    let jws = Jws::parse(c["input"].as_str().unwrap()).unwrap();
                    assert_eq!(
                        jws.payload(),
                        p.as_str().unwrap().as_bytes(),
                        "{name}: payload"
                    );
                }
                if let Some(ij) = expect.get("intent_jws") {
                    assert_eq!(
                        got["intent"],
                        statement::intent_digest(ij.as_str().unwrap()).to_string()
                    );
                }
                if let Some(o) = expect.get("inputs_object") {
                    assert_eq!(
                        got["inputs"],
                        statement::inputs_digest(o.get("inputResponses"), o.get("requestState"))
                            .unwrap()
                            .to_string(),
                        "{name}: inputs"
                    );
                }
                if let Some(d) = expect.get("definition") {
                    let name = d["name"].as_str().unwrap();
                    assert_eq!(
                        got["tools"][name],
                        Digest::of_json(d).unwrap().to_string(),
                        "{name}: pinned digest"
                    );
                }
                if let Some(pj) = expect.get("prev_jws") {
                    assert_eq!(
                        got["prev"],
                        statement::intent_digest(pj.as_str().unwrap()).to_string(),
                        "{name}: prev"
                    );
                }
            }
            Err((msg, malformed)) => {
                assert_eq!(expect["valid"], false, "{name}: should verify but: {msg}");
                assert_eq!(
                    expect["malformed"], malformed,
                    "{name}: malformed flag ({msg})"
                );
                let needle = expect["error"].as_str().unwrap();
                assert!(!needle.is_empty(), "{name}: empty error needle");
                assert!(msg.contains(needle), "{name}: `{msg}` lacks `{needle}`");
            }
        }
        n += 1;
    }
    assert!(n >= 40, "only {n} vectors found in {}", dir().display());
}

#[test]
fn vectors_are_reproducible() {
    let cases = generate();
    let regenerate = std::env::var_os("SIGNET_REGENERATE_VECTORS").is_some();
    if regenerate {
        std::fs::create_dir_all(dir()).unwrap();
        for f in std::fs::read_dir(dir()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "json") {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    for (name, c) in &cases {
        let text = format!(
            "{}\n",
            serde_json::to_string_pretty(&canon::sorted_members(c.clone())).unwrap()
        );
        let path = dir().join(format!("{name}.json"));
        if regenerate {
            std::fs::write(&path, &text).unwrap();
        } else {
            let committed = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| format!("missing {}: {e}", path.display()));
            assert_eq!(
                committed, text,
                "{name}.json differs from the generator; regenerate"
            );
        }
    }
    let on_disk = std::fs::read_dir(dir())
        .unwrap()
        .filter(|f| {
            f.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "json")
        })
        .count();
    assert_eq!(
        on_disk,
        cases.len(),
        "stray vector files in testdata/signet"
    );
    // Statement kinds are all exercised.
    for k in StatementKind::ALL {
        assert!(cases.values().any(|c| {
            c["kind"]
                == k.typ()
                    .trim_start_matches("signet-")
                    .trim_end_matches("+jws")
        }));
    }
}
