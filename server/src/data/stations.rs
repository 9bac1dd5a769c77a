//! The `stations` and `provisioning_tokens` tables: the stations the server knows, and the
//! one-time codes they registered with.

use protocol::api::ProvisioningToken;
use protocol::keys::{StationPublicKey, StationSigningKey};
use protocol::random::{RandomSource, SystemRandom};
use protocol::registration::proof_matches;
use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{rfc3339, DataError};

/// Only the hash of a provisioning code is kept; `station_id` names the station it registered.
/// `IF NOT EXISTS`: see [`super::schema`].
pub(super) const MIGRATION_1: &str = "
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
);";

/// How long an issued provisioning code stays usable.
pub const TOKEN_LIFETIME: time::Duration = time::Duration::days(7);

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

/// Issues a one-time provisioning token bound to the server's receipt key; only its hash is
/// stored.
pub(super) fn issue_token(
    db: &Connection,
    receipt_key: &StationSigningKey,
    now: OffsetDateTime,
) -> Result<ProvisioningToken, DataError> {
    let mut bytes = Zeroizing::new([0u8; 24]);
    SystemRandom
        .fill(bytes.as_mut())
        .map_err(|_| DataError::Random)?;
    let secret: Zeroizing<String> =
        Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect());
    let token = ProvisioningToken::issue(&secret, &receipt_key.public_key());
    db.execute(
        "INSERT INTO provisioning_tokens (token_sha256, issued_at) VALUES (?1, ?2)",
        params![token.stored_hash(), rfc3339(now)],
    )?;
    Ok(token)
}

/// Registers a station against the proof of an unused, unexpired token: the check, the new
/// row and the token's use are one transaction.
pub(super) fn register(
    db: &mut Connection,
    token_proof: &str,
    name: &str,
    signing_key: &StationPublicKey,
    now: OffsetDateTime,
) -> Result<Uuid, DataError> {
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

/// Records a station under a known id and key, without a token (test vectors only).
pub(super) fn insert_for_tests(
    db: &Connection,
    station_id: Uuid,
    signing_key: &StationPublicKey,
    now: OffsetDateTime,
) -> Result<(), DataError> {
    db.execute(
        "INSERT INTO stations (station_id, name, signing_public_key, registered_at) VALUES (?1, ?2, ?3, ?4)",
        params![station_id.to_string(), "test vectors", signing_key.to_base64(), rfc3339(now)],
    )?;
    Ok(())
}

/// Marks a station revoked; false when there is no such station.
pub(super) fn revoke(db: &Connection, station_id: Uuid) -> Result<bool, DataError> {
    let changed = db.execute(
        "UPDATE stations SET revoked = 1 WHERE station_id = ?1",
        [station_id.to_string()],
    )?;
    Ok(changed > 0)
}

/// A registered station, revoked or not.
pub(super) fn find(db: &Connection, station_id: Uuid) -> Result<Option<StationRecord>, DataError> {
    let row: Option<(String, String, bool)> = db
        .query_row(
            "SELECT name, signing_public_key, revoked FROM stations WHERE station_id = ?1",
            [station_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(name, key, revoked)| {
        let bytes = protocol::keys::decode_key_bytes(&key)
            .map_err(|_| DataError::Corrupt(format!("station {station_id} has a malformed key")))?;
        Ok(StationRecord {
            station_id,
            name,
            signing_key: StationPublicKey(bytes),
            revoked,
        })
    })
    .transpose()
}
