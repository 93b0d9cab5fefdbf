//! The policy state store: the only SQL in this crate. One SQLite file
//! (`<state_dir>/policy.db`, WAL, `synchronous=FULL`, mode 0600 in a 0700 directory)
//! holds rate-limit events and approvals, so both survive restarts and are shared by every
//! proxy and `signet approve` using the same state directory. Every decision runs in one
//! `BEGIN IMMEDIATE` transaction, so two processes cannot both spend the last unit of a
//! budget or both consume one approval.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use signet_core::digest::Digest;
use signet_core::replay::UnixTime;

use crate::approvals::{Approval, ApprovalState};
use crate::error::PolicyError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS rate_events (
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_events_key_at ON rate_events (key, at);
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    server TEXT NOT NULL,
    tool TEXT NOT NULL,
    args_digest TEXT NOT NULL,
    arguments TEXT NOT NULL,
    rules TEXT NOT NULL,
    reason TEXT NOT NULL,
    policy TEXT,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    state TEXT NOT NULL,
    approved_at INTEGER,
    used_at INTEGER
);
CREATE INDEX IF NOT EXISTS approvals_call ON approvals (server, tool, args_digest);
";

const APPROVAL_COLUMNS: &str = "id, agent, server, tool, args_digest, arguments, rules, reason, \
     policy, created, expires, state, approved_at, used_at";

/// The state database.
#[derive(Debug)]
pub(crate) struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// One open transaction.
pub(crate) struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    path: &'a Path,
}

impl Store {
    /// Open (creating if needed) `<state_dir>/policy.db`.
    pub(crate) fn open(state_dir: &Path) -> Result<Store, PolicyError> {
        create_private_dir(state_dir)?;
        let path = state_dir.join(crate::enforcer::STATE_FILE);
        let err = |e: rusqlite::Error| PolicyError::Store {
            path: path.clone(),
            reason: e.to_string(),
        };
        let conn = Connection::open(&path).map_err(err)?;
        restrict_file(&path)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Store {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// Run `f` in one immediate (write-locked) transaction; commit when it returns `Ok`.
    pub(crate) fn immediate<T>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, PolicyError>,
    ) -> Result<T, PolicyError> {
        let mut conn = self.conn.lock().map_err(|_| PolicyError::Store {
            path: self.path.clone(),
            reason: "a previous decision panicked".to_owned(),
        })?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| store_err(&self.path, &e))?;
        let tx = Tx {
            tx,
            path: &self.path,
        };
        let out = f(&tx)?;
        tx.tx.commit().map_err(|e| store_err(&self.path, &e))?;
        Ok(out)
    }
}

fn store_err(path: &Path, e: &rusqlite::Error) -> PolicyError {
    PolicyError::Store {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

impl Tx<'_> {
    fn err(&self, e: &rusqlite::Error) -> PolicyError {
        store_err(self.path, e)
    }

    /// Forget events at or before `cutoff` for `key`, then count the rest.
    pub(crate) fn count_events(&self, key: &str, cutoff: i64) -> Result<u64, PolicyError> {
        self.tx
            .execute(
                "DELETE FROM rate_events WHERE key = ?1 AND at <= ?2",
                params![key, cutoff],
            )
            .map_err(|e| self.err(&e))?;
        let n: i64 = self
            .tx
            .query_row(
                "SELECT COUNT(*) FROM rate_events WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .map_err(|e| self.err(&e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Record one counted call.
    pub(crate) fn add_event(&self, key: &str, at: UnixTime) -> Result<(), PolicyError> {
        self.tx
            .execute(
                "INSERT INTO rate_events (key, at) VALUES (?1, ?2)",
                params![key, at.0],
            )
            .map_err(|e| self.err(&e))?;
        Ok(())
    }

    /// The id of an unexpired approval in `state` for exactly this call, if any.
    pub(crate) fn find_approval(
        &self,
        state: ApprovalState,
        call: &CallKey<'_>,
        now: UnixTime,
    ) -> Result<Option<String>, PolicyError> {
        self.tx
            .query_row(
                "SELECT id FROM approvals WHERE agent = ?1 AND server = ?2 AND tool = ?3 \
                 AND args_digest = ?4 AND state = ?5 AND expires > ?6 \
                 ORDER BY created LIMIT 1",
                params![
                    call.agent,
                    call.server,
                    call.tool,
                    call.args_digest.to_string(),
                    state.as_str(),
                    now.0
                ],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(&e))
    }

    /// Record a new pending approval.
    pub(crate) fn insert_approval(&self, a: &Approval) -> Result<(), PolicyError> {
        let rules = serde_json::to_string(&a.rules).unwrap_or_else(|_| "[]".to_owned());
        let arguments = serde_json::to_string(&a.arguments).unwrap_or_else(|_| "{}".to_owned());
        self.tx
            .execute(
                "INSERT INTO approvals (id, agent, server, tool, args_digest, arguments, rules, \
                 reason, policy, created, expires, state) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    a.id,
                    a.agent,
                    a.server,
                    a.tool,
                    a.args_digest.to_string(),
                    arguments,
                    rules,
                    a.reason,
                    a.policy.map(|d| d.to_string()),
                    a.created.0,
                    a.expires.0,
                    a.state.as_str(),
                ],
            )
            .map_err(|e| self.err(&e))?;
        Ok(())
    }

    /// Move an approved approval to used; false if it was not approved any more.
    pub(crate) fn mark_used(&self, id: &str, now: UnixTime) -> Result<bool, PolicyError> {
        let n = self
            .tx
            .execute(
                "UPDATE approvals SET state = 'used', used_at = ?2 \
                 WHERE id = ?1 AND state = 'approved'",
                params![id, now.0],
            )
            .map_err(|e| self.err(&e))?;
        Ok(n == 1)
    }

    /// Move a pending approval to approved, with a new expiry.
    pub(crate) fn mark_approved(
        &self,
        id: &str,
        now: UnixTime,
        expires: UnixTime,
    ) -> Result<bool, PolicyError> {
        let n = self
            .tx
            .execute(
                "UPDATE approvals SET state = 'approved', approved_at = ?2, expires = ?3 \
                 WHERE id = ?1 AND state = 'pending'",
                params![id, now.0, expires.0],
            )
            .map_err(|e| self.err(&e))?;
        Ok(n == 1)
    }

    /// One approval by id.
    pub(crate) fn get_approval(&self, id: &str) -> Result<Option<Approval>, PolicyError> {
        let sql = format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = ?1");
        let row = self
            .tx
            .query_row(&sql, params![id], raw_row)
            .optional()
            .map_err(|e| self.err(&e))?;
        row.map(|r| r.into_approval(self.path)).transpose()
    }

    /// Unexpired pending approvals, oldest first.
    pub(crate) fn list_pending(&self, now: UnixTime) -> Result<Vec<Approval>, PolicyError> {
        let sql = format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE state = 'pending' AND expires > ?1 \
             ORDER BY created, id"
        );
        let mut stmt = self.tx.prepare(&sql).map_err(|e| self.err(&e))?;
        let rows = stmt
            .query_map(params![now.0], raw_row)
            .map_err(|e| self.err(&e))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r.map_err(|e| self.err(&e))?.into_approval(self.path)?);
        }
        Ok(out)
    }
}

/// What an approval is bound to.
pub(crate) struct CallKey<'a> {
    pub agent: &'a str,
    pub server: &'a str,
    pub tool: &'a str,
    pub args_digest: &'a Digest,
}

struct RawApproval {
    id: String,
    agent: String,
    server: String,
    tool: String,
    args_digest: String,
    arguments: String,
    rules: String,
    reason: String,
    policy: Option<String>,
    created: i64,
    expires: i64,
    state: String,
    approved_at: Option<i64>,
    used_at: Option<i64>,
}

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawApproval> {
    Ok(RawApproval {
        id: r.get(0)?,
        agent: r.get(1)?,
        server: r.get(2)?,
        tool: r.get(3)?,
        args_digest: r.get(4)?,
        arguments: r.get(5)?,
        rules: r.get(6)?,
        reason: r.get(7)?,
        policy: r.get(8)?,
        created: r.get(9)?,
        expires: r.get(10)?,
        state: r.get(11)?,
        approved_at: r.get(12)?,
        used_at: r.get(13)?,
    })
}

impl RawApproval {
    fn into_approval(self, path: &Path) -> Result<Approval, PolicyError> {
        let corrupt = |what: &str| PolicyError::Store {
            path: path.to_owned(),
            reason: format!("approval `{}` has a corrupt {what}", self.id),
        };
        let state = ApprovalState::parse(&self.state).ok_or_else(|| corrupt("state"))?;
        let args_digest = Digest::from_str(&self.args_digest).map_err(|_| corrupt("digest"))?;
        let policy = match &self.policy {
            Some(p) => Some(Digest::from_str(p).map_err(|_| corrupt("policy digest"))?),
            None => None,
        };
        let arguments = serde_json::from_str(&self.arguments).map_err(|_| corrupt("arguments"))?;
        let rules = serde_json::from_str(&self.rules).map_err(|_| corrupt("rule list"))?;
        Ok(Approval {
            id: self.id,
            agent: self.agent,
            server: self.server,
            tool: self.tool,
            args_digest,
            arguments,
            rules,
            reason: self.reason,
            policy,
            created: UnixTime(self.created),
            expires: UnixTime(self.expires),
            state,
            approved_at: self.approved_at.map(UnixTime),
            used_at: self.used_at.map(UnixTime),
        })
    }
}

fn create_private_dir(dir: &Path) -> Result<(), PolicyError> {
    let io = |source| PolicyError::Io {
        path: dir.to_owned(),
        source,
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir).map_err(io)
}

fn restrict_file(path: &Path) -> Result<(), PolicyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
            |source| PolicyError::Io {
                path: path.to_owned(),
                source,
            },
        )?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
