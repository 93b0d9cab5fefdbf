//! `Entry::check_cached`, and `Entry::check_queued` with `KeyCache::finish` (what
//! whole-log verification uses), give exactly the result of `Entry::check` (signet-core's
//! `statement::verify_parsed`), reasons included, for valid entries and for
//! signatures `verify_strict` refuses: a flipped bit, a non-canonical `s` (`s + ℓ`, which
//! the plain Ed25519 equation accepts), a small-order `R`, a statement of the wrong kind,
//! entry keys that do not name the signer, and a bad signature on an entry that is also
//! wrong in another way (the signature's reason wins). Each case runs with a cold and a warm
//! key cache, and queued among many others.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use signet_core::did::Did;
use signet_log::entry::{Entry, IntentEntry, KeyCache, ReceiptEntry};
use support::{call, key};

/// ℓ, the order of the Ed25519 base point, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `jws` with its 64-byte signature replaced by `f(signature)`.
fn with_signature(jws: &str, f: impl Fn(&mut [u8; 64])) -> String {
    let (input, sig) = jws.rsplit_once('.').unwrap();
    let mut sig: [u8; 64] = URL_SAFE_NO_PAD.decode(sig).unwrap().try_into().unwrap();
    f(&mut sig);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn intent_jws(e: &Entry) -> (&str, Option<&serde_json::Value>) {
    let Entry::Intent(i) = e else { unreachable!() };
    (&i.jws, i.arguments.as_ref())
}

fn intent(jws: String, key: Option<String>, arguments: Option<&serde_json::Value>) -> Entry {
    Entry::Intent(IntentEntry {
        jws,
        key,
        arguments: arguments.cloned(),
    })
}

fn cases() -> Vec<(&'static str, Entry, bool)> {
    let (agent, gateway) = (key(1), key(2));
    let [i, r] = call(&agent, &gateway, 7, 1);
    let (jws, args) = intent_jws(&i);
    let agent_did = Did::from_public_key(&agent.public_key())
        .as_str()
        .to_owned();
    let other_did = Did::from_public_key(&key(9).public_key())
        .as_str()
        .to_owned();
    let Entry::Receipt(receipt) = &r else {
        unreachable!()
    };
    vec![
        ("valid intent", i.clone(), true),
        ("valid receipt", r.clone(), true),
        (
            "valid intent, entry key names the signer",
            intent(jws.to_owned(), Some(agent_did), args),
            true,
        ),
        (
            "flipped signature bit",
            intent(with_signature(jws, |s| s[40] ^= 1), None, args),
            false,
        ),
        (
            "non-canonical s (s + ℓ)",
            intent(
                with_signature(jws, |s| {
                    let mut carry = 0u16;
                    for (b, l) in s[32..].iter_mut().zip(ELL) {
                        let v = u16::from(*b) + u16::from(l) + carry;
                        *b = v.to_le_bytes()[0];
                        carry = v >> 8;
                    }
                }),
                None,
                args,
            ),
            false,
        ),
        (
            "small-order R (the identity)",
            intent(
                with_signature(jws, |s| {
                    s[..32].fill(0);
                    s[0] = 1;
                }),
                None,
                args,
            ),
            false,
        ),
        (
            "flipped signature bit and other arguments",
            intent(
                with_signature(jws, |s| s[3] ^= 0x10),
                None,
                Some(&serde_json::json!({"path": "/somewhere/else"})),
            ),
            false,
        ),
        (
            "other arguments, valid signature",
            intent(
                jws.to_owned(),
                None,
                Some(&serde_json::json!({"path": "/somewhere/else"})),
            ),
            false,
        ),
        (
            "intent jws in a receipt entry",
            Entry::Receipt(ReceiptEntry {
                jws: jws.to_owned(),
                key: None,
                remote: false,
            }),
            false,
        ),
        (
            "receipt jws in an intent entry",
            intent(receipt.jws.clone(), None, None),
            false,
        ),
        (
            "entry key names another signer",
            intent(jws.to_owned(), Some(other_did), args),
            false,
        ),
        (
            "entry key is not a did:key",
            intent(jws.to_owned(), Some("did:key:nope".into()), args),
            false,
        ),
    ]
}

fn outcome(r: Result<signet_log::entry::Summary, signet_log::entry::EntryError>) -> String {
    match r {
        Ok(s) => format!("ok {s:?}"),
        Err(e) => format!("error {e}"),
    }
}

#[test]
fn cached_check_matches_core_check() {
    let mut warm = KeyCache::new();
    // Warm the cache with the valid entries first, then run every case twice.
    for _ in 0..2 {
        for (what, entry, valid) in cases() {
            let core = outcome(entry.check());
            assert_eq!(core.starts_with("ok"), valid, "{what}: {core}");
            assert_eq!(
                outcome(entry.check_cached(&mut KeyCache::new())),
                core,
                "{what} (cold cache)"
            );
            assert_eq!(
                outcome(entry.check_cached(&mut warm)),
                core,
                "{what} (warm cache)"
            );
        }
    }
}

/// The queued check's outcome once the queue is answered, as `verify_log` resolves it.
fn queued_outcomes(entries: &[Entry], cache: &mut KeyCache) -> Vec<String> {
    let queued: Vec<_> = entries.iter().map(|e| e.check_queued(cache)).collect();
    let answers = cache.finish();
    queued
        .into_iter()
        .map(|(result, ticket)| match ticket {
            Some(t) if !answers[t] => format!("error {}", signet_log::entry::signature_refused()),
            _ => outcome(result),
        })
        .collect()
}

#[test]
fn queued_check_matches_core_check() {
    let cases = cases();
    let core: Vec<String> = cases.iter().map(|(_, e, _)| outcome(e.check())).collect();
    // Each case alone, with a fresh queue.
    for ((what, entry, _), want) in cases.iter().zip(&core) {
        let got = queued_outcomes(std::slice::from_ref(entry), &mut KeyCache::new());
        assert_eq!(&got[0], want, "{what} (alone)");
    }
    // All of them interleaved, many times over (so signers get precomputed tables), in one
    // cache kept across queues.
    let mut cache = KeyCache::new();
    for _ in 0..3 {
        let many: Vec<Entry> = (0..150)
            .flat_map(|_| cases.iter().map(|(_, e, _)| e.clone()))
            .collect();
        let got = queued_outcomes(&many, &mut cache);
        for (i, g) in got.iter().enumerate() {
            let c = i % cases.len();
            assert_eq!(g, &core[c], "{} (queued, position {i})", cases[c].0);
        }
    }
    assert!(core.iter().filter(|c| c.starts_with("ok")).count() >= 3);
}
