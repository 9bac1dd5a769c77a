//! The `packets` table and `packets/<station>/<id>.espk`: every packet the server judged, its
//! verdict in the row and its bytes in the file.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;
use uuid::Uuid;

use protocol::audit::AuditRecord;

use super::directory::Directory;
use super::{audit, jobs};
use super::{io, rfc3339, write_durably, DataError};

/// One row per judged packet, written after its file. `IF NOT EXISTS`: see
/// [`super::schema`].
pub(super) const MIGRATION_1: &str = "
CREATE TABLE IF NOT EXISTS packets (
    packet_id   TEXT PRIMARY KEY,
    station_id  TEXT NOT NULL REFERENCES stations (station_id),
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
    reason      TEXT,
    received_at TEXT NOT NULL
);";

/// A rejected packet's bytes are deleted this long after its verdict (its row, the verdict and
/// reason stay, as on the station).
pub const REJECTED_RETENTION: time::Duration = time::Duration::days(30);

/// The server's record of a packet it judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketRecord {
    /// Packet id.
    pub packet_id: Uuid,
    /// Sending station.
    pub station_id: Uuid,
    /// SHA-256 of the packet bytes, lower-case hex.
    pub sha256: String,
    /// `accepted` or `rejected`.
    pub verdict: String,
    /// Why, when rejected.
    pub reason: Option<String>,
    /// When it was judged, RFC 3339.
    pub judged_at: String,
    /// Where it is after intake: the stage it waits for or is in, [`crate::stages::DONE`] or
    /// [`crate::stages::HELD`]. Intake decides the first ([`crate::stages::entry`]); storing
    /// a packet in a stage queues its job.
    pub stage: String,
}

fn packet_path(root: &Path, station_id: Uuid, packet_id: Uuid) -> PathBuf {
    root.join("packets")
        .join(station_id.to_string())
        .join(format!("{packet_id}.espk"))
}

/// The record of a judged packet.
pub(super) fn find(db: &Connection, packet_id: Uuid) -> Result<Option<PacketRecord>, DataError> {
    let row = db
        .query_row(
            "SELECT station_id, sha256, verdict, reason, received_at, stage FROM packets
             WHERE packet_id = ?1",
            [packet_id.to_string()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    row.map(|(station, sha256, verdict, reason, judged_at, stage)| {
        let station_id =
            Uuid::parse_str(&station).map_err(|e| DataError::Corrupt(e.to_string()))?;
        Ok(PacketRecord {
            packet_id,
            station_id,
            sha256,
            verdict,
            reason,
            judged_at,
            stage,
        })
    })
    .transpose()
}

/// Every judged packet, oldest first (rows whose id is not a UUID are skipped).
pub(super) fn all(db: &Connection) -> Result<Vec<PacketRecord>, DataError> {
    let ids: Vec<String> = {
        let mut statement =
            db.prepare("SELECT packet_id FROM packets ORDER BY received_at, rowid")?;
        let rows = statement.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    ids.iter()
        .filter_map(|id| Uuid::parse_str(id).ok())
        .map(|id| find(db, id)?.ok_or_else(|| DataError::Corrupt(format!("packet {id} vanished"))))
        .collect()
}

/// A packet's stored bytes; [`DataError::Purged`] when a rejected packet's file is gone.
pub(super) fn bytes(root: &Path, record: &PacketRecord) -> Result<Vec<u8>, DataError> {
    let path = packet_path(root, record.station_id, record.packet_id);
    match fs::read(&path) {
        Err(error)
            if error.kind() == std::io::ErrorKind::NotFound && record.verdict == "rejected" =>
        {
            Err(DataError::Purged(record.packet_id))
        }
        read => read.map_err(io(format!("cannot read {}", path.display()))),
    }
}

/// Stores a judged packet, the file durably first and then its row with its audit entries in
/// one transaction; returns the existing record
/// instead when the id is known (also when a concurrent store of the same id wins the race).
pub(super) fn store(
    data: &Directory,
    record: &PacketRecord,
    bytes: &[u8],
    audit: &[AuditRecord],
) -> Result<Option<PacketRecord>, DataError> {
    let _one_writer = data.storing(record.packet_id);
    if let Some(existing) = find(&data.db(), record.packet_id)? {
        return Ok(Some(existing));
    }
    let path = packet_path(data.root(), record.station_id, record.packet_id);
    write_durably(&path, bytes)?;
    let mut db = data.db();
    let tx = db.transaction()?;
    let inserted = tx.execute(
        "INSERT INTO packets (packet_id, station_id, sha256, size, verdict, reason, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (packet_id) DO NOTHING",
        params![
            record.packet_id.to_string(),
            record.station_id.to_string(),
            record.sha256,
            i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            record.verdict,
            record.reason,
            record.judged_at
        ],
    )?;
    if inserted == 0 {
        // A concurrent upload of the same id won the race; its record stands.
        return find(&tx, record.packet_id)?
            .map(Some)
            .ok_or_else(|| DataError::Corrupt("packet row vanished".into()));
    }
    audit::insert_entries(&tx, record.station_id, audit)?;
    if crate::stages::STAGES.contains(&record.stage.as_str()) {
        jobs::enqueue(
            &tx,
            record.packet_id,
            &record.stage,
            OffsetDateTime::now_utc(),
        )?;
    }
    tx.commit()?;
    Ok(None)
}

/// Deletes the files of packets rejected before `judged_before`, keeping their rows; returns
/// how many files went.
pub(super) fn purge_rejected(
    data: &Directory,
    judged_before: OffsetDateTime,
) -> Result<usize, DataError> {
    let rejected: Vec<(String, String)> = {
        let db = data.db();
        let mut statement = db.prepare(
            "SELECT station_id, packet_id FROM packets
             WHERE verdict = 'rejected' AND received_at < ?1",
        )?;
        let rows = statement
            .query_map([rfc3339(judged_before)], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        rows
    };
    let mut purged = 0;
    for (station, packet) in rejected {
        let parse = |text: &str| {
            Uuid::parse_str(text).map_err(|_| DataError::Corrupt(format!("id {text:?}")))
        };
        let path = packet_path(data.root(), parse(&station)?, parse(&packet)?);
        match fs::remove_file(&path) {
            Ok(()) => purged += 1,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io(format!("cannot remove {}", path.display()))(error)),
        }
    }
    Ok(purged)
}
