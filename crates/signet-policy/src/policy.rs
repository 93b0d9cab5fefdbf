//! [`Policy`]: a loaded, validated, immutable policy set, and its pure evaluation of one
//! call ([`Policy::evaluate`]) into an [`Evaluation`].
//!
//! Loading reads every configured `.cedar` file once, parses it, checks each policy's
//! annotations (`@id` required and unique, optional `@reason`, `@approval("required")`
//! on `forbid` only), and validates the whole set against the schema in Cedar's strict
//! mode. Evaluation does no I/O: it classifies the call into action categories, builds a
//! Cedar request (see [`crate::mapping`] for the JSON → Cedar rules) and asks Cedar.
//!
//! Decision rules, in order:
//! 1. a matching `forbid` without `@approval` → **deny**, rules = those `@id`s;
//! 2. any evaluation error in any rule → **deny**, rule `policy-error` (fail closed);
//! 3. no `permit` matches (only possible with `default = "deny"`) → **deny**, rule
//!    `default-deny`;
//! 4. a matching `forbid` with `@approval("required")` → **approval-required**, rules =
//!    those `@id`s;
//! 5. otherwise **allow**, rules = the `@id`s of the user's matching `permit` rules (the
//!    built-in `default-allow` is not listed).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use serde_json::{Value, json};
use signet_core::digest::Digest;
use signet_core::replay::UnixTime;
use signet_core::statement::{Decision, Effect};

use crate::config::{CategoryRule, DefaultEffect, PolicyConfig, RateKey, RateLimit};
use crate::error::PolicyError;
use crate::{glob, mapping};

/// The built-in Cedar schema (Cedar schema syntax). A custom schema (`schema = "…"`) must
/// keep these types, the action and the context shape; it may declare more `Arguments`.
pub const BUILTIN_SCHEMA: &str = include_str!("signet.cedarschema");

/// Rule id of the built-in permit added when `default = "allow"`.
pub const RULE_DEFAULT_ALLOW: &str = "default-allow";
/// Rule id shown when `default = "deny"` and no permit matched.
pub const RULE_DEFAULT_DENY: &str = "default-deny";
/// Rule id shown when a rule could not be evaluated (the call is denied).
pub const RULE_POLICY_ERROR: &str = "policy-error";

const BUILTIN: &str = "<built-in>";
const DEFAULT_ALLOW_TEXT: &str = "@id(\"default-allow\")\npermit(principal, action == Signet::Action::\"call_tool\", resource);\n";
const MAX_RULE_ID: usize = 128;

/// One tool call to decide on.
#[derive(Debug, Clone, Copy)]
pub struct CallRequest<'a> {
    /// The agent: the kid / DID of the intent's signer (`principal`).
    pub agent: &'a str,
    /// The server: the intent's audience.
    pub server: &'a str,
    /// The tool name.
    pub tool: &'a str,
    /// The call's `arguments` (`null` when absent).
    pub arguments: &'a Value,
    /// The tool's `annotations` from `tools/list`, when known.
    pub annotations: Option<&'a Value>,
    /// The time of the call.
    pub now: UnixTime,
}

/// The outcome of evaluating one call: a value, never an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Effect, deciding rule ids, and the policy-set digest (none without a policy).
    pub decision: Decision,
    /// One line for users: `ALLOWED`, `BLOCKED by <rules>: <reason>` or
    /// `APPROVAL REQUIRED by <rules>: <reason>`.
    pub reason: String,
    /// The action categories the call was put into, sorted.
    pub categories: Vec<String>,
}

impl Evaluation {
    pub(crate) fn new(
        effect: Effect,
        rules: Vec<String>,
        policy: Option<Digest>,
        detail: Option<&str>,
        categories: Vec<String>,
    ) -> Self {
        let reason = format_reason(effect, &rules, detail);
        Self {
            decision: Decision {
                effect,
                rules,
                policy,
            },
            reason,
            categories,
        }
    }
}

/// `ALLOWED` / `BLOCKED by a, b: detail` / `APPROVAL REQUIRED by a: detail`.
pub(crate) fn format_reason(effect: Effect, rules: &[String], detail: Option<&str>) -> String {
    let head = match effect {
        Effect::Allow => "ALLOWED",
        Effect::Deny => "BLOCKED",
        Effect::ApprovalRequired => "APPROVAL REQUIRED",
    };
    let mut s = head.to_owned();
    if !rules.is_empty() {
        s.push_str(" by ");
        s.push_str(&rules.join(", "));
    }
    if let Some(d) = detail.filter(|d| !d.is_empty()) {
        s.push_str(": ");
        s.push_str(d);
    }
    s.replace(['\n', '\r'], " ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Permit,
    Forbid,
    Approval,
}

#[derive(Debug)]
struct RuleMeta {
    file: String,
    kind: Kind,
    reason: Option<String>,
}

/// A loaded, validated, immutable policy set. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Policy {
    inner: Option<Arc<Loaded>>,
    digest: Digest,
}

#[derive(Debug)]
struct Loaded {
    /// Permits, plain forbids and the built-in default permit.
    main: PolicySet,
    /// `main` and the `@approval("required")` forbids: one evaluation finds hard forbids,
    /// approval forbids and (when nothing forbids) the permits.
    all: PolicySet,
    has_approval_rules: bool,
    /// The built-in `default-allow` permit is in `main`.
    default_allow: bool,
    rules: HashMap<String, RuleMeta>,
    files: Vec<PathBuf>,
    categories: Vec<CategoryRule>,
    rate_limits: Vec<RateLimit>,
    approval_ttl_secs: u64,
    authorizer: Authorizer,
    /// The tool entity (with its server parent) per (server, tool): building one computes
    /// a transitive closure, a good part of an evaluation. Cleared when full.
    tool_entities: std::sync::Mutex<HashMap<(String, String), Arc<Entities>>>,
    /// The attributes the schema declares for `context.arguments` (`None`: unknown, map
    /// every argument). Validated rules can read no others.
    declared_arguments: Option<HashSet<String>>,
    /// The context attributes some rule may read (the rest are not built per call).
    uses: Uses,
    agent_type: EntityTypeName,
    server_type: EntityTypeName,
    tool_type: EntityTypeName,
    action: EntityUid,
}

/// A rate-limit budget one call draws from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub id: String,
    pub key: String,
    pub max: u32,
    pub window_secs: u64,
}

impl Policy {
    /// No policy: every call is allowed with no rules and no policy digest. This is what
    /// an unconfigured (`PolicyConfig::default()`) policy loads as.
    #[must_use]
    pub fn empty() -> Policy {
        Policy {
            inner: None,
            digest: Digest::from_canonical_bytes(b"{\"type\":\"signet.policy-set.v1\"}"),
        }
    }

    /// Load and validate the policy set described by `cfg`; relative paths are resolved
    /// against `base_dir` (the config file's directory). An unconfigured `cfg` gives
    /// [`Policy::empty`].
    ///
    /// # Errors
    /// [`PolicyError::Io`] for a missing or unreadable file, [`PolicyError::NoPolicies`]
    /// for a directory without `.cedar` files or a file without policies,
    /// [`PolicyError::Invalid`] (file, line, column, reason) for a parse error, a schema
    /// violation, a missing / duplicate / malformed `@id` or a bad `@approval`, and
    /// [`PolicyError::Config`] for a bad category rule or rate limit.
    pub fn load(cfg: &PolicyConfig, base_dir: &Path) -> Result<Policy, PolicyError> {
        if !cfg.is_configured() {
            return Ok(Policy::empty());
        }
        check_config(cfg)?;
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_owned()
            } else {
                base_dir.join(p)
            }
        };
        let (schema_name, schema_text) = match &cfg.schema {
            Some(p) => {
                let path = resolve(p);
                let text = read(&path)?;
                (path.display().to_string(), text)
            }
            None => (BUILTIN.to_owned(), BUILTIN_SCHEMA.to_owned()),
        };
        let schema = match Schema::from_cedarschema_str(&schema_text) {
            Ok((s, _warnings)) => s,
            Err(e) => return Err(invalid(&schema_name, &schema_text, &e)),
        };
        let declared_arguments = declared_arguments(&schema_text);

        let mut files = BTreeSet::new();
        for p in &cfg.files {
            let path = resolve(p);
            if path.is_dir() {
                let mut found = false;
                let entries = std::fs::read_dir(&path).map_err(|source| PolicyError::Io {
                    path: path.clone(),
                    source,
                })?;
                for entry in entries {
                    let entry = entry.map_err(|source| PolicyError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    let f = entry.path();
                    if f.extension().is_some_and(|e| e == "cedar") && f.is_file() {
                        files.insert(f);
                        found = true;
                    }
                }
                if !found {
                    return Err(PolicyError::NoPolicies(path));
                }
            } else {
                files.insert(path);
            }
        }

        let mut all = PolicySet::new();
        let mut rules: HashMap<String, RuleMeta> = HashMap::new();
        let mut texts: HashMap<String, String> = HashMap::new();
        let mut digest_files = Vec::new();
        for path in &files {
            let text = read(path)?;
            let name = path.display().to_string();
            load_file(&name, &text, &mut all, &mut rules)?;
            let shown = path.strip_prefix(base_dir).unwrap_or(path);
            digest_files.push(json!({
                "file": shown.to_string_lossy().replace('\\', "/"),
                "text": text,
            }));
            texts.insert(name, text);
        }
        if cfg.default == DefaultEffect::Allow {
            load_file(BUILTIN, DEFAULT_ALLOW_TEXT, &mut all, &mut rules)?;
            texts.insert(BUILTIN.to_owned(), DEFAULT_ALLOW_TEXT.to_owned());
        }
        for limit in &cfg.rate_limits {
            if rules.contains_key(&limit.id) {
                return Err(PolicyError::Config(format!(
                    "rate limit id `{}` is also the id of a cedar rule",
                    limit.id
                )));
            }
        }

        let validator = Validator::new(schema);
        let result = validator.validate(&all, ValidationMode::Strict);
        if let Some(e) = result.validation_errors().next() {
            let file = rules
                .get(AsRef::<str>::as_ref(e.policy_id()))
                .map_or(BUILTIN, |m| m.file.as_str());
            let text = texts.get(file).map_or("", String::as_str);
            return Err(invalid(file, text, e));
        }
        // Warnings are errors too: the important one is "impossible policy", e.g. a rule
        // reading an argument the schema does not declare (`has` is then always false, so
        // the rule could never match).
        if let Some(w) = result.validation_warnings().next() {
            let file = rules
                .get(AsRef::<str>::as_ref(w.policy_id()))
                .map_or(BUILTIN, |m| m.file.as_str());
            let text = texts.get(file).map_or("", String::as_str);
            return Err(invalid(file, text, w));
        }

        let mut main = PolicySet::new();
        let mut has_approval_rules = false;
        for p in all.policies() {
            if rules.get(AsRef::<str>::as_ref(p.id())).map(|m| m.kind) == Some(Kind::Approval) {
                has_approval_rules = true;
            } else {
                main.add(p.clone())
                    .map_err(|e| PolicyError::Config(e.to_string()))?;
            }
        }

        let digest = Digest::of_json(&json!({
            "type": "signet.policy-set.v1",
            "schema": schema_text,
            "policies": digest_files,
            "default": cfg.default,
            "categories": cfg.categories,
            "rate_limits": cfg.rate_limits,
            "approval_ttl_secs": cfg.approval_ttl_secs,
        }))
        .map_err(|e| PolicyError::Config(e.to_string()))?;

        let ty =
            |s: &str| EntityTypeName::from_str(s).map_err(|e| PolicyError::Config(e.to_string()));
        let action =
            EntityUid::from_type_name_and_id(ty("Signet::Action")?, EntityId::new("call_tool"));
        Ok(Policy {
            inner: Some(Arc::new(Loaded {
                main,
                all,
                has_approval_rules,
                default_allow: cfg.default == DefaultEffect::Allow,
                rules,
                files: files.into_iter().collect(),
                categories: cfg.categories.clone(),
                rate_limits: cfg.rate_limits.clone(),
                approval_ttl_secs: cfg.approval_ttl_secs,
                authorizer: Authorizer::new(),
                tool_entities: std::sync::Mutex::new(HashMap::new()),
                declared_arguments,
                uses: Uses::of(texts.values().map(String::as_str)),
                agent_type: ty("Signet::Agent")?,
                server_type: ty("Signet::Server")?,
                tool_type: ty("Signet::Tool")?,
                action,
            })),
            digest,
        })
    }

    /// Digest (`sha256:`, RFC 8785) of the whole policy set: the JSON object
    /// `{"type": "signet.policy-set.v1", "schema": <schema text>, "policies": [{"file",
    /// "text"} sorted by path], "default", "categories", "rate_limits",
    /// "approval_ttl_secs"}` (file paths relative to the config directory). Any change to
    /// any rule, category or limit changes it.
    #[must_use]
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// Whether this is the empty (unconfigured) policy.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// The `.cedar` files loaded, sorted.
    #[must_use]
    pub fn files(&self) -> &[PathBuf] {
        self.inner.as_ref().map_or(&[], |l| l.files.as_slice())
    }

    /// The rule ids of the Cedar policies (built-in `default-allow` included), sorted.
    #[must_use]
    pub fn rule_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .inner
            .as_ref()
            .map(|l| l.rules.keys().cloned().collect())
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// Lifetime of approval requests, in seconds.
    #[must_use]
    pub fn approval_ttl_secs(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(crate::config::DEFAULT_APPROVAL_TTL_SECS, |l| {
                l.approval_ttl_secs
            })
    }

    /// Decide one call: categories, then Cedar. Pure and stateless (rate limits and
    /// approvals are the [`crate::Enforcer`]'s); never panics; an evaluation error denies
    /// with rule `policy-error`.
    #[must_use]
    pub fn evaluate(&self, call: &CallRequest<'_>) -> Evaluation {
        let Some(l) = &self.inner else {
            return Evaluation::new(Effect::Allow, Vec::new(), None, None, Vec::new());
        };
        let digest = Some(self.digest);
        let (ann, annotated) = mapping::annotation_values(call.annotations);
        let categories = l.classify(call, ann);
        let deny_error = |detail: String, categories: Vec<String>| {
            Evaluation::new(
                Effect::Deny,
                vec![RULE_POLICY_ERROR.to_owned()],
                digest,
                Some(&detail),
                categories,
            )
        };
        let (request, entities) = match l.request(call, &categories, ann, annotated) {
            Ok(r) => r,
            Err(e) => return deny_error(format!("cannot build the request: {e}"), categories),
        };
        // One evaluation over every rule: the forbids that match (hard and approval) are
        // the reasons of a deny; when none matches, the permits are the reasons of an allow.
        let set = if l.has_approval_rules {
            &l.all
        } else {
            &l.main
        };
        let response = l.authorizer.is_authorized(&request, set, &entities);
        let mut forbids = Vec::new();
        let mut approvals = Vec::new();
        let mut permits = Vec::new();
        for id in response.diagnostics().reason() {
            let id: &str = id.as_ref();
            match l.rules.get(id).map(|m| m.kind) {
                Some(Kind::Forbid) => forbids.push(id.to_owned()),
                Some(Kind::Approval) => approvals.push(id.to_owned()),
                Some(Kind::Permit) if id != RULE_DEFAULT_ALLOW => permits.push(id.to_owned()),
                _ => {}
            }
        }
        let first_reason = |ids: &[String]| {
            ids.first()
                .and_then(|f| l.rules.get(f))
                .and_then(|m| m.reason.clone())
        };
        if !forbids.is_empty() {
            forbids.sort();
            let detail = first_reason(&forbids);
            return Evaluation::new(Effect::Deny, forbids, digest, detail.as_deref(), categories);
        }
        if let Some(e) = response.diagnostics().errors().next() {
            return deny_error(format!("{e}"), categories);
        }
        let default_deny = |categories| {
            Evaluation::new(
                Effect::Deny,
                vec![RULE_DEFAULT_DENY.to_owned()],
                digest,
                Some("no rule permits this call"),
                categories,
            )
        };
        if !approvals.is_empty() {
            // Held for a human only if the call would otherwise be allowed. With the
            // built-in default permit it would; otherwise ask the rules without approvals.
            if !l.default_allow {
                let r = l.authorizer.is_authorized(&request, &l.main, &entities);
                if let Some(e) = r.diagnostics().errors().next() {
                    return deny_error(format!("{e}"), categories);
                }
                if r.decision() == CedarDecision::Deny {
                    return default_deny(categories);
                }
            }
            approvals.sort();
            let detail = first_reason(&approvals);
            return Evaluation::new(
                Effect::ApprovalRequired,
                approvals,
                digest,
                detail.as_deref(),
                categories,
            );
        }
        if response.decision() == CedarDecision::Deny {
            return default_deny(categories);
        }
        permits.sort();
        Evaluation::new(Effect::Allow, permits, digest, None, categories)
    }

    /// The rate-limit budgets a call with these categories draws from.
    pub(crate) fn buckets(&self, call: &CallRequest<'_>, categories: &[String]) -> Vec<Bucket> {
        let Some(l) = &self.inner else {
            return Vec::new();
        };
        l.rate_limits
            .iter()
            .filter(|r| {
                (r.tools.is_empty() || glob::any(&r.tools, call.tool))
                    && (r.servers.is_empty() || glob::any(&r.servers, call.server))
                    && (r.agents.is_empty() || glob::any(&r.agents, call.agent))
                    && (r.categories.is_empty()
                        || categories.iter().any(|c| glob::any(&r.categories, c)))
            })
            .map(|r| {
                let part = |k: RateKey, v: &str| {
                    if r.per.contains(&k) {
                        v.to_owned()
                    } else {
                        String::new()
                    }
                };
                let key = json!([
                    r.id,
                    part(RateKey::Agent, call.agent),
                    part(RateKey::Server, call.server),
                    if r.per.contains(&RateKey::Tool) {
                        format!("{}/{}", call.server, call.tool)
                    } else {
                        String::new()
                    },
                ])
                .to_string();
                Bucket {
                    id: r.id.clone(),
                    key,
                    max: r.max,
                    window_secs: r.window_secs,
                }
            })
            .collect()
    }
}

impl Loaded {
    fn classify(&self, call: &CallRequest<'_>, ann: [bool; 4]) -> Vec<String> {
        let set: BTreeSet<&str> = self
            .categories
            .iter()
            .filter(|r| category_matches(r, call, ann))
            .map(|r| r.category.as_str())
            .collect();
        set.into_iter().map(str::to_owned).collect()
    }

    /// The entities of a call (see `tool_entities`).
    fn tool_entities(
        &self,
        call: &CallRequest<'_>,
        tool: &EntityUid,
    ) -> Result<Arc<Entities>, String> {
        const MAX_CACHED: usize = 4096;
        let key = (call.server.to_owned(), call.tool.to_owned());
        let mut cache = self
            .tool_entities
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = cache.get(&key) {
            return Ok(Arc::clone(e));
        }
        let server =
            EntityUid::from_type_name_and_id(self.server_type.clone(), EntityId::new(call.server));
        let tool_entity = Entity::new(
            tool.clone(),
            HashMap::from([
                (
                    "name".to_owned(),
                    RestrictedExpression::new_string(call.tool.to_owned()),
                ),
                (
                    "server".to_owned(),
                    RestrictedExpression::new_string(call.server.to_owned()),
                ),
            ]),
            HashSet::from([server]),
        )
        .map_err(|e| e.to_string())?;
        // Only the tool needs to be an entity (its attributes and its server parent);
        // `principal == …` and `resource in Signet::Server::"…"` need no other entity data.
        let entities =
            Arc::new(Entities::from_entities([tool_entity], None).map_err(|e| e.to_string())?);
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&entities));
        Ok(entities)
    }

    fn request(
        &self,
        call: &CallRequest<'_>,
        categories: &[String],
        ann: [bool; 4],
        annotated: bool,
    ) -> Result<(Request, Arc<Entities>), String> {
        let uid = |t: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(t.clone(), EntityId::new(id))
        };
        let agent = uid(&self.agent_type, call.agent);
        let tool = uid(&self.tool_type, &format!("{}/{}", call.server, call.tool));
        let entities = self.tool_entities(call, &tool)?;
        let mut lossy = false;
        let arguments =
            mapping::arguments(call.arguments, self.declared_arguments.as_ref(), &mut lossy);
        let mut pairs = vec![("arguments".to_owned(), arguments)];
        let u = self.uses;
        if u.categories {
            pairs.push((
                "categories".to_owned(),
                RestrictedExpression::new_set(
                    categories
                        .iter()
                        .map(|c| RestrictedExpression::new_string(c.clone())),
                ),
            ));
        }
        if u.annotations {
            pairs.push(("annotations".to_owned(), mapping::annotations_record(ann)));
        }
        if u.annotated {
            pairs.push((
                "annotated".to_owned(),
                RestrictedExpression::new_bool(annotated),
            ));
        }
        if u.lossy {
            pairs.push(("lossy".to_owned(), RestrictedExpression::new_bool(lossy)));
        }
        if u.time {
            pairs.push(("time".to_owned(), mapping::time_record(call.now.0)));
        }
        let context = Context::from_pairs(pairs).map_err(|e| e.to_string())?;
        let request = Request::new(agent, self.action.clone(), tool, context, None)
            .map_err(|e| e.to_string())?;
        Ok((request, entities))
    }
}

/// Which optional context attributes any rule can read. Cedar has no computed attribute
/// names: a rule reads `context.time` only if `time` appears in its text (as an
/// identifier or a string), so an attribute whose name appears in no policy text need
/// not be built for each call. A text with a backslash (a string escape could spell a
/// name) counts as reading everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Uses {
    categories: bool,
    annotations: bool,
    annotated: bool,
    lossy: bool,
    time: bool,
}

impl Uses {
    fn of<'a>(texts: impl Iterator<Item = &'a str>) -> Uses {
        let mut u = Uses {
            categories: false,
            annotations: false,
            annotated: false,
            lossy: false,
            time: false,
        };
        for t in texts {
            let all = t.contains('\\');
            u.categories |= all || t.contains("categories");
            u.annotations |= all || t.contains("annotations");
            u.annotated |= all || t.contains("annotated");
            u.lossy |= all || t.contains("lossy");
            u.time |= all || t.contains("time");
        }
        u
    }
}

/// The attribute names of `context.arguments` of `Signet::Action::"call_tool"` in a schema,
/// when the schema gives them as a closed record (directly or through a common type);
/// `None` when it does not say or the shape is not recognised (then every argument is
/// mapped, which is always correct, only slower).
fn declared_arguments(schema_text: &str) -> Option<HashSet<String>> {
    let (fragment, _) = cedar_policy::SchemaFragment::from_cedarschema_str(schema_text).ok()?;
    let json = fragment.to_json_value().ok()?;
    let ns = json.get("Signet")?;
    let context = ns
        .get("actions")?
        .get("call_tool")?
        .get("appliesTo")?
        .get("context")?;
    let mut ty = context.get("attributes")?.get("arguments")?;
    // Follow references to common types (`Arguments`, `Signet::Arguments`).
    for _ in 0..8 {
        let name = match ty.get("type").and_then(Value::as_str) {
            Some("Record") => break,
            Some("EntityOrCommon") => ty.get("name").and_then(Value::as_str)?,
            Some(other) => other,
            None => return None,
        };
        let short = name.strip_prefix("Signet::").unwrap_or(name);
        ty = ns.get("commonTypes")?.get(short)?;
    }
    if ty.get("type").and_then(Value::as_str) != Some("Record")
        || ty.get("additionalAttributes").and_then(Value::as_bool) == Some(true)
    {
        return None;
    }
    Some(ty.get("attributes")?.as_object()?.keys().cloned().collect())
}

fn category_matches(r: &CategoryRule, call: &CallRequest<'_>, ann: [bool; 4]) -> bool {
    (r.tools.is_empty() || glob::any(&r.tools, call.tool))
        && (r.servers.is_empty() || glob::any(&r.servers, call.server))
        && r.annotations.iter().all(|(k, v)| {
            mapping::ANNOTATIONS
                .iter()
                .position(|a| a == k)
                .and_then(|i| ann.get(i))
                == Some(v)
        })
        && r.arguments.iter().all(|(path, pattern)| {
            lookup(call.arguments, path).is_some_and(|v| value_matches(v, pattern, true))
        })
        && (r.any_argument.is_empty() || any_leaf(call.arguments, &r.any_argument, 0))
}

fn lookup<'v>(args: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(args, |v, k| v.get(k))
}

fn scalar_text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(std::borrow::Cow::Borrowed(if *b {
            "true"
        } else {
            "false"
        })),
        _ => None,
    }
}

fn value_matches(v: &Value, pattern: &str, top: bool) -> bool {
    match v {
        Value::Array(items) if top => items.iter().any(|i| value_matches(i, pattern, false)),
        _ => scalar_text(v).is_some_and(|t| glob::matches(pattern, &t)),
    }
}

fn any_leaf(v: &Value, patterns: &[String], depth: usize) -> bool {
    if depth > mapping::MAX_DEPTH {
        return false;
    }
    let next = depth.saturating_add(1);
    match v {
        Value::Array(items) => items.iter().any(|i| any_leaf(i, patterns, next)),
        Value::Object(m) => m.values().any(|i| any_leaf(i, patterns, next)),
        _ => scalar_text(v).is_some_and(|t| glob::any(patterns, &t)),
    }
}

fn read(path: &Path) -> Result<String, PolicyError> {
    std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count().saturating_add(1);
    let col_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
    let column = before
        .get(col_start..)
        .map_or(0, |s| s.chars().count())
        .saturating_add(1);
    (line, column)
}

/// A [`PolicyError::Invalid`] from a Cedar diagnostic, located by its first label.
fn invalid(file: &str, text: &str, e: &dyn miette::Diagnostic) -> PolicyError {
    let offset = e
        .labels()
        .and_then(|mut l| l.next())
        .map_or(0, |l| l.offset());
    let (line, column) = line_col(text, offset);
    let mut reason = e.to_string();
    if let Some(help) = e.help() {
        reason.push_str(" (");
        reason.push_str(&help.to_string());
        reason.push(')');
    }
    PolicyError::Invalid {
        file: file.to_owned(),
        line,
        column,
        reason: reason.replace('\n', " "),
    }
}

fn invalid_at(file: &str, text: &str, offset: usize, reason: String) -> PolicyError {
    let (line, column) = line_col(text, offset);
    PolicyError::Invalid {
        file: file.to_owned(),
        line,
        column,
        reason,
    }
}

fn valid_rule_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_RULE_ID
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'))
}

/// Parse one file and add its policies to `all`, renamed to their `@id`.
fn load_file(
    name: &str,
    text: &str,
    all: &mut PolicySet,
    rules: &mut HashMap<String, RuleMeta>,
) -> Result<(), PolicyError> {
    let set = PolicySet::from_str(text).map_err(|e| invalid(name, text, &e))?;
    if let Some(t) = set.templates().next() {
        let at = text.find(&t.to_cedar()).unwrap_or(0);
        return Err(invalid_at(
            name,
            text,
            at,
            "templates (`?principal`, `?resource`) are not supported".to_owned(),
        ));
    }
    let mut count = 0usize;
    for p in set.policies() {
        count = count.saturating_add(1);
        let at = p.to_cedar().and_then(|s| text.find(&s)).unwrap_or(0);
        let Some(id) = p.annotation("id") else {
            return Err(invalid_at(
                name,
                text,
                at,
                "policy has no `@id(\"…\")` annotation (the rule name shown to users)".to_owned(),
            ));
        };
        if !valid_rule_id(id) {
            return Err(invalid_at(
                name,
                text,
                at,
                format!("rule id `{id}` must be 1-128 characters of a-z A-Z 0-9 - _ . : /"),
            ));
        }
        if name != BUILTIN
            && [RULE_DEFAULT_ALLOW, RULE_DEFAULT_DENY, RULE_POLICY_ERROR].contains(&id)
        {
            return Err(invalid_at(
                name,
                text,
                at,
                format!("rule id `{id}` is reserved by signet"),
            ));
        }
        if let Some(first) = rules.get(id) {
            return Err(invalid_at(
                name,
                text,
                at,
                format!("duplicate rule id `{id}` (also in `{}`)", first.file),
            ));
        }
        let forbid = p.effect() == cedar_policy::Effect::Forbid;
        let kind = match (p.annotation("approval"), forbid) {
            (None, false) => Kind::Permit,
            (None, true) => Kind::Forbid,
            (Some("required"), true) => Kind::Approval,
            (Some(_), _) => {
                return Err(invalid_at(
                    name,
                    text,
                    at,
                    format!(
                        "rule `{id}`: `@approval` must be `@approval(\"required\")` on a `forbid` rule"
                    ),
                ));
            }
        };
        let meta = RuleMeta {
            file: name.to_owned(),
            kind,
            reason: p.annotation("reason").map(str::to_owned),
        };
        all.add(p.new_id(PolicyId::new(id)))
            .map_err(|e| invalid_at(name, text, at, e.to_string()))?;
        rules.insert(id.to_owned(), meta);
    }
    if count == 0 {
        return Err(PolicyError::NoPolicies(PathBuf::from(name)));
    }
    Ok(())
}

fn check_config(cfg: &PolicyConfig) -> Result<(), PolicyError> {
    let bad = |s: String| Err(PolicyError::Config(s));
    if cfg.approval_ttl_secs == 0 || i64::try_from(cfg.approval_ttl_secs).is_err() {
        return bad("`approval_ttl_secs` must be a positive number of seconds".to_owned());
    }
    for r in &cfg.categories {
        if r.category.is_empty() || r.category.chars().any(char::is_control) {
            return bad(format!("category `{}` must be non-empty text", r.category));
        }
        if r.tools.is_empty()
            && r.servers.is_empty()
            && r.annotations.is_empty()
            && r.arguments.is_empty()
            && r.any_argument.is_empty()
        {
            return bad(format!(
                "category rule for `{}` has no condition (tools, servers, annotations, arguments, any_argument)",
                r.category
            ));
        }
        if let Some(k) = r
            .annotations
            .keys()
            .find(|k| !mapping::ANNOTATIONS.contains(&k.as_str()))
        {
            return bad(format!(
                "category rule for `{}`: unknown annotation `{k}` (use {})",
                r.category,
                mapping::ANNOTATIONS.join(", ")
            ));
        }
    }
    let mut ids = HashSet::new();
    for r in &cfg.rate_limits {
        if !valid_rule_id(&r.id) {
            return bad(format!(
                "rate limit id `{}` must be 1-128 characters of a-z A-Z 0-9 - _ . : /",
                r.id
            ));
        }
        if !ids.insert(r.id.as_str()) {
            return bad(format!("duplicate rate limit id `{}`", r.id));
        }
        if r.max == 0 || r.window_secs == 0 || i64::try_from(r.window_secs).is_err() {
            return bad(format!(
                "rate limit `{}`: `max` and `window_secs` must be positive",
                r.id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn reasons() {
        assert_eq!(format_reason(Effect::Allow, &[], None), "ALLOWED");
        assert_eq!(
            format_reason(
                Effect::Deny,
                &["a".to_owned(), "b".to_owned()],
                Some("no\nway")
            ),
            "BLOCKED by a, b: no way"
        );
    }

    #[test]
    fn policy_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Policy>();
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    #[test]
    fn the_builtin_schema_declares_its_arguments() {
        let got = declared_arguments(BUILTIN_SCHEMA);
        let json = cedar_policy::SchemaFragment::from_cedarschema_str(BUILTIN_SCHEMA)
            .ok()
            .and_then(|(f, _)| f.to_json_value().ok());
        assert!(got.is_some(), "not recognised: {json:?}");
        let got = got.unwrap_or_default();
        for a in [
            "path",
            "command",
            "environment",
            "database",
            "recursive",
            "args",
        ] {
            assert!(got.contains(a), "{a} missing from {got:?}");
        }
        assert_eq!(got.len(), 18, "{got:?}");
    }

    #[test]
    fn context_attributes_are_built_when_a_text_names_them() {
        let u = Uses::of(
            ["permit(principal, action, resource) when { context.time.hour > 8 };"].into_iter(),
        );
        assert!(u.time && !u.annotations && !u.annotated && !u.lossy && !u.categories);
        let u = Uses::of(["when { context[\"annotated\"] }", "lossy"].into_iter());
        assert!(u.annotated && u.lossy && !u.time && !u.annotations);
        let u = Uses::of(["when { context[\"ti\\u{6d}e\"] }"].into_iter());
        assert!(u.time && u.annotations && u.annotated && u.lossy && u.categories);
    }

    #[test]
    fn open_or_unknown_argument_types_map_everything() {
        let open = BUILTIN_SCHEMA.replace(
            "type Arguments = {",
            "type Arguments = {\n    extra?: Long,",
        );
        assert!(declared_arguments(&open).is_some_and(|d| d.contains("extra")));
        assert_eq!(declared_arguments("namespace Other { entity A; }"), None);
        assert_eq!(declared_arguments("not a schema"), None);
    }
}
