//! The interceptor on `tools/call`, without a transport.
//!
//! Policy: the gateway asks its [`PolicyCheck`] about every call after logging the intent
//! and before forwarding it; a denial or an approval requirement is answered with an
//! `isError` result and a signed receipt of that outcome, an allow decision is signed into
//! the receipt of the call's result, and a policy that cannot be evaluated refuses the call.
//!
//! Multi-round-trip `tools/call` (MCP 2026-07-28): an `input_required`
//! result is attested as `input-required`; the retry's intent signs the answers (`inputs`,
//! exactly [`statement::inputs_digest`] of what was sent) and names the round it answers
//! (`prev`), found by `requestState` or, without one, by tool and arguments; a client-signed
//! retry must sign the same answers; malformed retries are refused. The end-to-end test with
//! the Python SDK is `multi_round_trip_calls_are_signed_per_round_and_linked_in_the_log` in
//! signet-cli's `proxy_e2e.rs`.

#![expect(clippy::unwrap_used, reason = "tests")]
#![expect(clippy::panic, reason = "tests")]
#![expect(clippy::indexing_slicing, reason = "tests")]
#![expect(clippy::arithmetic_side_effects, reason = "tests")]

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use signet_core::alg::{Algorithm, SigningKey};
use signet_core::did::kid_for;
use signet_core::digest::Digest;
use signet_core::replay::{MemoryNonceStore, UnixTime};
use signet_core::statement::{
    self, Audience, Intent, IntentV1, Nonce, Outcome, Receipt, RpcId, ToolName,
};
use signet_core::statement::{Decision, Effect};
use signet_log::entry::Entry;
use signet_mcp::gateway::{
    AuditSink, Gateway, GatewayConfig, META_APPROVAL, META_INTENT, META_RECEIPT, PolicyCall,
    PolicyCheck, PolicyVerdict, Verdict,
};

const NOW: UnixTime = UnixTime(1_790_000_000);

/// Collects what the gateway appends.
#[derive(Default, Clone)]
struct Memory(Arc<Mutex<Vec<Entry>>>);

impl AuditSink for Memory {
    fn append(&self, entry: &Entry) -> Result<u64, String> {
        let mut v = self.0.lock().unwrap();
        v.push(entry.clone());
        Ok(u64::try_from(v.len()).unwrap() - 1)
    }
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(Algorithm::Ed25519, &[seed; 32]).unwrap()
}

fn gateway(log: &Memory) -> Gateway {
    Gateway::new(
        GatewayConfig::new(Audience::new("stdio:test").unwrap()),
        Ok(key(1)),
        Ok(key(2)),
        Box::new(log.clone()),
        Box::new(MemoryNonceStore::new()),
        Arc::new(|| NOW),
    )
}

fn call(id: u32, params: &Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}).to_string()
}

/// The intent the gateway put on a forwarded call.
fn forwarded_intent(v: &Verdict) -> (String, Intent) {
    let Verdict::Forward(line) = v else {
        panic!("not forwarded: {v:?}")
    };
    let msg: Value = serde_json::from_str(line).unwrap();
    let jws = msg["params"]["_meta"][META_INTENT]
        .as_str()
        .unwrap()
        .to_owned();
    let intent = statement::verify::<Intent>(&jws, Some(&key(1).public_key()))
        .unwrap()
        .statement;
    (jws, intent)
}

/// The receipt the gateway put on a delivered result.
fn delivered_receipt(v: &Verdict) -> Receipt {
    let Verdict::Forward(line) = v else {
        panic!("not delivered with a receipt: {v:?}")
    };
    let msg: Value = serde_json::from_str(line).unwrap();
    let jws = msg["result"]["_meta"][META_RECEIPT].as_str().unwrap();
    statement::verify::<Receipt>(jws, Some(&key(2).public_key()))
        .unwrap()
        .statement
}

fn input_required(id: u32, state: Option<&str>) -> String {
    let mut result = json!({
        "resultType": "input_required",
        "inputRequests": {"confirm": {"method": "elicitation/create",
            "params": {"message": "Delete?", "requestedSchema": {"type": "object"}}}},
    });
    if let Some(s) = state {
        result["requestState"] = json!(s);
    }
    json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string()
}

fn done(id: u32) -> String {
    json!({"jsonrpc": "2.0", "id": id,
           "result": {"content": [{"type": "text", "text": "deleted"}]}})
    .to_string()
}

fn answers() -> Value {
    json!({"confirm": {"action": "accept", "content": {"confirm": true}}})
}

#[test]
fn rounds_linked_by_request_state() {
    let log = Memory::default();
    let gw = gateway(&log);
    let args = json!({"path": "/srv/old.csv"});

    let (jws1, first) = forwarded_intent(
        &gw.on_client(call(1, &json!({"name": "rm", "arguments": args})).as_bytes()),
    );
    assert_eq!((first.inputs, first.prev), (None, None));
    let r1 = delivered_receipt(&gw.on_server(input_required(1, Some("opaque-1")).as_bytes()));
    assert_eq!(r1.outcome, Outcome::InputRequired);
    assert_eq!(r1.intent, statement::intent_digest(&jws1));

    let retry = json!({"name": "rm", "arguments": args, "inputResponses": answers(),
                       "requestState": "opaque-1"});
    let (jws2, second) = forwarded_intent(&gw.on_client(call(2, &retry).as_bytes()));
    assert_eq!(second.prev, Some(statement::intent_digest(&jws1)));
    assert_eq!(
        second.inputs,
        Some(statement::inputs_digest(Some(&answers()), Some(&json!("opaque-1"))).unwrap())
    );
    assert_eq!(second.args, first.args);
    let r2 = delivered_receipt(&gw.on_server(done(2).as_bytes()));
    assert_eq!(r2.outcome, Outcome::Executed);
    assert_eq!(r2.intent, statement::intent_digest(&jws2));

    // The round was used: the same state again is not linked a second time.
    let (_, third) = forwarded_intent(&gw.on_client(call(3, &retry).as_bytes()));
    assert_eq!(third.prev, None);
    assert!(third.inputs.is_some());
    // Intents and receipts are all in the log, in order.
    let kinds: Vec<&str> = log
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|e| match e {
            Entry::Intent(_) => "intent",
            Entry::Receipt(_) => "receipt",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["intent", "receipt", "intent", "receipt", "intent"]);
}

#[test]
fn without_request_state_rounds_are_linked_by_tool_and_arguments() {
    let gw = gateway(&Memory::default());
    let args = json!({"path": "/a"});
    let (jws1, _) = forwarded_intent(
        &gw.on_client(call(1, &json!({"name": "rm", "arguments": args})).as_bytes()),
    );
    let r = delivered_receipt(&gw.on_server(input_required(1, None).as_bytes()));
    assert_eq!(r.outcome, Outcome::InputRequired);

    // Other arguments, or another tool: not the same call.
    let (_, other) = forwarded_intent(
        &gw.on_client(
            call(
                2,
                &json!({"name": "rm", "arguments": {"path": "/b"}, "inputResponses": answers()}),
            )
            .as_bytes(),
        ),
    );
    assert_eq!(other.prev, None);
    let (_, other_tool) = forwarded_intent(
        &gw.on_client(
            call(
                3,
                &json!({"name": "mv", "arguments": args, "inputResponses": answers()}),
            )
            .as_bytes(),
        ),
    );
    assert_eq!(other_tool.prev, None);
    // The retry of the same call.
    let (_, retry) = forwarded_intent(
        &gw.on_client(
            call(
                4,
                &json!({"name": "rm", "arguments": args, "inputResponses": answers()}),
            )
            .as_bytes(),
        ),
    );
    assert_eq!(retry.prev, Some(statement::intent_digest(&jws1)));
    assert_eq!(
        retry.inputs,
        Some(statement::inputs_digest(Some(&answers()), None).unwrap())
    );
}

#[test]
fn malformed_retries_are_refused() {
    let gw = gateway(&Memory::default());
    for (params, what) in [
        (json!({"name": "rm", "requestState": 7}), "requestState"),
        (
            json!({"name": "rm", "inputResponses": [1]}),
            "inputResponses",
        ),
        (
            json!({"name": "rm", "inputResponses": "x"}),
            "inputResponses",
        ),
    ] {
        let Verdict::Answer(line) = gw.on_client(call(9, &params).as_bytes()) else {
            panic!("{params} was not refused")
        };
        let msg: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(msg["error"]["code"], -32602, "{line}");
        assert!(
            msg["error"]["message"].as_str().unwrap().contains(what),
            "{line}"
        );
    }
}

/// A client that signs its own intents must sign the round's answers too.
#[test]
fn a_client_signed_retry_must_sign_its_answers() {
    let gw = gateway(&Memory::default());
    let client_key = key(7);
    let args = json!({"path": "/a"});
    let sign = |inputs: Option<Digest>, nonce: u8, id: u32| {
        let pk = client_key.public_key();
        let intent = Intent {
            version: IntentV1,
            aud: Audience::new("stdio:test").unwrap(),
            tool: ToolName::new("rm").unwrap(),
            args: Digest::of_json(&args).unwrap(),
            tool_def: None,
            signer: kid_for(&pk),
            iat: NOW,
            nonce: Nonce::from_random([nonce; 16]),
            rpc_id: Some(RpcId::from_json(&json!(id)).unwrap()),
            session: None,
            inputs,
            prev: None,
        };
        statement::sign(&client_key, &intent).unwrap()
    };
    let retry = |jws: &str| {
        json!({"name": "rm", "arguments": args, "inputResponses": answers(),
               "requestState": "s", "_meta": {META_INTENT: jws}})
    };
    // Signed without the answers: refused (a denial result, not forwarded).
    let verdict = gw.on_client(call(1, &retry(&sign(None, 1, 1))).as_bytes());
    let Verdict::Answer(line) = verdict else {
        panic!("forwarded: {verdict:?}")
    };
    assert!(line.contains("inputResponses"), "{line}");
    // Signed over other answers: refused.
    let wrong =
        statement::inputs_digest(Some(&json!({"confirm": {"action": "decline"}})), None).unwrap();
    assert!(matches!(
        gw.on_client(call(2, &retry(&sign(Some(wrong), 2, 2))).as_bytes()),
        Verdict::Answer(_)
    ));
    // Signed over exactly these answers: passes unchanged.
    let right = statement::inputs_digest(Some(&answers()), Some(&json!("s"))).unwrap();
    assert_eq!(
        gw.on_client(call(3, &retry(&sign(Some(right), 3, 3))).as_bytes()),
        Verdict::Pass
    );
}

// ----- policy -----

/// What the fake policy was asked: agent, tool, arguments, annotations, arguments digest.
type Asked = Arc<Mutex<Vec<(String, String, Value, Option<Value>, Digest)>>>;

/// A policy that decides by tool name and records what it was asked.
struct Fake {
    seen: Asked,
}

impl PolicyCheck for Fake {
    fn decide(&self, call: &PolicyCall<'_>) -> Result<PolicyVerdict, String> {
        self.seen.lock().unwrap().push((
            call.agent.to_owned(),
            call.tool.to_owned(),
            call.arguments.clone(),
            call.annotations.cloned(),
            *call.args_digest,
        ));
        let decision = |effect, rule: &str| Decision {
            effect,
            rules: vec![rule.to_owned()],
            policy: Some(Digest::of_bytes(b"policy set")),
        };
        match call.tool {
            "rm" => Ok(PolicyVerdict {
                decision: decision(Effect::Deny, "no-prod-deletions"),
                reason: "deleting production data is forbidden".into(),
                approval_id: None,
            }),
            "deploy" => Ok(PolicyVerdict {
                decision: decision(Effect::ApprovalRequired, "deploys-need-approval"),
                reason: "deploys need a person's approval".into(),
                approval_id: Some("apr_TEST".into()),
            }),
            "broken" => Err("the rate-limit store is unavailable".into()),
            _ => Ok(PolicyVerdict {
                decision: decision(Effect::Allow, "read-anything"),
                reason: String::new(),
                approval_id: None,
            }),
        }
    }
}

fn with_policy(log: &Memory) -> (Gateway, Asked) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gw = gateway(log).with_policy(Box::new(Fake { seen: seen.clone() }));
    (gw, seen)
}

/// The text and receipt of a refusal answered to the client.
fn refusal(v: &Verdict) -> (Value, Receipt) {
    let Verdict::Answer(line) = v else {
        panic!("not answered: {v:?}")
    };
    let msg: Value = serde_json::from_str(line).unwrap();
    assert_eq!(msg["result"]["isError"], true, "{line}");
    let jws = msg["result"]["_meta"][META_RECEIPT].as_str().unwrap();
    let receipt = statement::verify::<Receipt>(jws, Some(&key(2).public_key()))
        .unwrap()
        .statement;
    (msg["result"].clone(), receipt)
}

#[test]
fn a_denied_call_is_answered_attested_and_never_forwarded() {
    let log = Memory::default();
    let (gw, seen) = with_policy(&log);
    let args = json!({"path": "/prod/db"});
    let v = gw.on_client(call(1, &json!({"name": "rm", "arguments": args})).as_bytes());
    let (result, receipt) = refusal(&v);
    assert_eq!(
        result["content"][0]["text"],
        "BLOCKED by no-prod-deletions: deleting production data is forbidden"
    );
    assert_eq!(receipt.outcome, Outcome::Denied);
    assert_eq!(receipt.decision.rules, ["no-prod-deletions"]);
    assert_eq!(
        receipt.decision.policy,
        Some(Digest::of_bytes(b"policy set"))
    );
    // The intent was logged first, and the receipt names it.
    let entries = log.0.lock().unwrap().clone();
    let Entry::Intent(intent) = &entries[0] else {
        panic!("{entries:?}")
    };
    assert_eq!(receipt.intent, statement::intent_digest(&intent.jws));
    assert!(matches!(entries[1], Entry::Receipt(_)));
    // Policy saw the agent, the tool, the arguments and their signed digest.
    let (agent, tool, arguments, _, digest) = seen.lock().unwrap()[0].clone();
    assert_eq!(agent, kid_for(&key(1).public_key()));
    assert_eq!(tool, "rm");
    assert_eq!(arguments, args);
    assert_eq!(digest, Digest::of_json(&args).unwrap());
    // Nothing is pending: a late "response" from the server for this id is passed as is.
    assert_eq!(gw.on_server(done(1).as_bytes()), Verdict::Pass);
}

#[test]
fn an_approval_required_call_carries_its_approval_id() {
    let (gw, _) = with_policy(&Memory::default());
    let v = gw.on_client(call(1, &json!({"name": "deploy", "arguments": {}})).as_bytes());
    let (result, receipt) = refusal(&v);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "APPROVAL REQUIRED by deploys-need-approval: deploys need a person's approval"
        ),
        "{text}"
    );
    assert!(text.contains("signet approve apr_TEST"), "{text}");
    assert_eq!(result["_meta"][META_APPROVAL], "apr_TEST");
    assert_eq!(receipt.outcome, Outcome::ApprovalRequired);
    assert_eq!(receipt.decision.effect, Effect::ApprovalRequired);
}

#[test]
fn an_allowed_call_is_forwarded_and_its_receipt_carries_the_decision() {
    let (gw, seen) = with_policy(&Memory::default());
    // The tool's annotations from the listing reach the policy.
    let list = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}).to_string();
    assert_eq!(gw.on_client(list.as_bytes()), Verdict::Pass);
    let listed = json!({"jsonrpc": "2.0", "id": 5, "result": {"tools": [
        {"name": "cat", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": true}}
    ]}})
    .to_string();
    gw.on_server(listed.as_bytes());
    forwarded_intent(
        &gw.on_client(call(1, &json!({"name": "cat", "arguments": {"p": 1}})).as_bytes()),
    );
    assert_eq!(
        seen.lock().unwrap()[0].3,
        Some(json!({"readOnlyHint": true}))
    );
    let receipt = delivered_receipt(&gw.on_server(done(1).as_bytes()));
    assert_eq!(receipt.outcome, Outcome::Executed);
    assert_eq!(receipt.decision.effect, Effect::Allow);
    assert_eq!(receipt.decision.rules, ["read-anything"]);
    assert_eq!(
        receipt.decision.policy,
        Some(Digest::of_bytes(b"policy set"))
    );
}

#[test]
fn a_policy_that_cannot_be_evaluated_refuses_the_call() {
    let (gw, _) = with_policy(&Memory::default());
    let v = gw.on_client(call(1, &json!({"name": "broken"})).as_bytes());
    let (result, receipt) = refusal(&v);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("BLOCKED by policy-error:"), "{text}");
    assert!(text.contains("rate-limit store is unavailable"), "{text}");
    assert_eq!(receipt.outcome, Outcome::Denied);
}

/// A gateway that verifies calls arriving signed (server side): `require_signatures` and
/// `allowed_signers`.
fn verifying_gateway(log: &Memory, allowed: &[u8]) -> Gateway {
    let mut cfg = GatewayConfig::new(Audience::new("stdio:test").unwrap());
    cfg.require_signatures = true;
    cfg.allowed_signers = allowed.iter().map(|s| key(*s).public_key()).collect();
    Gateway::new(
        cfg,
        Ok(key(1)),
        Ok(key(2)),
        Box::new(log.clone()),
        Box::new(MemoryNonceStore::new()),
        Arc::new(|| NOW),
    )
}

/// A `tools/call` of `write` signed by `signer`.
fn signed_call(id: u32, signer: u8, nonce: u8, args: &Value) -> String {
    let k = key(signer);
    let intent = Intent {
        version: IntentV1,
        aud: Audience::new("stdio:test").unwrap(),
        tool: ToolName::new("write").unwrap(),
        args: Digest::of_json(args).unwrap(),
        tool_def: None,
        signer: kid_for(&k.public_key()),
        iat: NOW,
        nonce: Nonce::from_random([nonce; 16]),
        rpc_id: Some(RpcId::from_json(&json!(id)).unwrap()),
        session: None,
        inputs: None,
        prev: None,
    };
    let jws = statement::sign(&k, &intent).unwrap();
    call(
        id,
        &json!({"name": "write", "arguments": args, "_meta": {META_INTENT: jws}}),
    )
}

#[test]
fn require_signatures_refuses_unsigned_calls_with_a_signed_denial() {
    let log = Memory::default();
    let gw = verifying_gateway(&log, &[]);
    let args = json!({"path": "/a"});
    let v = gw.on_client(call(1, &json!({"name": "write", "arguments": args})).as_bytes());
    let (result, receipt) = refusal(&v);
    assert_eq!(
        result["content"][0]["text"],
        "BLOCKED by require-signatures: the call is not signed and require_signatures is on"
    );
    assert_eq!(receipt.outcome, Outcome::Denied);
    assert_eq!(receipt.decision.rules, ["require-signatures"]);
    // The denial is logged; nothing was signed for the agent.
    let entries = log.0.lock().unwrap().clone();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(matches!(entries[0], Entry::Receipt(_)));

    // A call the client signed itself goes through unchanged (its own intent is already in
    // `_meta`), and that intent is what the log holds.
    let line = signed_call(2, 7, 1, &args);
    let v = gw.on_client(line.as_bytes());
    assert!(
        matches!(v, Verdict::Pass),
        "a signed call was not forwarded: {v:?}"
    );
    let sent: Value = serde_json::from_str(&line).unwrap();
    let entries = log.0.lock().unwrap().clone();
    let Entry::Intent(logged) = &entries[1] else {
        panic!("{entries:?}")
    };
    assert_eq!(
        logged.jws,
        sent["params"]["_meta"][META_INTENT].as_str().unwrap()
    );
    // The same signed call again is a replay.
    let (result, receipt) = refusal(&gw.on_client(signed_call(3, 7, 1, &args).as_bytes()));
    assert_eq!(receipt.decision.rules, ["invalid-signature"]);
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("signature is not valid"),
        "{result}"
    );
}

#[test]
fn allowed_signers_refuses_every_other_signer() {
    let log = Memory::default();
    let gw = verifying_gateway(&log, &[7, 8]);
    let args = json!({"path": "/a"});
    for (id, signer) in [(1, 7u8), (2, 8)] {
        let v = gw.on_client(signed_call(id, signer, signer, &args).as_bytes());
        assert!(
            matches!(v, Verdict::Pass),
            "signer {signer} is allowed: {v:?}"
        );
    }
    let (result, receipt) = refusal(&gw.on_client(signed_call(3, 9, 9, &args).as_bytes()));
    assert_eq!(receipt.outcome, Outcome::Denied);
    assert_eq!(receipt.decision.rules, ["invalid-signature"]);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "signer {} is not in allowed_signers",
            kid_for(&key(9).public_key())
        )),
        "{text}"
    );
    // Tampered arguments under a valid signature from an allowed signer: refused.
    let mut tampered: Value = serde_json::from_str(&signed_call(4, 7, 4, &args)).unwrap();
    tampered["params"]["arguments"]["path"] = json!("/etc/passwd");
    let (result, _) = refusal(&gw.on_client(tampered.to_string().as_bytes()));
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("the arguments differ from the signed ones"),
        "{result}"
    );
}
