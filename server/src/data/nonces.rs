//! The `request_nonces` table: the nonces of recent signed requests, so a replayed request is
//! refused.

use rusqlite::{params, Connection};
use uuid::Uuid;

use super::DataError;

/// Keyed by station and nonce; `seen_at` (Unix seconds) is indexed for the sweep of old ones.
/// `IF NOT EXISTS`: see [`super::schema`].
pub(super) const MIGRATION_1: &str = "
CREATE TABLE IF NOT EXISTS request_nonces (
    station_id TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    seen_at    INTEGER NOT NULL,
    PRIMARY KEY (station_id, nonce)
);
CREATE INDEX IF NOT EXISTS request_nonces_age ON request_nonces (seen_at);";

/// Remembers a nonce; false when the station used it before within the window. Once a
/// minute (by the clock, not by a timer) nonces older than twice the clock-skew window go.
pub(super) fn remember(
    db: &Connection,
    station_id: Uuid,
    nonce: &str,
    now_unix: i64,
) -> Result<bool, DataError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schema::migrated_in_memory;

    #[test]
    fn a_nonce_is_good_once_per_station_until_it_is_swept() {
        let db = migrated_in_memory();
        let (desk, other) = (Uuid::new_v4(), Uuid::new_v4());
        let start = 1_800_000_001;
        assert!(remember(&db, desk, "n1", start).expect("first"));
        assert!(
            !remember(&db, desk, "n1", start + 1).expect("replay"),
            "a replayed nonce must be refused"
        );
        assert!(
            remember(&db, other, "n1", start + 1).expect("other station"),
            "nonces are per station: another station's equal nonce is no replay"
        );
        let window = 2 * protocol::request::MAX_CLOCK_SKEW_SECS;
        let swept = (start + window + 60) / 60 * 60;
        assert!(
            remember(&db, desk, "n1", swept).expect("after the sweep"),
            "a nonce older than the window is forgotten at the next whole minute"
        );
    }
}
