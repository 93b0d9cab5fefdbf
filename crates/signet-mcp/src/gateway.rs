//! The message interceptor: what signet does to each JSON-RPC message between an MCP
//! client and an MCP server. Transport-free: the stdio proxy (and later the HTTP proxy)
//! feed it lines and write what it returns.
//!
//! - client `tools/call` → an *intent* (signed by the agent key, or the client's own intent
//!   verified), appended to the log **before** the call is forwarded, carried to the
//!   server under `params._meta["dev.signet/intent"]`;
//! - server response to it → a *receipt* (signed by the gateway key) binding the intent, the
//!   outcome and the response digest, appended to the log **before** the response is
//!   delivered, returned under `result._meta["dev.signet/receipt"]`;
//! - client `tools/list` → its response is checked against the tool pins;
//! - everything else passes through byte-for-byte.
//!
//! Fail-closed: if the log cannot be written or a key cannot be loaded, a call is not
//! forwarded and a response is not delivered; the client gets a JSON-RPC error that says
//! why. `fail_open` (explicit, and recorded in the log) forwards instead.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::value::RawValue;
use signet_core::alg::{PublicKey, SigningKey};
use signet_core::did::{Did, kid_for};
use signet_core::digest::Digest;
use signet_core::replay::{NonceStore, ReplayWindow, UnixTime};
use signet_core::statement::{
    self, Audience, Decision, Effect, Intent, IntentV1, Nonce, Outcome, Receipt, ReceiptV1, RpcId,
    SessionId, ToolName,
};
use signet_log::entry::{Entry, IntentEntry, PinChange, PinEntry, ReceiptEntry};

use crate::jsonrpc::{self, Kind, Message, RawObject};
use crate::pins::{Pin, PinFile, PinMode, definition_digest_text};

/// `_meta` key of the intent on a `tools/call` request (spec §11).
pub const META_INTENT: &str = "dev.signet/intent";
/// `_meta` key of the receipt on a `tools/call` result (spec §11).
pub const META_RECEIPT: &str = "dev.signet/receipt";
/// `_meta` key of the approval id on an approval-required result (spec §11).
pub const META_APPROVAL: &str = "dev.signet/approval";

/// JSON-RPC error codes signet answers with.
pub mod codes {
    /// Invalid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a valid request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// Bad parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// signet could not do its part (log, keys): fail-closed.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// MCP 2026-07-28 Streamable HTTP: the `Mcp-Method` / `Mcp-Name` headers are missing or
    /// do not match the body.
    pub const HEADER_MISMATCH: i64 = -32020;
}

/// Where entries go: the audit log (or something that refuses, when it cannot be opened).
pub trait AuditSink: Send + Sync {
    /// Append `entry` durably; its index.
    ///
    /// # Errors
    /// The entry is not in the log; the text says why.
    fn append(&self, entry: &Entry) -> Result<u64, String>;
}

impl AuditSink for signet_log::writer::LogHandle {
    fn append(&self, entry: &Entry) -> Result<u64, String> {
        signet_log::writer::LogHandle::append(self, entry).map_err(|e| e.to_string())
    }
}

/// A sink that refuses every append (the log could not be opened).
#[derive(Debug)]
pub struct Unavailable(pub String);

impl AuditSink for Unavailable {
    fn append(&self, _entry: &Entry) -> Result<u64, String> {
        Err(self.0.clone())
    }
}

/// The nonce store for client-signed intents (object-safe wrapper of [`NonceStore`]).
pub trait Nonces: Send {
    /// See [`NonceStore::insert_if_absent`].
    ///
    /// # Errors
    /// Store failures; callers treat them as "not admitted".
    fn admit(
        &mut self,
        window: &ReplayWindow,
        signer: &str,
        nonce: &str,
        iat: UnixTime,
        now: UnixTime,
    ) -> Result<(), String>;
}

impl<T: NonceStore + Send> Nonces for T {
    fn admit(
        &mut self,
        window: &ReplayWindow,
        signer: &str,
        nonce: &str,
        iat: UnixTime,
        now: UnixTime,
    ) -> Result<(), String> {
        window
            .admit(self, signer, nonce, iat, now)
            .map_err(|e| e.to_string())
    }
}

/// A call as policy sees it, just before it would be forwarded.
#[derive(Debug, Clone, Copy)]
pub struct PolicyCall<'a> {
    /// The signer of the call's intent (its kid: a `did:key` or key id).
    pub agent: &'a str,
    /// The server (the intent's audience).
    pub server: &'a str,
    /// The tool.
    pub tool: &'a str,
    /// The call's arguments (`{}` when absent).
    pub arguments: &'a serde_json::Value,
    /// Digest of the arguments, as signed in the intent.
    pub args_digest: &'a Digest,
    /// The tool's `annotations` from the last `tools/list`, when known.
    pub annotations: Option<&'a serde_json::Value>,
    /// Now.
    pub now: UnixTime,
}

/// What policy decided about a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVerdict {
    /// The decision signed into the receipt (effect, deciding rule ids, policy digest).
    pub decision: Decision,
    /// Why, for the user, without the `BLOCKED by <rule>: ` prefix the gateway adds.
    pub reason: String,
    /// For approval-required: the id a human approves the call with (`signet approve`).
    pub approval_id: Option<String>,
}

/// The policy the gateway enforces on every call (signet-policy's enforcer in the proxy).
pub trait PolicyCheck: Send + Sync {
    /// Decide about one call.
    ///
    /// # Errors
    /// The policy could not be evaluated (its state store failed): the call is refused.
    fn decide(&self, call: &PolicyCall<'_>) -> Result<PolicyVerdict, String>;
}

/// How the gateway behaves.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The server's name: the audience of every intent.
    pub server: Audience,
    /// What to do about tools whose definition is not the pinned one.
    pub pin_mode: PinMode,
    /// The pin file of this server (`None`: pins kept in memory only).
    pub pins_path: Option<PathBuf>,
    /// Pins from a verified signed pin file ([`crate::pins::SignedPins`]) and its path:
    /// authoritative (no trust on first use; local accepts do not change them). `None`:
    /// trust on first use.
    pub signed_pins: Option<(PathBuf, BTreeMap<String, Pin>)>,
    /// Forward calls even when the log or a key is unavailable (recorded, dangerous).
    pub fail_open: bool,
    /// Return the receipt in `result._meta` (default on).
    pub receipts_in_result: bool,
    /// Keep each call's arguments in the log next to the intent (default on).
    pub log_arguments: bool,
    /// Refuse calls that do not carry a valid intent signed by the client itself.
    pub require_signatures: bool,
    /// When non-empty: the only signers whose intents are accepted.
    pub allowed_signers: Vec<PublicKey>,
    /// Freshness window for client-signed intents.
    pub replay: ReplayWindow,
    /// The receipt keys of a `signet guard` in front of the server. When non-empty, every
    /// tool result must carry a receipt signed by one of them that binds this call's intent,
    /// the outcome and the result; it is verified and logged next to the intent (the two
    /// halves of a bilateral record) and passed on instead of one signed here. A result
    /// without a valid one is withheld (fail-closed).
    pub server_keys: Vec<PublicKey>,
}

impl GatewayConfig {
    /// Defaults for `server`: warn on pin changes, fail closed, receipts in results,
    /// arguments logged, the proxy signs with the agent key.
    #[must_use]
    pub fn new(server: Audience) -> Self {
        GatewayConfig {
            server,
            pin_mode: PinMode::Warn,
            pins_path: None,
            signed_pins: None,
            fail_open: false,
            receipts_in_result: true,
            log_arguments: true,
            require_signatures: false,
            allowed_signers: Vec::new(),
            replay: ReplayWindow::default(),
            server_keys: Vec::new(),
        }
    }
}

/// What to do with one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Forward the original bytes unchanged.
    Pass,
    /// Forward this text instead (a line without its newline).
    Forward(String),
    /// Do not forward; answer the side the line came from with this line.
    Answer(String),
    /// Do not forward; nothing to answer (the reason goes to stderr).
    Drop(String),
}

/// A call forwarded to the server and not yet answered.
#[derive(Debug, Clone)]
struct PendingCall {
    /// The JSON-RPC id (raw JSON text).
    id: String,
    /// The transport scope it was made in (see [`Gateway::on_client_in`]).
    scope: Option<String>,
    intent_digest: Digest,
    log_index: Option<u64>,
    tool: String,
    /// The call's arguments digest: with the tool, what links a retry to this round when an
    /// `input_required` result has no `requestState`.
    args: Digest,
    /// The policy decision that let it through, signed into its receipt.
    decision: Decision,
}

/// Rounds of multi-round-trip calls that ended `input_required`, waiting for their retry:
/// [`round_key`] → the round's intent digest, oldest first; at most [`MAX_OPEN_ROUNDS`].
#[derive(Debug, Default)]
struct OpenRounds {
    by_key: HashMap<String, Digest>,
    order: std::collections::VecDeque<String>,
}

/// Open rounds remembered at most; the oldest is forgotten first (its retry is then logged
/// without `prev`).
const MAX_OPEN_ROUNDS: usize = 4096;

impl OpenRounds {
    fn insert(&mut self, key: String, intent: Digest) {
        if self.by_key.insert(key.clone(), intent).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > MAX_OPEN_ROUNDS {
            if let Some(old) = self.order.pop_front() {
                self.by_key.remove(&old);
            }
        }
    }

    fn take(&mut self, key: &str) -> Option<Digest> {
        let found = self.by_key.remove(key)?;
        self.order.retain(|k| k != key);
        Some(found)
    }
}

/// What links a retry to the round it answers: the `requestState` text the server handed
/// out (echoed unchanged by the client), or else the tool and the arguments digest (the
/// retry repeats the original arguments).
fn round_key(request_state: Option<&str>, tool: &str, args: &Digest) -> String {
    match request_state {
        Some(state) => format!("state\u{0}{state}"),
        None => format!("call\u{0}{tool}\u{0}{args}"),
    }
}

/// A tools/list request not yet answered: its cursor.
#[derive(Debug, Clone)]
struct PendingList {
    cursor: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    calls: HashMap<String, PendingCall>,
    lists: HashMap<String, PendingList>,
    pins: Option<PinFile>,
    /// Current definitions by tool name, from the last listing: digest and pinned status.
    current: BTreeMap<String, (Digest, bool)>,
    /// Names seen in the listing being paged through.
    paging: BTreeSet<String>,
    /// Multi-round-trip calls waiting for their next round.
    rounds: OpenRounds,
    /// Each tool's `annotations` from the last listing, for policy.
    annotations: HashMap<String, serde_json::Value>,
}

/// A clock: seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;

/// The interceptor. Shared by the two directions of a proxy (`&self` everywhere).
pub struct Gateway {
    cfg: GatewayConfig,
    agent: Result<SigningKey, String>,
    gateway: Result<SigningKey, String>,
    sink: Box<dyn AuditSink>,
    nonces: Mutex<Box<dyn Nonces>>,
    clock: Clock,
    state: Mutex<State>,
    policy: Option<Box<dyn PolicyCheck>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("server", &self.cfg.server)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A gateway. `agent` signs intents for unsigned calls, `gateway` signs receipts (a
    /// key that could not be loaded is given as `Err(reason)`: calls then fail closed).
    #[must_use]
    pub fn new(
        cfg: GatewayConfig,
        agent: Result<SigningKey, String>,
        gateway: Result<SigningKey, String>,
        sink: Box<dyn AuditSink>,
        nonces: Box<dyn Nonces>,
        clock: Clock,
    ) -> Self {
        let pins = match &cfg.pins_path {
            Some(p) => match PinFile::load(p) {
                Ok(f) => f,
                Err(e) => {
                    tracing::error!("{e}; tool pins start empty");
                    None
                }
            },
            None => None,
        };
        Gateway {
            cfg,
            agent,
            gateway,
            sink,
            nonces: Mutex::new(nonces),
            clock,
            state: Mutex::new(State {
                pins,
                ..State::default()
            }),
            policy: None,
        }
    }

    /// Enforce `policy` on every call from now on (before it is forwarded; its decision is
    /// signed into the call's receipt).
    #[must_use]
    pub fn with_policy(mut self, policy: Box<dyn PolicyCheck>) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &GatewayConfig {
        &self.cfg
    }

    /// Append an entry to the log (used for lifecycle markers by the transports).
    ///
    /// # Errors
    /// The log refused it.
    pub fn append(&self, entry: &Entry) -> Result<u64, String> {
        self.sink.append(entry)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now(&self) -> UnixTime {
        (self.clock)()
    }

    // ----- client → server -----

    /// A line from the client.
    pub fn on_client(&self, line: &[u8]) -> Verdict {
        self.on_client_in(None, None, line)
    }

    /// A message from the client, in a transport `scope`: JSON-RPC ids only need to be
    /// unique within a scope (the HTTP transport makes one per POST, whose response stream
    /// carries the answer), and the answer is matched in the same scope
    /// ([`Gateway::on_server_in`]). `session`: the transport's MCP session id
    /// (`Mcp-Session-Id`), signed into intents made here.
    pub fn on_client_in(&self, scope: Option<&str>, session: Option<&str>, line: &[u8]) -> Verdict {
        let Ok(text) = std::str::from_utf8(line) else {
            return Verdict::Answer(error_line(
                "null",
                codes::PARSE_ERROR,
                "signet: the message is not valid UTF-8",
            ));
        };
        if text.trim().is_empty() {
            return Verdict::Drop("empty line from the client".into());
        }
        let msg = match Message::parse(text) {
            Ok(m) => m,
            Err(e @ jsonrpc::MessageError::Parse(_)) => {
                if text.trim_start().starts_with('[') {
                    return Verdict::Answer(error_line(
                        "null",
                        codes::INVALID_REQUEST,
                        "signet: JSON-RPC batches are not supported (MCP 2025-06-18 removed them)",
                    ));
                }
                return Verdict::Answer(error_line(
                    "null",
                    codes::PARSE_ERROR,
                    &format!("signet: {e}"),
                ));
            }
            Err(e) => {
                let id = id_of(text).unwrap_or_else(|| "null".into());
                return Verdict::Answer(error_line(
                    &id,
                    codes::INVALID_REQUEST,
                    &format!("signet: {e}"),
                ));
            }
        };
        match &msg.kind {
            Kind::Request { method, id } if method == "tools/call" => {
                self.on_call(&msg, id, scope, session)
            }
            Kind::Request { method, id } if method == "tools/list" => {
                let cursor = msg
                    .params()
                    .ok()
                    .flatten()
                    .and_then(|p| p.get("cursor"))
                    .and_then(|c| serde_json::from_str::<String>(c.get()).ok());
                self.state()
                    .lists
                    .insert(scoped(scope, id), PendingList { cursor });
                Verdict::Pass
            }
            _ => Verdict::Pass,
        }
    }

    fn on_call(
        &self,
        msg: &Message<'_>,
        id: &str,
        scope: Option<&str>,
        session: Option<&str>,
    ) -> Verdict {
        let bad = |why: String| Verdict::Answer(error_line(id, codes::INVALID_PARAMS, &why));
        let params = match msg.params() {
            Ok(Some(p)) => p,
            Ok(None) => return bad("signet: tools/call needs `params`".into()),
            Err(e) => return bad(format!("signet: {e}")),
        };
        let Some(name) = params
            .get("name")
            .and_then(|n| serde_json::from_str::<String>(n.get()).ok())
        else {
            return bad("signet: tools/call needs a string `name`".into());
        };
        let tool = match ToolName::new(name.clone()) {
            Ok(t) => t,
            Err(e) => return bad(format!("signet: {e}")),
        };
        let args_text = params.get("arguments").map_or("{}", RawValue::get);
        if !args_text.trim_start().starts_with('{') {
            return bad("signet: `arguments` must be an object".into());
        }
        let args = match Digest::of_json_text(args_text.as_bytes()) {
            Ok(d) => d,
            Err(e) => {
                return bad(format!(
                    "signet: the arguments have no canonical JSON form ({e}); refusing to sign them"
                ));
            }
        };
        // A later round of a multi-round-trip call: its answers are signed as `inputs`, and
        // it is linked to the round it answers as `prev`.
        let (inputs, prev) = match self.round_of(&params, &name, &args) {
            Ok(r) => r,
            Err(why) => return bad(why),
        };
        let raw_params = msg.object.get("params").map_or("", RawValue::get);
        let meta = match params.get("_meta").map(RawObject::from_raw).transpose() {
            Ok(m) => m,
            Err(e) => return bad(format!("signet: `_meta`: {e}")),
        };
        let presented = meta
            .as_ref()
            .and_then(|m| m.get(META_INTENT))
            .map(|raw| serde_json::from_str::<String>(raw.get()));
        let now = self.now();
        let (tool_def, pin_block) = self.pin_status(&name);

        // The intent: the client's own (verified), or one we sign for the agent.
        let (intent_jws, intent_key, signed_here) = match presented {
            Some(Ok(jws)) => match self.check_presented(&jws, &tool, &args, inputs, now) {
                Ok(key) => (jws, key, false),
                Err(reason) => {
                    return self.deny_unlogged(
                        id,
                        raw_params.as_bytes(),
                        "invalid-signature",
                        &format!("the call's signature is not valid: {reason}"),
                    );
                }
            },
            Some(Err(_)) => {
                return self.deny_unlogged(
                    id,
                    raw_params.as_bytes(),
                    "invalid-signature",
                    &format!("`_meta.{META_INTENT}` must be a string"),
                );
            }
            None if self.cfg.require_signatures => {
                return self.deny_unlogged(
                    id,
                    raw_params.as_bytes(),
                    "require-signatures",
                    "the call is not signed and require_signatures is on",
                );
            }
            None => {
                let key = match &self.agent {
                    Ok(k) => k,
                    Err(e) => {
                        return self.fail_closed_request(
                            id,
                            &format!("the agent key could not be loaded: {e}"),
                        );
                    }
                };
                let rpc_id = serde_json::from_str::<serde_json::Value>(id)
                    .ok()
                    .and_then(|v| RpcId::from_json(&v).ok());
                let nonce = match random16() {
                    Ok(n) => Nonce::from_random(n),
                    Err(e) => return self.fail_closed_request(id, &e),
                };
                let pk = key.public_key();
                let intent = Intent {
                    version: IntentV1,
                    aud: self.cfg.server.clone(),
                    tool,
                    args,
                    tool_def,
                    signer: kid_for(&pk),
                    iat: now,
                    nonce,
                    rpc_id,
                    session: session.and_then(|s| SessionId::new(s).ok()),
                    inputs,
                    prev,
                };
                match statement::sign(key, &intent) {
                    Ok(jws) => (jws, pk, true),
                    Err(e) => {
                        return self
                            .fail_closed_request(id, &format!("signing the intent failed: {e}"));
                    }
                }
            }
        };

        let parsed_args = signet_core::canon::parse_strict(args_text.as_bytes()).ok();
        let arguments = if self.cfg.log_arguments {
            parsed_args.clone()
        } else {
            None
        };
        let entry = Entry::Intent(IntentEntry {
            jws: intent_jws.clone(),
            key: long_key(&intent_key),
            arguments,
        });
        let log_index = match self.sink.append(&entry) {
            Ok(i) => Some(i),
            Err(e) if self.cfg.fail_open => {
                tracing::error!("fail-open: the intent of call {id} was not logged: {e}");
                None
            }
            Err(e) => {
                return Verdict::Answer(error_line(
                    id,
                    codes::INTERNAL_ERROR,
                    &format!(
                        "signet: the audit log cannot be written ({e}); the call was not forwarded (fail-closed)"
                    ),
                ));
            }
        };
        let intent_digest = statement::intent_digest(&intent_jws);

        if let Some((rule, reason)) = pin_block {
            let decision = Decision {
                effect: Effect::Deny,
                rules: vec![rule.to_owned()],
                policy: None,
            };
            return self.deny(id, intent_digest, log_index, decision, &reason);
        }

        let mut decision = allow();
        if let Some(policy) = &self.policy {
            let empty = serde_json::Value::Object(serde_json::Map::new());
            let annotations = self.state().annotations.get(&name).cloned();
            let call = PolicyCall {
                agent: &kid_for(&intent_key),
                server: self.cfg.server.as_str(),
                tool: &name,
                arguments: parsed_args.as_ref().unwrap_or(&empty),
                args_digest: &args,
                annotations: annotations.as_ref(),
                now,
            };
            let verdict = policy.decide(&call).unwrap_or_else(|e| PolicyVerdict {
                decision: Decision {
                    effect: Effect::Deny,
                    rules: vec!["policy-error".to_owned()],
                    policy: None,
                },
                reason: format!("the policy could not be evaluated ({e}); refused (fail-closed)"),
                approval_id: None,
            });
            match verdict.decision.effect {
                Effect::Allow => decision = verdict.decision,
                Effect::Deny | Effect::ApprovalRequired => {
                    return self.refuse(id, intent_digest, log_index, verdict);
                }
            }
        }

        let key = scoped(scope, id);
        self.state().calls.insert(
            key.clone(),
            PendingCall {
                id: id.to_owned(),
                scope: scope.map(str::to_owned),
                intent_digest,
                log_index,
                tool: name,
                args,
                decision,
            },
        );
        if !signed_here {
            return Verdict::Pass;
        }
        let jws_json = jsonrpc::json_string(&intent_jws);
        match jsonrpc::set_meta(&params, META_INTENT, &jws_json) {
            Ok(p) => Verdict::Forward(msg.object.with("params", Some(&p))),
            Err(e) => {
                self.state().calls.remove(&key);
                bad(format!("signet: {e}"))
            }
        }
    }

    /// For a call carrying `inputResponses` or `requestState` (a retry of a round that ended
    /// `input_required`, MCP 2026-07-28): the digest of those members, and the intent digest
    /// of the round it answers when this proxy saw that round. `(None, None)` otherwise.
    fn round_of(
        &self,
        params: &RawObject<'_>,
        tool: &str,
        args: &Digest,
    ) -> Result<(Option<Digest>, Option<Digest>), String> {
        let responses = params.get("inputResponses");
        let state = params.get("requestState");
        if responses.is_none() && state.is_none() {
            return Ok((None, None));
        }
        let responses = responses
            .map(|r| {
                signet_core::canon::parse_strict(r.get().as_bytes())
                    .ok()
                    .filter(serde_json::Value::is_object)
                    .ok_or("signet: `inputResponses` must be an object with a canonical JSON form")
            })
            .transpose()?;
        let state = state
            .map(|r| {
                serde_json::from_str::<String>(r.get())
                    .map_err(|_| "signet: `requestState` must be a string")
            })
            .transpose()?;
        let inputs = statement::inputs_digest(
            responses.as_ref(),
            state.clone().map(serde_json::Value::String).as_ref(),
        )
        .map_err(|e| format!("signet: the round's inputs have no canonical JSON form ({e})"))?;
        let prev = self
            .state()
            .rounds
            .take(&round_key(state.as_deref(), tool, args));
        Ok((Some(inputs), prev))
    }

    /// Check a client-made intent against the call it came with.
    fn check_presented(
        &self,
        jws: &str,
        tool: &ToolName,
        args: &Digest,
        inputs: Option<Digest>,
        now: UnixTime,
    ) -> Result<PublicKey, String> {
        let v = statement::verify::<Intent>(jws, None).map_err(|e| e.to_string())?;
        let i = &v.statement;
        if !self.cfg.allowed_signers.is_empty() && !self.cfg.allowed_signers.contains(&v.key) {
            return Err(format!("signer {} is not in allowed_signers", v.kid));
        }
        if i.aud != self.cfg.server {
            return Err(format!(
                "the intent is for `{}`, not for this server `{}`",
                i.aud.as_str(),
                self.cfg.server.as_str()
            ));
        }
        if i.tool != *tool {
            return Err(format!("the intent names tool `{}`", i.tool.as_str()));
        }
        if i.args != *args {
            return Err("the arguments differ from the signed ones".into());
        }
        if i.inputs != inputs {
            return Err(
                "the round's `inputResponses` / `requestState` differ from the signed ones".into(),
            );
        }
        self.nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .admit(&self.cfg.replay, &v.kid, i.nonce.as_str(), i.iat, now)?;
        Ok(v.key)
    }

    /// The pinned-definition digest to sign into the intent, and a refusal when the pin
    /// mode forbids calling this tool.
    fn pin_status(&self, tool: &str) -> (Option<Digest>, Option<(&'static str, String)>) {
        let st = self.state();
        match st.current.get(tool) {
            Some((digest, true)) => (Some(*digest), None),
            Some((digest, false)) => {
                let refuse = match self.cfg.pin_mode {
                    PinMode::Warn => None,
                    PinMode::Hide => Some((
                        "tool-pin",
                        format!(
                            "tool `{tool}` is hidden: its definition is not the pinned one (review with `signet pins`)"
                        ),
                    )),
                    PinMode::Block => Some((
                        "tool-pin",
                        format!(
                            "tool `{tool}` changed since it was pinned; calls are blocked until the change is accepted with `signet pins accept`"
                        ),
                    )),
                };
                (Some(*digest), refuse)
            }
            None => (None, None),
        }
    }

    /// Refuse a call whose intent was logged: signed denial receipt, logged, returned as
    /// an `isError` result.
    fn deny(
        &self,
        id: &str,
        intent_digest: Digest,
        log_index: Option<u64>,
        decision: Decision,
        reason: &str,
    ) -> Verdict {
        let verdict = PolicyVerdict {
            decision,
            reason: reason.to_owned(),
            approval_id: None,
        };
        self.refuse(id, intent_digest, log_index, verdict)
    }

    /// Answer a call that will not be forwarded (denied, or waiting for an approval) with an
    /// `isError` result saying why, and attest it (`denied` / `approval-required`).
    fn refuse(
        &self,
        id: &str,
        intent_digest: Digest,
        log_index: Option<u64>,
        verdict: PolicyVerdict,
    ) -> Verdict {
        let PolicyVerdict {
            decision,
            reason,
            approval_id,
        } = verdict;
        let rule = decision.rules.join(", ");
        let (outcome, text) = match (&decision.effect, &approval_id) {
            (Effect::ApprovalRequired, Some(approval)) => (
                Outcome::ApprovalRequired,
                format!(
                    "APPROVAL REQUIRED by {rule}: {reason}. A person can allow this exact call once with `signet approve {approval}`; then send it again"
                ),
            ),
            (Effect::ApprovalRequired, None) => (
                Outcome::ApprovalRequired,
                format!("APPROVAL REQUIRED by {rule}: {reason}"),
            ),
            _ => (Outcome::Denied, format!("BLOCKED by {rule}: {reason}")),
        };
        tracing::warn!("call {id}: {text}");
        let mut result_text = format!(
            "{{\"content\":[{{\"type\":\"text\",\"text\":{}}}],\"isError\":true}}",
            jsonrpc::json_string(&text)
        );
        if let Some(approval) = &approval_id
            && let Ok(r) = RawObject::parse(&result_text)
            && let Ok(with) = jsonrpc::set_meta(&r, META_APPROVAL, &jsonrpc::json_string(approval))
        {
            result_text = with;
        }
        let response = Digest::of_json_text(result_text.as_bytes()).ok();
        match self.attest(intent_digest, outcome, response, decision, log_index) {
            Ok(receipt) => {
                let result = match RawObject::parse(&result_text) {
                    Ok(r) if self.cfg.receipts_in_result => {
                        jsonrpc::set_meta(&r, META_RECEIPT, &jsonrpc::json_string(&receipt))
                            .unwrap_or(result_text)
                    }
                    _ => result_text,
                };
                Verdict::Answer(format!(
                    "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{result}}}"
                ))
            }
            Err(e) => Verdict::Answer(error_line(
                id,
                codes::INTERNAL_ERROR,
                &format!("signet: {text}; and its receipt could not be recorded: {e}"),
            )),
        }
    }

    /// Refuse a call that has no valid intent to log: the receipt names the digest of the
    /// raw `params` text instead.
    fn deny_unlogged(&self, id: &str, params: &[u8], rule: &str, reason: &str) -> Verdict {
        let decision = Decision {
            effect: Effect::Deny,
            rules: vec![rule.to_owned()],
            policy: None,
        };
        self.deny(id, Digest::of_bytes(params), None, decision, reason)
    }

    fn fail_closed_request(&self, id: &str, why: &str) -> Verdict {
        if self.cfg.fail_open {
            tracing::error!("fail-open: call {id} forwarded unsigned and unlogged: {why}");
            return Verdict::Pass;
        }
        Verdict::Answer(error_line(
            id,
            codes::INTERNAL_ERROR,
            &format!("signet: {why}; the call was not forwarded (fail-closed)"),
        ))
    }

    /// Sign a receipt and append it; returns the receipt JWS.
    fn attest(
        &self,
        intent: Digest,
        outcome: Outcome,
        response: Option<Digest>,
        decision: Decision,
        log_index: Option<u64>,
    ) -> Result<String, String> {
        let key = self
            .gateway
            .as_ref()
            .map_err(|e| format!("the gateway key could not be loaded: {e}"))?;
        let pk = key.public_key();
        let receipt = Receipt {
            version: ReceiptV1,
            intent,
            outcome,
            response,
            decision,
            log_index,
            signer: kid_for(&pk),
            iat: self.now(),
        };
        let jws = statement::sign(key, &receipt)
            .map_err(|e| format!("signing the receipt failed: {e}"))?;
        let entry = Entry::Receipt(ReceiptEntry {
            jws: jws.clone(),
            key: long_key(&pk),
            remote: false,
        });
        self.sink
            .append(&entry)
            .map_err(|e| format!("the audit log cannot be written ({e})"))?;
        Ok(jws)
    }

    // ----- server → client -----

    /// A line from the server.
    pub fn on_server(&self, line: &[u8]) -> Verdict {
        self.on_server_in(None, line)
    }

    /// A message from the server, answering requests made in `scope`
    /// ([`Gateway::on_client_in`]).
    pub fn on_server_in(&self, scope: Option<&str>, line: &[u8]) -> Verdict {
        let Ok(text) = std::str::from_utf8(line) else {
            return Verdict::Drop("the server sent a line that is not UTF-8".into());
        };
        if text.trim().is_empty() {
            return Verdict::Drop("empty line from the server".into());
        }
        let msg = match Message::parse(text) {
            Ok(m) => m,
            Err(e) => {
                let preview: String = text.chars().take(120).collect();
                return Verdict::Drop(format!(
                    "the server sent a line that is not an MCP message ({e}): {preview}"
                ));
            }
        };
        let Kind::Response { id, is_error } = &msg.kind else {
            return Verdict::Pass;
        };
        let key = scoped(scope, id);
        let call = self.state().calls.remove(&key);
        if let Some(call) = call {
            return self.on_call_response(&msg, id, *is_error, &call);
        }
        let list = self.state().lists.remove(&key);
        if let Some(list) = list
            && !is_error
        {
            return self.on_list_response(&msg, &list);
        }
        Verdict::Pass
    }

    fn on_call_response(
        &self,
        msg: &Message<'_>,
        id: &str,
        is_error: bool,
        call: &PendingCall,
    ) -> Verdict {
        let raw = |key: &str| msg.object.get(key).map_or("null", RawValue::get);
        // A JSON-RPC error, or a result that is not an object, is attested as failed over its
        // raw text; an object result by `isError`, over its text minus any receipt key (a
        // server cannot forge one: it is replaced below).
        let result = if is_error {
            None
        } else {
            msg.result().ok().flatten()
        };
        let (outcome, normalized, digest) = match &result {
            None => (
                Outcome::Failed,
                None,
                response_digest_text(raw(if is_error { "error" } else { "result" })),
            ),
            Some(r) => {
                let failed = r.get("isError").map(RawValue::get) == Some("true");
                let input_required = r
                    .get("resultType")
                    .and_then(|t| serde_json::from_str::<String>(t.get()).ok())
                    .is_some_and(|t| t == "input_required");
                let normalized = jsonrpc::without_meta(r, META_RECEIPT).ok().flatten();
                let digest = response_digest_text(normalized.as_deref().unwrap_or(raw("result")));
                let outcome = if input_required {
                    let state = r
                        .get("requestState")
                        .and_then(|t| serde_json::from_str::<String>(t.get()).ok());
                    self.state().rounds.insert(
                        round_key(state.as_deref(), &call.tool, &call.args),
                        call.intent_digest,
                    );
                    Outcome::InputRequired
                } else if failed {
                    Outcome::Failed
                } else {
                    Outcome::Executed
                };
                (outcome, normalized, digest)
            }
        };
        if !self.cfg.server_keys.is_empty()
            && let Some(r) = &result
        {
            return self.on_attested_result(id, r, call, outcome, digest);
        }
        let receipt = match self.attest(
            call.intent_digest,
            outcome,
            Some(digest),
            call.decision.clone(),
            call.log_index,
        ) {
            Ok(r) => r,
            Err(e) => return self.fail_closed_response(id, &call.tool, &e),
        };
        match (result, normalized) {
            (Some(r), _) if self.cfg.receipts_in_result => {
                match jsonrpc::set_meta(&r, META_RECEIPT, &jsonrpc::json_string(&receipt)) {
                    Ok(r) => Verdict::Forward(msg.object.with("result", Some(&r))),
                    Err(e) => Verdict::Answer(error_line(
                        id,
                        codes::INTERNAL_ERROR,
                        &format!("signet: the server's result has an invalid `_meta` ({e})"),
                    )),
                }
            }
            (Some(_), Some(n)) => Verdict::Forward(msg.object.with("result", Some(&n))),
            _ => Verdict::Pass,
        }
    }

    /// A result from a server behind a `signet guard`: its receipt must be valid, signed by a
    /// pinned server key, and bind this call's intent, outcome and result. Logged and passed
    /// on unchanged when it does; otherwise the call is attested here as failed and the
    /// result withheld.
    fn on_attested_result(
        &self,
        id: &str,
        result: &RawObject<'_>,
        call: &PendingCall,
        outcome: Outcome,
        digest: Digest,
    ) -> Verdict {
        let checked = self.check_server_receipt(result, call, outcome, digest);
        let why = match checked {
            Ok((jws, key)) => {
                let entry = Entry::Receipt(ReceiptEntry {
                    jws,
                    key: long_key(&key),
                    remote: true,
                });
                match self.sink.append(&entry) {
                    Ok(_) => return Verdict::Pass,
                    Err(e) => {
                        return self.fail_closed_response(
                            id,
                            &call.tool,
                            &format!("the audit log cannot be written ({e})"),
                        );
                    }
                }
            }
            Err(why) => why,
        };
        tracing::error!("call {id} ({}): the server's receipt {why}", call.tool);
        if let Err(e) = self.attest(
            call.intent_digest,
            Outcome::Failed,
            Some(digest),
            call.decision.clone(),
            call.log_index,
        ) {
            tracing::error!("call {id}: {e}");
        }
        self.fail_closed_response(id, &call.tool, &format!("the server's receipt {why}"))
    }

    fn check_server_receipt(
        &self,
        result: &RawObject<'_>,
        call: &PendingCall,
        outcome: Outcome,
        digest: Digest,
    ) -> Result<(String, PublicKey), String> {
        let meta = result
            .get("_meta")
            .ok_or("is missing (the result has no `_meta`)")?;
        let meta = RawObject::from_raw(meta).map_err(|e| format!("is unreadable: {e}"))?;
        let raw = meta
            .get(META_RECEIPT)
            .ok_or_else(|| format!("is missing (no `_meta.{META_RECEIPT}`)"))?;
        let jws: String = serde_json::from_str(raw.get())
            .map_err(|_| format!("is malformed (`_meta.{META_RECEIPT}` is not a string)"))?;
        let v =
            statement::verify::<Receipt>(&jws, None).map_err(|e| format!("is not valid: {e}"))?;
        if !self.cfg.server_keys.contains(&v.key) {
            return Err(format!(
                "is signed by {}, which is not a pinned server key",
                v.kid
            ));
        }
        let r = &v.statement;
        if r.intent != call.intent_digest {
            return Err("attests another call (its intent digest differs)".into());
        }
        if r.response != Some(digest) {
            return Err("does not match the result (its response digest differs)".into());
        }
        // A call the guard refused comes back as an `isError` result (failed, seen from
        // here) with a `denied` / `approval-required` receipt.
        let refused = outcome == Outcome::Failed
            && matches!(r.outcome, Outcome::Denied | Outcome::ApprovalRequired);
        if r.outcome != outcome && !refused {
            return Err(format!(
                "says `{}` but the result is `{outcome}`",
                r.outcome
            ));
        }
        Ok((jws, v.key))
    }

    fn fail_closed_response(&self, id: &str, tool: &str, why: &str) -> Verdict {
        if self.cfg.fail_open {
            tracing::error!(
                "fail-open: the result of call {id} ({tool}) is delivered unattested: {why}"
            );
            return Verdict::Pass;
        }
        Verdict::Forward(error_line(
            id,
            codes::INTERNAL_ERROR,
            &format!("signet: tool `{tool}` ran, but {why}; its result is withheld (fail-closed)"),
        ))
    }

    /// The calls still waiting for the server, answered with errors (the server exited or
    /// the proxy is stopping) and attested as failed. Returns the lines for the client.
    pub fn abandon_pending(&self, why: &str) -> Vec<String> {
        let calls: Vec<PendingCall> = self.state().calls.drain().map(|(_, c)| c).collect();
        self.abandon(calls, why)
    }

    /// Whether calls or listings made in `scope` still wait for their answer (cheap: no log
    /// work, unlike [`Gateway::abandon_scope`]).
    #[must_use]
    pub fn waiting_in(&self, scope: &str) -> bool {
        let st = self.state();
        let prefix = scoped(Some(scope), "");
        st.calls.values().any(|c| c.scope.as_deref() == Some(scope))
            || st.lists.keys().any(|k| k.starts_with(&prefix))
    }

    /// Like [`Gateway::abandon_pending`], for the calls made in one `scope` only (its
    /// response stream ended without answering them). Forgets the scope's listings too.
    pub fn abandon_scope(&self, scope: &str, why: &str) -> Vec<String> {
        let calls: Vec<PendingCall> = {
            let mut st = self.state();
            let prefix = scoped(Some(scope), "");
            st.lists.retain(|k, _| !k.starts_with(&prefix));
            let keys: Vec<String> = st
                .calls
                .iter()
                .filter(|(_, c)| c.scope.as_deref() == Some(scope))
                .map(|(k, _)| k.clone())
                .collect();
            keys.iter().filter_map(|k| st.calls.remove(k)).collect()
        };
        self.abandon(calls, why)
    }

    fn abandon(&self, calls: Vec<PendingCall>, why: &str) -> Vec<String> {
        let mut out = Vec::new();
        for call in calls {
            let id = call.id.as_str();
            if let Err(e) = self.attest(
                call.intent_digest,
                Outcome::Failed,
                None,
                call.decision.clone(),
                call.log_index,
            ) {
                tracing::error!("call {id}: {e}");
            }
            out.push(error_line(
                id,
                codes::INTERNAL_ERROR,
                &format!("signet: {why} before answering tool `{}`", call.tool),
            ));
        }
        out
    }

    fn on_list_response(&self, msg: &Message<'_>, list: &PendingList) -> Verdict {
        let Ok(Some(result)) = msg.result() else {
            return Verdict::Pass;
        };
        let Some(tools_raw) = result.get("tools") else {
            return Verdict::Pass;
        };
        let Ok(tools) = serde_json::from_str::<Vec<&RawValue>>(tools_raw.get()) else {
            tracing::warn!("tools/list result has a `tools` member that is not an array");
            return Verdict::Pass;
        };
        let last_page = result.get("nextCursor").is_none();
        let now = self.now();
        let mode = self.cfg.pin_mode;
        let mut entries: Vec<Entry> = Vec::new();
        let mut hidden: BTreeSet<usize> = BTreeSet::new();
        {
            let mut st = self.state();
            // Pick up changes accepted with `signet pins` since the last listing.
            if let Some(path) = &self.cfg.pins_path {
                match PinFile::load(path) {
                    Ok(Some(f)) => st.pins = Some(f),
                    Ok(None) => {}
                    Err(e) => tracing::error!("{e}"),
                }
            }
            let first_use = self.cfg.signed_pins.is_none()
                && st
                    .pins
                    .as_ref()
                    .is_none_or(|p| p.tools.is_empty() && p.pending.is_empty());
            if list.cursor.is_none() {
                st.paging.clear();
            }
            let mut pins = st
                .pins
                .take()
                .unwrap_or_else(|| PinFile::new(self.cfg.server.as_str()));
            let mut changed_file = false;
            if let Some((path, signed)) = &self.cfg.signed_pins {
                // The signed pins are the pins; local accepts cannot override them.
                if pins.tools != *signed
                    || !pins.accepted.is_empty()
                    || pins.signed.as_ref() != Some(path)
                {
                    pins.tools.clone_from(signed);
                    pins.accepted.clear();
                    pins.signed = Some(path.clone());
                    changed_file = true;
                }
            } else if pins.signed.take().is_some() {
                changed_file = true;
            }
            // Changes a human accepted with `signet pins accept` since the last listing.
            for (name, digest) in std::mem::take(&mut pins.accepted) {
                changed_file = true;
                entries.push(pin_entry(
                    &self.cfg.server,
                    &name,
                    PinChange::Accepted,
                    None,
                    digest,
                    "accept",
                    now,
                ));
            }
            for (i, raw) in tools.iter().enumerate() {
                let Ok(def) = serde_json::from_str::<serde_json::Value>(raw.get()) else {
                    continue;
                };
                let Some(name) = def.get("name").and_then(|n| n.as_str()).map(str::to_owned) else {
                    continue;
                };
                let digest = definition_digest_text(raw.get());
                st.paging.insert(name.clone());
                let pinned = pins.tools.get(&name).map(|p| p.digest);
                let ok = match &pinned {
                    Some(d) => *d == digest,
                    None if first_use => {
                        pins.tools.insert(
                            name.clone(),
                            Pin {
                                digest,
                                definition: def.clone(),
                            },
                        );
                        changed_file = true;
                        entries.push(pin_entry(
                            &self.cfg.server,
                            &name,
                            PinChange::Pinned,
                            None,
                            Some(digest),
                            "pin",
                            now,
                        ));
                        true
                    }
                    None => false,
                };
                if ok {
                    if pins.pending.remove(&name).is_some() {
                        changed_file = true;
                        entries.push(pin_entry(
                            &self.cfg.server,
                            &name,
                            PinChange::Accepted,
                            None,
                            Some(digest),
                            "accept",
                            now,
                        ));
                    }
                } else {
                    let known = pins
                        .pending
                        .get(&name)
                        .and_then(|p| p.as_ref())
                        .map(|p| &p.digest)
                        == Some(&digest);
                    if !known {
                        let change = if pinned.is_some() {
                            PinChange::Changed
                        } else {
                            PinChange::Added
                        };
                        tracing::warn!(
                            "tool `{name}` of {}: {} since pinned ({}); review with `signet pins`",
                            self.cfg.server.as_str(),
                            if pinned.is_some() {
                                "definition changed"
                            } else {
                                "added"
                            },
                            mode.as_str()
                        );
                        pins.pending.insert(
                            name.clone(),
                            Some(Pin {
                                digest,
                                definition: def.clone(),
                            }),
                        );
                        changed_file = true;
                        entries.push(pin_entry(
                            &self.cfg.server,
                            &name,
                            change,
                            pinned,
                            Some(digest),
                            mode.as_str(),
                            now,
                        ));
                    }
                    if mode == PinMode::Hide {
                        hidden.insert(i);
                    }
                }
                match def.get("annotations") {
                    Some(a) => st.annotations.insert(name.clone(), a.clone()),
                    None => st.annotations.remove(&name),
                };
                st.current.insert(name, (digest, ok));
            }
            if last_page && !first_use {
                let removed: Vec<String> = pins
                    .tools
                    .keys()
                    .filter(|n| !st.paging.contains(*n))
                    .filter(|n| !matches!(pins.pending.get(*n), Some(None)))
                    .cloned()
                    .collect();
                for name in removed {
                    tracing::warn!(
                        "tool `{name}` of {}: removed since pinned",
                        self.cfg.server.as_str()
                    );
                    let old = pins.tools.get(&name).map(|p| p.digest);
                    pins.pending.insert(name.clone(), None);
                    changed_file = true;
                    entries.push(pin_entry(
                        &self.cfg.server,
                        &name,
                        PinChange::Removed,
                        old,
                        None,
                        mode.as_str(),
                        now,
                    ));
                    st.current.remove(&name);
                }
            }
            if changed_file
                && let Some(path) = &self.cfg.pins_path
                && let Err(e) = pins.save(path)
            {
                tracing::error!("{e}");
            }
            st.pins = Some(pins);
        }
        for entry in &entries {
            if let Err(e) = self.sink.append(entry) {
                tracing::error!("a tool-pin change could not be logged: {e}");
            }
        }
        if hidden.is_empty() {
            return Verdict::Pass;
        }
        let kept: Vec<&str> = tools
            .iter()
            .enumerate()
            .filter(|(i, _)| !hidden.contains(i))
            .map(|(_, t)| t.get())
            .collect();
        let array = format!("[{}]", kept.join(","));
        Verdict::Forward(
            msg.object
                .with("result", Some(&result.with("tools", Some(&array)))),
        )
    }
}

fn pin_entry(
    server: &Audience,
    tool: &str,
    change: PinChange,
    old: Option<Digest>,
    new: Option<Digest>,
    action: &str,
    at: UnixTime,
) -> Entry {
    Entry::Pin(PinEntry {
        server: server.as_str().to_owned(),
        tool: tool.to_owned(),
        change,
        old,
        new,
        action: action.to_owned(),
        at,
    })
}

/// The key of a pending request: its id within its transport scope.
fn scoped(scope: Option<&str>, id: &str) -> String {
    match scope {
        Some(s) => format!("{s}\u{0}{id}"),
        None => id.to_owned(),
    }
}

/// The decision for a call no rule refused (policy arrives with its own issue).
fn allow() -> Decision {
    Decision {
        effect: Effect::Allow,
        rules: Vec::new(),
        policy: None,
    }
}

/// The full `did:key` to keep next to a JWS whose `kid` is a short key id (long keys).
fn long_key(pk: &PublicKey) -> Option<String> {
    let did = Did::from_public_key(pk);
    (kid_for(pk) != did.as_str()).then(|| did.as_str().to_owned())
}

/// Digest of a response member: canonical JSON, or raw bytes when it has no canonical form.
#[must_use]
pub fn response_digest_text(text: &str) -> Digest {
    Digest::of_json_text(text.as_bytes()).unwrap_or_else(|_| Digest::of_raw(text.as_bytes()))
}

/// A JSON-RPC error response line.
#[must_use]
pub fn error_line(id: &str, code: i64, message: &str) -> String {
    format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{{\"code\":{code},\"message\":{}}}}}",
        jsonrpc::json_string(message)
    )
}

/// The `id` of a message that is JSON but not a valid message, when it has a usable one.
fn id_of(text: &str) -> Option<String> {
    let obj = RawObject::parse(text).ok()?;
    let id = obj.get("id")?.get();
    jsonrpc::is_id(id).then(|| id.to_owned())
}

fn random16() -> Result<[u8; 16], String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| format!("no randomness for a nonce: {e}"))?;
    Ok(b)
}
