//! The station's SQLite database (WAL mode), one module per table with its migration beside it.
//!
//! [`Store`] is a cheap-to-clone handle; every query runs under one connection lock, which is
//! ample for one station's write rate and keeps transactions simple.

pub mod audit;
pub mod drafts;
pub mod enrollments;
pub mod officers;
pub mod outbox;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use crate::vault::DataKey;

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error (disk full, locked, corrupt, …).
    #[error("station database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value does not have the shape this build expects.
    #[error("station database holds an unexpected value: {0}")]
    Corrupt(String),
    /// A row's seal does not hold: it was changed outside the station.
    #[error("{0}")]
    Tampered(String),
    /// The database was written by a newer build.
    #[error("the station database has schema version {found}; this build knows up to {known}")]
    TooNew {
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
}

/// Each migration moves the schema one version up; they run in order, in one transaction each.
const MIGRATIONS: &[&[&str]] = &[
    &[
        officers::MIGRATION_1,
        enrollments::MIGRATION_1,
        outbox::MIGRATION_1,
    ],
    &[audit::MIGRATION_2],
    &[officers::MIGRATION_3],
    &[outbox::MIGRATION_4],
    &[enrollments::MIGRATION_5, drafts::MIGRATION_5],
    &[outbox::MIGRATION_6],
    &[outbox::MIGRATION_7],
    &[outbox::MIGRATION_8],
    &[enrollments::MIGRATION_9],
    &[outbox::MIGRATION_10],
    &[audit::MIGRATION_11],
    &[officers::MIGRATION_12],
    &[officers::MIGRATION_13],
];

/// A handle to the station database.
#[derive(Debug, Clone)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
    /// The key whose MACs seal the account rows, once the station is unlocked.
    seal_key: Option<Arc<DataKey>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// # Errors
    /// When the file cannot be opened or migrated.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // Created readable by its owner only: it holds password hashes and the outbox.
        #[cfg(unix)]
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| {
                    StoreError::Corrupt(format!("cannot create {}: {e}", path.display()))
                })?;
        }
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        Self::prepare(connection)
    }

    /// An in-memory database, for tests.
    ///
    /// # Errors
    /// When SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::prepare(Connection::open_in_memory()?)
    }

    fn prepare(mut connection: Connection) -> Result<Self, StoreError> {
        connection.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted rows (a submitted draft) are overwritten with zeros, not left in free pages.
        connection.pragma_update(None, "secure_delete", "ON")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut connection)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            seal_key: None,
        })
    }

    /// This store with account rows sealed by, and checked against, `key` (the station's
    /// data key): every row written carries a MAC, every row read must carry the right one.
    pub fn sealed_by(self, key: Arc<DataKey>) -> Self {
        Self {
            seal_key: Some(key),
            ..self
        }
    }

    fn seal_key(&self) -> Option<&DataKey> {
        self.seal_key.as_deref()
    }

    /// Runs `f` with the connection held.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard: MutexGuard<'_, Connection> = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// Runs SQLite's own consistency check; `Ok(())` when it reports `ok`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] with SQLite's findings.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        self.with(|c| {
            let result: String = c.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
            if result == "ok" {
                Ok(())
            } else {
                Err(StoreError::Corrupt(result))
            }
        })
    }
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let found: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (index, steps) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = connection.transaction()?;
        for step in *steps {
            tx.execute_batch(step)?;
        }
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(index + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_reaches_the_latest_schema_and_reopens_cleanly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("station.db");
        Store::open(&path).expect("create");
        let store = Store::open(&path).expect("reopen must not re-run migrations");
        store
            .integrity_check()
            .expect("a fresh database is consistent");
        let version: i64 = store
            .with(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len() as i64);
    }

    #[test]
    fn sealed_packets_queued_before_the_bytes_table_keep_their_bytes_and_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("station.db");
        let mut connection = Connection::open(&path).expect("open");
        for (index, steps) in MIGRATIONS[..7].iter().enumerate() {
            for step in *steps {
                connection.execute_batch(step).expect("old migration");
            }
            connection
                .pragma_update(None, "user_version", index as i64 + 1)
                .expect("version");
        }
        let tx = connection.transaction().expect("tx");
        tx.execute(
            "INSERT INTO enrollments (id, officer, created_at, applicant_name, document_number)
             VALUES ('e1', 'budi', 't', '', '')",
            [],
        )
        .expect("enrollment");
        tx.execute(
            "INSERT INTO outbox (packet_id, enrollment_id, packet, sha256, size, state, created_at,
                                 updated_at)
             VALUES ('e1', 'e1', x'0102030405', '00', 5, 'pending', 't', 't')",
            [],
        )
        .expect("outbox row");
        tx.commit().expect("commit");
        drop(connection);

        let store = Store::open(&path).expect("migrates");
        assert_eq!(store.outbox_packet("e1").expect("bytes"), [1, 2, 3, 4, 5]);
        let pending = store.pending_packets(10).expect("pending");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].packet, [1, 2, 3, 4, 5]);
        store.integrity_check().expect("consistent");
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("station.db");
        let connection = Connection::open(&path).expect("open");
        connection
            .pragma_update(None, "user_version", 99)
            .expect("set");
        drop(connection);
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }
}
