//! Sign and verify a typical ~1 KB tool call, for each algorithm, next to the raw signature
//! primitive over the same bytes. Results and the ratios the issue asks for are in
//! `docs/benchmarks.md`; run with
//!
//! ```text
//! cargo bench -p signet-core --bench sign_verify
//! ```
//!
//! Groups (each `<alg>` is the JOSE name: `Ed25519`, `ML-DSA-65`, `ML-DSA-65-Ed25519`):
//!
//! - `raw_sign/<alg>`, `raw_verify/<alg>`: [`SigningKey::sign`] / [`PublicKey::verify`] over
//!   the call's JSON text itself (the baseline).
//! - `intent_sign/<alg>`: call text → signed envelope: [`envelope::parse_tool_call`] (strict
//!   parse) + [`envelope::sign_tool_call`] (argument digest, intent, canonical payload, JWS,
//!   signature, envelope), with a fixed `iat` and nonce.
//! - `intent_verify/<alg>`: envelope text → verified intent: [`envelope::parse_envelope`] +
//!   [`envelope::verify_envelope`] (the key is taken from the envelope's `did:key`).
//! - `intent_sign_jws/<alg>`, `intent_verify_jws/<alg>`: the bare intent statement,
//!   [`statement::sign`] and [`statement::verify`] (given the public key).
//! - `canon/1kb`, `digest/1kb`: canonicalizing the call, and digesting its arguments, to show
//!   where the time goes.
//! - Parts of the paths above, to show where the time goes: `parse_call/1kb`
//!   ([`envelope::parse_tool_call`]), `parse_envelope/<alg>` ([`envelope::parse_envelope`] of
//!   the signed envelope), `did_parse/<alg>` (the envelope's `did:key` to a validated key),
//!   `did_encode/<alg>` (a key to its `did:key`, the first time: a key caches the text).

#![expect(
    clippy::expect_used,
    reason = "benchmark setup fails loudly on a broken fixture"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use signet_core::alg::{Algorithm, PublicKey, SigningKey};
use signet_core::canon;
use signet_core::did::{Did, kid_for};
use signet_core::digest::Digest;
use signet_core::envelope::{self, CallContext};
use signet_core::replay::UnixTime;
use signet_core::statement::{self, Audience, Intent, Nonce};

/// A typical tool call: `write_file` with a path and ~900 bytes of content (a small Python
/// module). 1061 bytes as written; its `arguments` object is 1027 bytes in canonical form.
const CALL: &str = r#"{"name":"write_file","arguments":{"path":"/home/agent/projects/demo/src/report.py","content":"import csv\nimport datetime as dt\nfrom pathlib import Path\n\nDATA = Path(\"data/usage.csv\")\nOUT = Path(\"reports\")\n\n\ndef load_rows(path: Path) -> list[dict[str, str]]:\n    with path.open(newline=\"\", encoding=\"utf-8\") as f:\n        return list(csv.DictReader(f))\n\n\ndef summarize(rows: list[dict[str, str]]) -> dict[str, float]:\n    totals: dict[str, float] = {}\n    for row in rows:\n        user = row[\"user\"].strip().lower()\n        totals[user] = totals.get(user, 0.0) + float(row[\"minutes\"])\n    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))\n\n\ndef main() -> None:\n    OUT.mkdir(exist_ok=True)\n    week = dt.date.today().isocalendar().week\n    summary = summarize(load_rows(DATA))\n    target = OUT / f\"usage-week-{week:02d}.txt\"\n    lines = [f\"{u:<24}{m:>10.1f}\" for u, m in summary.items()]\n    target.write_text(\"\\n\".join(lines) + \"\\n\")\n\n\nif __name__ == \"__main__\":\n    main()\n","create_dirs":true}}"#;

/// The fixture's `arguments` object as it appears in [`CALL`] (not canonical: `path` first).
fn arguments_text() -> &'static str {
    let start = CALL.find(r#"{"path""#).expect("arguments in fixture");
    CALL.get(start..CALL.len().saturating_sub(1))
        .expect("arguments slice")
}

const IAT: UnixTime = UnixTime(1_774_870_645);
const NONCE: [u8; 16] = [7; 16];
const AUD: &str = "stdio:npx -y @modelcontextprotocol/server-filesystem /home/agent/projects";

fn key(alg: Algorithm) -> SigningKey {
    let seed: Vec<u8> = (0..alg.seed_len())
        .map(|i| u8::try_from(i % 251).expect("small"))
        .collect();
    SigningKey::from_seed(alg, &seed).expect("seed")
}

fn ctx() -> CallContext {
    CallContext {
        aud: Audience::new(AUD).expect("aud"),
        tool_def: None,
        rpc_id: None,
        session: None,
    }
}

/// The whole signing path: call text to signed envelope.
fn sign_call(k: &SigningKey, text: &[u8]) -> envelope::Envelope {
    let (call, _rpc_id) = envelope::parse_tool_call(text).expect("parse call");
    let (env, _intent) =
        envelope::sign_tool_call(k, call, ctx(), IAT, Nonce::from_random(NONCE)).expect("sign");
    env
}

/// The whole verify path: envelope text to verified intent.
fn verify_envelope_text(text: &[u8]) -> statement::Verified<Intent> {
    let env = envelope::parse_envelope(text).expect("parse envelope");
    envelope::verify_envelope(&env, None).expect("verify envelope")
}

fn benches(c: &mut Criterion) {
    let call = CALL.as_bytes();
    assert!((1000..=1100).contains(&call.len()), "fixture is ~1 KB");

    c.bench_function("canon/1kb", |b| {
        b.iter(|| canon::canonicalize(black_box(call)).expect("canonical"));
    });
    let args = arguments_text().as_bytes();
    c.bench_function("digest/1kb", |b| {
        b.iter(|| Digest::of_json_text(black_box(args)).expect("digest"));
    });

    c.bench_function("parse_call/1kb", |b| {
        b.iter(|| envelope::parse_tool_call(black_box(call)).expect("parse call"));
    });

    for alg in Algorithm::ALL {
        let name = alg.jose_name();
        let k = key(alg);
        let pk: PublicKey = k.public_key();

        // Setup, checked once: every path below really succeeds.
        let raw_sig = k.sign(call);
        pk.verify(call, raw_sig.as_bytes()).expect("raw verify");
        let env = sign_call(&k, call);
        let env_text = serde_json::to_string_pretty(&env).expect("envelope json");
        let verified = verify_envelope_text(env_text.as_bytes());
        assert_eq!(verified.key, pk);
        let jws = env.signet.request_signature.clone();
        let intent = verified.statement;
        assert_eq!(intent.signer, kid_for(&pk));
        assert_eq!(
            statement::sign(&k, &intent).expect("statement sign"),
            jws,
            "deterministic signatures"
        );

        c.bench_function(&format!("raw_sign/{name}"), |b| {
            b.iter(|| k.sign(black_box(call)));
        });
        c.bench_function(&format!("raw_verify/{name}"), |b| {
            b.iter(|| pk.verify(black_box(call), black_box(raw_sig.as_bytes())));
        });
        c.bench_function(&format!("intent_sign/{name}"), |b| {
            b.iter(|| sign_call(&k, black_box(call)));
        });
        c.bench_function(&format!("intent_verify/{name}"), |b| {
            b.iter(|| verify_envelope_text(black_box(env_text.as_bytes())));
        });
        c.bench_function(&format!("parse_envelope/{name}"), |b| {
            b.iter(|| envelope::parse_envelope(black_box(env_text.as_bytes())).expect("parse"));
        });
        let did_text = env.signet.signer.clone();
        c.bench_function(&format!("did_parse/{name}"), |b| {
            b.iter(|| black_box(did_text.as_str()).parse::<Did>().expect("did"));
        });
        // A fresh key each time (made outside the measurement): a key caches its DID text.
        c.bench_function(&format!("did_encode/{name}"), |b| {
            b.iter_batched(
                || PublicKey::from_bytes(alg, pk.as_bytes()).expect("key"),
                |fresh| Did::from_public_key(&fresh),
                BatchSize::SmallInput,
            );
        });
        c.bench_function(&format!("intent_sign_jws/{name}"), |b| {
            b.iter(|| statement::sign(&k, black_box(&intent)).expect("sign"));
        });
        c.bench_function(&format!("intent_verify_jws/{name}"), |b| {
            b.iter(|| statement::verify::<Intent>(black_box(&jws), Some(&pk)).expect("verify"));
        });
    }
}

fn config() -> Criterion {
    // Two shared cores: longer measurements and more samples keep the medians stable.
    Criterion::default()
        .sample_size(200)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6))
        .noise_threshold(0.03)
}

criterion_group! {
    name = sign_verify;
    config = config();
    targets = benches
}
criterion_main!(sign_verify);
