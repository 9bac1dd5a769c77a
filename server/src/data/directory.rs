//! [`ServerData`]: the data directory opened (its folders, keys, database and forms), and
//! [`Storage`] over it, each method handing its work to the module of the table it touches.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use protocol::api::ProvisioningToken;
use protocol::audit::{AuditClaim, AuditHead, AuditRecord};
use protocol::form::{FormLibrary, FormSet};
use protocol::keys::{ServerDecryptionKey, StationPublicKey, StationSigningKey};
use rusqlite::Connection;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{
    audit, io, keys, nonces, packets, schema, stations, uploads, DataError, HeldHead, PacketRecord,
    StationRecord, Storage, UploadRecord,
};

/// The open data directory.
pub struct ServerData {
    root: PathBuf,
    db: Mutex<Connection>,
    key: ServerDecryptionKey,
    receipt_key: StationSigningKey,
    /// Held while a chunk is appended: one writer at a time checks the held length and adds to
    /// it.
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
    /// Opens `root`, creating the directory, the key and the database on first use, and brings
    /// the database's schema up to date.
    ///
    /// # Errors
    /// See [`DataError`]; [`DataError::TooNew`] when a newer build wrote the database.
    pub fn open(root: &Path) -> Result<Self, DataError> {
        fs::create_dir_all(root.join("packets"))
            .map_err(io(format!("cannot create {}", root.display())))?;
        let key = keys::load_or_create_key(&root.join("keys").join("encryption.key"))?;
        let receipt_key = keys::load_or_create_receipt_key(&root.join("keys").join("receipt.key"))?;
        let metrics_token = keys::load_or_create_token(&root.join("keys").join("metrics.token"))?;
        fs::create_dir_all(root.join("uploads"))
            .map_err(io(format!("cannot create {}", root.display())))?;
        let mut db = Connection::open(root.join("server.db"))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut db)?;
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
        stations::insert_for_tests(&self.db(), station_id, signing_key, now)
    }

    /// The database, locked for the caller's statements.
    pub(super) fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The data directory, under which the packet and upload files lie.
    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    /// The lock one appending writer holds.
    pub(super) fn appending(&self) -> MutexGuard<'_, ()> {
        self.appending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
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
        nonces::remember(&self.db(), station_id, nonce, now_unix)
    }

    fn upload(&self, packet_id: Uuid) -> Result<Option<UploadRecord>, DataError> {
        uploads::find(self, packet_id)
    }

    fn start_upload(
        &self,
        station_id: Uuid,
        announce: &protocol::api::Announce,
        now: OffsetDateTime,
    ) -> Result<UploadRecord, DataError> {
        uploads::start(self, station_id, announce, now)
    }

    fn append_chunk(
        &self,
        station_id: Uuid,
        packet_id: Uuid,
        offset: u64,
        chunk: &[u8],
    ) -> Result<u64, DataError> {
        uploads::append(self, station_id, packet_id, offset, chunk)
    }

    fn upload_bytes(&self, packet_id: Uuid) -> Result<Vec<u8>, DataError> {
        uploads::bytes(&self.root, packet_id)
    }

    fn expire_uploads(&self, started_before: OffsetDateTime) -> Result<usize, DataError> {
        uploads::expire(self, started_before)
    }

    fn purge_rejected(&self, judged_before: OffsetDateTime) -> Result<usize, DataError> {
        packets::purge_rejected(self, judged_before)
    }

    fn discard_upload(&self, packet_id: Uuid) -> Result<(), DataError> {
        uploads::discard(self, packet_id)
    }

    fn encryption_key(&self) -> &ServerDecryptionKey {
        &self.key
    }

    fn issue_token(&self, now: OffsetDateTime) -> Result<ProvisioningToken, DataError> {
        stations::issue_token(&self.db(), &self.receipt_key, now)
    }

    fn register_station(
        &self,
        token_proof: &str,
        name: &str,
        signing_key: &StationPublicKey,
        now: OffsetDateTime,
    ) -> Result<Uuid, DataError> {
        stations::register(&mut self.db(), token_proof, name, signing_key, now)
    }

    fn revoke_station(&self, station_id: Uuid) -> Result<bool, DataError> {
        stations::revoke(&self.db(), station_id)
    }

    fn station(&self, station_id: Uuid) -> Result<Option<StationRecord>, DataError> {
        stations::find(&self.db(), station_id)
    }

    fn packet(&self, packet_id: Uuid) -> Result<Option<PacketRecord>, DataError> {
        packets::find(&self.db(), packet_id)
    }

    fn packets(&self) -> Result<Vec<PacketRecord>, DataError> {
        packets::all(&self.db())
    }

    fn packet_bytes(&self, record: &PacketRecord) -> Result<Vec<u8>, DataError> {
        packets::bytes(&self.root, record)
    }

    fn store_packet(
        &self,
        record: &PacketRecord,
        bytes: &[u8],
    ) -> Result<Option<PacketRecord>, DataError> {
        packets::store(self, record, bytes)
    }

    fn store_audit_entries(
        &self,
        station_id: Uuid,
        entries: &[AuditRecord],
    ) -> Result<(), DataError> {
        audit::store_entries(&mut self.db(), station_id, entries)
    }

    fn audit_entries(&self, station_id: Uuid) -> Result<Vec<AuditRecord>, DataError> {
        audit::entries(&self.db(), station_id)
    }

    fn audit_head(&self, station_id: Uuid) -> Result<Option<HeldHead>, DataError> {
        audit::head(&self.db(), station_id)
    }

    fn observe_audit_head(
        &self,
        station_id: Uuid,
        claim: &AuditClaim,
        now: OffsetDateTime,
    ) -> Result<(Option<AuditHead>, Option<String>), DataError> {
        audit::observe_head(&mut self.db(), station_id, claim, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
