//! The `jobs` table: the work queue of what happens to a packet after intake (see
//! [`crate::stages`]). A packet accepted at intake is stored with a job for the first stage, in
//! the same transaction; a worker claims the oldest waiting job for a while (its lease), works
//! it, and records the outcome: the packet moves on to the next stage (the job is rewritten for
//! it), is done (the job goes), or is held with a reason (the job goes). The packet's row
//! always says which stage it is in.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{DataError, Job, PacketStage, StageOutcome};

/// The stage column of `packets` (every packet before this migration is done) and the queue.
pub(super) const MIGRATION_2: &str = "
ALTER TABLE packets ADD COLUMN stage TEXT NOT NULL DEFAULT 'done';
ALTER TABLE packets ADD COLUMN held_reason TEXT;
CREATE TABLE jobs (
    packet_id     TEXT PRIMARY KEY REFERENCES packets (packet_id),
    stage         TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_by    TEXT,
    claimed_until INTEGER,
    queued_at     INTEGER NOT NULL
);
CREATE INDEX jobs_by_age ON jobs (queued_at);";

/// Queues `stage` for a packet just stored (in the caller's transaction).
pub(super) fn enqueue(
    tx: &Transaction<'_>,
    packet_id: Uuid,
    stage: &str,
    now: OffsetDateTime,
) -> Result<(), DataError> {
    tx.execute(
        "UPDATE packets SET stage = ?2 WHERE packet_id = ?1",
        params![packet_id.to_string(), stage],
    )?;
    tx.execute(
        "INSERT INTO jobs (packet_id, stage, queued_at) VALUES (?1, ?2, ?3)",
        params![
            packet_id.to_string(),
            stage,
            now.unix_timestamp_nanos() as i64
        ],
    )?;
    Ok(())
}

/// Claims the oldest job of one of `stages` that nobody holds (or whose lease ran out) for
/// `worker` until `until`.
pub(super) fn claim(
    db: &mut Connection,
    stages: &[&str],
    worker: &str,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Option<Job>, DataError> {
    let tx = db.transaction()?;
    let mut found = None;
    {
        let mut statement = tx.prepare(
            "SELECT packet_id, stage, attempts FROM jobs
             WHERE claimed_until IS NULL OR claimed_until < ?1
             ORDER BY queued_at, packet_id",
        )?;
        let mut rows = statement.query([now.unix_timestamp()])?;
        while let Some(row) = rows.next()? {
            let stage: String = row.get(1)?;
            if stages.contains(&stage.as_str()) {
                let id: String = row.get(0)?;
                let attempts: i64 = row.get(2)?;
                found = Some((id, stage, attempts));
                break;
            }
        }
    }
    let Some((id, stage, attempts)) = found else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE jobs SET claimed_by = ?2, claimed_until = ?3, attempts = attempts + 1
         WHERE packet_id = ?1",
        params![id, worker, until.unix_timestamp()],
    )?;
    tx.commit()?;
    Ok(Some(Job {
        packet_id: Uuid::parse_str(&id).map_err(|e| DataError::Corrupt(e.to_string()))?,
        stage,
        attempts: u32::try_from(attempts + 1).unwrap_or(u32::MAX),
    }))
}

/// Records `outcome` for `job`, when `worker` still holds it.
pub(super) fn finish(
    db: &mut Connection,
    job: &Job,
    worker: &str,
    outcome: &StageOutcome,
    now: OffsetDateTime,
) -> Result<bool, DataError> {
    let tx = db.transaction()?;
    let id = job.packet_id.to_string();
    let held = tx
        .query_row(
            "SELECT 1 FROM jobs WHERE packet_id = ?1 AND stage = ?2 AND claimed_by = ?3",
            params![id, job.stage, worker],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !held {
        return Ok(false);
    }
    match outcome {
        StageOutcome::Next(stage) => tx.execute(
            "UPDATE jobs SET stage = ?2, attempts = 0, claimed_by = NULL,
             claimed_until = NULL, queued_at = ?3 WHERE packet_id = ?1",
            params![id, stage, now.unix_timestamp_nanos() as i64],
        )?,
        StageOutcome::Done | StageOutcome::Held(_) => {
            tx.execute("DELETE FROM jobs WHERE packet_id = ?1", [&id])?
        }
    };
    let (stage, held_reason) = outcome.packet_stage();
    tx.execute(
        "UPDATE packets SET stage = ?2, held_reason = ?3 WHERE packet_id = ?1",
        params![id, stage, held_reason],
    )?;
    tx.commit()?;
    Ok(true)
}

/// The stage a packet is in.
pub(super) fn stage(db: &Connection, packet_id: Uuid) -> Result<Option<PacketStage>, DataError> {
    Ok(db
        .query_row(
            "SELECT stage, held_reason FROM packets WHERE packet_id = ?1",
            [packet_id.to_string()],
            |row| {
                Ok(PacketStage {
                    stage: row.get(0)?,
                    held_reason: row.get(1)?,
                })
            },
        )
        .optional()?)
}

/// How many jobs wait in each stage (claimed ones included), by stage name.
pub(super) fn waiting(db: &Connection) -> Result<Vec<(String, u64)>, DataError> {
    let mut statement =
        db.prepare("SELECT stage, count(*) FROM jobs GROUP BY stage ORDER BY stage")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    rows.map(|row| {
        let (stage, count) = row?;
        Ok((stage, u64::try_from(count).unwrap_or(0)))
    })
    .collect()
}
