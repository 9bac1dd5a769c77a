//! The `audit_entries` and `audit_heads` tables: the server's copy of each station's audit log,
//! and the newest head each station reported with the last conflict found in its claims.

use protocol::audit::{judge_head, AuditClaim, AuditHead, AuditRecord, HeadJudgement};
use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{rfc3339, DataError};

/// Entries are keyed by station and sequence number, as the station numbers them; a station
/// has at most one head row. `IF NOT EXISTS`: see [`super::schema`].
pub(super) const MIGRATION_1: &str = "
CREATE TABLE IF NOT EXISTS audit_entries (
    station_id TEXT NOT NULL REFERENCES stations (station_id),
    seq        INTEGER NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
);
CREATE TABLE IF NOT EXISTS audit_heads (
    station_id  TEXT PRIMARY KEY REFERENCES stations (station_id),
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    seen_at     TEXT NOT NULL,
    conflict    TEXT,
    conflict_at TEXT
);";

/// The newest audit head a station reported, and the last conflict found in its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldHead {
    /// The head.
    pub head: AuditHead,
    /// When it was reported (RFC 3339).
    pub seen_at: String,
    /// The last conflict and when it was found, if any ever was.
    pub conflict: Option<(String, String)>,
}

/// Keeps a station's entries (within the caller's transaction); an entry already held stays
/// as first received.
pub(super) fn insert_entries(
    tx: &Connection,
    station_id: Uuid,
    entries: &[AuditRecord],
) -> Result<(), DataError> {
    for entry in entries {
        tx.execute(
            "INSERT INTO audit_entries (station_id, seq, at, actor, action, subject, detail,
                                        prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (station_id, seq) DO NOTHING",
            params![
                station_id.to_string(),
                entry.seq,
                entry.at,
                entry.actor,
                entry.action,
                entry.subject,
                entry.detail,
                entry.prev_hash,
                entry.hash
            ],
        )?;
    }
    Ok(())
}

/// A station's entries, in order.
pub(super) fn entries(db: &Connection, station_id: Uuid) -> Result<Vec<AuditRecord>, DataError> {
    let mut statement = db.prepare(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_entries
         WHERE station_id = ?1 ORDER BY seq",
    )?;
    let rows = statement
        .query_map([station_id.to_string()], |r| {
            Ok(AuditRecord {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                subject: r.get(4)?,
                detail: r.get(5)?,
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The head held for a station.
pub(super) fn head(db: &Connection, station_id: Uuid) -> Result<Option<HeldHead>, DataError> {
    let row = db
        .query_row(
            "SELECT seq, hash, seen_at, conflict, conflict_at FROM audit_heads
             WHERE station_id = ?1",
            [station_id.to_string()],
            |r| {
                let conflict: Option<String> = r.get(3)?;
                let conflict_at: Option<String> = r.get(4)?;
                Ok(HeldHead {
                    head: AuditHead {
                        seq: r.get(0)?,
                        hash: r.get(1)?,
                    },
                    seen_at: r.get(2)?,
                    conflict: conflict.zip(conflict_at),
                })
            },
        )
        .optional()?;
    Ok(row)
}

/// Judges a claim against the held head and records the outcome, in one immediate
/// transaction so two requests of one station cannot both extend the same head.
pub(super) fn observe_head(
    db: &mut Connection,
    station_id: Uuid,
    claim: &AuditClaim,
    now: OffsetDateTime,
) -> Result<(Option<AuditHead>, Option<String>), DataError> {
    let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let held = head(&tx, station_id)?.map(|held| held.head);
    let at = rfc3339(now);
    let (known, conflict) = match judge_head(held.as_ref(), claim) {
        // The same head again (an idle station's pass): nothing to write.
        HeadJudgement::Extends if held.as_ref() == Some(&claim.head) => (held, None),
        HeadJudgement::Extends => {
            tx.execute(
                "INSERT INTO audit_heads (station_id, seq, hash, seen_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (station_id) DO UPDATE SET seq = ?2, hash = ?3, seen_at = ?4",
                params![station_id.to_string(), claim.head.seq, claim.head.hash, at],
            )?;
            (Some(claim.head.clone()), None)
        }
        HeadJudgement::Unanchored => (held, None),
        HeadJudgement::Conflict(conflict) => {
            tx.execute(
                "UPDATE audit_heads SET conflict = ?2, conflict_at = ?3 WHERE station_id = ?1",
                params![station_id.to_string(), conflict, at],
            )?;
            (held, Some(conflict))
        }
    };
    tx.commit()?;
    Ok((known, conflict))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schema::migrated_in_memory;

    fn entry(seq: i64, detail: &str) -> AuditRecord {
        AuditRecord {
            seq,
            at: "2026-11-23T00:00:00Z".into(),
            actor: "budi".into(),
            action: "login".into(),
            subject: "budi".into(),
            detail: detail.into(),
            prev_hash: "00".into(),
            hash: format!("{seq:02}"),
        }
    }

    #[test]
    fn entries_are_kept_in_order_and_as_first_received() {
        let db = migrated_in_memory();
        let station = Uuid::new_v4();
        db.execute(
            "INSERT INTO stations (station_id, name, signing_public_key, registered_at)
             VALUES (?1, 'Desk', 'key', 't')",
            [station.to_string()],
        )
        .expect("station");
        insert_entries(&db, station, &[entry(2, "second"), entry(1, "first")]).expect("store");
        insert_entries(&db, station, &[entry(1, "rewritten")]).expect("store again");
        let held = entries(&db, station).expect("entries");
        assert_eq!(
            held,
            [entry(1, "first"), entry(2, "second")],
            "a station resending an entry must not overwrite the server's copy"
        );
        assert!(entries(&db, Uuid::new_v4()).expect("none").is_empty());
        assert_eq!(head(&db, station).expect("head"), None);
    }
}
