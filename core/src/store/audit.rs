//! The `audit_log` and `audit_checkpoints` tables. Rows are only ever appended; what makes
//! tampering visible is the hash chain and the signed checkpoints (see [`crate::audit`]).

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::{Store, StoreError};

pub(super) const MIGRATION_2: &str = "
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      TEXT NOT NULL,
    signature TEXT NOT NULL,
    at        TEXT NOT NULL
);";

/// The newest audit head the central server acknowledged: the anchor of the station's next
/// claim, and what `station audit verify` holds the log against.
pub(super) const MIGRATION_11: &str = "
CREATE TABLE server_audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at   TEXT NOT NULL
);";

use protocol::audit::AuditHead;
pub use protocol::audit::AuditRecord as AuditRow;

/// A signed statement that the log's entry `seq` had hash `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRow {
    /// The entry it vouches for.
    pub seq: i64,
    /// That entry's hash.
    pub hash: String,
    /// Ed25519 signature by the station, base64url.
    pub signature: String,
    /// RFC 3339.
    pub at: String,
}

/// Builds the next entry (and a checkpoint, when one is due) from the newest stored entry.
pub type AuditBuilder<'a> = &'a dyn Fn(Option<&AuditRow>) -> (AuditRow, Option<CheckpointRow>);

/// Appends the entry `build` makes inside `tx`, so it commits or rolls back with the caller's
/// other writes.
pub(super) fn append_in(
    tx: &Transaction<'_>,
    build: AuditBuilder<'_>,
) -> Result<AuditRow, StoreError> {
    let mut last = tx
        .query_row(
            &format!("{SELECT_ENTRY} ORDER BY seq DESC LIMIT 1"),
            [],
            read_entry,
        )
        .optional()?;
    // A position the server acknowledged is never used again: after a log cut below it, the
    // next entry follows the acknowledged position, leaving the cut as a visible gap.
    let acknowledged: Option<i64> = tx
        .query_row("SELECT seq FROM server_audit_head WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let (Some(row), Some(acknowledged)) = (last.as_mut(), acknowledged) {
        row.seq = row.seq.max(acknowledged);
    }
    let (row, checkpoint) = build(last.as_ref());
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            row.seq,
            row.at,
            row.actor,
            row.action,
            row.subject,
            row.detail,
            row.prev_hash,
            row.hash
        ],
    )?;
    if let Some(cp) = checkpoint {
        tx.execute(
            "INSERT INTO audit_checkpoints (seq, hash, signature, at) VALUES (?1, ?2, ?3, ?4)",
            params![cp.seq, cp.hash, cp.signature, cp.at],
        )?;
    }
    Ok(row)
}

impl Store {
    /// Appends one entry in its own transaction. The transaction takes the write lock before
    /// reading the newest entry, so two writers (the app and the CLI) never fork the chain.
    ///
    /// # Errors
    /// When the database fails; nothing is written then.
    pub fn append_audit(&self, build: AuditBuilder<'_>) -> Result<AuditRow, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row = append_in(&tx, build)?;
            tx.commit()?;
            Ok(row)
        })
    }

    /// Every entry in `seq` order.
    ///
    /// # Errors
    /// When the database fails.
    pub fn audit_entries(&self) -> Result<Vec<AuditRow>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(&format!("{SELECT_ENTRY} ORDER BY seq"))?;
            let rows = statement.query_map([], read_entry)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Every checkpoint in `seq` order.
    ///
    /// # Errors
    /// When the database fails.
    pub fn audit_checkpoints(&self) -> Result<Vec<CheckpointRow>, StoreError> {
        self.with(|c| {
            let mut statement =
                c.prepare("SELECT seq, hash, signature, at FROM audit_checkpoints ORDER BY seq")?;
            let rows = statement.query_map([], |r| {
                Ok(CheckpointRow {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                    signature: r.get(2)?,
                    at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The newest entry of the log, if any.
    ///
    /// # Errors
    /// When the database fails.
    pub fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        self.read_head("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    }

    /// The one `(seq, hash)` row `sql` selects, if any.
    fn read_head(&self, sql: &str) -> Result<Option<AuditHead>, StoreError> {
        self.with(|c| {
            Ok(c.query_row(sql, [], |r| {
                Ok(AuditHead {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                })
            })
            .optional()?)
        })
    }

    /// The hash of entry `seq`, if the log has it.
    ///
    /// # Errors
    /// When the database fails.
    pub fn audit_hash_at(&self, seq: i64) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT hash FROM audit_log WHERE seq = ?1", [seq], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }

    /// The head the server last acknowledged.
    ///
    /// # Errors
    /// When the database fails.
    pub fn server_audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        self.read_head("SELECT seq, hash FROM server_audit_head WHERE id = 1")
    }

    /// Remembers the head the server acknowledged at `at`.
    ///
    /// # Errors
    /// When the database fails.
    pub fn set_server_audit_head(&self, head: &AuditHead, at: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO server_audit_head (id, seq, hash, at) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET seq = ?1, hash = ?2, at = ?3",
                params![head.seq, head.hash, at],
            )?;
            Ok(())
        })
    }

    /// Runs raw SQL against the database: for tests that play the attacker.
    #[doc(hidden)]
    pub fn execute_raw_for_tests(&self, sql: &str) -> Result<(), StoreError> {
        self.with(|c| Ok(c.execute_batch(sql)?))
    }
}

const SELECT_ENTRY: &str =
    "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log";

impl Store {
    /// The audit entries the next packet carries: every entry after the newest one an earlier
    /// packet carried, and the position of the last of them (the earlier position when none).
    ///
    /// # Errors
    /// When the database fails.
    pub fn audit_excerpt(&self) -> Result<(Vec<AuditRow>, i64), StoreError> {
        self.with(|c| {
            let through: i64 = c.query_row(
                "SELECT COALESCE(MAX(audit_through), 0) FROM outbox",
                [],
                |r| r.get(0),
            )?;
            let mut statement = c.prepare(
                "SELECT seq, at, actor, action, subject, detail, prev_hash, hash
                 FROM audit_log WHERE seq > ?1 ORDER BY seq",
            )?;
            let entries = statement
                .query_map([through], read_entry)?
                .collect::<Result<Vec<_>, _>>()?;
            let last = entries.last().map_or(through, |entry| entry.seq);
            Ok((entries, last))
        })
    }
}

fn read_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        subject: r.get(4)?,
        detail: r.get(5)?,
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
    })
}

/// An entry builder for store tests that do not care about hashes.
#[cfg(test)]
pub(crate) fn test_entry(last: Option<&AuditRow>) -> (AuditRow, Option<CheckpointRow>) {
    let seq = last.map_or(1, |row| row.seq + 1);
    let row = AuditRow {
        seq,
        at: "2026-11-23T00:00:00Z".into(),
        actor: "test".into(),
        action: "test".into(),
        subject: String::new(),
        detail: String::new(),
        prev_hash: last.map_or_else(String::new, |row| row.hash.clone()),
        hash: format!("hash-{seq}"),
    };
    (row, None)
}
