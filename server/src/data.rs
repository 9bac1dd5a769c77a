//! The server's data directory.
//!
//! ```text
//! <data dir>/keys/encryption.key          X25519 secret that opens packets (mode 0600)
//! <data dir>/server.db                    SQLite: stations, provisioning tokens, packets
//! <data dir>/packets/<station>/<id>.espk  every packet that passed its signature check
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use protocol::api::ProvisioningToken;
use protocol::audit::AuditRecord;
use protocol::keys::{ServerDecryptionKey, StationPublicKey};
use protocol::packet::sha256_hex;
use protocol::random::{RandomSource, SystemRandom};
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
    /// The token is unknown or was already used.
    #[error("the provisioning token is unknown or was already used")]
    InvalidToken,
    /// The station key is registered already.
    #[error("this station key is already registered")]
    KeyAlreadyRegistered,
    /// No randomness was available.
    #[error("the operating system could not provide random bytes")]
    Random,
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DataError {
    let context = context.into();
    move |source| DataError::Io { context, source }
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
}

/// The open data directory.
pub struct ServerData {
    root: PathBuf,
    db: Mutex<Connection>,
    key: ServerDecryptionKey,
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
        let db = Connection::open(root.join("server.db"))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(SCHEMA)?;
        Ok(Self {
            root: root.to_owned(),
            db: Mutex::new(db),
            key,
        })
    }

    /// The key that opens packets.
    pub fn encryption_key(&self) -> &ServerDecryptionKey {
        &self.key
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Issues a one-time provisioning token; only its hash is stored.
    ///
    /// # Errors
    /// When no randomness is available or the database fails.
    pub fn issue_token(&self, now: OffsetDateTime) -> Result<ProvisioningToken, DataError> {
        let mut bytes = Zeroizing::new([0u8; 24]);
        SystemRandom
            .fill(bytes.as_mut())
            .map_err(|_| DataError::Random)?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.db().execute(
            "INSERT INTO provisioning_tokens (token_sha256, issued_at) VALUES (?1, ?2)",
            params![sha256_hex(token.as_bytes()), rfc3339(now)],
        )?;
        Ok(ProvisioningToken::new(token))
    }

    /// Registers a station in exchange for an unused token.
    ///
    /// # Errors
    /// [`DataError::InvalidToken`], [`DataError::KeyAlreadyRegistered`], or a database error.
    pub fn register_station(
        &self,
        token: &ProvisioningToken,
        name: &str,
        signing_key: &StationPublicKey,
        now: OffsetDateTime,
    ) -> Result<Uuid, DataError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let token_hash = sha256_hex(token.expose().as_bytes());
        let unused: Option<String> = tx
            .query_row(
                "SELECT token_sha256 FROM provisioning_tokens WHERE token_sha256 = ?1 AND used_at IS NULL",
                [&token_hash],
                |r| r.get(0),
            )
            .optional()?;
        if unused.is_none() {
            return Err(DataError::InvalidToken);
        }
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

    /// Revokes a station: its packets are refused from now on.
    ///
    /// # Errors
    /// When the database fails.
    pub fn revoke_station(&self, station_id: Uuid) -> Result<bool, DataError> {
        let changed = self.db().execute(
            "UPDATE stations SET revoked = 1 WHERE station_id = ?1",
            [station_id.to_string()],
        )?;
        Ok(changed > 0)
    }

    /// A registered station.
    ///
    /// # Errors
    /// When the database fails or holds a malformed key.
    pub fn station(&self, station_id: Uuid) -> Result<Option<StationRecord>, DataError> {
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

    /// The record of a packet, if it was judged before.
    ///
    /// # Errors
    /// When the database fails.
    pub fn packet(&self, packet_id: Uuid) -> Result<Option<PacketRecord>, DataError> {
        let row = self
            .db()
            .query_row(
                "SELECT station_id, sha256, verdict, reason FROM packets WHERE packet_id = ?1",
                [packet_id.to_string()],
                |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        row.map(|(station, sha256, verdict, reason)| {
            let station_id =
                Uuid::parse_str(&station).map_err(|e| DataError::Corrupt(e.to_string()))?;
            Ok(PacketRecord {
                packet_id,
                station_id,
                sha256,
                verdict,
                reason,
            })
        })
        .transpose()
    }

    /// Every packet judged, oldest first.
    ///
    /// # Errors
    /// When the database fails.
    pub fn packets(&self) -> Result<Vec<PacketRecord>, DataError> {
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

    /// The stored bytes of a packet.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn packet_bytes(&self, record: &PacketRecord) -> Result<Vec<u8>, DataError> {
        let path = self.packet_path(record.station_id, record.packet_id);
        fs::read(&path).map_err(io(format!("cannot read {}", path.display())))
    }

    /// Stores a judged packet: the file first (durably), then its row. When the packet id is
    /// already known, nothing is written and the existing record is returned instead.
    ///
    /// # Errors
    /// When the file or the row cannot be written.
    pub fn store_packet(
        &self,
        record: &PacketRecord,
        bytes: &[u8],
        now: OffsetDateTime,
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
                rfc3339(now)
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

    /// Keeps the audit entries a station's accepted packet carried (entries already held are
    /// kept as first received), so the server holds its own copy of every station's log.
    ///
    /// # Errors
    /// When the database fails.
    pub fn store_audit_entries(
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

    /// A station's audit entries as the server holds them, in order.
    ///
    /// # Errors
    /// When the database fails.
    pub fn audit_entries(&self, station_id: Uuid) -> Result<Vec<AuditRecord>, DataError> {
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

    fn packet_path(&self, station_id: Uuid, packet_id: Uuid) -> PathBuf {
        self.root
            .join("packets")
            .join(station_id.to_string())
            .join(format!("{packet_id}.espk"))
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

fn rfc3339(at: OffsetDateTime) -> String {
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
    fn a_token_registers_exactly_one_station() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = ServerData::open(dir.path()).expect("open");
        let now = OffsetDateTime::now_utc();
        let token = data.issue_token(now).expect("token");
        let id = data
            .register_station(&token, "Desk 1", &key(), now)
            .expect("register");
        assert_eq!(
            data.station(id).expect("lookup").map(|s| s.name),
            Some("Desk 1".into())
        );
        let again = data.register_station(&token, "Desk 2", &key(), now);
        assert!(
            matches!(again, Err(DataError::InvalidToken)),
            "a token is good for one station only"
        );
        let forged =
            data.register_station(&ProvisioningToken::new("guess".into()), "X", &key(), now);
        assert!(matches!(forged, Err(DataError::InvalidToken)));
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
