//! Retention: once the server has judged a packet, its sealed bytes stay on the station for a
//! configurable period (`retention_days` in `station.json`, default 30), in case the server
//! asks for it again, and are then deleted (overwritten: the database runs with
//! `secure_delete`). The outbox row stays as the receipt (id, SHA-256, size, verdict, reason),
//! and so do the audit entries.

use time::Duration;

use crate::audit::{self, AuditEvent};
use crate::clock::{rfc3339, Clock};
use crate::station::Station;
use crate::store::StoreError;

/// The retention period of a newly provisioned station.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// Deletes the sealed bytes of every packet judged more than the station's retention period
/// ago, records how many in the audit log, and returns that number.
///
/// # Errors
/// When the database fails; nothing is deleted then.
pub fn purge_expired(station: &Station, clock: &dyn Clock) -> Result<usize, StoreError> {
    let now = clock.now();
    let cutoff = now - Duration::days(i64::from(station.config().retention_days));
    let purged = station
        .store()
        .purge_judged_before(&rfc3339(cutoff), &rfc3339(now))?;
    if purged > 0 {
        let detail = format!(
            "deleted the sealed bytes of {purged} packet(s) judged more than {} day(s) ago",
            station.config().retention_days
        );
        let event = AuditEvent {
            actor: "station",
            action: "retention.purged",
            subject: "",
            detail: &detail,
        };
        audit::record(station, &event, clock)?;
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::enrollments::EnrollmentRow;
    use crate::store::outbox::{NewOutboxEntry, OutboxState};
    use time::macros::datetime;

    fn queue(station: &Station, id: &str) {
        let row = EnrollmentRow {
            id: id.into(),
            officer: "budi".into(),
            created_at: "2026-10-01T08:00:00Z".into(),
            sealed_summary: vec![1, 2, 3],
        };
        let entry = NewOutboxEntry {
            packet_id: id,
            packet: b"sealed packet bytes",
            sha256_hex: "ab",
            created_at: "2026-10-01T08:00:00Z",
            audit_through: 0,
            needs_approval: false,
        };
        station
            .store()
            .insert_enrollment(&row, &entry, None, &crate::store::audit::test_entry)
            .expect("insert");
    }

    #[test]
    fn sealed_bytes_go_after_the_retention_period_and_the_receipt_stays() {
        let dir = tempfile::tempdir().expect("dir");
        let station = crate::station::test_station(dir.path());
        queue(&station, "judged-long-ago");
        queue(&station, "judged-recently");
        queue(&station, "still-pending");
        let store = station.store();
        store
            .record_verdict(
                "judged-long-ago",
                OutboxState::Accepted,
                None,
                "2026-10-01T09:00:00Z",
            )
            .expect("verdict");
        store
            .record_verdict(
                "judged-recently",
                OutboxState::Rejected,
                Some("bad"),
                "2026-11-20T09:00:00Z",
            )
            .expect("verdict");

        let clock = ManualClock::new(datetime!(2026-11-23 10:00 UTC));
        assert_eq!(purge_expired(&station, &clock).expect("purge"), 1);
        assert!(store
            .outbox_packet("judged-long-ago")
            .expect("row")
            .is_empty());
        assert!(!store
            .outbox_packet("judged-recently")
            .expect("row")
            .is_empty());
        assert!(!store
            .outbox_packet("still-pending")
            .expect("row")
            .is_empty());
        let states: Vec<_> = store
            .list_enrollments()
            .expect("list")
            .into_iter()
            .map(|s| (s.enrollment.id, s.state))
            .collect();
        assert!(states.contains(&("judged-long-ago".to_owned(), OutboxState::Accepted)));
        let last = store.audit_entries().expect("audit").pop().expect("entry");
        assert_eq!(last.action, "retention.purged");
        assert_eq!(
            purge_expired(&station, &clock).expect("again"),
            0,
            "purged once"
        );
    }
}
