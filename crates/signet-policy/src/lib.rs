//! signet-policy: decide whether an MCP tool call may run.
//!
//! - [`Policy`]: Cedar rules from `.cedar` files, validated against a schema at load,
//!   plus action categories (`data:delete:production`) assigned by configured rules;
//!   [`Policy::evaluate`] is pure and returns an [`Evaluation`] — a value, never an error.
//! - [`Enforcer`]: the proxy's stateful wrapper: rate limits over sliding windows and
//!   one-time approvals, kept in a small SQLite file so they survive restarts.
//! - [`Approvals`]: the human side of approvals, for the `signet approve` command only.
//!
//! Cedar types never appear in this crate's API. The rule language, the schema and the
//! JSON → Cedar mapping are documented in `docs/policy.md`.

mod approvals;
pub mod cases;
mod config;
mod enforcer;
mod error;
mod glob;
pub mod mapping;
mod policy;
mod store;

pub use approvals::{Approval, ApprovalState, Approvals};
pub use config::{
    CategoryRule, DEFAULT_APPROVAL_TTL_SECS, DefaultEffect, PolicyConfig, RateKey, RateLimit,
};
pub use enforcer::{Enforced, Enforcer, STATE_FILE};
pub use error::PolicyError;
pub use glob::matches as glob_matches;
pub use policy::{
    BUILTIN_SCHEMA, CallRequest, Evaluation, Policy, RULE_DEFAULT_ALLOW, RULE_DEFAULT_DENY,
    RULE_POLICY_ERROR,
};
