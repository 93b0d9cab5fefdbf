//! [`PolicyError`]: loading a policy set, and the state store behind rate limits and
//! approvals. A *decision* (deny, approval-required) is never an error: it is an
//! [`crate::Evaluation`].

use std::path::PathBuf;

/// Errors loading a policy or using the policy state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A configured file or directory cannot be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The reason.
        #[source]
        source: std::io::Error,
    },
    /// A configured directory holds no `.cedar` file, or a file holds no policy.
    #[error("`{0}` holds no cedar policies")]
    NoPolicies(PathBuf),
    /// A policy or schema file is not valid: parse error, schema violation, missing or
    /// duplicate `@id`, bad annotation.
    #[error("{file}:{line}:{column}: {reason}")]
    Invalid {
        /// The file (`<built-in>` for signet's own schema or default rule).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// A category rule or rate limit in the configuration is not valid.
    #[error("policy config: {0}")]
    Config(String),
    /// The state store (rate limits, approvals) failed.
    #[error("policy state store `{path}`: {reason}")]
    Store {
        /// The database file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// No approval with this id.
    #[error("no approval `{0}`")]
    UnknownApproval(String),
    /// The approval expired before it was approved or used.
    #[error("approval `{0}` has expired")]
    ApprovalExpired(String),
    /// The approval was already approved (and maybe used).
    #[error("approval `{0}` was already {1}")]
    ApprovalNotPending(String, &'static str),
    /// The OS random source failed.
    #[error("os random source failed: {0}")]
    Random(String),
}
