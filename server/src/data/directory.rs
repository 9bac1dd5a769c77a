//! [`ServerData`]: the embedded backend — the data directory opened (its folders, identity and
//! database) and [`Storage`] over it, each method handing its work to the module of the table
//! it touches, on the blocking pool (SQLite calls and file writes block).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use std::time::Duration;

use protocol::api::ProvisioningToken;
use protocol::audit::{AuditClaim, AuditHead, AuditRecord};
use protocol::keys::StationPublicKey;
use rusqlite::Connection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ratelimit::{self, Bucket, LocalBuckets};

use super::{
    audit, io, jobs, nonces, packets, schema, stations, uploads, DataError, HeldHead, Identity,
    Job, PacketRecord, PacketStage, StageOutcome, StationRecord, Storage, UploadRecord, Usage,
};

/// The open data directory; cheap to clone (clones share it).
#[derive(Clone)]
pub struct ServerData {
    directory: Arc<Directory>,
    identity: Arc<Identity>,
    /// Rate-limit buckets: one process serves, so they live in it.
    buckets: Arc<LocalBuckets>,
}

/// How many slices of packet ids stores lock apart.
const STORING_LOCKS: usize = 64;

/// The database and files under the data directory, used from one blocking task at a time
/// per statement.
pub(super) struct Directory {
    root: PathBuf,
    db: Mutex<Connection>,
    /// Held while a chunk is appended: one writer at a time checks the held length and adds to
    /// it.
    appending: Mutex<()>,
    /// Held while a packet is stored, one lock per slice of packet ids: two stores of one
    /// packet id cannot leave one's file under the other's row, and stores of other packets
    /// (most of them) write their files at the same time.
    storing: Vec<Mutex<()>>,
}

impl std::fmt::Debug for ServerData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerData")
            .field("root", &self.directory.root)
            .field("identity", &self.identity)
            .finish()
    }
}

impl ServerData {
    /// Opens `root`, creating the directory, the keys and the database on first use, and brings
    /// the database's schema up to date.
    ///
    /// # Errors
    /// See [`DataError`]; [`DataError::TooNew`] when a newer build wrote the database.
    pub fn open(root: &Path) -> Result<Self, DataError> {
        fs::create_dir_all(root.join("packets"))
            .map_err(io(format!("cannot create {}", root.display())))?;
        let identity = Identity::load_or_create(root)?;
        fs::create_dir_all(root.join("uploads"))
            .map_err(io(format!("cannot create {}", root.display())))?;
        let mut db = Connection::open(root.join("server.db"))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut db)?;
        Ok(Self {
            directory: Arc::new(Directory {
                root: root.to_owned(),
                db: Mutex::new(db),
                appending: Mutex::new(()),
                storing: (0..STORING_LOCKS).map(|_| Mutex::new(())).collect(),
            }),
            identity: Arc::new(identity),
            buckets: Arc::default(),
        })
    }

    /// Runs `work` on the directory on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Directory) -> Result<T, DataError> + Send + 'static,
    ) -> Result<T, DataError> {
        let directory = self.directory.clone();
        tokio::task::spawn_blocking(move || work(&directory))
            .await
            .map_err(|error| DataError::Io {
                context: "a storage task stopped".into(),
                source: std::io::Error::other(error.to_string()),
            })?
    }

    /// The database, locked for the caller's statements (tests of the schema).
    #[cfg(test)]
    pub(super) fn db(&self) -> MutexGuard<'_, Connection> {
        self.directory.db()
    }
}

impl Directory {
    /// The database, locked for the caller's statements.
    pub(super) fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The data directory, under which the packet and upload files lie.
    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    /// The lock a store of `packet_id` holds.
    pub(super) fn storing(&self, packet_id: Uuid) -> MutexGuard<'_, ()> {
        let slice = usize::from(packet_id.as_bytes()[15]) % self.storing.len();
        self.storing[slice]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The lock one appending writer holds.
    pub(super) fn appending(&self) -> MutexGuard<'_, ()> {
        self.appending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl Storage for ServerData {
    fn identity(&self) -> &Arc<Identity> {
        &self.identity
    }

    async fn take_token(
        &self,
        bucket: Bucket,
        now: OffsetDateTime,
    ) -> Result<Option<Duration>, DataError> {
        Ok(self.buckets.take(bucket, ratelimit::seconds(now)))
    }

    async fn token_wait(
        &self,
        bucket: Bucket,
        now: OffsetDateTime,
    ) -> Result<Option<Duration>, DataError> {
        Ok(self.buckets.wait(bucket, ratelimit::seconds(now)))
    }

    async fn forget_idle_buckets(&self, before: OffsetDateTime) -> Result<usize, DataError> {
        Ok(self.buckets.forget_idle(ratelimit::seconds(before)))
    }

    async fn remember_nonce(
        &self,
        station_id: Uuid,
        nonce: &str,
        now_unix: i64,
    ) -> Result<bool, DataError> {
        let nonce = nonce.to_owned();
        self.run(move |d| nonces::remember(&d.db(), station_id, &nonce, now_unix))
            .await
    }

    async fn upload(&self, packet_id: Uuid) -> Result<Option<UploadRecord>, DataError> {
        self.run(move |d| uploads::find(d, packet_id)).await
    }

    async fn start_upload(
        &self,
        station_id: Uuid,
        announce: &protocol::api::Announce,
        now: OffsetDateTime,
    ) -> Result<UploadRecord, DataError> {
        let announce = announce.clone();
        self.run(move |d| uploads::start(d, station_id, &announce, now))
            .await
    }

    async fn append_chunk(
        &self,
        station_id: Uuid,
        packet_id: Uuid,
        offset: u64,
        chunk: &[u8],
    ) -> Result<u64, DataError> {
        let chunk = chunk.to_vec();
        self.run(move |d| uploads::append(d, station_id, packet_id, offset, &chunk))
            .await
    }

    async fn upload_bytes(&self, packet_id: Uuid) -> Result<Vec<u8>, DataError> {
        self.run(move |d| uploads::bytes(d, packet_id)).await
    }

    async fn expire_uploads(&self, started_before: OffsetDateTime) -> Result<usize, DataError> {
        self.run(move |d| uploads::expire(d, started_before)).await
    }

    async fn purge_rejected(&self, judged_before: OffsetDateTime) -> Result<usize, DataError> {
        self.run(move |d| packets::purge_rejected(d, judged_before))
            .await
    }

    async fn discard_upload(&self, packet_id: Uuid) -> Result<(), DataError> {
        self.run(move |d| uploads::discard(d, packet_id)).await
    }

    async fn issue_token(&self, now: OffsetDateTime) -> Result<ProvisioningToken, DataError> {
        let identity = self.identity.clone();
        self.run(move |d| stations::issue_token(&d.db(), &identity.receipt_key, now))
            .await
    }

    async fn register_station(
        &self,
        token_proof: &str,
        name: &str,
        signing_key: &StationPublicKey,
        now: OffsetDateTime,
    ) -> Result<Uuid, DataError> {
        let (proof, name, key) = (token_proof.to_owned(), name.to_owned(), *signing_key);
        self.run(move |d| stations::register(&mut d.db(), &proof, &name, &key, now))
            .await
    }

    async fn insert_station_for_tests(
        &self,
        station_id: Uuid,
        signing_key: &StationPublicKey,
        now: OffsetDateTime,
    ) -> Result<(), DataError> {
        let key = *signing_key;
        self.run(move |d| stations::insert_for_tests(&d.db(), station_id, &key, now))
            .await
    }

    async fn revoke_station(&self, station_id: Uuid) -> Result<bool, DataError> {
        self.run(move |d| stations::revoke(&d.db(), station_id))
            .await
    }

    async fn station(&self, station_id: Uuid) -> Result<Option<StationRecord>, DataError> {
        self.run(move |d| stations::find(&d.db(), station_id)).await
    }

    async fn packet(&self, packet_id: Uuid) -> Result<Option<PacketRecord>, DataError> {
        self.run(move |d| packets::find(&d.db(), packet_id)).await
    }

    async fn packets(&self) -> Result<Vec<PacketRecord>, DataError> {
        self.run(move |d| packets::all(&d.db())).await
    }

    async fn packet_bytes(&self, record: &PacketRecord) -> Result<Vec<u8>, DataError> {
        let record = record.clone();
        self.run(move |d| packets::bytes(d.root(), &record)).await
    }

    async fn store_packet(
        &self,
        record: &PacketRecord,
        bytes: &[u8],
        audit: &[AuditRecord],
    ) -> Result<Option<PacketRecord>, DataError> {
        let (record, bytes, audit) = (record.clone(), bytes.to_vec(), audit.to_vec());
        self.run(move |d| packets::store(d, &record, &bytes, &audit))
            .await
    }

    async fn audit_entries(&self, station_id: Uuid) -> Result<Vec<AuditRecord>, DataError> {
        self.run(move |d| audit::entries(&d.db(), station_id)).await
    }

    async fn audit_head(&self, station_id: Uuid) -> Result<Option<HeldHead>, DataError> {
        self.run(move |d| audit::head(&d.db(), station_id)).await
    }

    async fn observe_audit_head(
        &self,
        station_id: Uuid,
        claim: &AuditClaim,
        now: OffsetDateTime,
    ) -> Result<(Option<AuditHead>, Option<String>), DataError> {
        let claim = claim.clone();
        self.run(move |d| audit::observe_head(&mut d.db(), station_id, &claim, now))
            .await
    }

    async fn claim_job(
        &self,
        stages: &[&str],
        worker: &str,
        now: OffsetDateTime,
        lease: std::time::Duration,
    ) -> Result<Option<Job>, DataError> {
        let stages: Vec<String> = stages.iter().map(|s| (*s).to_owned()).collect();
        let worker = worker.to_owned();
        self.run(move |d| {
            let stages: Vec<&str> = stages.iter().map(String::as_str).collect();
            jobs::claim(&mut d.db(), &stages, &worker, now, now + lease)
        })
        .await
    }

    async fn finish_job(
        &self,
        job: &Job,
        worker: &str,
        outcome: &StageOutcome,
        now: OffsetDateTime,
    ) -> Result<bool, DataError> {
        let (job, worker, outcome) = (job.clone(), worker.to_owned(), outcome.clone());
        self.run(move |d| jobs::finish(&mut d.db(), &job, &worker, &outcome, now))
            .await
    }

    async fn packet_stage(&self, packet_id: Uuid) -> Result<Option<PacketStage>, DataError> {
        self.run(move |d| jobs::stage(&d.db(), packet_id)).await
    }

    async fn jobs_waiting(&self) -> Result<Vec<(String, u64)>, DataError> {
        self.run(|d| jobs::waiting(&d.db())).await
    }

    async fn usage(&self) -> Result<Usage, DataError> {
        self.run(|d| {
            let mut usage = Usage::default();
            for name in ["server.db", "server.db-wal"] {
                if let Ok(meta) = fs::metadata(d.root().join(name)) {
                    usage.database_bytes += meta.len();
                }
            }
            for folder in ["packets", "uploads"] {
                add_files(&d.root().join(folder), &mut usage)?;
            }
            Ok(usage)
        })
        .await
    }
}

/// Adds the files under `folder` (and its folders) to `usage`.
fn add_files(folder: &Path, usage: &mut Usage) -> Result<(), DataError> {
    let entries = fs::read_dir(folder).map_err(io(format!("cannot read {}", folder.display())))?;
    for entry in entries {
        let entry = entry.map_err(io(format!("cannot read {}", folder.display())))?;
        let meta = entry
            .metadata()
            .map_err(io(format!("cannot read {}", entry.path().display())))?;
        if meta.is_dir() {
            add_files(&entry.path(), usage)?;
        } else {
            usage.object_bytes += meta.len();
            usage.objects += 1;
        }
    }
    Ok(())
}
