//! The PostgreSQL schema of the scale-out backend and the migrations that reach it.
//!
//! Each entry of [`MIGRATIONS`] moves the schema one version up. Every replica runs
//! [`migrate`] at start; an advisory lock taken in the migration's transaction makes the
//! replicas take turns, so the first one migrates and the others find the work done. A
//! database migrated by a newer build is refused ([`DataError::TooNew`]).
//!
//! The tables mirror the embedded backend's, with what replicas need beside: uploads count
//! their received bytes in the row (a chunk is counted by a compare-and-set on it) and list
//! their chunks' objects; packets name their object; `server_identity` remembers the public
//! halves of the keys the database was set up with.

use deadpool_postgres::Client;

use super::{database, DataError};

/// Version `n` is reached by running `MIGRATIONS[n - 1]`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE server_identity (
    only_row    BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    fingerprint TEXT NOT NULL
);
CREATE TABLE stations (
    station_id         UUID PRIMARY KEY,
    name               TEXT NOT NULL,
    signing_public_key TEXT NOT NULL UNIQUE,
    registered_at      TIMESTAMPTZ NOT NULL,
    revoked            BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE provisioning_tokens (
    token_sha256 TEXT PRIMARY KEY,
    issued_at    TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ,
    station_id   UUID REFERENCES stations (station_id)
);
CREATE INDEX provisioning_tokens_unused ON provisioning_tokens (issued_at) WHERE used_at IS NULL;
CREATE TABLE packets (
    seq         BIGSERIAL UNIQUE,
    packet_id   UUID PRIMARY KEY,
    station_id  UUID NOT NULL REFERENCES stations (station_id),
    sha256      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
    reason      TEXT,
    judged_at   TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    object_key  TEXT
);
CREATE INDEX packets_rejected ON packets (received_at)
    WHERE verdict = 'rejected' AND object_key IS NOT NULL;
CREATE TABLE uploads (
    packet_id  UUID PRIMARY KEY,
    station_id UUID NOT NULL REFERENCES stations (station_id),
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    received   BIGINT NOT NULL DEFAULT 0,
    started_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX uploads_station ON uploads (station_id);
CREATE INDEX uploads_age ON uploads (started_at);
CREATE TABLE upload_chunks (
    packet_id  UUID NOT NULL REFERENCES uploads (packet_id) ON DELETE CASCADE,
    start_at   BIGINT NOT NULL,
    length     BIGINT NOT NULL,
    object_key TEXT NOT NULL,
    PRIMARY KEY (packet_id, start_at)
);
CREATE TABLE request_nonces (
    station_id UUID NOT NULL,
    nonce      TEXT NOT NULL,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (station_id, nonce)
);
CREATE INDEX request_nonces_age ON request_nonces (seen_at);
CREATE TABLE audit_entries (
    station_id UUID NOT NULL REFERENCES stations (station_id),
    seq        BIGINT NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
);
CREATE TABLE audit_heads (
    station_id  UUID PRIMARY KEY REFERENCES stations (station_id),
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    seen_at     TEXT NOT NULL,
    conflict    TEXT,
    conflict_at TEXT
);
"#,
    // The work queue after intake (see crate::stages): a packet's stage, and one job per packet
    // still going through one. Replicas claim jobs with FOR UPDATE SKIP LOCKED.
    r#"
ALTER TABLE packets ADD COLUMN stage TEXT NOT NULL DEFAULT 'done';
ALTER TABLE packets ADD COLUMN held_reason TEXT;
CREATE TABLE jobs (
    packet_id     UUID PRIMARY KEY REFERENCES packets (packet_id),
    stage         TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_by    TEXT,
    claimed_until TIMESTAMPTZ,
    queued_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_by_age ON jobs (queued_at);
"#,
    // Rate-limit buckets shared by the replicas (crate::ratelimit): tokens as last counted,
    // when (seconds since the Unix epoch), and whether the last take found one.
    r#"
CREATE TABLE rate_buckets (
    bucket  TEXT PRIMARY KEY,
    tokens  DOUBLE PRECISION NOT NULL,
    at      DOUBLE PRECISION NOT NULL,
    allowed BOOLEAN NOT NULL
);
CREATE INDEX rate_buckets_by_age ON rate_buckets (at);
"#,
];

/// Brings the database (its current schema) to the newest version this build knows.
///
/// # Errors
/// [`DataError::TooNew`] when the database is at a newer version; a database error when a
/// migration fails (the transaction is rolled back, the version stays where it was).
pub(super) async fn migrate(client: &mut Client) -> Result<(), DataError> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let tx = client.transaction().await.map_err(database)?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ' enrollment-server schema'));
         CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         );",
    )
    .await
    .map_err(database)?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(database)?
        .try_get(0)
        .map_err(database)?;
    if found > known {
        return Err(DataError::TooNew { found, known });
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.batch_execute(sql).await.map_err(database)?;
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(database)?;
    }
    tx.commit().await.map_err(database)
}
