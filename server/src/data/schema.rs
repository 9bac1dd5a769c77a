//! The server database's schema version (`PRAGMA user_version`) and the migrations that reach
//! it.
//!
//! Each entry of [`MIGRATIONS`] moves the schema one version up; they run in order, in one
//! transaction each, the new version written in the same transaction. A database from a build
//! that knows more versions than this one is refused ([`DataError::TooNew`]) rather than
//! written by code that does not know its tables.

use rusqlite::Connection;

use super::{audit, jobs, nonces, packets, stations, uploads, DataError};

/// Version `n` is reached by running `MIGRATIONS[n - 1]`.
///
/// Migration 1 is the schema the server made before it had versions: every start ran its
/// `CREATE TABLE IF NOT EXISTS` statements and left `user_version` at 0. Such a database holds
/// the tables already and is at version 0, so migration 1 runs on it; its statements keep
/// `IF NOT EXISTS` so that run finds the tables and only records version 1. Later migrations
/// run on known versions and need no such guard.
const MIGRATIONS: &[&[&str]] = &[
    &[
        stations::MIGRATION_1,
        packets::MIGRATION_1,
        uploads::MIGRATION_1,
        nonces::MIGRATION_1,
        audit::MIGRATION_1,
    ],
    &[jobs::MIGRATION_2],
];

/// Brings `connection` to the newest schema this build knows.
///
/// # Errors
/// [`DataError::TooNew`] when the database is at a newer version; a database error when a
/// migration fails (its transaction is rolled back, the version stays where it was).
pub(super) fn migrate(connection: &mut Connection) -> Result<(), DataError> {
    migrate_to(connection, MIGRATIONS.len())
}

/// Brings `connection` to version `target` (at most the newest this build knows).
fn migrate_to(connection: &mut Connection, target: usize) -> Result<(), DataError> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let found: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > known {
        return Err(DataError::TooNew { found, known });
    }
    for (index, steps) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target)
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

/// An in-memory database at the newest schema, with foreign keys on as the server has them.
#[cfg(test)]
pub(super) fn migrated_in_memory() -> Connection {
    let mut connection = Connection::open_in_memory().expect("in-memory database");
    connection
        .pragma_update(None, "foreign_keys", "ON")
        .expect("foreign keys");
    migrate(&mut connection).expect("migrations");
    connection
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ServerData, Storage};
    use protocol::keys::StationSigningKey;
    use protocol::random::SystemRandom;
    use uuid::Uuid;

    /// What every server start ran before the schema had versions, verbatim.
    const UNVERSIONED_SCHEMA: &str = "
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

    /// Every table and index with the SQL that made it (SQLite keeps the statement's text,
    /// without `IF NOT EXISTS`), by name.
    fn schema_of(connection: &Connection) -> Vec<(String, String, Option<String>)> {
        let mut statement = connection
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name")
            .expect("prepare");
        let rows = statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    fn user_version(connection: &Connection) -> i64 {
        connection
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("user_version")
    }

    #[test]
    fn migration_1_makes_exactly_the_schema_of_the_unversioned_server() {
        let unversioned = Connection::open_in_memory().expect("open");
        unversioned
            .execute_batch(UNVERSIONED_SCHEMA)
            .expect("old schema");
        let mut migrated = Connection::open_in_memory().expect("open");
        migrate_to(&mut migrated, 1).expect("migration 1");
        assert_eq!(
            schema_of(&migrated),
            schema_of(&unversioned),
            "version 1 must be the schema existing data directories already have, or their \
             databases and new ones would differ"
        );
        assert_eq!(user_version(&migrated), 1);
    }

    #[tokio::test]
    async fn a_database_from_before_versions_opens_at_the_newest_version_with_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let station = Uuid::new_v4();
        let key = StationSigningKey::generate(&SystemRandom)
            .expect("key")
            .public_key();
        let old = Connection::open(dir.path().join("server.db")).expect("old database");
        old.execute_batch(UNVERSIONED_SCHEMA).expect("old schema");
        old.execute(
            "INSERT INTO stations (station_id, name, signing_public_key, registered_at)
             VALUES (?1, 'Desk 1', ?2, '2026-11-23T00:00:00Z')",
            [station.to_string(), key.to_base64()],
        )
        .expect("old station row");
        let packet = Uuid::new_v4();
        old.execute(
            "INSERT INTO packets (packet_id, station_id, sha256, size, verdict, received_at)
             VALUES (?1, ?2, 'ab', 2, 'accepted', '2026-11-23T00:00:00Z')",
            [packet.to_string(), station.to_string()],
        )
        .expect("old packet row");
        assert_eq!(user_version(&old), 0, "the old code never set a version");
        drop(old);

        let data = ServerData::open(dir.path())
            .expect("a data directory from before versions must still open");
        let newest = i64::try_from(MIGRATIONS.len()).expect("a few");
        assert_eq!(user_version(&data.db()), newest);
        let kept = data.station(station).await.expect("lookup");
        assert_eq!(
            kept.map(|s| (s.name, s.signing_key, s.revoked)),
            Some(("Desk 1".to_owned(), key, false)),
            "migrating must keep the stations registered before it"
        );
        assert_eq!(
            data.packet_stage(packet)
                .await
                .expect("stage")
                .map(|s| s.stage),
            Some("done".to_owned()),
            "a packet judged before the stages existed is done"
        );
        drop(data);
        let again = ServerData::open(dir.path()).expect("reopen");
        assert_eq!(
            user_version(&again.db()),
            newest,
            "reopening runs nothing again"
        );
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let newer = Connection::open(dir.path().join("server.db")).expect("database");
        newer
            .pragma_update(None, "user_version", 99)
            .expect("set version");
        drop(newer);
        let opened = ServerData::open(dir.path());
        assert!(
            matches!(
                opened,
                Err(DataError::TooNew {
                    found: 99,
                    known: 2
                })
            ),
            "a schema this build does not know must not be written to: {opened:?}"
        );
    }
}
