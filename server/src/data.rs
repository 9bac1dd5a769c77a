//! The server's data directory.
//!
//! ```text
//! <data dir>/keys/encryption.key          X25519 secret that opens packets (mode 0600)
//! <data dir>/keys/receipt.key             Ed25519 seed that signs receipts (mode 0600)
//! <data dir>/uploads/<id>.part            bytes of an upload in progress
//! <data dir>/server.db                    SQLite: stations, provisioning tokens, packets
//! <data dir>/packets/<station>/<id>.espk  every packet that passed its signature check
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use protocol::api::ProvisioningToken;
use protocol::audit::{judge_head, AuditClaim, AuditHead, AuditRecord, HeadJudgement};
use protocol::form::{FormLibrary, FormSet};
use protocol::keys::{ServerDecryptionKey, StationPublicKey, StationSigningKey};
use protocol::random::{RandomSource, SystemRandom};
use protocol::registration::proof_matches;
use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS stations (
    station_id         TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    signing_public_key TEXT NOT NULL UNIQUE,
    registered_at      TEXT NOT NULL,
    revoked            INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS provisioning_tokens (
    token_sha256 TEXT PRIMARY KEY,
    issued_at    TEXT NOT NULL,
    used_at      TEXT,
    station_id   TEXT REFERENCES stations (station_id)
);
CREATE TABLE IF NOT EXISTS packets (
    packet_id   TEXT PRIMARY KEY,
    station_id  TEXT NOT NULL REFERENCES stations (station_id),
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
    reason      TEXT,
    received_at TEXT NOT NULL
);
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
CREATE TABLE IF NOT EXISTS uploads (
    packet_id  TEXT PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations (station_id),
    sha256     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    started_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS request_nonces (
    station_id TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    seen_at    INTEGER NOT NULL,
    PRIMARY KEY (station_id, nonce)
);
CREATE INDEX IF NOT EXISTS request_nonces_age ON request_nonces (seen_at);
CREATE TABLE IF NOT EXISTS audit_heads (
    station_id  TEXT PRIMARY KEY REFERENCES stations (station_id),
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    seen_at     TEXT NOT NULL,
    conflict    TEXT,
    conflict_at TEXT
);";

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The database failed.
    #[error("server database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value is not what this build expects.
    #[error("the server data is inconsistent: {0}")]
    Corrupt(String),
    /// The token is unknown, expired or was already used.
    #[error("the provisioning code is unknown, has expired or was already used; ask the server's administrator for a new one")]
    InvalidToken,
    /// The station key is registered already.
    #[error("this station key is already registered")]
    KeyAlreadyRegistered,
    /// No randomness was available.
    #[error("the operating system could not provide random bytes")]
    Random,
    /// The packet id was announced before with another hash, size or station.
    #[error("packet {0} was announced before with a different hash, size or station")]
    AnnounceConflict(Uuid),
    /// A chunk does not start where the held bytes end.
    #[error("the chunk starts at byte {offset} but the server holds {held} bytes")]
    OffsetMismatch {
        /// Where the chunk starts.
        offset: u64,
        /// How many bytes the server holds.
        held: u64,
    },
    /// A chunk goes past the announced size.
    #[error("the chunk goes past the announced size of {0} bytes")]
    PastEnd(u64),
    /// No upload of this id was announced.
    #[error("packet {0} was not announced")]
    NotAnnounced(Uuid),
    /// The station has as many uploads in progress as it may.
    #[error("this station already has {uploads} uploads ({bytes} bytes) in progress, the most it may; finish or wait for them to expire")]
    TooManyUploads {
        /// Uploads in progress.
        uploads: u64,
        /// Their announced bytes.
        bytes: u64,
    },
    /// All stations together have as many bytes in flight as the server takes.
    #[error("the server has no room for more uploads right now; try again later")]
    ServerFull,
    /// A rejected packet's bytes were deleted after their retention period.
    #[error("packet {0}'s bytes were deleted after their retention period")]
    Purged(Uuid),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DataError {
    let context = context.into();
    move |source| DataError::Io { context, source }
}

/// Uploads one station may have in progress at once (a station sends one at a time; the rest
/// are flagged packets waiting for an approval, or abandoned).
pub const MAX_UPLOADS_PER_STATION: u64 = 16;
/// Announced bytes one station may have in progress at once.
pub const MAX_STATION_BYTES_IN_FLIGHT: u64 = 128 * 1024 * 1024;
/// Announced bytes all stations together may have in progress: the disk the uploads can take.
pub const MAX_BYTES_IN_FLIGHT: u64 = 4 * 1024 * 1024 * 1024;
/// An unfinished upload is discarded this long after it was announced.
pub const UPLOAD_LIFETIME: time::Duration = time::Duration::hours(24);
/// A rejected packet's bytes are deleted this long after its verdict (its row, the verdict and
/// reason stay, as on the station).
pub const REJECTED_RETENTION: time::Duration = time::Duration::days(30);

/// How long an issued provisioning code stays usable.
pub const TOKEN_LIFETIME: time::Duration = time::Duration::days(7);

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

/// A registered station as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationRecord {
    /// Its id.
    pub station_id: Uuid,
    /// Its human name.
    pub name: String,
    /// Its signing key.
    pub signing_key: StationPublicKey,
    /// Whether it was revoked.
    pub revoked: bool,
}

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
}

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
}

/// The built-in form definitions, then every `*.json` file in `dir` (by file name): a
/// regulation change is a new file here, and older versions stay so packets from stations not
/// yet updated still check.
fn load_forms(dir: &Path) -> Result<FormLibrary, DataError> {
    let builtin = FormSet::builtin().map_err(|e| DataError::Corrupt(e.to_string()))?;
    let mut sets = vec![builtin];
    let mut files: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(format!("cannot read {}", dir.display()))(e)),
    };
    files.sort();
    for file in files {
        let text =
            fs::read_to_string(&file).map_err(io(format!("cannot read {}", file.display())))?;
        let set = FormSet::parse(&text)
            .map_err(|e| DataError::Corrupt(format!("{}: {e}", file.display())))?;
        sets.push(set);
    }
    Ok(FormLibrary::new(sets))
}

/// The open data directory.
pub struct ServerData {
    root: PathBuf,
    db: Mutex<Connection>,
    key: ServerDecryptionKey,
    receipt_key: StationSigningKey,
    appending: Mutex<()>,
    forms: FormLibrary,
    metrics_token: Zeroizing<String>,
}

impl std::fmt::Debug for ServerData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerData")
            .field("root", &self.root)
            .field("key", &self.key)
            .finish()
    }
}

impl ServerData {
    /// Opens `root`, creating the directory, the key and the database on first use.
    ///
    /// # Errors
    /// See [`DataError`].
    pub fn open(root: &Path) -> Result<Self, DataError> {
        fs::create_dir_all(root.join("packets"))
            .map_err(io(format!("cannot create {}", root.display())))?;
        let key = load_or_create_key(&root.join("keys").join("encryption.key"))?;
        let receipt_key = load_or_create_receipt_key(&root.join("keys").join("receipt.key"))?;
        let metrics_token = load_or_create_token(&root.join("keys").join("metrics.token"))?;
        fs::create_dir_all(root.join("uploads"))
            .map_err(io(format!("cannot create {}", root.display())))?;
        let db = Connection::open(root.join("server.db"))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(SCHEMA)?;
        let forms = load_forms(&root.join("forms"))?;
        Ok(Self {
            root: root.to_owned(),
            db: Mutex::new(db),
            key,
            receipt_key,
            appending: Mutex::new(()),
            forms,
            metrics_token,
        })
    }

    fn upload_path(&self, packet_id: Uuid) -> PathBuf {
        self.root.join("uploads").join(format!("{packet_id}.part"))
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a station under a known id and key, without a token. Only for tests that replay
    /// recorded packets (the packet format's test vectors); stations register with tokens.
    ///
    /// # Errors
    /// When the database fails or the id or key is taken.
    #[doc(hidden)]
    pub fn insert_station_for_tests(
        &self,
        station_id: Uuid,
        signing_key: &StationPublicKey,
        now: OffsetDateTime,
    ) -> Result<(), DataError> {
        self.db().execute(
            "INSERT INTO stations (station_id, name, signing_public_key, registered_at) VALUES (?1, ?2, ?3, ?4)",
            params![station_id.to_string(), "test vectors", signing_key.to_base64(), rfc3339(now)],
        )?;
        Ok(())
    }

    fn packet_path(&self, station_id: Uuid, packet_id: Uuid) -> PathBuf {
        self.root
            .join("packets")
            .join(station_id.to_string())
            .join(format!("{packet_id}.espk"))
    }
}

/// What the server keeps: stations and provisioning tokens, judged packets and their bytes,
/// uploads in progress, request nonces, and each station's audit entries. Intake, uploads and
/// the HTTP layer see only this trait; [`ServerData`] (SQLite and files under a data directory)
/// is the embedded default, and another backend (a database server and an object store, say)
/// would implement it too.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// The key that signs receipts.
    fn receipt_key(&self) -> &StationSigningKey;

    /// The bearer token `/metrics` asks for (`keys/metrics.token`, made with the data
    /// directory): the counters name every station, so they are not public.
    fn metrics_token(&self) -> &str;

    /// Every version of the enrollment forms packets are checked against.
    fn forms(&self) -> &FormLibrary;

    /// Remembers a request nonce; false when the station used it before within the window.
    /// Nonces older than twice the clock-skew window are forgotten (a request that old is
    /// refused for its timestamp anyway).
    ///
    /// # Errors
    /// When the database fails.
    fn remember_nonce(
        &self,
        station_id: Uuid,
        nonce: &str,
        now_unix: i64,
    ) -> Result<bool, DataError>;

    /// An upload in progress, with how many bytes are held.
    ///
    /// # Errors
    /// When the database fails or the stored row is malformed.
    fn upload(&self, packet_id: Uuid) -> Result<Option<UploadRecord>, DataError>;

    /// Starts an upload, or returns the one in progress when it was announced the same way. A
    /// new upload must fit [`MAX_UPLOADS_PER_STATION`], [`MAX_STATION_BYTES_IN_FLIGHT`] and
    /// [`MAX_BYTES_IN_FLIGHT`].
    ///
    /// # Errors
    /// [`DataError::AnnounceConflict`] when it was announced with another hash, size or station;
    /// [`DataError::TooManyUploads`], [`DataError::ServerFull`] over a limit.
    fn start_upload(
        &self,
        station_id: Uuid,
        announce: &protocol::api::Announce,
        now: OffsetDateTime,
    ) -> Result<UploadRecord, DataError>;

    /// Appends a chunk of `station_id`'s upload at `offset`, which must be where the held bytes
    /// end. Returns the bytes held afterwards.
    ///
    /// # Errors
    /// [`DataError::NotAnnounced`] (also when another station announced it),
    /// [`DataError::OffsetMismatch`], [`DataError::PastEnd`], or a write failure (a full disk
    /// among them).
    fn append_chunk(
        &self,
        station_id: Uuid,
        packet_id: Uuid,
        offset: u64,
        chunk: &[u8],
    ) -> Result<u64, DataError>;

    /// The bytes of a complete upload.
    ///
    /// # Errors
    /// When the file cannot be read.
    fn upload_bytes(&self, packet_id: Uuid) -> Result<Vec<u8>, DataError>;

    /// Discards every upload announced before `started_before` with its bytes. Returns how
    /// many.
    ///
    /// # Errors
    /// When the database fails or a file cannot be removed.
    fn expire_uploads(&self, started_before: OffsetDateTime) -> Result<usize, DataError>;

    /// Deletes the bytes of packets rejected before `judged_before` (their rows stay). Returns
    /// how many.
    ///
    /// # Errors
    /// When the database fails or a file cannot be removed.
    fn purge_rejected(&self, judged_before: OffsetDateTime) -> Result<usize, DataError>;

    /// Forgets an upload and its bytes (after its verdict, or when its bytes are corrupt).
    ///
    /// # Errors
    /// When the database fails or the file cannot be removed.
    fn discard_upload(&self, packet_id: Uuid) -> Result<(), DataError>;

    /// The key that opens packets.
    fn encryption_key(&self) -> &ServerDecryptionKey;

    /// Issues a one-time provisioning token; only its hash is stored.
    ///
    /// # Errors
    /// When no randomness is available or the database fails.
    fn issue_token(&self, now: OffsetDateTime) -> Result<ProvisioningToken, DataError>;

    /// Registers a station in exchange for the proof of an unused token issued less than
    /// [`TOKEN_LIFETIME`] ago (see [`protocol::registration`]).
    ///
    /// # Errors
    /// [`DataError::InvalidToken`], [`DataError::KeyAlreadyRegistered`], or a database error.
    fn register_station(
        &self,
        token_proof: &str,
        name: &str,
        signing_key: &StationPublicKey,
        now: OffsetDateTime,
    ) -> Result<Uuid, DataError>;

    /// Revokes a station: its packets are refused from now on.
    ///
    /// # Errors
    /// When the database fails.
    fn revoke_station(&self, station_id: Uuid) -> Result<bool, DataError>;

    /// A registered station.
    ///
    /// # Errors
    /// When the database fails or holds a malformed key.
    fn station(&self, station_id: Uuid) -> Result<Option<StationRecord>, DataError>;

    /// The record of a packet, if it was judged before.
    ///
    /// # Errors
    /// When the database fails.
    fn packet(&self, packet_id: Uuid) -> Result<Option<PacketRecord>, DataError>;

    /// Every packet judged, oldest first.
    ///
    /// # Errors
    /// When the database fails.
    fn packets(&self) -> Result<Vec<PacketRecord>, DataError>;

    /// The stored bytes of a packet.
    ///
    /// # Errors
    /// When the file cannot be read.
    fn packet_bytes(&self, record: &PacketRecord) -> Result<Vec<u8>, DataError>;

    /// Stores a judged packet: the file first (durably), then its row. When the packet id is
    /// already known, nothing is written and the existing record is returned instead.
    ///
    /// # Errors
    /// When the file or the row cannot be written.
    fn store_packet(
        &self,
        record: &PacketRecord,
        bytes: &[u8],
    ) -> Result<Option<PacketRecord>, DataError>;

    /// Keeps the audit entries a station's accepted packet carried (entries already held are
    /// kept as first received), so the server holds its own copy of every station's log.
    ///
    /// # Errors
    /// When the database fails.
    fn store_audit_entries(
        &self,
        station_id: Uuid,
        entries: &[AuditRecord],
    ) -> Result<(), DataError>;

    /// A station's audit entries as the server holds them, in order.
    ///
    /// # Errors
    /// When the database fails.
    fn audit_entries(&self, station_id: Uuid) -> Result<Vec<AuditRecord>, DataError>;

    /// The audit head held for a station.
    ///
    /// # Errors
    /// When the database fails.
    fn audit_head(&self, station_id: Uuid) -> Result<Option<HeldHead>, DataError>;

    /// Takes a station's claim about its audit log ([`judge_head`]): a head that extends the
    /// one held (or the first) is remembered; a conflict is recorded and the held head kept.
    /// Returns the head held afterwards and the conflict found now.
    ///
    /// # Errors
    /// When the database fails.
    fn observe_audit_head(
        &self,
        station_id: Uuid,
        claim: &AuditClaim,
        now: OffsetDateTime,
    ) -> Result<(Option<AuditHead>, Option<String>), DataError>;
}

impl Storage for ServerData {
    fn receipt_key(&self) -> &StationSigningKey {
        &self.receipt_key
    }

    fn metrics_token(&self) -> &str {
        &self.metrics_token
    }

    fn forms(&self) -> &FormLibrary {
        &self.forms
    }

    fn remember_nonce(
        &self,
        station_id: Uuid,
        nonce: &str,
        now_unix: i64,
    ) -> Result<bool, DataError> {
        let db = self.db();
        let window = 2 * protocol::request::MAX_CLOCK_SKEW_SECS;
        if now_unix % 60 == 0 {
            db.execute(
                "DELETE FROM request_nonces WHERE seen_at < ?1",
                [now_unix - window],
            )?;
        }
        let inserted = db.execute(
            "INSERT INTO request_nonces (station_id, nonce, seen_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![station_id.to_string(), nonce, now_unix],
        )?;
        Ok(inserted == 1)
    }

    fn upload(&self, packet_id: Uuid) -> Result<Option<UploadRecord>, DataError> {
        let row: Option<(String, String, i64)> = self
            .db()
            .query_row(
                "SELECT station_id, sha256, size FROM uploads WHERE packet_id = ?1",
                [packet_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((station, sha256, size)) = row else {
            return Ok(None);
        };
        let station_id =
            Uuid::parse_str(&station).map_err(|e| DataError::Corrupt(e.to_string()))?;
        let received = match fs::metadata(self.upload_path(packet_id)) {
            Ok(meta) => meta.len(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
            Err(error) => return Err(io("cannot read an upload")(error)),
        };
        Ok(Some(UploadRecord {
            station_id,
            sha256,
            size: u64::try_from(size).unwrap_or(0),
            received,
        }))
    }

    fn start_upload(
        &self,
        station_id: Uuid,
        announce: &protocol::api::Announce,
        now: OffsetDateTime,
    ) -> Result<UploadRecord, DataError> {
        {
            let mut db = self.db();
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
                if uploads >= MAX_UPLOADS_PER_STATION
                    || bytes + announce.size > MAX_STATION_BYTES_IN_FLIGHT
                {
                    return Err(DataError::TooManyUploads { uploads, bytes });
                }
                if total + announce.size > MAX_BYTES_IN_FLIGHT {
                    return Err(DataError::ServerFull);
                }
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
        let upload = self
            .upload(announce.packet_id)?
            .ok_or_else(|| DataError::Corrupt("upload row vanished".into()))?;
        if upload.station_id != station_id
            || upload.sha256 != announce.sha256
            || upload.size != announce.size
        {
            return Err(DataError::AnnounceConflict(announce.packet_id));
        }
        Ok(upload)
    }

    fn append_chunk(
        &self,
        station_id: Uuid,
        packet_id: Uuid,
        offset: u64,
        chunk: &[u8],
    ) -> Result<u64, DataError> {
        let _one_writer = self
            .appending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let upload = self
            .upload(packet_id)?
            .filter(|upload| upload.station_id == station_id)
            .ok_or(DataError::NotAnnounced(packet_id))?;
        if offset != upload.received {
            return Err(DataError::OffsetMismatch {
                offset,
                held: upload.received,
            });
        }
        let end = offset.saturating_add(chunk.len() as u64);
        if end > upload.size {
            return Err(DataError::PastEnd(upload.size));
        }
        let path = self.upload_path(packet_id);
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

    fn upload_bytes(&self, packet_id: Uuid) -> Result<Vec<u8>, DataError> {
        let path = self.upload_path(packet_id);
        fs::read(&path).map_err(io(format!("cannot read {}", path.display())))
    }

    fn expire_uploads(&self, started_before: OffsetDateTime) -> Result<usize, DataError> {
        let stale: Vec<String> = {
            let db = self.db();
            let mut statement =
                db.prepare("SELECT packet_id FROM uploads WHERE started_at < ?1")?;
            let rows = statement
                .query_map([rfc3339(started_before)], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        for id in &stale {
            let id =
                Uuid::parse_str(id).map_err(|_| DataError::Corrupt(format!("upload id {id:?}")))?;
            self.discard_upload(id)?;
        }
        Ok(stale.len())
    }

    fn purge_rejected(&self, judged_before: OffsetDateTime) -> Result<usize, DataError> {
        let rejected: Vec<(String, String)> = {
            let db = self.db();
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
            let path = self.packet_path(parse(&station)?, parse(&packet)?);
            match fs::remove_file(&path) {
                Ok(()) => purged += 1,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(io(format!("cannot remove {}", path.display()))(error)),
            }
        }
        Ok(purged)
    }

    fn discard_upload(&self, packet_id: Uuid) -> Result<(), DataError> {
        let path = self.upload_path(packet_id);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io(format!("cannot remove {}", path.display()))(error)),
        }
        self.db().execute(
            "DELETE FROM uploads WHERE packet_id = ?1",
            [packet_id.to_string()],
        )?;
        Ok(())
    }

    fn encryption_key(&self) -> &ServerDecryptionKey {
        &self.key
    }

    fn issue_token(&self, now: OffsetDateTime) -> Result<ProvisioningToken, DataError> {
        let mut bytes = Zeroizing::new([0u8; 24]);
        SystemRandom
            .fill(bytes.as_mut())
            .map_err(|_| DataError::Random)?;
        let secret: Zeroizing<String> =
            Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect());
        let token = ProvisioningToken::issue(&secret, &self.receipt_key().public_key());
        self.db().execute(
            "INSERT INTO provisioning_tokens (token_sha256, issued_at) VALUES (?1, ?2)",
            params![token.stored_hash(), rfc3339(now)],
        )?;
        Ok(token)
    }

    fn register_station(
        &self,
        token_proof: &str,
        name: &str,
        signing_key: &StationPublicKey,
        now: OffsetDateTime,
    ) -> Result<Uuid, DataError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let oldest = rfc3339(now - TOKEN_LIFETIME);
        let token_hash = {
            let mut unused = tx.prepare(
                "SELECT token_sha256 FROM provisioning_tokens WHERE used_at IS NULL AND issued_at >= ?1",
            )?;
            let hashes = unused
                .query_map([&oldest], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            hashes
                .into_iter()
                .find(|hash| proof_matches(hash, token_proof, name, signing_key))
                .ok_or(DataError::InvalidToken)?
        };
        let key_text = signing_key.to_base64();
        let taken: Option<String> = tx
            .query_row(
                "SELECT station_id FROM stations WHERE signing_public_key = ?1",
                [&key_text],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(DataError::KeyAlreadyRegistered);
        }
        let station_id = Uuid::new_v4();
        let at = rfc3339(now);
        tx.execute(
            "INSERT INTO stations (station_id, name, signing_public_key, registered_at) VALUES (?1, ?2, ?3, ?4)",
            params![station_id.to_string(), name, key_text, at],
        )?;
        tx.execute(
            "UPDATE provisioning_tokens SET used_at = ?2, station_id = ?3 WHERE token_sha256 = ?1",
            params![token_hash, at, station_id.to_string()],
        )?;
        tx.commit()?;
        Ok(station_id)
    }

    fn revoke_station(&self, station_id: Uuid) -> Result<bool, DataError> {
        let changed = self.db().execute(
            "UPDATE stations SET revoked = 1 WHERE station_id = ?1",
            [station_id.to_string()],
        )?;
        Ok(changed > 0)
    }

    fn station(&self, station_id: Uuid) -> Result<Option<StationRecord>, DataError> {
        let row: Option<(String, String, bool)> = self
            .db()
            .query_row(
                "SELECT name, signing_public_key, revoked FROM stations WHERE station_id = ?1",
                [station_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(name, key, revoked)| {
            let bytes = protocol::keys::decode_key_bytes(&key).map_err(|_| {
                DataError::Corrupt(format!("station {station_id} has a malformed key"))
            })?;
            Ok(StationRecord {
                station_id,
                name,
                signing_key: StationPublicKey(bytes),
                revoked,
            })
        })
        .transpose()
    }

    fn packet(&self, packet_id: Uuid) -> Result<Option<PacketRecord>, DataError> {
        let row = self
            .db()
            .query_row(
                "SELECT station_id, sha256, verdict, reason, received_at FROM packets
                 WHERE packet_id = ?1",
                [packet_id.to_string()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(station, sha256, verdict, reason, judged_at)| {
            let station_id =
                Uuid::parse_str(&station).map_err(|e| DataError::Corrupt(e.to_string()))?;
            Ok(PacketRecord {
                packet_id,
                station_id,
                sha256,
                verdict,
                reason,
                judged_at,
            })
        })
        .transpose()
    }

    fn packets(&self) -> Result<Vec<PacketRecord>, DataError> {
        let ids: Vec<String> = {
            let db = self.db();
            let mut statement =
                db.prepare("SELECT packet_id FROM packets ORDER BY received_at, rowid")?;
            let rows = statement.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        ids.iter()
            .filter_map(|id| Uuid::parse_str(id).ok())
            .map(|id| {
                self.packet(id)?
                    .ok_or_else(|| DataError::Corrupt(format!("packet {id} vanished")))
            })
            .collect()
    }

    fn packet_bytes(&self, record: &PacketRecord) -> Result<Vec<u8>, DataError> {
        let path = self.packet_path(record.station_id, record.packet_id);
        match fs::read(&path) {
            Err(error)
                if error.kind() == std::io::ErrorKind::NotFound && record.verdict == "rejected" =>
            {
                Err(DataError::Purged(record.packet_id))
            }
            read => read.map_err(io(format!("cannot read {}", path.display()))),
        }
    }

    fn store_packet(
        &self,
        record: &PacketRecord,
        bytes: &[u8],
    ) -> Result<Option<PacketRecord>, DataError> {
        if let Some(existing) = self.packet(record.packet_id)? {
            return Ok(Some(existing));
        }
        let path = self.packet_path(record.station_id, record.packet_id);
        write_durably(&path, bytes)?;
        let inserted = self.db().execute(
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
            return self
                .packet(record.packet_id)?
                .map(Some)
                .ok_or_else(|| DataError::Corrupt("packet row vanished".into()));
        }
        Ok(None)
    }

    fn store_audit_entries(
        &self,
        station_id: Uuid,
        entries: &[AuditRecord],
    ) -> Result<(), DataError> {
        let mut db = self.db();
        let tx = db.transaction()?;
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
        tx.commit()?;
        Ok(())
    }

    fn audit_entries(&self, station_id: Uuid) -> Result<Vec<AuditRecord>, DataError> {
        let db = self.db();
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

    fn audit_head(&self, station_id: Uuid) -> Result<Option<HeldHead>, DataError> {
        Self::held_head(&self.db(), station_id)
    }

    fn observe_audit_head(
        &self,
        station_id: Uuid,
        claim: &AuditClaim,
        now: OffsetDateTime,
    ) -> Result<(Option<AuditHead>, Option<String>), DataError> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let held = Self::held_head(&tx, station_id)?.map(|held| held.head);
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
}

impl ServerData {
    fn held_head(db: &Connection, station_id: Uuid) -> Result<Option<HeldHead>, DataError> {
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
}

fn load_or_create_token(path: &Path) -> Result<Zeroizing<String>, DataError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Zeroizing::new(text.trim().to_owned())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = Zeroizing::new([0u8; 24]);
            SystemRandom
                .fill(bytes.as_mut())
                .map_err(|_| DataError::Random)?;
            let token =
                Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
            write_durably(path, token.as_bytes())?;
            Ok(token)
        }
        Err(error) => Err(io(format!("cannot read {}", path.display()))(error)),
    }
}

fn load_or_create_receipt_key(path: &Path) -> Result<StationSigningKey, DataError> {
    match fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            StationSigningKey::from_seed(&bytes).map_err(|_| {
                DataError::Corrupt(format!("{} is not a 32-byte Ed25519 seed", path.display()))
            })
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = StationSigningKey::generate(&SystemRandom).map_err(|_| DataError::Random)?;
            write_durably(path, key.expose_seed())?;
            Ok(key)
        }
        Err(error) => Err(io(format!("cannot read {}", path.display()))(error)),
    }
}

fn load_or_create_key(path: &Path) -> Result<ServerDecryptionKey, DataError> {
    match fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                DataError::Corrupt(format!("{} is not a 32-byte key", path.display()))
            })?;
            Ok(ServerDecryptionKey::from_bytes(&array))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key =
                ServerDecryptionKey::generate(&SystemRandom).map_err(|_| DataError::Random)?;
            write_durably(path, key.expose_bytes().as_ref())?;
            tracing::info!(key_id = %key.public_key().key_id(), "generated the server encryption key");
            Ok(key)
        }
        Err(error) => Err(io(format!("cannot read {}", path.display()))(error)),
    }
}

/// Temporary file, fsync, rename: a crash leaves either the old state or the whole file.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(format!("cannot create {}", parent.display())))?;
    let temporary = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let write = || -> std::io::Result<()> {
        let mut file = options.open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    };
    write().map_err(io(format!("cannot write {}", path.display())))
}

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::keys::StationSigningKey;

    fn key() -> StationPublicKey {
        StationSigningKey::generate(&SystemRandom)
            .expect("key")
            .public_key()
    }

    #[test]
    fn form_versions_dropped_into_the_forms_folder_are_known_next_to_the_built_in_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut newer = FormSet::builtin().expect("builtin");
        let builtin = newer.version.clone();
        newer.version = "2027.01".into();
        fs::create_dir_all(dir.path().join("forms")).expect("mkdir");
        fs::write(
            dir.path().join("forms").join("2027.01.json"),
            serde_json::to_vec(&newer).expect("json"),
        )
        .expect("write");
        let data = ServerData::open(dir.path()).expect("open");
        assert!(data.forms().find("wni-passport", &builtin).is_some());
        assert!(data.forms().find("wni-passport", "2027.01").is_some());
        assert!(data.forms().find("wni-passport", "2099.01").is_none());

        fs::write(dir.path().join("forms").join("broken.json"), b"{").expect("write");
        let error = ServerData::open(dir.path()).expect_err("broken file");
        assert!(error.to_string().contains("broken.json"), "{error}");
    }

    #[test]
    fn a_token_registers_exactly_one_station() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = ServerData::open(dir.path()).expect("open");
        let now = OffsetDateTime::now_utc();
        let token = data.issue_token(now).expect("token");
        let (first, second) = (key(), key());
        let id = data
            .register_station(&token.proof("Desk 1", &first), "Desk 1", &first, now)
            .expect("register");
        assert_eq!(
            data.station(id).expect("lookup").map(|s| s.name),
            Some("Desk 1".into())
        );
        let again = data.register_station(&token.proof("Desk 2", &second), "Desk 2", &second, now);
        assert!(
            matches!(again, Err(DataError::InvalidToken)),
            "a token is good for one station only"
        );
        let forged = data.register_station(&"00".repeat(32), "X", &key(), now);
        assert!(matches!(forged, Err(DataError::InvalidToken)));
    }

    #[test]
    fn an_unused_token_expires_after_its_lifetime() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = ServerData::open(dir.path()).expect("open");
        let issued = OffsetDateTime::now_utc();
        let token = data.issue_token(issued).expect("token");
        let station = key();
        let proof = token.proof("Desk", &station);
        let late = issued + TOKEN_LIFETIME + time::Duration::minutes(1);
        let result = data.register_station(&proof, "Desk", &station, late);
        assert!(matches!(result, Err(DataError::InvalidToken)), "{result:?}");
        let in_time = issued + TOKEN_LIFETIME - time::Duration::minutes(1);
        data.register_station(&proof, "Desk", &station, in_time)
            .expect("still good just before it expires");
    }

    #[test]
    fn the_server_key_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = ServerData::open(dir.path())
            .expect("open")
            .encryption_key()
            .public_key();
        let second = ServerData::open(dir.path())
            .expect("reopen")
            .encryption_key()
            .public_key();
        assert_eq!(first, second);
    }
}
