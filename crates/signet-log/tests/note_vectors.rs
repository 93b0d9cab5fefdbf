//! Tests of `signet_log::note` and `signet_log::checkpoint` against published vectors.
//!
//! - `testdata/note/go_sumdb_note.json`: the Go reference implementation's keys and notes
//!   (`golang.org/x/mod/sumdb/note`). Signing with the published private key must reproduce the
//!   published note byte for byte; every outcome of `TestOpen` is checked.
//! - `testdata/note/checkpoints.json`: key pairs and a real `sum.golang.org` checkpoint with
//!   witness cosignatures (`transparency-dev/formats`), checkpoint body parsing cases, and the
//!   C2SP specification examples.
//!
//! Provenance is in `testdata/note/README.md`.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use serde::Deserialize;
use signet_core::alg::{Algorithm, SigningKey};
use signet_log::checkpoint::{self, Checkpoint, CheckpointError};
use signet_log::merkle::{Hash, TreeSize};
use signet_log::note::{self, NoteError, NoteVerifier};

fn testdata(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/note")
        .join(name);
    std::fs::read(path).unwrap()
}

/// Parses a Go `note` signer key, `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`, into
/// its name, key ID and Ed25519 key. Test-only: signet's library does not handle private key
/// text.
fn go_signer_key(skey: &str) -> (String, u32, SigningKey) {
    let parts: Vec<&str> = skey.splitn(5, '+').collect();
    assert_eq!(&parts[..2], ["PRIVATE", "KEY"]);
    let raw = STANDARD.decode(parts[4]).unwrap();
    assert_eq!(raw[0], note::SIG_TYPE_ED25519);
    let key = SigningKey::from_seed(Algorithm::Ed25519, &raw[1..]).unwrap();
    (
        parts[2].to_owned(),
        u32::from_str_radix(parts[3], 16).unwrap(),
        key,
    )
}

/// The class of an `open_note` outcome, as named in the vector files.
fn outcome(result: &Result<note::VerifiedNote, NoteError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(NoteError::NoVerifiedSignature) => "no_verified_signature",
        Err(NoteError::InvalidSignature { .. }) => "invalid_signature",
        Err(NoteError::DuplicateSignature { .. }) => "duplicate_signature",
        Err(NoteError::DuplicateVerifier { .. }) => "duplicate_verifier",
        Err(
            NoteError::TooLarge { .. }
            | NoteError::InvalidUtf8
            | NoteError::ControlCharacter { .. }
            | NoteError::NoSignatureBlock
            | NoteError::MalformedSignatureLine { .. }
            | NoteError::TooManySignatures { .. },
        ) => "malformed",
        Err(_) => "unexpected",
    }
}

// ---------------------------------------------------------------------------------------------
// golang.org/x/mod/sumdb/note

#[derive(Deserialize)]
struct GoVectors {
    keys: BTreeMap<String, GoKey>,
    sign: GoSign,
    bad_vkeys: Vec<BadVkey>,
    open: Vec<OpenCase>,
}

#[derive(Deserialize)]
struct GoKey {
    vkey: String,
    #[serde(default)]
    skey: Option<String>,
}

#[derive(Deserialize)]
struct GoSign {
    key: String,
    text: String,
    signed: String,
}

#[derive(Deserialize)]
struct BadVkey {
    desc: String,
    vkey: String,
}

#[derive(Deserialize)]
struct OpenCase {
    desc: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    note_hex: Option<String>,
    verifiers: Vec<String>,
    result: String,
    #[serde(default)]
    verified: Vec<String>,
    #[serde(default)]
    unverified: Vec<String>,
}

fn go_vectors() -> GoVectors {
    serde_json::from_slice(&testdata("go_sumdb_note.json")).unwrap()
}

#[test]
fn go_verifier_keys_parse_and_print_back() {
    let v = go_vectors();
    for (name, key) in &v.keys {
        let parsed: NoteVerifier = key.vkey.parse().unwrap();
        assert_eq!(parsed.name(), name);
        assert_eq!(parsed.to_string(), key.vkey);
        if let Some(skey) = &key.skey {
            let (skey_name, id, signing) = go_signer_key(skey);
            assert_eq!(&skey_name, name);
            let derived = NoteVerifier::from_signing_key(name, &signing).unwrap();
            assert_eq!(derived, parsed);
            assert_eq!(derived.key_id(), id);
        }
    }
}

#[test]
fn go_mangled_verifier_keys_are_rejected() {
    let v = go_vectors();
    for bad in &v.bad_vkeys {
        assert!(bad.vkey.parse::<NoteVerifier>().is_err(), "{}", bad.desc);
    }
    // Upstream's systematic manglings: every proper substring, every byte incremented.
    let vkey = v.keys["PeterNeumann"].vkey.as_bytes();
    for i in 0..=vkey.len() {
        for j in i + 1..=vkey.len() {
            if (i, j) == (0, vkey.len()) {
                continue;
            }
            if let Ok(s) = std::str::from_utf8(&vkey[i..j]) {
                assert!(s.parse::<NoteVerifier>().is_err(), "accepted {s:?}");
            }
        }
    }
    for i in 0..vkey.len() {
        let mut b = vkey.to_vec();
        b[i] = b[i].wrapping_add(1);
        if let Ok(s) = std::str::from_utf8(&b) {
            assert!(s.parse::<NoteVerifier>().is_err(), "accepted {s:?}");
        }
    }
}

#[test]
fn go_signature_is_reproduced_byte_for_byte() {
    let v = go_vectors();
    let skey = v.keys[&v.sign.key].skey.as_deref().unwrap();
    let (name, _, key) = go_signer_key(skey);
    assert_eq!(
        note::sign_note(&v.sign.text, &name, &key).unwrap(),
        v.sign.signed
    );
    let verifier: NoteVerifier = v.keys[&v.sign.key].vkey.parse().unwrap();
    let opened = note::open_note(&v.sign.signed, &[verifier]).unwrap();
    assert_eq!(opened.body(), v.sign.text);
    // Go's `Sign` rejects text without a final newline.
    assert_eq!(
        note::sign_note("abc", &name, &key),
        Err(NoteError::MissingFinalNewline)
    );
    assert!(matches!(
        note::sign_note(&v.sign.text, "a+b", &key),
        Err(NoteError::InvalidKeyName(_))
    ));
}

#[test]
fn go_open_cases() {
    let v = go_vectors();
    let verifiers: BTreeMap<&str, NoteVerifier> = v
        .keys
        .iter()
        .map(|(name, k)| (name.as_str(), k.vkey.parse().unwrap()))
        .collect();
    for case in &v.open {
        let list: Vec<NoteVerifier> = case
            .verifiers
            .iter()
            .map(|n| verifiers[n.as_str()].clone())
            .collect();
        let result = match &case.note {
            Some(text) => note::open_note(text, &list),
            None => note::open_note_bytes(
                &hex::decode(case.note_hex.as_ref().unwrap()).unwrap(),
                &list,
            ),
        };
        assert_eq!(outcome(&result), case.result, "{}: {result:?}", case.desc);
        if let Ok(opened) = result {
            let names = |sigs: &[note::NoteSignature]| {
                sigs.iter().map(|s| s.name.clone()).collect::<Vec<_>>()
            };
            assert_eq!(
                names(opened.verified_signatures()),
                case.verified,
                "{}",
                case.desc
            );
            assert_eq!(
                names(opened.unverified_signatures()),
                case.unverified,
                "{}",
                case.desc
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// transparency-dev/formats and C2SP

#[derive(Deserialize)]
struct CheckpointVectors {
    key_pairs: Vec<KeyPair>,
    sumdb_checkpoint: SumDb,
    checkpoint_bodies: Vec<BodyCase>,
    c2sp_signed_note_example: C2spNote,
    c2sp_checkpoint_example: C2spCheckpoint,
}

#[derive(Deserialize)]
struct KeyPair {
    name: String,
    vkey: String,
    skey: String,
}

#[derive(Deserialize)]
struct SumDb {
    vkey: String,
    note: String,
    origin: String,
    size: u64,
    root_base64: String,
    cosigner_vkeys: Vec<String>,
    cosigned_note: String,
    cosigned_verified: Vec<String>,
    cosigned_unverified: Vec<String>,
}

#[derive(Deserialize)]
struct BodyCase {
    desc: String,
    body: String,
    result: String,
}

#[derive(Deserialize)]
struct C2spNote {
    note: String,
    body: String,
    signer: String,
}

#[derive(Deserialize)]
struct C2spCheckpoint {
    note: String,
    origin: String,
    size: u64,
    root_base64: String,
}

fn checkpoint_vectors() -> CheckpointVectors {
    serde_json::from_slice(&testdata("checkpoints.json")).unwrap()
}

#[test]
fn formats_key_pairs_derive_their_verifier_keys() {
    for pair in checkpoint_vectors().key_pairs {
        let (name, id, key) = go_signer_key(&pair.skey);
        assert_eq!(name, pair.name);
        let derived = NoteVerifier::from_signing_key(&name, &key).unwrap();
        assert_eq!(derived.to_string(), pair.vkey);
        assert_eq!(derived.key_id(), id);
        // Sign a checkpoint with each and open it.
        let cp = Checkpoint::new(
            &name,
            TreeSize(42),
            signet_log::merkle::leaf_hash(b"abcdef"),
        );
        let signed = checkpoint::sign_checkpoint(&cp, &name, &key).unwrap();
        assert_eq!(checkpoint::open_checkpoint(&signed, &derived).unwrap(), cp);
    }
}

#[test]
fn sumdb_checkpoint_opens_with_the_production_key() {
    let v = checkpoint_vectors().sumdb_checkpoint;
    let key: NoteVerifier = v.vkey.parse().unwrap();
    let cp = checkpoint::open_checkpoint(&v.note, &key).unwrap();
    assert_eq!(cp.origin, v.origin);
    assert_eq!(cp.size, TreeSize(v.size));
    assert_eq!(cp.root, Hash::from_base64(&v.root_base64).unwrap());
    assert!(cp.extensions.is_empty());
    assert_eq!(
        cp.to_body().unwrap(),
        v.note.split_once("\n\n").unwrap().0.to_owned() + "\n"
    );
    assert_eq!(
        checkpoint::open_checkpoint_for_origin(&v.note, &v.origin, &key).unwrap(),
        cp
    );
    assert!(matches!(
        checkpoint::open_checkpoint_for_origin(
            &v.note,
            "Go rocks but I might have the wrong ID",
            &key
        ),
        Err(CheckpointError::OriginMismatch { .. })
    ));
    // Any change to the signed body breaks the signature.
    let tampered = v.note.replacen("6476701", "6476702", 1);
    assert!(matches!(
        checkpoint::open_checkpoint(&tampered, &key),
        Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
    ));

    // With witness cosignatures: every known key verifies, unknown lines are kept aside.
    let mut verifiers = vec![key.clone()];
    verifiers.extend(
        v.cosigner_vkeys
            .iter()
            .map(|k| k.parse::<NoteVerifier>().unwrap()),
    );
    let opened = note::open_note(&v.cosigned_note, &verifiers).unwrap();
    let names =
        |sigs: &[note::NoteSignature]| sigs.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(opened.verified_signatures()), v.cosigned_verified);
    assert_eq!(names(opened.unverified_signatures()), v.cosigned_unverified);
    assert_eq!(
        checkpoint::open_checkpoint(&v.cosigned_note, &key).unwrap(),
        cp
    );
    // A cosigner's key opens only the notes it cosigned.
    let witness_only: NoteVerifier = v.cosigner_vkeys[0].parse().unwrap();
    assert!(checkpoint::open_checkpoint(&v.cosigned_note, &witness_only).is_ok());
    assert!(matches!(
        checkpoint::open_checkpoint(&v.note, &witness_only),
        Err(CheckpointError::Note(NoteError::NoVerifiedSignature))
    ));
}

#[test]
fn checkpoint_body_cases() {
    for case in checkpoint_vectors().checkpoint_bodies {
        let got = match Checkpoint::parse_body(&case.body) {
            Ok(_) => "ok",
            Err(CheckpointError::BadRootHash(_)) => "bad_root_hash",
            Err(CheckpointError::TooFewLines { .. }) => "too_few_lines",
            Err(CheckpointError::EmptyOrigin) => "empty_origin",
            Err(CheckpointError::MissingFinalNewline) => "missing_final_newline",
            Err(CheckpointError::BadSize(_)) => "bad_size",
            Err(CheckpointError::EmptyExtensionLine { .. }) => "empty_extension_line",
            Err(_) => "unexpected",
        };
        assert_eq!(
            got,
            case.result,
            "{}: {:?}",
            case.desc,
            Checkpoint::parse_body(&case.body)
        );
    }
}

#[test]
fn checkpoint_bodies_are_strict() {
    let root = signet_log::merkle::empty_root().to_base64();
    let ok = |body: &str| Checkpoint::parse_body(body);
    assert_eq!(ok(&format!("o\n0\n{root}\n")).unwrap().size, TreeSize(0));
    assert_eq!(
        ok(&format!("o\n18446744073709551615\n{root}\n"))
            .unwrap()
            .size,
        TreeSize(u64::MAX)
    );
    for size in [
        "00",
        "01",
        "+1",
        "-0",
        " 1",
        "1 ",
        "18446744073709551616",
        "",
        "1e3",
        "٣",
    ] {
        assert!(
            matches!(
                ok(&format!("o\n{size}\n{root}\n")),
                Err(CheckpointError::BadSize(_))
            ),
            "size {size:?}"
        );
    }
    let padded = format!("{root}=");
    let url_safe = root.replace('+', "-");
    for bad_root in [
        root.trim_end_matches('='),
        "",
        padded.as_str(),
        url_safe.as_str(),
    ] {
        if bad_root != root {
            assert!(
                ok(&format!("o\n1\n{bad_root}\n")).is_err(),
                "root {bad_root:?}"
            );
        }
    }
    assert!(matches!(
        ok(&format!("o\n1\n{root}\next\n\n")),
        Err(CheckpointError::EmptyExtensionLine { line: 5 })
    ));
    assert!(matches!(
        ok(&format!("o\r\n1\n{root}\n")),
        Err(CheckpointError::ControlCharacter { .. })
    ));
    let cp = ok(&format!("o\n1\n{root}\nfirst\nsecond\n")).unwrap();
    assert_eq!(cp.extensions, ["first", "second"]);
}

#[test]
fn c2sp_signed_note_example_is_well_formed_but_unknown() {
    let v = checkpoint_vectors().c2sp_signed_note_example;
    // The text contains a blank line; the signature block starts after the last one.
    assert_eq!(
        v.note.rfind("\n\n").map(|i| &v.note[..=i]),
        Some(v.body.as_str())
    );
    let other = NoteVerifier::from_signing_key(
        &v.signer,
        &SigningKey::from_seed(Algorithm::Ed25519, &[9; 32]).unwrap(),
    )
    .unwrap();
    assert_eq!(
        note::open_note(&v.note, &[]),
        Err(NoteError::NoVerifiedSignature)
    );
    // Same name, different key (so a different key ID): ignored, not an invalid signature.
    assert_eq!(
        note::open_note(&v.note, &[other]),
        Err(NoteError::NoVerifiedSignature)
    );
    // Signing the same body with our key and opening it keeps the blank line in the text.
    let key = SigningKey::from_seed(Algorithm::Ed25519, &[3; 32]).unwrap();
    let ours = note::sign_note(&v.body, &v.signer, &key).unwrap();
    let verifier = NoteVerifier::from_signing_key(&v.signer, &key).unwrap();
    assert_eq!(note::open_note(&ours, &[verifier]).unwrap().body(), v.body);
}

#[test]
fn c2sp_checkpoint_example() {
    let vectors = checkpoint_vectors();
    let v = vectors.c2sp_checkpoint_example;
    let (body, _) = v.note.rsplit_once("\n\n").unwrap();
    let cp = Checkpoint::parse_body(&format!("{body}\n")).unwrap();
    assert_eq!(cp.origin, v.origin);
    assert_eq!(cp.size, TreeSize(v.size));
    assert_eq!(cp.root.to_base64(), v.root_base64);
    // Its key ID equals sum.golang.org's, but the name differs: the line must be ignored.
    let sumdb: NoteVerifier = vectors.sumdb_checkpoint.vkey.parse().unwrap();
    let line = v.note.rsplit_once("\n\n").unwrap().1;
    let raw = STANDARD
        .decode(line.trim_end().rsplit_once(' ').unwrap().1)
        .unwrap();
    assert_eq!(
        u32::from_be_bytes(raw[..4].try_into().unwrap()),
        sumdb.key_id()
    );
    assert!(matches!(
        checkpoint::open_checkpoint(&v.note, &sumdb),
        Err(CheckpointError::Note(NoteError::NoVerifiedSignature))
    ));
}

// ---------------------------------------------------------------------------------------------
// Own properties.

#[test]
fn open_fails_closed() {
    let key = SigningKey::from_seed(Algorithm::Ed25519, &[1; 32]).unwrap();
    let v = NoteVerifier::from_signing_key("example.com/log", &key).unwrap();
    let signed = note::sign_note("body\n", "example.com/log", &key).unwrap();
    let list = std::slice::from_ref(&v);
    assert!(note::open_note(&signed, list).is_ok());
    // Trailing blank line, missing final newline, garbage line, control character.
    for bad in [
        format!("{signed}\n"),
        signed.trim_end().to_owned(),
        format!("{signed}garbage\n"),
        signed.replacen("body", "bo\u{7}dy", 1),
        signed.replacen('\u{2014}', "-", 1),
    ] {
        assert_eq!(
            outcome(&note::open_note(&bad, list)),
            "malformed",
            "{bad:?}"
        );
    }
    // Duplicate signature line by the known key.
    let twice = format!("{signed}{}", signed.rsplit_once("\n\n").unwrap().1);
    assert!(matches!(
        note::open_note(&twice, list),
        Err(NoteError::DuplicateSignature { .. })
    ));
    // Too large.
    let huge = format!("{}\n", "a".repeat(note::MAX_NOTE_LEN));
    assert!(matches!(
        note::sign_note(&huge, "n", &key),
        Err(NoteError::TooLarge { .. })
    ));
    // Non-Ed25519 signing keys.
    let ml = SigningKey::from_seed(Algorithm::MlDsa65, &[1; 32]).unwrap();
    assert!(matches!(
        checkpoint::sign_checkpoint(
            &Checkpoint::new("o", TreeSize(0), signet_log::merkle::empty_root()),
            "o",
            &ml
        ),
        Err(CheckpointError::Note(NoteError::UnsupportedAlgorithm(
            Algorithm::MlDsa65
        )))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sign_open_round_trip(
        origin in "[a-z0-9./-]{1,40}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in prop::collection::vec("[ -~]{1,30}", 0..3),
        seed in any::<[u8; 32]>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let key = SigningKey::from_seed(Algorithm::Ed25519, &seed).unwrap();
        let cp = Checkpoint { origin: origin.clone(), size: TreeSize(size), root: Hash::from_bytes(root), extensions };
        let signed = checkpoint::sign_checkpoint(&cp, &origin, &key).unwrap();
        let verifier = NoteVerifier::from_signing_key(&origin, &key).unwrap();
        prop_assert_eq!(checkpoint::open_checkpoint(&signed, &verifier).unwrap(), cp.clone());
        prop_assert_eq!(verifier.to_string().parse::<NoteVerifier>().unwrap(), verifier.clone());
        // Changing any byte of the body (to another printable ASCII byte) never opens.
        let body_len = cp.to_body().unwrap().len();
        let mut bytes = signed.clone().into_bytes();
        let i = flip.index(body_len);
        if bytes[i] != b'\n' {
            bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(checkpoint::open_checkpoint(&changed, &verifier).is_err());
        }
    }
}
