//! Shared test fixtures: realistic signed entries from TEST FIXTURE keys.

#![allow(dead_code, reason = "each test binary uses a different part")]

use serde_json::json;
use signet_core::alg::{Algorithm, SigningKey};
use signet_core::did::kid_for;
use signet_core::digest::Digest;
use signet_core::replay::UnixTime;
use signet_core::statement::{
    self, Audience, Decision, Effect, Intent, IntentV1, Nonce, Outcome, Receipt, ReceiptV1,
    ToolName,
};
use signet_log::entry::{
    Entry, IntentEntry, LifecycleEntry, LifecycleEvent, PinChange, PinEntry, ReceiptEntry,
};

/// TEST FIXTURE key (public seed), never for real use.
pub fn key(who: u8) -> SigningKey {
    let seed: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(7).wrapping_add(who))
        .collect();
    SigningKey::from_seed(Algorithm::Ed25519, &seed).unwrap_or_else(|_| unreachable!())
}

pub const ORIGIN: &str = "signet.test/log";

/// An intent + receipt pair for call number `n`; the intent will sit at `intent_index`.
pub fn call(agent: &SigningKey, gateway: &SigningKey, n: u64, intent_index: u64) -> [Entry; 2] {
    let args =
        json!({"path": format!("/srv/file-{n}.txt"), "content": "x".repeat((n % 50) as usize)});
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&n.to_be_bytes());
    let intent = Intent {
        version: IntentV1,
        aud: Audience::new("stdio:test-server").unwrap_or_else(|_| unreachable!()),
        tool: ToolName::new(if n.is_multiple_of(3) {
            "read_file"
        } else {
            "write_file"
        })
        .unwrap_or_else(|_| unreachable!()),
        args: Digest::of_json(&args).unwrap_or_else(|_| unreachable!()),
        tool_def: None,
        signer: kid_for(&agent.public_key()),
        iat: UnixTime(1_795_000_000 + n as i64),
        nonce: Nonce::from_random(nonce),
        rpc_id: None,
        session: None,
        inputs: None,
        prev: None,
    };
    let ijws = statement::sign(agent, &intent).unwrap_or_else(|_| unreachable!());
    let receipt = Receipt {
        version: ReceiptV1,
        intent: statement::intent_digest(&ijws),
        outcome: if n.is_multiple_of(5) {
            Outcome::Failed
        } else {
            Outcome::Executed
        },
        response: Some(Digest::of_bytes(format!("response {n}").as_bytes())),
        decision: Decision {
            effect: Effect::Allow,
            rules: vec![],
            policy: None,
        },
        log_index: Some(intent_index),
        signer: kid_for(&gateway.public_key()),
        iat: UnixTime(1_795_000_000 + n as i64),
    };
    let rjws = statement::sign(gateway, &receipt).unwrap_or_else(|_| unreachable!());
    [
        Entry::Intent(IntentEntry {
            jws: ijws,
            key: None,
            arguments: Some(args),
        }),
        Entry::Receipt(ReceiptEntry {
            jws: rjws,
            key: None,
            remote: false,
        }),
    ]
}

pub fn pin(n: u64) -> Entry {
    Entry::Pin(PinEntry {
        server: "stdio:test-server".into(),
        tool: format!("tool_{n}"),
        change: PinChange::Changed,
        old: Some(Digest::of_bytes(b"old")),
        new: Some(Digest::of_bytes(format!("new {n}").as_bytes())),
        action: "warn".into(),
        at: UnixTime(1_795_000_000),
    })
}

pub fn marker(detail: &str) -> Entry {
    Entry::Lifecycle(LifecycleEntry {
        event: LifecycleEvent::Start,
        at: UnixTime(1_795_000_000),
        detail: Some(detail.into()),
    })
}
