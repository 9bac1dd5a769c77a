//! The `uploads` table and `uploads/<id>.part`: uploads in progress, their announced hash and
//! size in the row, the bytes held so far in the file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use super::directory::Directory;
use super::{io, rfc3339, DataError};

/// One row per announced upload; the bytes held are the file's length, not a column, so a
/// chunk written is counted exactly once. `IF NOT EXISTS`: see [`super::schema`].
pub(super) const MIGRATION_1: &str = "
CREATE TABLE IF NOT EXISTS uploads (
    packet_id  TEXT PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations (station_id),
    sha256     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    started_at TEXT NOT NULL
);";

/// Uploads one station may have in progress at once (a station sends one at a time; the rest
/// are flagged packets waiting for an approval, or abandoned).
pub const MAX_UPLOADS_PER_STATION: u64 = 16;
/// Announced bytes one station may have in progress at once.
pub const MAX_STATION_BYTES_IN_FLIGHT: u64 = 128 * 1024 * 1024;
/// Announced bytes all stations together may have in progress: the disk the uploads can take.
pub const MAX_BYTES_IN_FLIGHT: u64 = 4 * 1024 * 1024 * 1024;
/// An unfinished upload is discarded this long after it was announced.
pub const UPLOAD_LIFETIME: time::Duration = time::Duration::hours(24);

/// An upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    /// The sending station.
    pub station_id: Uuid,
    /// The announced SHA-256, lower-case hex.
    pub sha256: String,
    /// The announced size.
    pub size: u64,
    /// Bytes held so far.
    pub received: u64,
    /// When it was announced.
    pub started_at: OffsetDateTime,
}

/// Whether a new upload of `size` bytes may start for a station with `uploads` uploads of
/// `bytes` in progress, while the server holds `total` bytes of uploads in all. Both backends
/// decide by this.
pub(super) fn within_limits(
    uploads: u64,
    bytes: u64,
    total: u64,
    size: u64,
) -> Result<(), DataError> {
    if uploads >= MAX_UPLOADS_PER_STATION || bytes + size > MAX_STATION_BYTES_IN_FLIGHT {
        return Err(DataError::TooManyUploads { uploads, bytes });
    }
    if total + size > MAX_BYTES_IN_FLIGHT {
        return Err(DataError::ServerFull);
    }
    Ok(())
}

/// Where a chunk of `len` bytes at `offset` of `packet_id`, sent by `station_id`, would end,
/// when `upload` (the upload held, if any) takes it there: the station's own upload, at the
/// offset held, within the announced size. Both backends decide by this.
pub(super) fn chunk_end(
    upload: Option<UploadRecord>,
    station_id: Uuid,
    packet_id: Uuid,
    offset: u64,
    len: usize,
) -> Result<u64, DataError> {
    let upload = upload
        .filter(|upload| upload.station_id == station_id)
        .ok_or(DataError::NotAnnounced(packet_id))?;
    if offset != upload.received {
        return Err(DataError::OffsetMismatch {
            offset,
            held: upload.received,
        });
    }
    let end = offset.saturating_add(len as u64);
    if end > upload.size {
        return Err(DataError::PastEnd(upload.size));
    }
    Ok(end)
}

fn part_path(root: &Path, packet_id: Uuid) -> PathBuf {
    root.join("uploads").join(format!("{packet_id}.part"))
}

/// An upload's row with the length of its file.
pub(super) fn find(data: &Directory, packet_id: Uuid) -> Result<Option<UploadRecord>, DataError> {
    let row: Option<(String, String, i64, String)> = data
        .db()
        .query_row(
            "SELECT station_id, sha256, size, started_at FROM uploads WHERE packet_id = ?1",
            [packet_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((station, sha256, size, started_at)) = row else {
        return Ok(None);
    };
    let station_id = Uuid::parse_str(&station).map_err(|e| DataError::Corrupt(e.to_string()))?;
    let started_at = OffsetDateTime::parse(&started_at, &Rfc3339).map_err(|e| {
        DataError::Corrupt(format!("upload {packet_id} started at {started_at:?}: {e}"))
    })?;
    let received = match fs::metadata(part_path(data.root(), packet_id)) {
        Ok(meta) => meta.len(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
        Err(error) => return Err(io("cannot read an upload")(error)),
    };
    Ok(Some(UploadRecord {
        station_id,
        sha256,
        size: u64::try_from(size).unwrap_or(0),
        received,
        started_at,
    }))
}

/// Starts an upload within the limits, or returns the one in progress when it was announced
/// the same way. The limit check and the insert are one immediate transaction, so concurrent
/// announces cannot together exceed a limit.
pub(super) fn start(
    data: &Directory,
    station_id: Uuid,
    announce: &protocol::api::Announce,
    now: OffsetDateTime,
) -> Result<UploadRecord, DataError> {
    {
        let mut db = data.db();
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM uploads WHERE packet_id = ?1)",
            [announce.packet_id.to_string()],
            |r| r.get(0),
        )?;
        if !known {
            let (uploads, bytes, total): (i64, i64, i64) = tx.query_row(
                "SELECT COUNT(*) FILTER (WHERE station_id = ?1),
                        COALESCE(SUM(size) FILTER (WHERE station_id = ?1), 0),
                        COALESCE(SUM(size), 0)
                 FROM uploads",
                [station_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let (uploads, bytes, total) = (
                uploads.unsigned_abs(),
                bytes.unsigned_abs(),
                total.unsigned_abs(),
            );
            within_limits(uploads, bytes, total, announce.size)?;
            tx.execute(
                "INSERT INTO uploads (packet_id, station_id, sha256, size, started_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    announce.packet_id.to_string(),
                    station_id.to_string(),
                    announce.sha256,
                    i64::try_from(announce.size).unwrap_or(i64::MAX),
                    rfc3339(now)
                ],
            )?;
        }
        tx.commit()?;
    }
    let upload = find(data, announce.packet_id)?
        .ok_or_else(|| DataError::Corrupt("upload row vanished".into()))?;
    if upload.station_id != station_id
        || upload.sha256 != announce.sha256
        || upload.size != announce.size
    {
        return Err(DataError::AnnounceConflict(announce.packet_id));
    }
    Ok(upload)
}

/// Appends a chunk where the held bytes end, one writer at a time; a failed write is cut back
/// to the chunk boundary.
pub(super) fn append(
    data: &Directory,
    station_id: Uuid,
    packet_id: Uuid,
    offset: u64,
    chunk: &[u8],
) -> Result<u64, DataError> {
    let _one_writer = data.appending();
    let end = chunk_end(
        find(data, packet_id)?,
        station_id,
        packet_id,
        offset,
        chunk.len(),
    )?;
    let path = part_path(data.root(), packet_id);
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io(format!("cannot open {}", path.display())))?;
    if let Err(error) = file.write_all(chunk) {
        // Never keep half a chunk: the offset the station is told must be a chunk boundary
        // it can trust.
        let _ = file.set_len(offset);
        return Err(io(format!("cannot write {}", path.display()))(error));
    }
    Ok(end)
}

/// The bytes of an upload's file; [`DataError::NotAnnounced`] when there is no such upload
/// (never announced, or finished or discarded by another request meanwhile).
pub(super) fn bytes(data: &Directory, packet_id: Uuid) -> Result<Vec<u8>, DataError> {
    let path = part_path(data.root(), packet_id);
    match fs::read(&path) {
        // A discard removes the file before the row: a file is an upload's.
        Ok(bytes) => Ok(bytes),
        // Announced with no chunk yet, or no upload at all.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            match find(data, packet_id)? {
                Some(_) => Ok(Vec::new()),
                None => Err(DataError::NotAnnounced(packet_id)),
            }
        }
        Err(error) => Err(io(format!("cannot read {}", path.display()))(error)),
    }
}

/// Discards every upload announced before `started_before`; returns how many.
pub(super) fn expire(data: &Directory, started_before: OffsetDateTime) -> Result<usize, DataError> {
    let stale: Vec<String> = {
        let db = data.db();
        let mut statement = db.prepare("SELECT packet_id FROM uploads WHERE started_at < ?1")?;
        let rows = statement
            .query_map([rfc3339(started_before)], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        rows
    };
    for id in &stale {
        let id =
            Uuid::parse_str(id).map_err(|_| DataError::Corrupt(format!("upload id {id:?}")))?;
        discard(data, id)?;
    }
    Ok(stale.len())
}

/// Removes an upload's file, then its row.
pub(super) fn discard(data: &Directory, packet_id: Uuid) -> Result<(), DataError> {
    let path = part_path(data.root(), packet_id);
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io(format!("cannot remove {}", path.display()))(error)),
    }
    data.db().execute(
        "DELETE FROM uploads WHERE packet_id = ?1",
        [packet_id.to_string()],
    )?;
    Ok(())
}
