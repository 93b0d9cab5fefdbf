//! The tools of `signet serve`: their definitions (input schema, output schema,
//! annotations) and what each does. Transport-free and synchronous: the MCP handler in
//! [`crate::serve`] runs them on a blocking thread.
//!
//! No tool changes policy, approves a call, deletes or rewrites the log, or returns a
//! private key: the only write is `sign_action`'s append of a new intent.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use signet_core::alg::{PublicKey, SigningKey};
use signet_core::did::{Did, KeyId, kid_for};
use signet_core::digest::Digest;
use signet_core::envelope;
use signet_core::replay::{ReplayWindow, UnixTime};
use signet_core::statement::{self, Audience, Decision, Effect, Intent, IntentV1, Nonce, ToolName};
use signet_log::bundle::{self, ProofBundle};
use signet_log::entry::{Entry, IntentEntry};
use signet_log::note::NoteVerifier;
use signet_log::sqlite::SqliteStore;
use signet_log::store::{Filter, Store as _};

use super::ToolError;
use super::args::Args;
use super::records::{self, entry_id, entry_status, short_agent, time_text};
use crate::gateway::AuditSink;

/// The clock: seconds since the epoch.
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;
/// 16 random bytes for a nonce.
pub type Random = Arc<dyn Fn() -> Result<[u8; 16], String> + Send + Sync>;

/// Largest `limit` of `list_actions`.
pub const MAX_LIST: u64 = 500;
/// `limit` of `list_actions` when none is given.
pub const DEFAULT_LIST: u64 = 20;

/// One action for policy to judge, without side effects.
#[derive(Debug, Clone, Copy)]
pub struct PolicyQuery<'a> {
    /// The agent: the signing key's kid (`did:key:…`), as the proxy passes it.
    pub agent: &'a str,
    /// The caller's own name for the agent (`agent_id`).
    pub agent_id: &'a str,
    /// The server (audience) the action is for.
    pub server: &'a str,
    /// The tool (`action_type`).
    pub tool: &'a str,
    /// The arguments `{agent_id, target, payload}`.
    pub arguments: &'a Value,
    /// Now.
    pub now: UnixTime,
}

/// What policy says about a [`PolicyQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyAnswer {
    /// Effect, deciding rule ids, policy digest.
    pub decision: Decision,
    /// Why, for people.
    pub reason: String,
    /// Action categories the policy assigned (`file:read`, `destructive`, …).
    pub categories: Vec<String>,
}

/// A stateless policy evaluation for `check_policy`: it must not consume rate limits or
/// create approvals (signet-policy's `Policy::evaluate` has this shape).
pub trait PolicyEvaluate: Send + Sync {
    /// Judge one action.
    ///
    /// # Errors
    /// The policy could not be evaluated; the text says why (reported, never "allowed").
    fn evaluate(&self, query: &PolicyQuery<'_>) -> Result<PolicyAnswer, String>;
}

/// Everything the tools use. Keys and the log are `Err` with the reason when they could not
/// be loaded: the tools that need them then fail closed with that reason.
pub struct ServeContext {
    /// The audience of signed actions (`signet:serve` by default).
    pub audience: Audience,
    /// The agent key that signs actions.
    pub agent: Result<SigningKey, String>,
    /// Where signed actions are appended (durably, before the tool answers).
    pub sink: Box<dyn AuditSink>,
    /// The log file, read for listing, proving and verifying.
    pub log_path: Option<PathBuf>,
    /// The trusted log key (checkpoints), and the log's origin.
    pub log_key: Option<NoteVerifier>,
    /// Policy, when configured.
    pub policy: Option<Box<dyn PolicyEvaluate>>,
    /// Now.
    pub clock: Clock,
    /// Nonce randomness.
    pub random: Random,
}

impl std::fmt::Debug for ServeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeContext")
            .field("audience", &self.audience)
            .field(
                "agent",
                &self.agent.as_ref().map(|k| kid_for(&k.public_key())),
            )
            .field("log_path", &self.log_path)
            .field("policy", &self.policy.is_some())
            .finish_non_exhaustive()
    }
}

/// A tool's answer: one line for people and the structured result.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// One line (`VALID intent …`, `BLOCKED by no-prod-deletions: …`).
    pub summary: String,
    /// The `structuredContent`, matching the tool's `outputSchema`.
    pub value: Value,
}

// ---------------------------------------------------------------------------------------
// Inputs (schemas only: arguments are read by hand, see `args`)

/// `sign_action` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignActionInput {
    /// Who is acting: the caller's name for the agent (signed into the arguments).
    pub agent_id: String,
    /// What kind of action, such as `file:read` or `db:delete` (signed as the intent's tool).
    pub action_type: String,
    /// What the action acts on, such as a path or URL.
    pub target: String,
    /// Any JSON describing the action (default `null`); signed by digest and kept in the log.
    #[serde(default)]
    pub payload: Option<Value>,
}

/// `check_policy` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckPolicyInput {
    /// Who would act.
    pub agent_id: String,
    /// What kind of action, such as `file:delete`.
    pub action_type: String,
    /// What the action would act on.
    pub target: String,
    /// Any JSON describing the action.
    #[serde(default)]
    pub payload: Option<Value>,
    /// The server the action is for (default: this server's audience).
    #[serde(default)]
    pub server: Option<String>,
}

/// `verify_signature` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifySignatureInput {
    /// The record: a compact JWS (intent, receipt or pin set), a `{tool_call, signet}`
    /// envelope, or a proof bundle (`signet log prove` output); JSON as text or as an object.
    pub record: RecordArg,
    /// The only signer accepted: a did:key (needed for ML-DSA keys).
    #[serde(default)]
    pub signer: Option<String>,
    /// The audience an intent must name exactly.
    #[serde(default)]
    pub audience: Option<String>,
    /// Check that an intent is at most this many seconds old (default: no time check).
    #[serde(default)]
    pub max_age_secs: Option<u32>,
    /// For a proof bundle: the log's key (did:key or C2SP verifier key); default this
    /// server's log key.
    #[serde(default)]
    pub log_key: Option<String>,
}

/// A record given as text or as a JSON object.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RecordArg {
    /// A compact JWS, or JSON text.
    Text(String),
    /// An envelope or proof bundle as a JSON object.
    Object(Map<String, Value>),
}

/// `list_actions` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListActionsInput {
    /// At most this many of the newest entries (default 20, at most 500).
    #[serde(default)]
    pub limit: Option<u64>,
    /// Only this kind: `intent`, `receipt`, `pin` or `lifecycle`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Only this tool / action type.
    #[serde(default)]
    pub tool: Option<String>,
    /// Only this signer (did:key).
    #[serde(default)]
    pub agent: Option<String>,
}

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoInput {}

/// `prove_action` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProveActionInput {
    /// The entry: its `sig_…` id (as `sign_action` and `list_actions` return) or index.
    pub id: IdArg,
}

/// An entry id or index.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IdArg {
    /// The log index.
    Index(u64),
    /// A `sig_…` id, or an index as text.
    Id(String),
}

// ---------------------------------------------------------------------------------------
// Outputs

/// `sign_action` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SignActionOutput {
    /// The log entry's id (`sig_…`, as `signet log list` shows it).
    pub id: String,
    /// The entry's index in the log.
    pub log_index: u64,
    /// The signed intent, a compact JWS any JOSE library verifies.
    pub jws: String,
    /// The intent's digest (what receipts name).
    pub intent_digest: String,
    /// The signer's did:key.
    pub signer: String,
    /// The decoded intent statement.
    pub statement: Value,
    /// The arguments signed by digest: `{agent_id, target, payload}`.
    pub arguments: Value,
}

/// `check_policy` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckPolicyOutput {
    /// `allowed`, `blocked` or `approval-required`.
    pub decision: String,
    /// `ALLOWED`, `BLOCKED by <rule>` or `APPROVAL REQUIRED by <rule>`.
    pub verdict: String,
    /// The rules that decided.
    pub rules: Vec<String>,
    /// Why.
    pub reason: String,
    /// Digest of the policy set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Categories the policy assigned to the action.
    pub categories: Vec<String>,
}

/// `verify_signature` result.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct VerifySignatureOutput {
    /// `VALID` or `INVALID`.
    pub verdict: String,
    /// Whether it verified.
    pub valid: bool,
    /// What it is (`signet-intent+jws`, `signet-receipt+jws`, `signet-pins+jws`,
    /// `signet.log-proof.v1`); absent when unreadable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Why it is valid (what it says) or why not.
    pub reason: String,
    /// The input is not a record at all (rather than a record that fails its checks).
    pub malformed: bool,
    /// The signer's did:key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The signature algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// When it was signed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    /// The decoded statement (a proof bundle: its entry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<Value>,
    /// A proof bundle's entry index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// A proof bundle's checkpoint tree size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_size: Option<u64>,
}

/// One entry of `list_actions`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ActionRow {
    /// `sig_…` id.
    pub id: String,
    /// Log index.
    pub index: u64,
    /// `intent`, `receipt`, `pin` or `lifecycle`.
    pub kind: String,
    /// Signer (did:key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Tool / action type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Target (path, URL, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Outcome of a receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Time (RFC 3339).
    pub time: String,
    /// The entry's signature and bindings check.
    pub valid: bool,
    /// `VALID` or `INVALID (<reason>)`.
    pub status: String,
    /// The row as `signet log list` prints it.
    pub line: String,
}

/// `list_actions` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListActionsOutput {
    /// The newest entries, oldest first.
    pub actions: Vec<ActionRow>,
    /// How many.
    pub count: usize,
}

/// One problem found by `verify_log`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProblemRow {
    /// The entry, when the problem is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// `verify_log` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct VerifyLogOutput {
    /// `VALID` or `INVALID`.
    pub verdict: String,
    /// No problems.
    pub valid: bool,
    /// The log's origin.
    pub origin: String,
    /// Entries checked.
    pub entries: u64,
    /// Signatures checked.
    pub signatures: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The recomputed root hash.
    pub root: String,
    /// Every problem, by index and reason.
    pub problems: Vec<ProblemRow>,
}

/// `prove_action` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProveActionOutput {
    /// The entry's `sig_…` id.
    pub id: String,
    /// Its index.
    pub index: u64,
    /// The size of the tree the proof is for.
    pub tree_size: u64,
    /// The signed checkpoint (C2SP signed note).
    pub checkpoint: String,
    /// The inclusion proof: sibling hashes, leaf to root.
    pub inclusion: Vec<String>,
    /// The whole proof bundle (`signet.log-proof.v1`), for `verify_signature` or
    /// `signet verify` offline.
    pub bundle: Value,
}

/// `get_identity` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GetIdentityOutput {
    /// The agent key's did:key.
    pub did: String,
    /// Its short key id.
    pub key_id: String,
    /// The `kid` its signatures carry.
    pub kid: String,
    /// Its algorithm (JOSE name).
    pub algorithm: String,
    /// Its public key (base64url).
    pub public_key: String,
    /// The audience `sign_action` signs for.
    pub audience: String,
    /// The log's public key (C2SP verifier key), when the log is open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_key: Option<String>,
}

// ---------------------------------------------------------------------------------------
// The tool table

/// A tool: name, what it does, and its schemas.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    /// The tool's name.
    pub name: &'static str,
    /// A human title.
    pub title: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Whether it only reads.
    pub read_only: bool,
    input: fn() -> Arc<Map<String, Value>>,
    output: fn() -> Arc<Map<String, Value>>,
}

impl ToolSpec {
    /// The input JSON Schema.
    #[must_use]
    pub fn input_schema(&self) -> Arc<Map<String, Value>> {
        (self.input)()
    }
    /// The output JSON Schema.
    #[must_use]
    pub fn output_schema(&self) -> Arc<Map<String, Value>> {
        (self.output)()
    }
}

fn input<T: JsonSchema + 'static>() -> Arc<Map<String, Value>> {
    rmcp::handler::server::common::schema_for_type::<T>()
}

fn output<T: JsonSchema + 'static>() -> Arc<Map<String, Value>> {
    rmcp::handler::server::common::schema_for_output::<T>()
}

/// Every tool, in listing order.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "sign_action",
        title: "Sign an action",
        description: "Sign an action with the configured agent key and append it to the tamper-evident log before answering. Returns the signed intent (compact JWS), the decoded statement, the record id (sig_…) and the log index.",
        read_only: false,
        input: input::<SignActionInput>,
        output: output::<SignActionOutput>,
    },
    ToolSpec {
        name: "check_policy",
        title: "Check an action against policy",
        description: "Evaluate an action against the policy set without running, logging or approving it (no rate limit is consumed). Returns allowed, blocked or approval-required with the deciding rules, e.g. `BLOCKED by no-prod-deletions`.",
        read_only: true,
        input: input::<CheckPolicyInput>,
        output: output::<CheckPolicyOutput>,
    },
    ToolSpec {
        name: "verify_signature",
        title: "Verify a signed record",
        description: "Verify a signed record offline: a compact JWS (intent, receipt or pin set), a {tool_call, signet} envelope, or a proof bundle from prove_action / `signet log prove`. Returns VALID or INVALID with the reason, the kind and the signer.",
        read_only: true,
        input: input::<VerifySignatureInput>,
        output: output::<VerifySignatureOutput>,
    },
    ToolSpec {
        name: "list_actions",
        title: "List recent log entries",
        description: "List the newest log entries (id, index, kind, agent, tool, target, outcome, time) with each entry's verification status.",
        read_only: true,
        input: input::<ListActionsInput>,
        output: output::<ListActionsOutput>,
    },
    ToolSpec {
        name: "verify_log",
        title: "Verify the whole log",
        description: "Recompute the log's Merkle tree and check every signature and checkpoint against the trusted log key. Returns VALID or INVALID with every problem by index and reason.",
        read_only: true,
        input: input::<NoInput>,
        output: output::<VerifyLogOutput>,
    },
    ToolSpec {
        name: "prove_action",
        title: "Prove an action is in the log",
        description: "Export one log entry (by sig_… id or index) with its inclusion proof and a signed checkpoint: a proof bundle anyone can check offline with the log's public key.",
        read_only: true,
        input: input::<ProveActionInput>,
        output: output::<ProveActionOutput>,
    },
    ToolSpec {
        name: "get_identity",
        title: "Show the signing identity",
        description: "The agent key's did:key, key id, algorithm and public key, the audience actions are signed for, and the log's public key. Never the private key.",
        read_only: true,
        input: input::<NoInput>,
        output: output::<GetIdentityOutput>,
    },
];

/// The tool named `name`.
#[must_use]
pub fn spec(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}

/// Run tool `name` with `arguments`. `None` when there is no such tool.
pub fn call(
    ctx: &ServeContext,
    name: &str,
    arguments: Option<&Map<String, Value>>,
) -> Option<Result<ToolOutput, ToolError>> {
    Some(match name {
        "sign_action" => sign_action(ctx, arguments),
        "check_policy" => check_policy(ctx, arguments),
        "verify_signature" => verify_signature(ctx, arguments),
        "list_actions" => list_actions(ctx, arguments),
        "verify_log" => verify_log(ctx, arguments),
        "prove_action" => prove_action(ctx, arguments),
        "get_identity" => get_identity(ctx, arguments),
        _ => return None,
    })
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, ToolError> {
    serde_json::to_value(v).map_err(|e| ToolError::Internal(format!("encoding the result: {e}")))
}

/// The action's arguments object `{agent_id, target, payload}` and its tool name.
fn action(a: &Args<'_>) -> Result<(String, ToolName, Value), ToolError> {
    let agent_id = a.req_str("agent_id")?;
    let action_type = a.req_str("action_type")?;
    let target = a.req_str("target")?;
    let tool = ToolName::new(action_type)
        .map_err(|e| ToolError::BadInput(format!("`action_type`: {e}")))?;
    let payload = a.value("payload").cloned().unwrap_or(Value::Null);
    let arguments = json!({"agent_id": agent_id, "target": target, "payload": payload});
    Ok((agent_id.to_owned(), tool, arguments))
}

fn sign_action(
    ctx: &ServeContext,
    arguments: Option<&Map<String, Value>>,
) -> Result<ToolOutput, ToolError> {
    let a = Args::new(arguments, &["agent_id", "action_type", "target", "payload"])?;
    let (_, tool, args_value) = action(&a)?;
    let args = Digest::of_json(&args_value)
        .map_err(|e| ToolError::BadInput(format!("`payload` cannot be signed: {e}")))?;
    let key = ctx.agent.as_ref().map_err(|e| {
        ToolError::Unavailable(format!(
            "the agent key could not be loaded ({e}); nothing was signed"
        ))
    })?;
    let nonce = (ctx.random)().map_err(|e| {
        ToolError::Unavailable(format!(
            "no randomness for a nonce ({e}); nothing was signed"
        ))
    })?;
    let pk = key.public_key();
    let intent = Intent {
        version: IntentV1,
        aud: ctx.audience.clone(),
        tool,
        args,
        tool_def: None,
        signer: kid_for(&pk),
        iat: (ctx.clock)(),
        nonce: Nonce::from_random(nonce),
        rpc_id: None,
        session: None,
        inputs: None,
        prev: None,
    };
    let jws = statement::sign(key, &intent)
        .map_err(|e| ToolError::Internal(format!("signing failed: {e}")))?;
    let entry = Entry::Intent(IntentEntry {
        jws: jws.clone(),
        key: long_key(&pk),
        arguments: Some(args_value.clone()),
    });
    let data = entry
        .leaf_data()
        .map_err(|e| ToolError::Internal(format!("encoding the log entry: {e}")))?;
    let log_index = ctx.sink.append(&entry).map_err(|e| {
        ToolError::Unavailable(format!(
            "the audit log cannot be written ({e}); the action was not signed into the log (fail-closed)"
        ))
    })?;
    let did = Did::from_public_key(&pk);
    let out = SignActionOutput {
        id: entry_id(&data),
        log_index,
        intent_digest: statement::intent_digest(&jws).to_string(),
        jws,
        signer: did.to_string(),
        statement: to_value(&intent)?,
        arguments: args_value,
    };
    Ok(ToolOutput {
        summary: format!(
            "SIGNED {} {} {} as {} (log index {})",
            out.id,
            intent.tool,
            out.arguments
                .get("target")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            short_agent(Some(did.as_str())),
            log_index
        ),
        value: to_value(&out)?,
    })
}

fn long_key(pk: &PublicKey) -> Option<String> {
    let did = Did::from_public_key(pk);
    (kid_for(pk) != did.as_str()).then(|| did.as_str().to_owned())
}

fn check_policy(
    ctx: &ServeContext,
    arguments: Option<&Map<String, Value>>,
) -> Result<ToolOutput, ToolError> {
    let a = Args::new(
        arguments,
        &["agent_id", "action_type", "target", "payload", "server"],
    )?;
    let (agent_id, tool, args_value) = action(&a)?;
    let server = a
        .opt_str("server")?
        .unwrap_or(ctx.audience.as_str())
        .to_owned();
    let policy = ctx.policy.as_ref().ok_or_else(|| {
        ToolError::Unavailable(
            "no policy is configured for this server, so no action can be checked".into(),
        )
    })?;
    let agent = match &ctx.agent {
        Ok(k) => kid_for(&k.public_key()),
        Err(_) => agent_id.clone(),
    };
    let answer = policy
        .evaluate(&PolicyQuery {
            agent: &agent,
            agent_id: &agent_id,
            server: &server,
            tool: tool.as_str(),
            arguments: &args_value,
            now: (ctx.clock)(),
        })
        .map_err(|e| {
            ToolError::Unavailable(format!(
                "the policy could not be evaluated ({e}); treat the action as blocked"
            ))
        })?;
    let rules = answer.decision.rules.clone();
    let by = if rules.is_empty() {
        String::new()
    } else {
        format!(" by {}", rules.join(", "))
    };
    let (decision, verdict) = match answer.decision.effect {
        Effect::Allow => ("allowed", "ALLOWED".to_owned()),
        Effect::Deny => ("blocked", format!("BLOCKED{by}")),
        Effect::ApprovalRequired => ("approval-required", format!("APPROVAL REQUIRED{by}")),
    };
    let out = CheckPolicyOutput {
        decision: decision.into(),
        verdict,
        rules,
        reason: answer.reason,
        policy: answer.decision.policy.as_ref().map(ToString::to_string),
        categories: answer.categories,
    };
    Ok(ToolOutput {
        // signet-policy's reasons already start with the verdict (`BLOCKED by …: why`).
        summary: if out.reason.is_empty() {
            out.verdict.clone()
        } else if out.reason.starts_with(&out.verdict) {
            out.reason.clone()
        } else {
            format!("{}: {}", out.verdict, out.reason)
        },
        value: to_value(&out)?,
    })
}

fn invalid(reason: String, malformed: bool, kind: Option<String>) -> VerifySignatureOutput {
    VerifySignatureOutput {
        verdict: "INVALID".into(),
        valid: false,
        kind,
        reason,
        malformed,
        ..VerifySignatureOutput::default()
    }
}

fn verify_signature(
    ctx: &ServeContext,
    arguments: Option<&Map<String, Value>>,
) -> Result<ToolOutput, ToolError> {
    let a = Args::new(
        arguments,
        &["record", "signer", "audience", "max_age_secs", "log_key"],
    )?;
    let text = match a.value("record") {
        None => return Err(ToolError::BadInput("missing field `record`".into())),
        Some(Value::String(s)) => s.clone(),
        Some(o @ Value::Object(_)) => o.to_string(),
        Some(other) => {
            return Err(ToolError::BadInput(format!(
                "`record` must be a string or an object, got {}",
                super::args::type_name(other)
            )));
        }
    };
    let signer = a
        .opt_str("signer")?
        .map(|s| {
            s.parse::<Did>()
                .map(|d| d.public_key().clone())
                .map_err(|e| ToolError::BadInput(format!("`signer` is not a valid did:key: {e}")))
        })
        .transpose()?;
    let audience = a.opt_str("audience")?;
    let max_age = a
        .opt_u64("max_age_secs")?
        .map(|n| {
            u32::try_from(n).map_err(|_| ToolError::BadInput("`max_age_secs` is too large".into()))
        })
        .transpose()?;
    let log_key = a.opt_str("log_key")?;

    let out = if records::is_proof_bundle(text.as_bytes()) {
        verify_bundle(ctx, text.as_bytes(), log_key)?
    } else {
        match records::check_record(text.as_bytes(), signer.as_ref()).and_then(|r| {
            if let (Some(want), Some(got)) = (audience, &r.aud)
                && want != got
            {
                return Err(records::Invalid {
                    reason: format!("wrong audience: intent is for `{got}`, expected `{want}`"),
                    malformed: false,
                });
            }
            if let (Some(max_age), signet_core::jws::StatementKind::Intent) = (max_age, r.kind) {
                ReplayWindow {
                    max_age,
                    max_skew: 30,
                }
                .check(r.iat, (ctx.clock)())
                .map_err(|e| records::Invalid::from((e, false)))?;
            }
            Ok(r)
        }) {
            Ok(r) => {
                let did = Did::from_public_key(&r.key);
                VerifySignatureOutput {
                    verdict: "VALID".into(),
                    valid: true,
                    kind: Some(r.kind.typ().to_owned()),
                    reason: r.summary,
                    malformed: false,
                    signer: Some(did.to_string()),
                    algorithm: Some(r.key.algorithm().jose_name().to_owned()),
                    issued_at: envelope::format_time(r.iat).ok(),
                    statement: Some(r.statement),
                    index: None,
                    tree_size: None,
                }
            }
            Err(inv) => invalid(inv.reason, inv.malformed, None),
        }
    };
    if out.malformed {
        // Not a record at all: the call itself was wrong.
        return Err(ToolError::BadInput(format!(
            "INVALID: {} (expected a compact JWS, a {{tool_call, signet}} envelope or a proof bundle)",
            out.reason
        )));
    }
    Ok(ToolOutput {
        summary: format!("{} {}", out.verdict, out.reason),
        value: to_value(&out)?,
    })
}

fn verify_bundle(
    ctx: &ServeContext,
    input: &[u8],
    log_key: Option<&str>,
) -> Result<VerifySignatureOutput, ToolError> {
    let kind = Some(bundle::BUNDLE_TYPE.to_owned());
    let b = match ProofBundle::parse(input) {
        Ok(b) => b,
        Err(e) => return Ok(invalid(format!("malformed proof bundle: {e}"), true, kind)),
    };
    let origin = b.checkpoint.lines().next().unwrap_or_default().to_owned();
    let key = match log_key {
        Some(text) if text.starts_with("did:") => {
            let did: Did = text.parse().map_err(|e| {
                ToolError::BadInput(format!("`log_key` is not a valid did:key: {e}"))
            })?;
            NoteVerifier::new(&origin, did.public_key())
                .map_err(|e| ToolError::BadInput(format!("`log_key`: {e}")))?
        }
        Some(text) => text.parse::<NoteVerifier>().map_err(|e| {
            ToolError::BadInput(format!(
                "`log_key` is not a did:key or a C2SP verifier key: {e}"
            ))
        })?,
        None => ctx.log_key.clone().ok_or_else(|| {
            ToolError::Unavailable(
                "no log key to check the bundle's checkpoint with: pass `log_key`".into(),
            )
        })?,
    };
    Ok(match b.verify(&key) {
        Ok(v) => VerifySignatureOutput {
            verdict: "VALID".into(),
            valid: true,
            kind,
            reason: format!(
                "{} entry {} is in log `{}` (size {}){}",
                v.entry.kind(),
                v.index,
                v.checkpoint.origin,
                v.checkpoint.size.0,
                v.summary
                    .tool
                    .as_deref()
                    .map(|t| format!(", tool {t}"))
                    .unwrap_or_default()
            ),
            malformed: false,
            signer: v.summary.agent.clone(),
            algorithm: None,
            issued_at: v.summary.at.and_then(|t| envelope::format_time(t).ok()),
            statement: Some(b.entry.clone()),
            index: Some(v.index),
            tree_size: Some(v.checkpoint.size.0),
        },
        Err(e) => invalid(e.to_string(), false, kind),
    })
}

fn open_log(ctx: &ServeContext) -> Result<SqliteStore, ToolError> {
    let path = ctx.log_path.as_ref().ok_or_else(|| {
        ToolError::Unavailable("no audit log is configured for this server".into())
    })?;
    SqliteStore::open_read_only(path)
        .map_err(|e| ToolError::Unavailable(format!("the audit log cannot be read: {e}")))
}

fn list_actions(
    ctx: &ServeContext,
    arguments: Option<&Map<String, Value>>,
) -> Result<ToolOutput, ToolError> {
    let a = Args::new(arguments, &["limit", "kind", "tool", "agent"])?;
    let limit = a.opt_u64("limit")?.unwrap_or(DEFAULT_LIST);
    if limit == 0 || limit > MAX_LIST {
        return Err(ToolError::BadInput(format!(
            "`limit` must be between 1 and {MAX_LIST}, got `{limit}`"
        )));
    }
    let kind = a.opt_str("kind")?;
    if let Some(k) = kind
        && !["intent", "receipt", "pin", "lifecycle"].contains(&k)
    {
        return Err(ToolError::BadInput(format!(
            "`kind` must be one of `intent`, `receipt`, `pin`, `lifecycle`, got `{k}`"
        )));
    }
    let filter = Filter {
        kind: kind.map(str::to_owned),
        tool: a.opt_str("tool")?.map(str::to_owned),
        agent: a.opt_str("agent")?.map(str::to_owned),
        limit: Some(limit),
        ..Filter::default()
    };
    let store = open_log(ctx)?;
    let rows = store
        .query(&filter)
        .map_err(|e| ToolError::Unavailable(format!("the audit log cannot be read: {e}")))?;
    let actions: Vec<ActionRow> = rows
        .iter()
        .map(|e| {
            let (valid, status) = entry_status(&e.data);
            let c = &e.columns;
            let id = entry_id(&e.data);
            let line = format!(
                "{id} {} {} {} {} {} {} {} {status}",
                e.index,
                c.kind,
                short_agent(c.agent.as_deref()),
                c.tool.as_deref().unwrap_or("-"),
                c.target.as_deref().unwrap_or("-"),
                c.outcome.as_deref().unwrap_or("-"),
                time_text(c.at),
            );
            ActionRow {
                id,
                index: e.index,
                kind: c.kind.clone(),
                agent: c.agent.clone(),
                tool: c.tool.clone(),
                target: c.target.clone(),
                outcome: c.outcome.clone(),
                time: time_text(c.at),
                valid,
                status,
                line,
            }
        })
        .collect();
    let summary = if actions.is_empty() {
        "no entries".to_owned()
    } else {
        actions
            .iter()
            .map(|r| r.line.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let out = ListActionsOutput {
        count: actions.len(),
        actions,
    };
    Ok(ToolOutput {
        summary,
        value: to_value(&out)?,
    })
}

fn verify_log(
    ctx: &ServeContext,
    arguments: Option<&Map<String, Value>>,
) -> Result<ToolOutput, ToolError> {
    Args::new(arguments, &[])?;
    let key = ctx.log_key.as_ref().ok_or_else(|| {
        ToolError::Unavailable("no trusted log key: the log's key could not be loaded".into())
    })?;
    let store = open_log(ctx)?;
    let report = signet_log::verify::verify_log(&store, key, &mut |_, _| {})
        .map_err(|e| ToolError::Unavailable(format!("the audit log cannot be read: {e}")))?;
    let origin = store
        .meta("origin")
        .ok()
        .flatten()
        .unwrap_or_else(|| key.name().to_owned());
    let mut problems: Vec<ProblemRow> = report
        .problems
        .iter()
        .map(|p| ProblemRow {
            index: p.index,
            reason: p.reason.clone(),
        })
        .collect();
    if let Ok(Some(stored)) = store.meta("log_key")
        && stored != key.to_string()
    {
        problems.insert(
            0,
            ProblemRow {
                index: None,
                reason: format!("the log names its key `{stored}`, but the trusted key is `{key}`"),
            },
        );
    }
    let valid = problems.is_empty();
    let out = VerifyLogOutput {
        verdict: if valid { "VALID" } else { "INVALID" }.into(),
        valid,
        origin,
        entries: report.entries,
        signatures: report.signatures,
        checkpoints: report.checkpoints,
        root: report.root.to_string(),
        problems,
    };
    let summary = if valid {
        format!(
            "VALID log `{}`: {} entries, {} signatures, {} checkpoints, root {}",
            out.origin, out.entries, out.signatures, out.checkpoints, out.root
        )
    } else {
        format!(
            "INVALID log `{}`: {} problem(s) in {} entries: {}",
            out.origin,
            out.problems.len(),
            out.entries,
            out.problems
                .iter()
                .map(|p| match p.index {
                    Some(i) => format!("entry {i}: {}", p.reason),
                    None => p.reason.clone(),
                })
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    Ok(ToolOutput {
        summary,
        value: to_value(&out)?,
    })
}

fn prove_action(
    ctx: &ServeContext,
    arguments: Option<&Map<String, Value>>,
) -> Result<ToolOutput, ToolError> {
    let a = Args::new(arguments, &["id"])?;
    let id = match a.value("id") {
        None => return Err(ToolError::BadInput("missing field `id`".into())),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) if n.as_u64().is_some() => n.to_string(),
        Some(other) => {
            return Err(ToolError::BadInput(format!(
                "`id` must be a `sig_…` id or a log index, got {}",
                match other {
                    Value::String(_) => "an empty string".to_owned(),
                    Value::Number(n) => format!("`{n}`"),
                    o => super::args::type_name(o).to_owned(),
                }
            )));
        }
    };
    let store = open_log(ctx)?;
    let e = records::find_entry(&store, &id).map_err(ToolError::BadInput)?;
    let b = bundle::prove(&store, e.index)
        .map_err(|err| ToolError::Unavailable(format!("cannot prove entry {}: {err}", e.index)))?;
    let tree_size = b
        .checkpoint
        .lines()
        .nth(1)
        .and_then(|l| l.parse::<u64>().ok())
        .unwrap_or_default();
    let out = ProveActionOutput {
        id: entry_id(&e.data),
        index: b.index,
        tree_size,
        checkpoint: b.checkpoint.clone(),
        inclusion: b.inclusion.clone(),
        bundle: to_value(&b)?,
    };
    Ok(ToolOutput {
        summary: format!(
            "PROOF for {} (index {}) in a tree of {} entries, {} hashes",
            out.id,
            out.index,
            out.tree_size,
            out.inclusion.len()
        ),
        value: to_value(&out)?,
    })
}

fn get_identity(
    ctx: &ServeContext,
    arguments: Option<&Map<String, Value>>,
) -> Result<ToolOutput, ToolError> {
    Args::new(arguments, &[])?;
    let key = ctx
        .agent
        .as_ref()
        .map_err(|e| ToolError::Unavailable(format!("the agent key could not be loaded ({e})")))?;
    let pk = key.public_key();
    let did = Did::from_public_key(&pk);
    let out = GetIdentityOutput {
        did: did.to_string(),
        key_id: KeyId::from_public_key(&pk).to_string(),
        kid: kid_for(&pk),
        algorithm: pk.algorithm().jose_name().to_owned(),
        public_key: URL_SAFE_NO_PAD.encode(pk.as_bytes()),
        audience: ctx.audience.to_string(),
        log_key: ctx.log_key.as_ref().map(ToString::to_string),
    };
    Ok(ToolOutput {
        summary: format!(
            "{} ({}), signing for `{}`",
            records::short_did(&did),
            out.algorithm,
            out.audience
        ),
        value: to_value(&out)?,
    })
}
