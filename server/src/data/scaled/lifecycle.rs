//! What becomes of the scale-out backend's objects: reading and deleting them, the packet's
//! object a one-chunk upload already holds, and the sweep's deletion of objects that no row
//! names (chunks never counted, a packet object whose finalize was killed before its row),
//! under the lock a store holds from its PUT to its row.

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use time::OffsetDateTime;
use uuid::Uuid;

use super::storage::{col, packet_from, PACKET_COLUMNS};
use super::{database, objects, Scaled};
use crate::data::{DataError, PacketRecord};

/// Takes the lock of a packet's object for the rest of `tx`: a store holds it from before its
/// object's write to its row's commit, the sweep before it deletes an object no row names.
/// (Two-key advisory locks, which PostgreSQL keeps apart from the one-key ones of stations: a
/// class of our own and 32 bits of the id; two packets sharing them only wait for each other.)
pub(super) async fn lock_packet_object(
    tx: &deadpool_postgres::Transaction<'_>,
    packet_id: Uuid,
) -> Result<(), DataError> {
    let bytes = packet_id.as_bytes();
    let class: i32 = 0x6f62_6a01; // "obj" and 1
    let id = i32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&class, &id])
        .await
        .map_err(database)?;
    Ok(())
}

/// The object of a packet's bytes: named by its content, so an upload names the object its
/// finalize would store.
pub(super) fn packet_key(station_id: Uuid, packet_id: Uuid, sha256: &str) -> String {
    format!("packets/{station_id}/{packet_id}-{sha256}.espk")
}

impl Scaled {
    /// Reads a whole object; `None` when it does not exist.
    pub(super) async fn read_object(&self, key: &str) -> Result<Option<Vec<u8>>, DataError> {
        match self.objects.get(&ObjectPath::from(key)).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(objects)?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(objects(error)),
        }
    }

    /// Deletes objects; one that is already gone is no error.
    pub(super) async fn delete_objects(&self, keys: &[String]) -> Result<(), DataError> {
        for key in keys {
            match self.objects.delete(&ObjectPath::from(key.as_str())).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(objects(error)),
            }
        }
        Ok(())
    }

    /// Deletes objects after their rows went; one left behind is garbage the sweep finds,
    /// never a reference to missing bytes, so a failure is only logged.
    pub(super) async fn delete_objects_after(&self, keys: &[String]) {
        if let Err(error) = self.delete_objects(keys).await {
            tracing::warn!(%error, count = keys.len(), "objects left behind; the sweep will remove them");
        }
    }

    pub(super) async fn find_packet(
        &self,
        packet_id: Uuid,
    ) -> Result<Option<PacketRecord>, DataError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {PACKET_COLUMNS} FROM packets WHERE packet_id = $1"),
                &[&packet_id],
            )
            .await
            .map_err(database)?;
        row.as_ref().map(packet_from).transpose()
    }

    /// Discards the upload of `packet_id` if it is still the one announced before `before`,
    /// with the object its finalize would have stored unless a packet row names it: a
    /// finalize killed between the two left it behind. The packet's object lock is held
    /// throughout, as a store holds it from its PUT to its row's commit.
    pub(super) async fn expire_upload(
        &self,
        packet_id: Uuid,
        station_id: Uuid,
        sha256: &str,
        before: OffsetDateTime,
    ) -> Result<(), DataError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(database)?;
        lock_packet_object(&tx, packet_id).await?;
        let chunks: Vec<String> = tx
            .query(
                "DELETE FROM upload_chunks WHERE packet_id = $1 AND EXISTS
                     (SELECT 1 FROM uploads WHERE packet_id = $1 AND started_at < $2)
                 RETURNING object_key",
                &[&packet_id, &before],
            )
            .await
            .map_err(database)?
            .iter()
            .map(|row| col(row, 0))
            .collect::<Result<_, _>>()?;
        // Announced again meanwhile (a new upload of the same id): not this sweep's.
        let expired = tx
            .execute(
                "DELETE FROM uploads WHERE packet_id = $1 AND started_at < $2",
                &[&packet_id, &before],
            )
            .await
            .map_err(database)?;
        if expired == 1 {
            let key = packet_key(station_id, packet_id, sha256);
            let named = tx
                .query_opt(
                    "SELECT 1 FROM packets WHERE packet_id = $1 AND object_key = $2",
                    &[&packet_id, &key],
                )
                .await
                .map_err(database)?;
            if named.is_none() {
                self.delete_objects(&[key]).await?;
            }
        }
        tx.commit().await.map_err(database)?;
        self.delete_objects_after(&chunks).await;
        Ok(())
    }

    /// The object of the one chunk that holds all of `record`'s bytes (`size` of them), when
    /// its station uploaded them in one chunk announced with the same hash.
    pub(super) async fn only_chunk(
        &self,
        record: &PacketRecord,
        size: usize,
    ) -> Result<Option<String>, DataError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT c.object_key FROM upload_chunks c JOIN uploads u USING (packet_id)
                 WHERE c.packet_id = $1 AND u.station_id = $2 AND u.sha256 = $3
                   AND u.size = $4 AND c.start_at = 0 AND c.length = $4",
                &[
                    &record.packet_id,
                    &record.station_id,
                    &record.sha256,
                    &i64::try_from(size).unwrap_or(i64::MAX),
                ],
            )
            .await
            .map_err(database)?;
        row.map(|row| col(&row, 0)).transpose()
    }

    /// Chunk objects under `uploads/` older than `before` whose upload is gone: what a replica
    /// killed between writing a chunk and counting it left behind.
    pub(super) async fn sweep_orphan_chunks(
        &self,
        before: OffsetDateTime,
    ) -> Result<(), DataError> {
        use futures_util::TryStreamExt;
        let prefix = ObjectPath::from("uploads");
        let old: Vec<String> = self
            .objects
            .list(Some(&prefix))
            .try_filter(|meta| {
                let modified = meta.last_modified.timestamp();
                std::future::ready(modified < before.unix_timestamp())
            })
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .map_err(objects)?;
        if old.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        let mut orphans = Vec::new();
        for key in old {
            let counted = client
                .query_opt("SELECT 1 FROM upload_chunks WHERE object_key = $1", &[&key])
                .await
                .map_err(database)?;
            if counted.is_none() {
                orphans.push(key);
            }
        }
        self.delete_objects(&orphans).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing::scaled_config;
    use crate::data::{Identity, Storage};
    use object_store::PutPayload;
    use protocol::api::Announce;
    use protocol::random::SystemRandom;

    /// The scale-out backend's own housekeeping, on the servers `scripts/test.sh` starts; in
    /// the embedded pass (no servers) there is nothing to check.
    async fn scaled(dir: &std::path::Path) -> Option<Scaled> {
        let config = scaled_config(dir)
            .await
            .expect("the test storage settings")?;
        let identity = Identity::load_or_create(dir).expect("keys");
        Some(
            Scaled::connect(&config, identity)
                .await
                .expect("the scaled storage"),
        )
    }

    #[tokio::test]
    async fn an_object_a_killed_finalize_left_behind_goes_when_its_upload_expires() {
        let dir = tempfile::tempdir().expect("tempdir");
        let Some(data) = scaled(dir.path()).await else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        let station = Uuid::new_v4();
        let key = protocol::keys::StationSigningKey::generate(&SystemRandom)
            .expect("key")
            .public_key();
        data.insert_station_for_tests(station, &key, now)
            .await
            .expect("station");
        let bytes = b"a packet whose finalize was killed".to_vec();
        let announce = Announce {
            packet_id: Uuid::new_v4(),
            sha256: protocol::packet::sha256_hex(&bytes),
            size: bytes.len() as u64,
        };
        data.start_upload(station, &announce, now - time::Duration::days(2))
            .await
            .expect("announce");
        data.append_chunk(station, announce.packet_id, 0, &bytes)
            .await
            .expect("chunk");
        // Killed between the packet's PUT and its row.
        let orphan = packet_key(station, announce.packet_id, &announce.sha256);
        data.objects
            .put(&ObjectPath::from(orphan.as_str()), PutPayload::from(bytes))
            .await
            .expect("put");
        assert_eq!(
            data.expire_uploads(now - time::Duration::days(1))
                .await
                .expect("expire"),
            1
        );
        assert_eq!(data.read_object(&orphan).await.expect("read"), None);
    }
}
