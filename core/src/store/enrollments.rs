//! The `enrollments` table: one row per submitted enrollment, holding only what the officer's
//! list shows. The applicant's name and document number are stored encrypted under the
//! station's data key (`summary`); the clear-text columns of schema version 1 stay empty.
//! Biometrics are never stored here: they exist on the station only inside the sealed packet in
//! the outbox, which the station itself cannot open.

use rusqlite::{params, OptionalExtension};

use super::audit::{self, AuditBuilder};
use super::outbox::{self, NewOutboxEntry, OutboxState};
use super::{Store, StoreError};

pub(super) const MIGRATION_1: &str = "
CREATE TABLE enrollments (
    id              TEXT PRIMARY KEY,
    officer         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    applicant_name  TEXT NOT NULL,
    document_number TEXT NOT NULL
);";

/// The applicant fields move into an encrypted column; drafts in progress get a table of their
/// own (encrypted too, see [`super::drafts`]).
pub(super) const MIGRATION_5: &str = "
ALTER TABLE enrollments ADD COLUMN summary BLOB;";

/// The exception photo of an enrollment waiting for a supervisor, sealed under the data key:
/// the supervisor looks at it before deciding, and the decision erases it (the packet carries
/// it on to the server).
pub(super) const MIGRATION_9: &str = "
CREATE TABLE exception_photos (
    id    TEXT PRIMARY KEY REFERENCES enrollments(id),
    photo BLOB NOT NULL
);";

/// What is stored about a submitted enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentRow {
    /// Enrollment id (also the packet id).
    pub id: String,
    /// Officer username.
    pub officer: String,
    /// RFC 3339.
    pub created_at: String,
    /// The applicant's name and document number, sealed under the station's data key.
    pub sealed_summary: Vec<u8>,
}

/// An enrollment as the officer's list shows it, with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentSummary {
    /// The stored row.
    pub enrollment: EnrollmentRow,
    /// Where its packet is in delivery.
    pub state: OutboxState,
    /// Upload attempts that failed so far.
    pub failed_attempts: u32,
    /// The last delivery error, if the last attempt failed.
    pub last_error: Option<String>,
    /// The server's reason, when it rejected the packet.
    pub server_reason: Option<String>,
    /// `awaiting`, `approved` or `refused` for an enrollment a supervisor must approve.
    pub approval: Option<String>,
    /// The supervisor's comment on the decision, sealed under the station's data key.
    pub approval_note: Option<Vec<u8>>,
}

impl Store {
    /// Stores a submitted enrollment, its sealed packet in the outbox and its audit entry, in
    /// one transaction: either all three exist afterwards or none does.
    ///
    /// # Errors
    /// When the database fails; nothing is written then.
    pub fn insert_enrollment(
        &self,
        row: &EnrollmentRow,
        packet: &NewOutboxEntry<'_>,
        sealed_exception_photo: Option<&[u8]>,
        audit: AuditBuilder<'_>,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO enrollments (id, officer, created_at, applicant_name, document_number,
                                          summary)
                 VALUES (?1, ?2, ?3, '', '', ?4)",
                params![row.id, row.officer, row.created_at, row.sealed_summary],
            )?;
            tx.execute("DELETE FROM drafts WHERE officer = ?1", [&row.officer])?;
            if let Some(photo) = sealed_exception_photo {
                tx.execute(
                    "INSERT INTO exception_photos (id, photo) VALUES (?1, ?2)",
                    params![row.id, photo],
                )?;
            }
            outbox::insert(&tx, &row.id, packet)?;
            audit::append_in(&tx, audit)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// The sealed exception photo of enrollment `id`, while it waits for a supervisor.
    ///
    /// # Errors
    /// When the database fails.
    pub fn exception_photo(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT photo FROM exception_photos WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// Every enrollment, newest first.
    ///
    /// # Errors
    /// When the database fails or holds an unknown state.
    pub fn list_enrollments(&self) -> Result<Vec<EnrollmentSummary>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT e.id, e.officer, e.created_at, COALESCE(e.summary, x''),
                        o.state, o.attempts, o.last_error, o.server_reason, o.approval,
                        o.approval_note
                 FROM enrollments e JOIN outbox o ON o.enrollment_id = e.id
                 ORDER BY e.created_at DESC, e.rowid DESC",
            )?;
            let rows = statement.query_map([], |r| {
                Ok((
                    EnrollmentRow {
                        id: r.get(0)?,
                        officer: r.get(1)?,
                        created_at: r.get(2)?,
                        sealed_summary: r.get(3)?,
                    },
                    r.get::<_, String>(4)?,
                    r.get::<_, u32>(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            })?;
            rows.map(|row| {
                let (
                    enrollment,
                    state,
                    failed_attempts,
                    last_error,
                    server_reason,
                    approval,
                    approval_note,
                ) = row?;
                Ok(EnrollmentSummary {
                    enrollment,
                    state: OutboxState::parse(&state)?,
                    failed_attempts,
                    last_error,
                    server_reason,
                    approval,
                    approval_note,
                })
            })
            .collect()
        })
    }

    /// Rows written before the applicant fields were encrypted: id, name, document number.
    ///
    /// # Errors
    /// When the database fails.
    pub fn legacy_clear_text_rows(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT id, applicant_name, document_number FROM enrollments
                 WHERE summary IS NULL",
            )?;
            let rows = statement
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Replaces a legacy row's clear-text fields by their sealed form.
    ///
    /// # Errors
    /// When the database fails.
    pub fn seal_legacy_row(&self, id: &str, sealed_summary: &[u8]) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE enrollments SET summary = ?2, applicant_name = '', document_number = ''
                 WHERE id = ?1",
                params![id, sealed_summary],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn row(id: &str, at: &str) -> EnrollmentRow {
        EnrollmentRow {
            id: id.into(),
            officer: "budi".into(),
            created_at: at.into(),
            sealed_summary: vec![1, 2, 3],
        }
    }

    fn packet(bytes: &[u8]) -> NewOutboxEntry<'_> {
        NewOutboxEntry {
            packet_id: "p",
            packet: bytes,
            sha256_hex: "00",
            created_at: "2026-11-23T00:00:00Z",
            audit_through: 0,
            needs_approval: false,
        }
    }

    #[test]
    fn a_stored_enrollment_is_listed_as_pending_newest_first() {
        let store = Store::open_in_memory().expect("store");
        store
            .insert_enrollment(
                &row("a", "2026-11-23T08:00:00Z"),
                &NewOutboxEntry {
                    packet_id: "a",
                    ..packet(b"1")
                },
                None,
                &super::audit::test_entry,
            )
            .expect("insert a");
        store
            .insert_enrollment(
                &row("b", "2026-11-23T09:00:00Z"),
                &NewOutboxEntry {
                    packet_id: "b",
                    ..packet(b"2")
                },
                None,
                &super::audit::test_entry,
            )
            .expect("insert b");
        let list = store.list_enrollments().expect("list");
        let ids: Vec<_> = list.iter().map(|s| s.enrollment.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert!(list.iter().all(|s| s.state == OutboxState::Pending));
    }

    #[test]
    fn when_the_outbox_row_cannot_be_written_the_enrollment_is_not_stored_either() {
        let store = Store::open_in_memory().expect("store");
        store
            .insert_enrollment(
                &row("a", "2026-11-23T08:00:00Z"),
                &NewOutboxEntry {
                    packet_id: "same",
                    ..packet(b"1")
                },
                None,
                &super::audit::test_entry,
            )
            .expect("first");
        // The same packet id violates the outbox primary key, so the whole transaction fails.
        let second = store.insert_enrollment(
            &row("b", "2026-11-23T09:00:00Z"),
            &NewOutboxEntry {
                packet_id: "same",
                ..packet(b"2")
            },
            None,
            &super::audit::test_entry,
        );
        assert!(second.is_err());
        let ids: Vec<_> = store
            .list_enrollments()
            .expect("list")
            .into_iter()
            .map(|s| s.enrollment.id)
            .collect();
        assert_eq!(
            ids,
            ["a"],
            "an enrollment without its packet must never be left behind"
        );
    }
}
