//! The `[policy]` configuration: which Cedar files, which schema, how tools are sorted into
//! action categories, rate limits, and how long approvals live.
//!
//! This is plain data (serde); [`crate::Policy::load`] checks it and turns it into a
//! policy set. The same structure is read from the `[policy]` section of `signet.toml`,
//! `policy:` in `signet.yaml`, or a stand-alone `policy.toml` next to the `.cedar` files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Default lifetime of an approval request, in seconds (one hour).
pub const DEFAULT_APPROVAL_TTL_SECS: u64 = 3600;

/// What a call gets when no Cedar rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultEffect {
    /// Allow unless a `forbid` rule matches (signet adds a built-in
    /// `@id("default-allow") permit(...)`). The default.
    #[default]
    Allow,
    /// Deny unless a `permit` rule matches (plain Cedar semantics; the rule id shown is
    /// `default-deny`).
    Deny,
}

/// The `[policy]` section.
///
/// `PolicyConfig::default()` means "no policy configured": every call is allowed with an
/// empty rule list (see [`crate::Policy::empty`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// `.cedar` files, or directories whose `*.cedar` files (not recursive) are all loaded.
    /// Relative paths are resolved against the directory of the config file.
    pub files: Vec<PathBuf>,
    /// A Cedar schema file (Cedar schema syntax) replacing the built-in schema
    /// ([`crate::BUILTIN_SCHEMA`]); it must keep the `Signet` entity types, the `call_tool`
    /// action and the context shape, and may declare more argument attributes.
    pub schema: Option<PathBuf>,
    /// What a call gets when no rule decides (default `allow`).
    pub default: DefaultEffect,
    /// Rules that put calls into action categories such as `data:delete:production`.
    pub categories: Vec<CategoryRule>,
    /// Rate limits over sliding windows, kept across restarts.
    pub rate_limits: Vec<RateLimit>,
    /// How long an approval request (and an approval) stays valid, in seconds.
    pub approval_ttl_secs: u64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            schema: None,
            default: DefaultEffect::Allow,
            categories: Vec::new(),
            rate_limits: Vec::new(),
            approval_ttl_secs: DEFAULT_APPROVAL_TTL_SECS,
        }
    }
}

impl PolicyConfig {
    /// Whether anything is configured (anything but the default value).
    #[must_use]
    pub fn is_configured(&self) -> bool {
        *self != Self::default()
    }
}

/// One classification rule: a call that matches **every** condition given gets the
/// category. At least one condition is required. Several rules may name the same category
/// (they are alternatives).
///
/// Patterns are globs: `*` matches any run of characters (including none), `?` exactly
/// one character, everything else itself (case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// The category, e.g. `data:delete:production`.
    pub category: String,
    /// The tool name matches one of these globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// The server name matches one of these globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    /// Each named tool annotation (`readOnlyHint`, `destructiveHint`, `idempotentHint`,
    /// `openWorldHint`) has this value, MCP defaults applied when the server did not say.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, bool>,
    /// Each argument, named by a dotted path (`options.env`), has a value matching the glob:
    /// strings as they are, numbers and booleans as their JSON text; for an array, any
    /// element. An absent argument does not match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub arguments: BTreeMap<String, String>,
    /// Some string, number or boolean anywhere in the arguments matches one of these globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_argument: Vec<String>,
}

/// Which parts of a call a rate limit counts separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RateKey {
    /// One budget per agent (signer kid / DID).
    Agent,
    /// One budget per server.
    Server,
    /// One budget per tool (server and tool name).
    Tool,
}

/// A rate limit: at most `max` allowed calls in any `window_secs` seconds (a sliding
/// window), among the calls that match its selectors, counted per the `per` keys.
/// A call over the limit is denied with the limit's `id` as the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// The rule id shown to users and signed into receipts.
    pub id: String,
    /// Most calls allowed per window (at least 1).
    pub max: u32,
    /// Window length in seconds (at least 1).
    pub window_secs: u64,
    /// Separate budgets per agent, server and/or tool; empty = one budget for all matching
    /// calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per: Vec<RateKey>,
    /// Only tools whose name matches one of these globs (empty = any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Only servers matching one of these globs (empty = any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    /// Only agents matching one of these globs (empty = any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
    /// Only calls with a category matching one of these globs (empty = any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}
