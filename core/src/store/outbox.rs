//! The `outbox` table: sealed packets waiting for, or done with, delivery to the server.

use rusqlite::{params, Transaction};

use super::{Store, StoreError};

pub(super) const MIGRATION_1: &str = "
CREATE TABLE outbox (
    packet_id     TEXT PRIMARY KEY,
    enrollment_id TEXT NOT NULL UNIQUE REFERENCES enrollments (id),
    packet        BLOB NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    server_reason TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX outbox_pending ON outbox (state, created_at);";

/// Each packet records how far its audit excerpt reaches, so the next one starts after it.
pub(super) const MIGRATION_4: &str = "
ALTER TABLE outbox ADD COLUMN audit_through INTEGER NOT NULL DEFAULT 0;";

/// Flagged enrollments wait for a supervisor (`approval`); a judged packet's sealed bytes are
/// purged after the retention period (`verdict_at`, `purged_at`).
pub(super) const MIGRATION_6: &str = "
ALTER TABLE outbox ADD COLUMN approval TEXT CHECK (approval IN ('awaiting', 'approved', 'refused'));
ALTER TABLE outbox ADD COLUMN approval_by TEXT;
ALTER TABLE outbox ADD COLUMN approval_note TEXT;
ALTER TABLE outbox ADD COLUMN verdict_at TEXT;
ALTER TABLE outbox ADD COLUMN purged_at TEXT;
UPDATE outbox SET verdict_at = updated_at WHERE state IN ('accepted', 'rejected');";

/// The server's signed receipt is kept with each verdict; packets exported to a folder (a USB
/// stick) are marked so the uploader waits for the server to learn them that way.
pub(super) const MIGRATION_7: &str = "
ALTER TABLE outbox ADD COLUMN receipt TEXT;
ALTER TABLE outbox ADD COLUMN exported_at TEXT;";

/// The sealed bytes move to their own table: SQLite reads a row's columns in order and a
/// megabyte blob in the middle of `outbox` made every look at `state`, `approval` or
/// `audit_through` read through the blob's overflow pages (a backlog of 1,000 packets was read
/// whole at every submission and every list refresh).
pub(super) const MIGRATION_8: &str = "
CREATE TABLE outbox_bytes (
    packet_id TEXT PRIMARY KEY REFERENCES outbox (packet_id),
    packet    BLOB NOT NULL
);
INSERT INTO outbox_bytes (packet_id, packet)
    SELECT packet_id, packet FROM outbox WHERE length(packet) > 0;
ALTER TABLE outbox DROP COLUMN packet;";

/// A supervisor's approval travels with the packet, signed by the station
/// ([`protocol::approval`]): the server refuses a flagged packet without it.
pub(super) const MIGRATION_10: &str = "
ALTER TABLE outbox ADD COLUMN approval_proof TEXT;";

/// Where a packet is in delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum OutboxState {
    /// Waiting to be uploaded, or being retried.
    Pending,
    /// The server stored it.
    Accepted,
    /// The server refused its content; it will not be sent again.
    Rejected,
}

impl OutboxState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }

    pub(super) fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "pending" => Ok(Self::Pending),
            "accepted" => Ok(Self::Accepted),
            "rejected" => Ok(Self::Rejected),
            other => Err(StoreError::Corrupt(format!(
                "unknown outbox state {other:?}"
            ))),
        }
    }
}

/// A sealed packet about to enter the outbox.
#[derive(Debug, Clone, Copy)]
pub struct NewOutboxEntry<'a> {
    /// Packet id.
    pub packet_id: &'a str,
    /// The sealed bytes.
    pub packet: &'a [u8],
    /// SHA-256 of the sealed bytes, lower-case hex.
    pub sha256_hex: &'a str,
    /// RFC 3339.
    pub created_at: &'a str,
    /// The newest audit entry the packet's audit excerpt carries.
    pub audit_through: i64,
    /// True when a supervisor must approve the packet before it is sent.
    pub needs_approval: bool,
}

/// A packet waiting for upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPacket {
    /// Packet id.
    pub packet_id: String,
    /// The sealed bytes.
    pub packet: Vec<u8>,
    /// SHA-256 of the sealed bytes, lower-case hex.
    pub sha256: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The supervisor's signed approval (JSON), for a flagged packet.
    pub approval_proof: Option<String>,
}

/// How much waits for upload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Packets waiting (approved or needing no approval).
    pub packets: u64,
    /// Their sealed bytes.
    pub bytes: u64,
}

/// How many packets are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting for upload.
    pub pending: u64,
    /// Stored by the server.
    pub accepted: u64,
    /// Refused by the server.
    pub rejected: u64,
}

pub(super) fn insert(
    tx: &Transaction<'_>,
    enrollment_id: &str,
    entry: &NewOutboxEntry<'_>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO outbox (packet_id, enrollment_id, sha256, size, state, created_at,
                             updated_at, audit_through, approval)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5, ?6, ?7)",
        params![
            entry.packet_id,
            enrollment_id,
            entry.sha256_hex,
            i64::try_from(entry.packet.len()).unwrap_or(i64::MAX),
            entry.created_at,
            entry.audit_through,
            entry.needs_approval.then_some("awaiting")
        ],
    )?;
    tx.execute(
        "INSERT INTO outbox_bytes (packet_id, packet) VALUES (?1, ?2)",
        params![entry.packet_id, entry.packet],
    )?;
    Ok(())
}

impl Store {
    /// Pending packets ready for upload, oldest first, at most `limit`: approved or needing no
    /// approval, and not exported to a folder after `exported_before` (RFC 3339; packets
    /// exported earlier than that are uploaded again, in case the stick never reached the
    /// server; the server's announce answer keeps that from storing anything twice).
    ///
    /// # Errors
    /// When the database fails.
    pub fn uploadable_packets(
        &self,
        limit: usize,
        exported_before: &str,
    ) -> Result<Vec<PendingPacket>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT o.packet_id, b.packet, o.sha256, o.attempts, o.approval_proof
                 FROM outbox o JOIN outbox_bytes b ON b.packet_id = o.packet_id
                 WHERE o.state = 'pending' AND (o.approval IS NULL OR o.approval = 'approved')
                   AND (o.exported_at IS NULL OR o.exported_at < ?2)
                 ORDER BY o.created_at, o.rowid LIMIT ?1",
            )?;
            let rows = statement.query_map(
                params![i64::try_from(limit).unwrap_or(i64::MAX), exported_before],
                |r| {
                    Ok(PendingPacket {
                        packet_id: r.get(0)?,
                        packet: r.get(1)?,
                        sha256: r.get(2)?,
                        attempts: r.get(3)?,
                        approval_proof: r.get(4)?,
                    })
                },
            )?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Pending packets ready for upload, oldest first, at most `limit`, whether exported or
    /// not (for export itself and for tests).
    ///
    /// # Errors
    /// When the database fails.
    pub fn pending_packets(&self, limit: usize) -> Result<Vec<PendingPacket>, StoreError> {
        self.uploadable_packets(limit, "9999")
    }

    /// Ids of pending packets that were exported to a folder, oldest first, at most `limit`:
    /// the server may have them from the folder.
    ///
    /// # Errors
    /// When the database fails.
    pub fn exported_pending(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT packet_id FROM outbox
                 WHERE state = 'pending' AND exported_at IS NOT NULL
                 ORDER BY created_at, rowid LIMIT ?1",
            )?;
            let rows = statement
                .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
    }

    /// Marks packets as exported to a folder at `at`.
    ///
    /// # Errors
    /// When the database fails.
    pub fn mark_exported(&self, packet_ids: &[String], at: &str) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            for id in packet_ids {
                tx.execute(
                    "UPDATE outbox SET exported_at = ?2, updated_at = ?2
                     WHERE packet_id = ?1 AND state = 'pending'",
                    params![id, at],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// What waits for upload: packets and bytes (approved or needing no approval).
    ///
    /// # Errors
    /// When the database fails.
    pub fn backlog(&self) -> Result<Backlog, StoreError> {
        self.with(|c| {
            let (packets, bytes): (i64, i64) = c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox
                 WHERE state = 'pending' AND (approval IS NULL OR approval = 'approved')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(Backlog {
                packets: u64::try_from(packets).unwrap_or(0),
                bytes: u64::try_from(bytes).unwrap_or(0),
            })
        })
    }

    /// The server's signed receipt for a packet, as received (JSON).
    ///
    /// # Errors
    /// When the database fails.
    pub fn receipt(&self, packet_id: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT receipt FROM outbox WHERE packet_id = ?1",
                [packet_id],
                |r| r.get(0),
            )?)
        })
    }

    /// Records the server's verdict on a packet; a verdict is final.
    ///
    /// # Errors
    /// When the database fails.
    pub fn record_verdict(
        &self,
        packet_id: &str,
        state: OutboxState,
        server_reason: Option<&str>,
        at: &str,
    ) -> Result<(), StoreError> {
        self.record_verdict_with_receipt(packet_id, state, server_reason, None, at)
    }

    /// Records the server's verdict on a packet with its signed receipt (JSON); a verdict is
    /// final, so a second one for the same packet changes nothing.
    ///
    /// # Errors
    /// When the database fails.
    pub fn record_verdict_with_receipt(
        &self,
        packet_id: &str,
        state: OutboxState,
        server_reason: Option<&str>,
        receipt: Option<&str>,
        at: &str,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET state = ?2, server_reason = ?3, last_error = NULL, updated_at = ?4,
                                   verdict_at = ?4, receipt = ?5
                 WHERE packet_id = ?1 AND state = 'pending'",
                params![packet_id, state.as_str(), server_reason, at, receipt],
            )?;
            Ok(())
        })
    }

    /// Records a failed delivery attempt; the packet stays pending.
    ///
    /// # Errors
    /// When the database fails.
    pub fn record_failed_attempt(
        &self,
        packet_id: &str,
        error: &str,
        at: &str,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, updated_at = ?3
                 WHERE packet_id = ?1 AND state = 'pending'",
                params![packet_id, error, at],
            )?;
            Ok(())
        })
    }

    /// The sealed bytes of one packet (empty once purged).
    ///
    /// # Errors
    /// When the database fails or there is no such packet.
    pub fn outbox_packet(&self, packet_id: &str) -> Result<Vec<u8>, StoreError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT COALESCE(b.packet, x'') FROM outbox o
                 LEFT JOIN outbox_bytes b ON b.packet_id = o.packet_id
                 WHERE o.packet_id = ?1",
                [packet_id],
                |r| r.get(0),
            )?)
        })
    }

    /// Puts a pending packet back in the supervisors' queue (the server found no valid
    /// approval with it), forgetting whatever approval it had. Returns whether it was pending.
    ///
    /// # Errors
    /// When the database fails.
    pub fn reopen_approval(
        &self,
        packet_id: &str,
        reason: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        self.with(|c| {
            let changed = c.execute(
                "UPDATE outbox SET approval = 'awaiting', approval_by = NULL, approval_note = NULL,
                                   approval_proof = NULL, last_error = ?2, updated_at = ?3
                 WHERE packet_id = ?1 AND state = 'pending'",
                params![packet_id, reason, at],
            )?;
            Ok(changed > 0)
        })
    }

    /// Packets waiting for a supervisor, oldest first: packet id and when it was sealed.
    ///
    /// # Errors
    /// When the database fails.
    pub fn awaiting_approval(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT packet_id, created_at FROM outbox WHERE approval = 'awaiting'
                 ORDER BY created_at, rowid",
            )?;
            let rows = statement
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Records a supervisor's decision on a packet awaiting approval, with its audit entry, in
    /// one transaction. Returns false (and writes nothing) when the packet is not awaiting one.
    ///
    /// # Errors
    /// When the database fails.
    #[allow(clippy::too_many_arguments)]
    pub fn decide_approval(
        &self,
        packet_id: &str,
        approved: bool,
        by: &str,
        sealed_note: &[u8],
        proof: Option<&str>,
        at: &str,
        audit: super::audit::AuditBuilder<'_>,
    ) -> Result<bool, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let changed = tx.execute(
                "UPDATE outbox SET approval = ?2, approval_by = ?3, approval_note = ?4,
                                   approval_proof = ?6, updated_at = ?5,
                                   verdict_at = CASE WHEN ?2 = 'refused' THEN ?5 END
                 WHERE packet_id = ?1 AND approval = 'awaiting'",
                params![
                    packet_id,
                    if approved { "approved" } else { "refused" },
                    by,
                    sealed_note,
                    at,
                    proof
                ],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            // Decided: the supervisor has seen the exception photo; only the packet keeps it.
            tx.execute("DELETE FROM exception_photos WHERE id = ?1", [packet_id])?;
            super::audit::append_in(&tx, audit)?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// Deletes the sealed bytes of packets the server judged, or a supervisor refused, at or
    /// before `cutoff` (RFC 3339); their rows (id, hash, size, verdict) stay as the receipt.
    /// Returns how many were purged.
    ///
    /// # Errors
    /// When the database fails.
    pub fn purge_judged_before(&self, cutoff: &str, at: &str) -> Result<usize, StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM outbox_bytes WHERE packet_id IN (
                     SELECT packet_id FROM outbox
                     WHERE (state IN ('accepted', 'rejected') OR approval = 'refused')
                       AND purged_at IS NULL AND verdict_at IS NOT NULL AND verdict_at <= ?1)",
                params![cutoff],
            )?;
            let purged = tx.execute(
                "UPDATE outbox SET purged_at = ?2
                 WHERE (state IN ('accepted', 'rejected') OR approval = 'refused')
                   AND purged_at IS NULL AND verdict_at IS NOT NULL AND verdict_at <= ?1",
                params![cutoff, at],
            )?;
            tx.commit()?;
            Ok(purged)
        })
    }

    /// How many packets are in each state.
    ///
    /// # Errors
    /// When the database fails.
    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        self.with(|c| {
            let mut counts = OutboxCounts::default();
            let mut statement = c.prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state")?;
            let rows =
                statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (state, count) = row?;
                let count = u64::try_from(count).unwrap_or(0);
                match OutboxState::parse(&state)? {
                    OutboxState::Pending => counts.pending = count,
                    OutboxState::Accepted => counts.accepted = count,
                    OutboxState::Rejected => counts.rejected = count,
                }
            }
            Ok(counts)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::enrollments::EnrollmentRow;

    fn store_with(ids: &[&str]) -> Store {
        let store = Store::open_in_memory().expect("store");
        for (n, id) in ids.iter().enumerate() {
            let at = format!("2026-11-23T08:00:0{n}Z");
            let row = EnrollmentRow {
                id: (*id).into(),
                officer: "budi".into(),
                created_at: at.clone(),
                sealed_summary: vec![1, 2, 3],
            };
            let entry = NewOutboxEntry {
                packet_id: id,
                packet: id.as_bytes(),
                sha256_hex: "00",
                created_at: &at,
                audit_through: 0,
                needs_approval: *id == "held",
            };
            store
                .insert_enrollment(&row, &entry, None, &crate::store::audit::test_entry)
                .expect("insert");
        }
        store
    }

    #[test]
    fn pending_packets_come_oldest_first_and_leave_once_judged() {
        let store = store_with(&["a", "b", "c"]);
        let ids = |s: &Store| -> Vec<String> {
            s.pending_packets(10)
                .expect("pending")
                .into_iter()
                .map(|p| p.packet_id)
                .collect()
        };
        assert_eq!(ids(&store), ["a", "b", "c"]);
        store
            .record_verdict("a", OutboxState::Accepted, None, "t")
            .expect("verdict");
        store
            .record_verdict("b", OutboxState::Rejected, Some("bad form"), "t")
            .expect("verdict");
        assert_eq!(ids(&store), ["c"]);
        assert_eq!(
            store.outbox_counts().expect("counts"),
            OutboxCounts {
                pending: 1,
                accepted: 1,
                rejected: 1
            }
        );
    }

    #[test]
    fn a_failed_attempt_keeps_the_packet_pending_and_counts_it() {
        let store = store_with(&["a"]);
        store
            .record_failed_attempt("a", "server unreachable", "t")
            .expect("fail");
        store
            .record_failed_attempt("a", "server unreachable", "t")
            .expect("fail");
        let pending = store.pending_packets(10).expect("pending");
        assert_eq!(pending[0].attempts, 2);
        let summary = &store.list_enrollments().expect("list")[0];
        assert_eq!(summary.last_error.as_deref(), Some("server unreachable"));
    }
}
