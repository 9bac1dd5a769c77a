//! What the server keeps, behind the [`Storage`] trait, and its two backends.
//!
//! [`Identity`] (`identity.rs`, with the key files of `keys.rs`) is what makes a server this
//! server whatever keeps its data: its keys and its form versions, under a directory.
//!
//! **The embedded backend**, [`ServerData`], is SQLite and files under one data directory; it
//! is the default and needs no configuration:
//!
//! ```text
//! <data dir>/keys/, forms/                [`Identity`]
//! <data dir>/uploads/<id>.part            bytes of an upload in progress
//! <data dir>/server.db                    SQLite: stations, provisioning tokens, packets,
//!                                         uploads, request nonces, audit entries and heads
//! <data dir>/packets/<station>/<id>.espk  every packet that passed its signature check
//! ```
//!
//! `directory.rs` opens it and implements [`Storage`] for it, each method handing its work to
//! the module of the table it touches, on the blocking pool: `stations.rs` (stations and
//! provisioning tokens), `packets.rs` (judged packets and their files), `uploads.rs` (uploads
//! in progress and their partial files), `nonces.rs` (request nonces) and `audit.rs` (each
//! station's audit entries and head), the SQL beside the code that runs it and each table's
//! migration beside both. `schema.rs` runs the migrations in order and keeps the schema
//! version in `PRAGMA user_version`.
//!
//! **The scale-out backend**, [`Scaled`] (`scaled/`), is PostgreSQL for every row and an
//! S3-compatible object store for packet and chunk bytes, shared by any number of server
//! replicas; see its module.

mod audit;
mod directory;
mod identity;
mod jobs;
mod keys;
mod nonces;
mod packets;
mod scaled;
mod schema;
mod stations;
#[doc(hidden)]
pub mod testing;
mod uploads;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use protocol::api::ProvisioningToken;
use protocol::audit::{AuditClaim, AuditHead, AuditRecord};
use protocol::form::FormLibrary;
use protocol::keys::{ServerDecryptionKey, StationPublicKey, StationSigningKey};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ratelimit::Bucket;

pub use audit::HeldHead;
pub use directory::ServerData;
pub use identity::Identity;
pub use packets::{PacketRecord, REJECTED_RETENTION};
pub use scaled::{Scaled, ScaledConfig};
pub use stations::{StationRecord, TOKEN_LIFETIME};
pub use uploads::{
    UploadRecord, MAX_BYTES_IN_FLIGHT, MAX_STATION_BYTES_IN_FLIGHT, MAX_UPLOADS_PER_STATION,
    UPLOAD_LIFETIME,
};

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
    /// The database server refused a statement (not for want of a connection).
    #[error("server database error: {0}")]
    Database(String),
    /// The shared database was set up with other keys than this server holds.
    #[error("this server's keys ({ours}) are not the ones the database was set up with ({recorded}): copy keys/ from a replica that runs, or after a deliberate change of keys run `enrollment-server adopt-keys` once")]
    KeysDiffer {
        /// The public halves of this server's keys.
        ours: String,
        /// Those the database recorded.
        recorded: String,
    },
    /// The storage configuration cannot be used.
    #[error("{0}")]
    Config(String),
    /// A stored value is not what this build expects.
    #[error("the server data is inconsistent: {0}")]
    Corrupt(String),
    /// The database was written by a newer build of the server.
    #[error("the server database has schema version {found}; this build knows up to {known}: run the newer server, or restore a backup made by this one")]
    TooNew {
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
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
    /// The database or object store cannot be reached or refused the step for now; nothing
    /// was recorded that is not durably stored, and the same request may be tried again.
    #[error("the server's storage is unavailable right now ({0}); try again shortly")]
    Unavailable(String),
    /// A rejected packet's bytes were deleted after their retention period.
    #[error("packet {0}'s bytes were deleted after their retention period")]
    Purged(Uuid),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DataError {
    let context = context.into();
    move |source| DataError::Io { context, source }
}

/// What the server keeps: stations and provisioning tokens, judged packets and their bytes,
/// uploads in progress, request nonces, and each station's audit entries. Intake, uploads and
/// the HTTP layer see only this trait. Two backends implement it: [`ServerData`] (SQLite and
/// files under a data directory, the embedded default) and [`Scaled`] (PostgreSQL and an
/// S3-compatible object store, shared by any number of replicas).
///
/// Every method is async: the embedded backend runs its SQLite and file work on the blocking
/// pool, the scaled one awaits its database and object store.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// The server's keys and forms ([`Identity`]).
    fn identity(&self) -> &Arc<Identity>;

    /// The key that signs receipts.
    fn receipt_key(&self) -> &StationSigningKey {
        &self.identity().receipt_key
    }

    /// The key that opens packets.
    fn encryption_key(&self) -> &ServerDecryptionKey {
        &self.identity().encryption_key
    }

    /// Every version of the enrollment forms packets are checked against.
    fn forms(&self) -> &FormLibrary {
        &self.identity().forms
    }

    /// The bearer token `/metrics` asks for.
    fn metrics_token(&self) -> &str {
        self.identity().metrics_token()
    }

    /// Whether the keys this server holds are still the ones its storage records: false once
    /// `adopt-keys` recorded others in the database replicas share, and a running replica
    /// must stop rather than go on sealing receipts with the old ones. Always true for storage
    /// no other process shares.
    ///
    /// # Errors
    /// When the database fails.
    async fn keys_still_recorded(&self) -> Result<bool, DataError> {
        Ok(true)
    }

    /// Takes a token from `bucket` at `now` (see [`crate::ratelimit`]): `None` when the request
    /// may go on, else how long until it may. Every replica takes from the same bucket.
    ///
    /// # Errors
    /// When the database fails.
    async fn take_token(
        &self,
        bucket: Bucket,
        now: OffsetDateTime,
    ) -> Result<Option<Duration>, DataError>;

    /// How long until `bucket` has a token at `now`, taking none; `None` when it has one.
    ///
    /// # Errors
    /// When the database fails.
    async fn token_wait(
        &self,
        bucket: Bucket,
        now: OffsetDateTime,
    ) -> Result<Option<Duration>, DataError>;

    /// Forgets the buckets untouched since `before` (full again); how many went.
    ///
    /// # Errors
    /// When the database fails.
    async fn forget_idle_buckets(&self, before: OffsetDateTime) -> Result<usize, DataError>;

    /// Remembers a request nonce; false when the station used it before within the window.
    /// Nonces older than twice the clock-skew window are forgotten (a request that old is
    /// refused for its timestamp anyway).
    ///
    /// # Errors
    /// When the database fails.
    async fn remember_nonce(
        &self,
        station_id: Uuid,
        nonce: &str,
        now_unix: i64,
    ) -> Result<bool, DataError>;

    /// An upload in progress, with how many bytes are held.
    ///
    /// # Errors
    /// When the database fails or the stored row is malformed.
    async fn upload(&self, packet_id: Uuid) -> Result<Option<UploadRecord>, DataError>;

    /// Starts an upload, or returns the one in progress when it was announced the same way. A
    /// new upload must fit [`MAX_UPLOADS_PER_STATION`], [`MAX_STATION_BYTES_IN_FLIGHT`] and
    /// [`MAX_BYTES_IN_FLIGHT`].
    ///
    /// # Errors
    /// [`DataError::AnnounceConflict`] when it was announced with another hash, size or station;
    /// [`DataError::TooManyUploads`], [`DataError::ServerFull`] over a limit.
    async fn start_upload(
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
    async fn append_chunk(
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
    async fn upload_bytes(&self, packet_id: Uuid) -> Result<Vec<u8>, DataError>;

    /// Discards every upload announced before `started_before` with its bytes. Returns how
    /// many.
    ///
    /// # Errors
    /// When the database fails or a file cannot be removed.
    async fn expire_uploads(&self, started_before: OffsetDateTime) -> Result<usize, DataError>;

    /// Deletes the bytes of packets rejected before `judged_before` (their rows stay). Returns
    /// how many.
    ///
    /// # Errors
    /// When the database fails or a file cannot be removed.
    async fn purge_rejected(&self, judged_before: OffsetDateTime) -> Result<usize, DataError>;

    /// Forgets an upload and its bytes (after its verdict, or when its bytes are corrupt).
    ///
    /// # Errors
    /// When the database fails or the file cannot be removed.
    async fn discard_upload(&self, packet_id: Uuid) -> Result<(), DataError>;

    /// Issues a one-time provisioning token; only its hash is stored.
    ///
    /// # Errors
    /// When no randomness is available or the database fails.
    async fn issue_token(&self, now: OffsetDateTime) -> Result<ProvisioningToken, DataError>;

    /// Registers a station in exchange for the proof of an unused token issued less than
    /// [`TOKEN_LIFETIME`] ago (see [`protocol::registration`]).
    ///
    /// # Errors
    /// [`DataError::InvalidToken`], [`DataError::KeyAlreadyRegistered`], or a database error.
    async fn register_station(
        &self,
        token_proof: &str,
        name: &str,
        signing_key: &StationPublicKey,
        now: OffsetDateTime,
    ) -> Result<Uuid, DataError>;

    /// Records a station under a known id and key, without a token. Only for tests that replay
    /// recorded packets (the packet format's test vectors); stations register with tokens.
    ///
    /// # Errors
    /// When the database fails or the id or key is taken.
    #[doc(hidden)]
    async fn insert_station_for_tests(
        &self,
        station_id: Uuid,
        signing_key: &StationPublicKey,
        now: OffsetDateTime,
    ) -> Result<(), DataError>;

    /// Revokes a station: its packets are refused from now on.
    ///
    /// # Errors
    /// When the database fails.
    async fn revoke_station(&self, station_id: Uuid) -> Result<bool, DataError>;

    /// A registered station.
    ///
    /// # Errors
    /// When the database fails or holds a malformed key.
    async fn station(&self, station_id: Uuid) -> Result<Option<StationRecord>, DataError>;

    /// The record of a packet, if it was judged before.
    ///
    /// # Errors
    /// When the database fails.
    async fn packet(&self, packet_id: Uuid) -> Result<Option<PacketRecord>, DataError>;

    /// Every packet judged, oldest first.
    ///
    /// # Errors
    /// When the database fails.
    async fn packets(&self) -> Result<Vec<PacketRecord>, DataError>;

    /// The stored bytes of a packet.
    ///
    /// # Errors
    /// When the file cannot be read.
    async fn packet_bytes(&self, record: &PacketRecord) -> Result<Vec<u8>, DataError>;

    /// Stores a judged packet: its bytes first (durably), then its row with the audit entries
    /// an accepted packet carried, in one transaction (entries already held are kept as first
    /// received, so the server holds its own copy of every station's log). When the packet id
    /// is already known, nothing is written and the existing record is returned instead.
    ///
    /// # Errors
    /// When the bytes or the rows cannot be written.
    async fn store_packet(
        &self,
        record: &PacketRecord,
        bytes: &[u8],
        audit: &[AuditRecord],
    ) -> Result<Option<PacketRecord>, DataError>;

    /// A station's audit entries as the server holds them, in order.
    ///
    /// # Errors
    /// When the database fails.
    async fn audit_entries(&self, station_id: Uuid) -> Result<Vec<AuditRecord>, DataError>;

    /// The audit head held for a station.
    ///
    /// # Errors
    /// When the database fails.
    async fn audit_head(&self, station_id: Uuid) -> Result<Option<HeldHead>, DataError>;

    /// Takes a station's claim about its audit log
    /// ([`judge_head`](protocol::audit::judge_head)): a head that extends the one held (or the
    /// first) is remembered; a conflict is recorded and the held head kept. Returns the head
    /// held afterwards and the conflict found now.
    ///
    /// # Errors
    /// When the database fails.
    async fn observe_audit_head(
        &self,
        station_id: Uuid,
        claim: &AuditClaim,
        now: OffsetDateTime,
    ) -> Result<(Option<AuditHead>, Option<String>), DataError>;

    /// Claims, for `worker` until `now + lease`, the oldest waiting job of one of `stages` (the
    /// stages this build knows) that nobody holds or whose holder's lease ran out (a replica
    /// killed while working it). Among replicas each job goes to one worker at a time.
    ///
    /// # Errors
    /// When the database fails.
    async fn claim_job(
        &self,
        stages: &[&str],
        worker: &str,
        now: OffsetDateTime,
        lease: std::time::Duration,
    ) -> Result<Option<Job>, DataError>;

    /// Records what `worker` made of `job`: the packet moves to the next stage, is done, or is
    /// held with a reason. Returns `false`, changing nothing, when the job is no longer
    /// `worker`'s (its lease ran out and another took it).
    ///
    /// # Errors
    /// When the database fails.
    async fn finish_job(
        &self,
        job: &Job,
        worker: &str,
        outcome: &StageOutcome,
        now: OffsetDateTime,
    ) -> Result<bool, DataError>;

    /// The stage a judged packet is in (see [`crate::stages`]).
    ///
    /// # Errors
    /// When the database fails.
    async fn packet_stage(&self, packet_id: Uuid) -> Result<Option<PacketStage>, DataError>;

    /// How many jobs each stage has waiting or in work, by stage name.
    ///
    /// # Errors
    /// When the database fails.
    async fn jobs_waiting(&self) -> Result<Vec<(String, u64)>, DataError>;

    /// What the storage holds on disk now, for a deployer sizing it.
    ///
    /// # Errors
    /// When the database or the object store cannot be asked.
    async fn usage(&self) -> Result<Usage, DataError>;
}

/// A claimed job: a packet to take through a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The packet.
    pub packet_id: Uuid,
    /// The stage to take it through.
    pub stage: String,
    /// How many times the job was claimed, this time included.
    pub attempts: u32,
}

/// What a stage made of a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageOutcome {
    /// On to this stage.
    Next(String),
    /// Through every stage.
    Done,
    /// Stopped, for a person to look at: why.
    Held(String),
}

impl StageOutcome {
    /// The packet's stage after this outcome, and why it is held when it is.
    pub fn packet_stage(&self) -> (&str, Option<&str>) {
        match self {
            Self::Next(stage) => (stage, None),
            Self::Done => (crate::stages::DONE, None),
            Self::Held(reason) => (crate::stages::HELD, Some(reason)),
        }
    }
}

/// Where a judged packet is after intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketStage {
    /// A stage's name while it waits for or is in one, `done`, or `held`.
    pub stage: String,
    /// Why, when held.
    pub held_reason: Option<String>,
}

/// What a backend holds on disk (see [`Storage::usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// The database: tables and their indexes (PostgreSQL), or the database file and its
    /// write-ahead log (SQLite).
    pub database_bytes: u64,
    /// Packet and chunk bytes: objects in the bucket, or files under the data directory.
    pub object_bytes: u64,
    /// How many objects (or files) hold them.
    pub objects: u64,
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
