//! Approvals: a human allows one exact call, once, out of band.
//!
//! When a rule marked `@approval("required")` matches and no approval is available, the
//! [`crate::Enforcer`] records a *pending* approval bound to (agent, server, tool,
//! argument digest) and returns its id (`apr_` + 16 base32 characters, 80 random bits).
//! Only [`Approvals::approve`] — used by the `signet approve` command, never by anything
//! reachable through MCP — turns it into *approved*; the next identical call consumes it
//! (*used*). Approvals expire `approval_ttl_secs` after they were requested, and again
//! that long after they were approved.

use std::path::Path;

use serde_json::Value;
use signet_core::digest::Digest;
use signet_core::replay::UnixTime;

use crate::error::PolicyError;
use crate::store::Store;

/// Where an approval is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalState {
    /// Waiting for a human.
    Pending,
    /// Approved; the next identical call consumes it.
    Approved,
    /// Consumed by a call.
    Used,
}

impl ApprovalState {
    /// The stored / displayed name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Used => "used",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "used" => Some(Self::Used),
            _ => None,
        }
    }
}

/// One approval request: the exact call it is for, and its state.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    /// `apr_…`.
    pub id: String,
    /// The agent (signer kid / DID) that made the call.
    pub agent: String,
    /// The server (audience).
    pub server: String,
    /// The tool.
    pub tool: String,
    /// The digest of the call's arguments, as signed in the intent; the approval is bound
    /// to it.
    pub args_digest: Digest,
    /// The arguments as the proxy saw them (for showing to the human).
    pub arguments: Value,
    /// The rules that asked for approval.
    pub rules: Vec<String>,
    /// The one-line reason shown to the agent.
    pub reason: String,
    /// Digest of the policy set that asked.
    pub policy: Option<Digest>,
    /// When the call was first refused.
    pub created: UnixTime,
    /// When the request (or the approval) stops being valid.
    pub expires: UnixTime,
    /// Pending, approved or used.
    pub state: ApprovalState,
    /// When a human approved it.
    pub approved_at: Option<UnixTime>,
    /// When a call consumed it.
    pub used_at: Option<UnixTime>,
}

impl Approval {
    /// Whether it can no longer be approved or used at `now`.
    #[must_use]
    pub fn is_expired(&self, now: UnixTime) -> bool {
        now.0 >= self.expires.0
    }
}

/// The human side of approvals (CLI only).
#[derive(Debug)]
pub struct Approvals {
    store: Store,
}

impl Approvals {
    /// Open the state store in `state_dir` (created if needed).
    ///
    /// # Errors
    /// [`PolicyError::Store`] / [`PolicyError::Io`] when the store cannot be opened.
    pub fn open(state_dir: &Path) -> Result<Approvals, PolicyError> {
        Ok(Approvals {
            store: Store::open(state_dir)?,
        })
    }

    /// Pending approvals that have not expired, oldest first.
    ///
    /// # Errors
    /// [`PolicyError::Store`] on a store failure.
    pub fn list_pending(&self, now: UnixTime) -> Result<Vec<Approval>, PolicyError> {
        self.store.immediate(|tx| tx.list_pending(now))
    }

    /// One approval, in any state.
    ///
    /// # Errors
    /// [`PolicyError::Store`] on a store failure.
    pub fn get(&self, id: &str) -> Result<Option<Approval>, PolicyError> {
        self.store.immediate(|tx| tx.get_approval(id))
    }

    /// Approve a pending, unexpired approval. It then stays valid for as long again as
    /// the request was (`approval_ttl_secs` at the time of the request), for exactly one
    /// identical call.
    ///
    /// # Errors
    /// [`PolicyError::UnknownApproval`], [`PolicyError::ApprovalExpired`],
    /// [`PolicyError::ApprovalNotPending`] (already approved or used), or a store failure.
    pub fn approve(&self, id: &str, now: UnixTime) -> Result<Approval, PolicyError> {
        self.store.immediate(|tx| {
            let a = tx
                .get_approval(id)?
                .ok_or_else(|| PolicyError::UnknownApproval(id.to_owned()))?;
            if a.state != ApprovalState::Pending {
                return Err(PolicyError::ApprovalNotPending(
                    id.to_owned(),
                    a.state.as_str(),
                ));
            }
            if a.is_expired(now) {
                return Err(PolicyError::ApprovalExpired(id.to_owned()));
            }
            let ttl = a.expires.0.saturating_sub(a.created.0);
            let expires = UnixTime(now.0.saturating_add(ttl));
            if !tx.mark_approved(id, now, expires)? {
                return Err(PolicyError::ApprovalNotPending(id.to_owned(), "decided"));
            }
            tx.get_approval(id)?
                .ok_or_else(|| PolicyError::UnknownApproval(id.to_owned()))
        })
    }
}

/// A fresh approval id: `apr_` + 16 Crockford base32 characters (80 random bits).
pub(crate) fn new_id() -> Result<String, PolicyError> {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| PolicyError::Random(e.to_string()))?;
    let mut id = String::from("apr_");
    for b in bytes {
        // 256 is a multiple of 32, so the low five bits are uniform.
        let c = ALPHABET.get(usize::from(b & 31)).copied().unwrap_or(b'0');
        id.push(char::from(c));
    }
    Ok(id)
}
