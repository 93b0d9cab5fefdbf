//! [`Enforcer`]: the proxy's decision for one call about to be forwarded — the pure
//! [`Policy`] evaluation, then approvals, then rate limits, with their state in the store
//! ([`crate::store`]). Nothing here can approve a call.

use std::path::Path;

use signet_core::digest::Digest;
use signet_core::replay::UnixTime;
use signet_core::statement::Effect;

use crate::approvals::{self, Approval, ApprovalState};
use crate::error::PolicyError;
use crate::policy::{CallRequest, Evaluation, Policy, format_reason};
use crate::store::{CallKey, Store};

/// File name of the state store inside the state directory.
pub const STATE_FILE: &str = "policy.db";

/// A decision with its approval id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enforced {
    /// The decision (signed into the receipt and logged).
    pub evaluation: Evaluation,
    /// For approval-required: the pending approval to give to `signet approve`. For an
    /// allow that consumed an approval: the approval used.
    pub approval_id: Option<String>,
}

/// Policy + persistent rate limits + approvals. `Send + Sync`; calls are serialized on
/// one store connection.
#[derive(Debug)]
pub struct Enforcer {
    policy: Policy,
    store: Store,
}

impl Enforcer {
    /// Open the state store under `state_dir` (e.g. `$SIGNET_HOME/policy/`), creating it
    /// if needed.
    ///
    /// # Errors
    /// [`PolicyError::Io`] / [`PolicyError::Store`] when the directory or database cannot
    /// be created or opened.
    pub fn open(policy: Policy, state_dir: &Path) -> Result<Enforcer, PolicyError> {
        Ok(Enforcer {
            policy,
            store: Store::open(state_dir)?,
        })
    }

    /// The policy in force.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Decide one call about to be forwarded:
    ///
    /// 1. [`Policy::evaluate`]; a deny is final (nothing is counted).
    /// 2. Approval-required: if an approved, unexpired approval exists for exactly this
    ///    (agent, server, tool, `args_digest`), the call is allowed (rate limits still
    ///    apply) and the approval is consumed; otherwise a pending approval is recorded
    ///    (or the unexpired pending one for the same call reused) and its id returned.
    /// 3. Rate limits: a call over any matching limit is denied with that limit's id;
    ///    an allowed call is counted in every matching limit.
    ///
    /// All state changes of one decision are one transaction.
    ///
    /// # Errors
    /// [`PolicyError::Store`] (or [`PolicyError::Random`]) — the caller must fail closed.
    pub fn decide(
        &self,
        call: &CallRequest<'_>,
        args_digest: &Digest,
    ) -> Result<Enforced, PolicyError> {
        let evaluation = self.policy.evaluate(call);
        match evaluation.decision.effect {
            Effect::Deny => Ok(Enforced {
                evaluation,
                approval_id: None,
            }),
            Effect::Allow if self.policy.buckets(call, &evaluation.categories).is_empty() => {
                Ok(Enforced {
                    evaluation,
                    approval_id: None,
                })
            }
            Effect::Allow => self.store.immediate(|tx| {
                if let Some(denied) = self.rate_limited(tx, call, &evaluation)? {
                    return Ok(Enforced {
                        evaluation: denied,
                        approval_id: None,
                    });
                }
                self.count(tx, call, &evaluation)?;
                Ok(Enforced {
                    evaluation,
                    approval_id: None,
                })
            }),
            Effect::ApprovalRequired => self.store.immediate(|tx| {
                let key = CallKey {
                    agent: call.agent,
                    server: call.server,
                    tool: call.tool,
                    args_digest,
                };
                if let Some(id) = tx.find_approval(ApprovalState::Approved, &key, call.now)? {
                    if let Some(denied) = self.rate_limited(tx, call, &evaluation)? {
                        return Ok(Enforced {
                            evaluation: denied,
                            approval_id: None,
                        });
                    }
                    if tx.mark_used(&id, call.now)? {
                        self.count(tx, call, &evaluation)?;
                        let detail = format!("approved as `{id}`");
                        let mut allowed = evaluation.clone();
                        allowed.decision.effect = Effect::Allow;
                        allowed.reason =
                            format_reason(Effect::Allow, &allowed.decision.rules, Some(&detail));
                        return Ok(Enforced {
                            evaluation: allowed,
                            approval_id: Some(id),
                        });
                    }
                }
                let id = match tx.find_approval(ApprovalState::Pending, &key, call.now)? {
                    Some(id) => id,
                    None => {
                        let id = approvals::new_id()?;
                        let ttl =
                            i64::try_from(self.policy.approval_ttl_secs()).unwrap_or(i64::MAX);
                        tx.insert_approval(&Approval {
                            id: id.clone(),
                            agent: call.agent.to_owned(),
                            server: call.server.to_owned(),
                            tool: call.tool.to_owned(),
                            args_digest: *args_digest,
                            arguments: call.arguments.clone(),
                            rules: evaluation.decision.rules.clone(),
                            reason: evaluation.reason.clone(),
                            policy: evaluation.decision.policy,
                            created: call.now,
                            expires: UnixTime(call.now.0.saturating_add(ttl)),
                            state: ApprovalState::Pending,
                            approved_at: None,
                            used_at: None,
                        })?;
                        id
                    }
                };
                let mut evaluation = evaluation.clone();
                evaluation.reason = format!(
                    "{} (approval id `{id}`: run `signet approve {id}`)",
                    evaluation.reason
                );
                Ok(Enforced {
                    evaluation,
                    approval_id: Some(id),
                })
            }),
        }
    }

    /// A deny evaluation if any matching rate limit is exhausted at `call.now`.
    fn rate_limited(
        &self,
        tx: &crate::store::Tx<'_>,
        call: &CallRequest<'_>,
        evaluation: &Evaluation,
    ) -> Result<Option<Evaluation>, PolicyError> {
        for b in self.policy.buckets(call, &evaluation.categories) {
            let window = i64::try_from(b.window_secs).unwrap_or(i64::MAX);
            let used = tx.count_events(&b.key, call.now.0.saturating_sub(window))?;
            if used >= u64::from(b.max) {
                let detail = format!(
                    "rate limit of {} calls per {} s reached",
                    b.max, b.window_secs
                );
                return Ok(Some(Evaluation::new(
                    Effect::Deny,
                    vec![b.id],
                    evaluation.decision.policy,
                    Some(&detail),
                    evaluation.categories.clone(),
                )));
            }
        }
        Ok(None)
    }

    fn count(
        &self,
        tx: &crate::store::Tx<'_>,
        call: &CallRequest<'_>,
        evaluation: &Evaluation,
    ) -> Result<(), PolicyError> {
        for b in self.policy.buckets(call, &evaluation.categories) {
            tx.add_event(&b.key, call.now)?;
        }
        Ok(())
    }
}
