//! [`Storage`] over PostgreSQL and the object store; see the module above for what is
//! coordinated how.

use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use protocol::api::{Announce, ProvisioningToken};
use protocol::audit::{judge_head, AuditClaim, AuditHead, AuditRecord, HeadJudgement};
use protocol::keys::StationPublicKey;
use protocol::random::{RandomSource, SystemRandom};
use protocol::registration::proof_matches;
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::lifecycle::{lock_packet_object, packet_key};
use super::{database, objects, Scaled};
use crate::data::{
    DataError, HeldHead, Identity, Job, PacketRecord, PacketStage, StageOutcome, StationRecord,
    Storage, UploadRecord, Usage, TOKEN_LIFETIME,
};
use crate::ratelimit::{self, Bucket, Level};

/// The advisory lock announces take, so concurrent ones cannot together pass a limit.
const UPLOAD_LIMITS_LOCK: i64 = 0x656e_726f_6c6c_0001;

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The advisory lock of one station's audit head.
fn station_lock(station_id: Uuid) -> i64 {
    let bytes = station_id.as_bytes();
    i64::from_be_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

/// Column `index` of `row`: a value of another type than the schema's is a corrupt database,
/// not a panic.
pub(super) fn col<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
) -> Result<T, DataError> {
    row.try_get(index)
        .map_err(|error| DataError::Corrupt(format!("an unexpected column: {error}")))
}

/// A row of [`PACKET_COLUMNS`].
pub(super) fn packet_from(row: &Row) -> Result<PacketRecord, DataError> {
    Ok(PacketRecord {
        packet_id: col(row, 0)?,
        station_id: col(row, 1)?,
        sha256: col(row, 2)?,
        verdict: col(row, 3)?,
        reason: col(row, 4)?,
        judged_at: col(row, 5)?,
        stage: col(row, 6)?,
    })
}

pub(super) const PACKET_COLUMNS: &str =
    "packet_id, station_id, sha256, verdict, reason, judged_at, stage";

#[async_trait::async_trait]
impl Storage for Scaled {
    fn identity(&self) -> &Arc<Identity> {
        &self.identity
    }

    async fn keys_still_recorded(&self) -> Result<bool, DataError> {
        Ok(self.recorded_fingerprint().await? == self.identity.fingerprint())
    }

    async fn take_token(
        &self,
        bucket: Bucket,
        now: OffsetDateTime,
    ) -> Result<Option<Duration>, DataError> {
        // Level::take in one statement, so that concurrent takes on any replica queue on the
        // row: refill since `at` up to the burst, take one when there is one.
        let limit = bucket.limit();
        let row = self
            .client()
            .await?
            .query_one(
                "INSERT INTO rate_buckets AS b (bucket, tokens, at, allowed)
                 VALUES ($1::text, $2::float8 - 1, $4::float8, TRUE)
                 ON CONFLICT (bucket) DO UPDATE SET
                     tokens = LEAST($2, b.tokens + GREATEST($4::float8 - b.at, 0) * $3::float8)
                         - CASE WHEN LEAST($2, b.tokens + GREATEST($4::float8 - b.at, 0) * $3::float8) >= 1
                                THEN 1 ELSE 0 END,
                     at = GREATEST(b.at, $4),
                     allowed = LEAST($2, b.tokens + GREATEST($4::float8 - b.at, 0) * $3::float8) >= 1
                 RETURNING allowed, tokens",
                &[
                    &bucket.key(),
                    &limit.burst,
                    &limit.per_second,
                    &ratelimit::seconds(now),
                ],
            )
            .await
            .map_err(database)?;
        let allowed: bool = row.try_get(0).map_err(database)?;
        let tokens: f64 = row.try_get(1).map_err(database)?;
        Ok((!allowed).then(|| ratelimit::until_one(tokens, limit)))
    }

    async fn token_wait(
        &self,
        bucket: Bucket,
        now: OffsetDateTime,
    ) -> Result<Option<Duration>, DataError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT tokens, at FROM rate_buckets WHERE bucket = $1",
                &[&bucket.key()],
            )
            .await
            .map_err(database)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let level = Level {
            tokens: row.try_get(0).map_err(database)?,
            at: row.try_get(1).map_err(database)?,
        };
        Ok(level.wait(bucket.limit(), ratelimit::seconds(now)))
    }

    async fn forget_idle_buckets(&self, before: OffsetDateTime) -> Result<usize, DataError> {
        let deleted = self
            .client()
            .await?
            .execute(
                "DELETE FROM rate_buckets WHERE at < $1",
                &[&ratelimit::seconds(before)],
            )
            .await
            .map_err(database)?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    async fn remember_nonce(
        &self,
        station_id: Uuid,
        nonce: &str,
        now_unix: i64,
    ) -> Result<bool, DataError> {
        let window = 2 * protocol::request::MAX_CLOCK_SKEW_SECS;
        let client = self.client().await?;
        if now_unix % 60 == 0 {
            client
                .execute(
                    "DELETE FROM request_nonces WHERE seen_at < $1",
                    &[&(now_unix - window)],
                )
                .await
                .map_err(database)?;
        }
        let inserted = client
            .execute(
                "INSERT INTO request_nonces (station_id, nonce, seen_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&station_id, &nonce, &now_unix],
            )
            .await
            .map_err(database)?;
        Ok(inserted == 1)
    }

    async fn upload(&self, packet_id: Uuid) -> Result<Option<UploadRecord>, DataError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT station_id, sha256, size, received, started_at FROM uploads
                 WHERE packet_id = $1",
                &[&packet_id],
            )
            .await
            .map_err(database)?;
        row.map(|row| {
            Ok(UploadRecord {
                station_id: col(&row, 0)?,
                sha256: col(&row, 1)?,
                size: to_u64(col(&row, 2)?),
                received: to_u64(col(&row, 3)?),
                started_at: col(&row, 4)?,
            })
        })
        .transpose()
    }

    async fn start_upload(
        &self,
        station_id: Uuid,
        announce: &Announce,
        now: OffsetDateTime,
    ) -> Result<UploadRecord, DataError> {
        {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(database)?;
            let known = tx
                .query_opt(
                    "SELECT 1 FROM uploads WHERE packet_id = $1",
                    &[&announce.packet_id],
                )
                .await
                .map_err(database)?
                .is_some();
            // Asked again under the lock: the same packet announced at once on another
            // replica must not count twice against the limits.
            let raced = !known && {
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&UPLOAD_LIMITS_LOCK])
                    .await
                    .map_err(database)?;
                tx.query_opt(
                    "SELECT 1 FROM uploads WHERE packet_id = $1",
                    &[&announce.packet_id],
                )
                .await
                .map_err(database)?
                .is_some()
            };
            if !known && !raced {
                let row = tx
                    .query_one(
                        "SELECT COUNT(*) FILTER (WHERE station_id = $1),
                                COALESCE(SUM(size) FILTER (WHERE station_id = $1), 0)::BIGINT,
                                COALESCE(SUM(size), 0)::BIGINT
                         FROM uploads",
                        &[&station_id],
                    )
                    .await
                    .map_err(database)?;
                let (uploads, bytes, total) = (
                    to_u64(col(&row, 0)?),
                    to_u64(col(&row, 1)?),
                    to_u64(col(&row, 2)?),
                );
                crate::data::uploads::within_limits(uploads, bytes, total, announce.size)?;
                tx.execute(
                    "INSERT INTO uploads (packet_id, station_id, sha256, size, started_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (packet_id) DO NOTHING",
                    &[
                        &announce.packet_id,
                        &station_id,
                        &announce.sha256,
                        &to_i64(announce.size),
                        &now,
                    ],
                )
                .await
                .map_err(database)?;
            }
            tx.commit().await.map_err(database)?;
        }
        let upload = self
            .upload(announce.packet_id)
            .await?
            .ok_or_else(|| DataError::Corrupt("upload row vanished".into()))?;
        if upload.station_id != station_id
            || upload.sha256 != announce.sha256
            || upload.size != announce.size
        {
            return Err(DataError::AnnounceConflict(announce.packet_id));
        }
        Ok(upload)
    }

    async fn append_chunk(
        &self,
        station_id: Uuid,
        packet_id: Uuid,
        offset: u64,
        chunk: &[u8],
    ) -> Result<u64, DataError> {
        let held = self.upload(packet_id).await?;
        let end =
            crate::data::uploads::chunk_end(held, station_id, packet_id, offset, chunk.len())?;
        let key = format!("uploads/{packet_id}/{offset:020}-{}.chunk", Uuid::new_v4());
        self.objects
            .put(
                &ObjectPath::from(key.as_str()),
                PutPayload::from(chunk.to_vec()),
            )
            .await
            .map_err(objects)?;
        // The chunk is stored; it counts only if no other request counted one at this offset
        // meanwhile.
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(database)?;
        let counted = tx
            .execute(
                "UPDATE uploads SET received = $4
                 WHERE packet_id = $1 AND station_id = $2 AND received = $3",
                &[&packet_id, &station_id, &to_i64(offset), &to_i64(end)],
            )
            .await
            .map_err(database)?;
        if counted == 1 {
            tx.execute(
                "INSERT INTO upload_chunks (packet_id, start_at, length, object_key)
                 VALUES ($1, $2, $3, $4)",
                &[&packet_id, &to_i64(offset), &to_i64(end - offset), &key],
            )
            .await
            .map_err(database)?;
            tx.commit().await.map_err(database)?;
            return Ok(end);
        }
        drop(tx);
        drop(client);
        self.delete_objects_after(&[key]).await;
        // Another request counted a chunk here first: the offset held now says what to send.
        match self.upload(packet_id).await? {
            Some(upload) if upload.station_id == station_id => Err(DataError::OffsetMismatch {
                offset,
                held: upload.received,
            }),
            _ => Err(DataError::NotAnnounced(packet_id)),
        }
    }

    async fn upload_bytes(&self, packet_id: Uuid) -> Result<Vec<u8>, DataError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT start_at, length, object_key FROM upload_chunks
                 WHERE packet_id = $1 ORDER BY start_at",
                &[&packet_id],
            )
            .await
            .map_err(database)?;
        drop(client);
        // No chunk: announced with none sent yet, or no upload at all.
        if rows.is_empty() && self.upload(packet_id).await?.is_none() {
            return Err(DataError::NotAnnounced(packet_id));
        }
        let mut bytes = Vec::new();
        for row in rows {
            let (start, length, key): (i64, i64, String) =
                (col(&row, 0)?, col(&row, 1)?, col(&row, 2)?);
            if to_u64(start) != bytes.len() as u64 {
                return Err(DataError::Corrupt(format!(
                    "upload {packet_id} has a gap before byte {start}"
                )));
            }
            let Some(chunk) = self.read_object(&key).await? else {
                // Finished or discarded by another request meanwhile, or lost.
                return Err(match self.upload(packet_id).await? {
                    None => DataError::NotAnnounced(packet_id),
                    Some(_) => {
                        DataError::Corrupt(format!("a chunk of upload {packet_id} is missing"))
                    }
                });
            };
            if chunk.len() as u64 != to_u64(length) {
                return Err(DataError::Corrupt(format!(
                    "a chunk of upload {packet_id} holds {} bytes, not {length}",
                    chunk.len()
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    async fn expire_uploads(&self, started_before: OffsetDateTime) -> Result<usize, DataError> {
        let stale: Vec<(Uuid, Uuid, String)> = {
            let client = self.client().await?;
            client
                .query(
                    "SELECT packet_id, station_id, sha256 FROM uploads WHERE started_at < $1",
                    &[&started_before],
                )
                .await
                .map_err(database)?
                .iter()
                .map(|row| Ok((col(row, 0)?, col(row, 1)?, col(row, 2)?)))
                .collect::<Result<_, DataError>>()?
        };
        for (packet_id, station_id, sha256) in &stale {
            self.expire_upload(*packet_id, *station_id, sha256, started_before)
                .await?;
        }
        self.sweep_orphan_chunks(started_before).await?;
        Ok(stale.len())
    }

    async fn purge_rejected(&self, judged_before: OffsetDateTime) -> Result<usize, DataError> {
        let rejected: Vec<(Uuid, String)> = {
            let client = self.client().await?;
            client
                .query(
                    "SELECT packet_id, object_key FROM packets
                     WHERE verdict = 'rejected' AND received_at < $1 AND object_key IS NOT NULL",
                    &[&judged_before],
                )
                .await
                .map_err(database)?
                .iter()
                .map(|row| Ok((col(row, 0)?, col(row, 1)?)))
                .collect::<Result<_, DataError>>()?
        };
        // The bytes go first: a row whose object is gone reads as purged, never the reverse.
        let keys: Vec<String> = rejected.iter().map(|(_, key)| key.clone()).collect();
        self.delete_objects(&keys).await?;
        let ids: Vec<Uuid> = rejected.iter().map(|(id, _)| *id).collect();
        let client = self.client().await?;
        client
            .execute(
                "UPDATE packets SET object_key = NULL WHERE packet_id = ANY($1)",
                &[&ids],
            )
            .await
            .map_err(database)?;
        Ok(ids.len())
    }

    async fn discard_upload(&self, packet_id: Uuid) -> Result<(), DataError> {
        let keys: Vec<String> = {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(database)?;
            let keys = tx
                .query(
                    "DELETE FROM upload_chunks WHERE packet_id = $1 RETURNING object_key",
                    &[&packet_id],
                )
                .await
                .map_err(database)?
                .iter()
                .map(|row| col(row, 0))
                .collect::<Result<_, _>>()?;
            tx.execute("DELETE FROM uploads WHERE packet_id = $1", &[&packet_id])
                .await
                .map_err(database)?;
            tx.commit().await.map_err(database)?;
            keys
        };
        self.delete_objects_after(&keys).await;
        Ok(())
    }

    async fn issue_token(&self, now: OffsetDateTime) -> Result<ProvisioningToken, DataError> {
        let mut bytes = Zeroizing::new([0u8; 24]);
        SystemRandom
            .fill(bytes.as_mut())
            .map_err(|_| DataError::Random)?;
        let secret: Zeroizing<String> =
            Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect());
        let token = ProvisioningToken::issue(&secret, &self.identity.receipt_key.public_key());
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO provisioning_tokens (token_sha256, issued_at) VALUES ($1, $2)",
                &[&token.stored_hash(), &now],
            )
            .await
            .map_err(database)?;
        Ok(token)
    }

    async fn register_station(
        &self,
        token_proof: &str,
        name: &str,
        signing_key: &StationPublicKey,
        now: OffsetDateTime,
    ) -> Result<Uuid, DataError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(database)?;
        let hashes: Vec<String> = tx
            .query(
                "SELECT token_sha256 FROM provisioning_tokens
                 WHERE used_at IS NULL AND issued_at >= $1",
                &[&(now - TOKEN_LIFETIME)],
            )
            .await
            .map_err(database)?
            .iter()
            .map(|row| col(row, 0))
            .collect::<Result<_, _>>()?;
        let token_hash = hashes
            .into_iter()
            .find(|hash| proof_matches(hash, token_proof, name, signing_key))
            .ok_or(DataError::InvalidToken)?;
        let station_id = Uuid::new_v4();
        let inserted = tx
            .execute(
                "INSERT INTO stations (station_id, name, signing_public_key, registered_at)
                 VALUES ($1, $2, $3, $4)",
                &[&station_id, &name, &signing_key.to_base64(), &now],
            )
            .await;
        match inserted {
            Ok(_) => {}
            Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                return Err(DataError::KeyAlreadyRegistered)
            }
            Err(error) => return Err(database(error)),
        }
        // Used once: of two registrations racing with one token, one changes the row.
        let used = tx
            .execute(
                "UPDATE provisioning_tokens SET used_at = $2, station_id = $3
                 WHERE token_sha256 = $1 AND used_at IS NULL",
                &[&token_hash, &now, &station_id],
            )
            .await
            .map_err(database)?;
        if used != 1 {
            return Err(DataError::InvalidToken);
        }
        tx.commit().await.map_err(database)?;
        Ok(station_id)
    }

    async fn insert_station_for_tests(
        &self,
        station_id: Uuid,
        signing_key: &StationPublicKey,
        now: OffsetDateTime,
    ) -> Result<(), DataError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO stations (station_id, name, signing_public_key, registered_at)
                 VALUES ($1, 'test vectors', $2, $3)",
                &[&station_id, &signing_key.to_base64(), &now],
            )
            .await
            .map_err(database)?;
        Ok(())
    }

    async fn revoke_station(&self, station_id: Uuid) -> Result<bool, DataError> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE stations SET revoked = TRUE WHERE station_id = $1",
                &[&station_id],
            )
            .await
            .map_err(database)?;
        Ok(changed > 0)
    }

    async fn station(&self, station_id: Uuid) -> Result<Option<StationRecord>, DataError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT name, signing_public_key, revoked FROM stations WHERE station_id = $1",
                &[&station_id],
            )
            .await
            .map_err(database)?;
        row.map(|row| {
            let key: String = col(&row, 1)?;
            let bytes = protocol::keys::decode_key_bytes(&key).map_err(|_| {
                DataError::Corrupt(format!("station {station_id} has a malformed key"))
            })?;
            Ok(StationRecord {
                station_id,
                name: col(&row, 0)?,
                signing_key: StationPublicKey(bytes),
                revoked: col(&row, 2)?,
            })
        })
        .transpose()
    }

    async fn packet(&self, packet_id: Uuid) -> Result<Option<PacketRecord>, DataError> {
        self.find_packet(packet_id).await
    }

    async fn packets(&self) -> Result<Vec<PacketRecord>, DataError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {PACKET_COLUMNS} FROM packets ORDER BY received_at, seq"),
                &[],
            )
            .await
            .map_err(database)?;
        rows.iter().map(packet_from).collect()
    }

    async fn packet_bytes(&self, record: &PacketRecord) -> Result<Vec<u8>, DataError> {
        let key: Option<String> = {
            let client = self.client().await?;
            client
                .query_opt(
                    "SELECT object_key FROM packets WHERE packet_id = $1",
                    &[&record.packet_id],
                )
                .await
                .map_err(database)?
                .map(|row| col::<Option<String>>(&row, 0))
                .transpose()?
                .flatten()
        };
        let bytes = match key {
            Some(key) => self.read_object(&key).await?,
            None => None,
        };
        match bytes {
            Some(bytes) => Ok(bytes),
            None if record.verdict == "rejected" => Err(DataError::Purged(record.packet_id)),
            None => Err(DataError::Corrupt(format!(
                "the bytes of accepted packet {} are missing from the object store",
                record.packet_id
            ))),
        }
    }

    async fn store_packet(
        &self,
        record: &PacketRecord,
        bytes: &[u8],
        audit: &[AuditRecord],
    ) -> Result<Option<PacketRecord>, DataError> {
        if let Some(existing) = self.find_packet(record.packet_id).await? {
            return Ok(Some(existing));
        }
        let chunk = self.only_chunk(record, bytes.len()).await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(database)?;
        // Held to the commit: the sweep never deletes bytes between their PUT and their row.
        lock_packet_object(&tx, record.packet_id).await?;
        // The bytes first, durably (the object store answers a PUT or a copy once it holds
        // them), then the row: a row never names bytes that are not there.
        let key = packet_key(record.station_id, record.packet_id, &record.sha256);
        let target = ObjectPath::from(key.as_str());
        let copied = match chunk {
            // The packet came in one chunk, whose object holds exactly these bytes (chunk
            // objects are never rewritten, and finalize hashed what it read): the store copies
            // it — Garage adds a reference to the same blocks — rather than receive the bytes
            // again.
            Some(chunk) => match self
                .objects
                .copy(&ObjectPath::from(chunk.as_str()), &target)
                .await
            {
                Ok(()) => true,
                // Discarded meanwhile: send the bytes.
                Err(object_store::Error::NotFound { .. }) => false,
                Err(error) => return Err(objects(error)),
            },
            None => false,
        };
        if !copied {
            self.objects
                .put(&target, PutPayload::from(bytes.to_vec()))
                .await
                .map_err(objects)?;
        }
        let now = OffsetDateTime::now_utc();
        let inserted = tx
            .execute(
                "INSERT INTO packets (packet_id, station_id, sha256, size, verdict, reason,
                                      judged_at, received_at, object_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (packet_id) DO NOTHING",
                &[
                    &record.packet_id,
                    &record.station_id,
                    &record.sha256,
                    &i64::try_from(bytes.len()).unwrap_or(i64::MAX),
                    &record.verdict,
                    &record.reason,
                    &record.judged_at,
                    &now,
                    &key,
                ],
            )
            .await
            .map_err(database)?;
        if inserted == 0 {
            // Another replica recorded this id meanwhile; its record stands (its object is
            // another key unless the bytes are the same).
            drop(tx);
            drop(client);
            let existing = self
                .find_packet(record.packet_id)
                .await?
                .ok_or_else(|| DataError::Corrupt("packet row vanished".into()))?;
            if existing.sha256 != record.sha256 {
                self.delete_objects_after(&[key]).await;
            }
            return Ok(Some(existing));
        }
        let insert = tx
            .prepare(
                "INSERT INTO audit_entries (station_id, seq, at, actor, action, subject, detail,
                                            prev_hash, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (station_id, seq) DO NOTHING",
            )
            .await
            .map_err(database)?;
        for entry in audit {
            tx.execute(
                &insert,
                &[
                    &record.station_id,
                    &entry.seq,
                    &entry.at,
                    &entry.actor,
                    &entry.action,
                    &entry.subject,
                    &entry.detail,
                    &entry.prev_hash,
                    &entry.hash,
                ],
            )
            .await
            .map_err(database)?;
        }
        if crate::stages::STAGES.contains(&record.stage.as_str()) {
            tx.execute(
                "UPDATE packets SET stage = $2 WHERE packet_id = $1",
                &[&record.packet_id, &record.stage],
            )
            .await
            .map_err(database)?;
            tx.execute(
                "INSERT INTO jobs (packet_id, stage, queued_at) VALUES ($1, $2, $3)",
                &[&record.packet_id, &record.stage, &now],
            )
            .await
            .map_err(database)?;
        }
        tx.commit().await.map_err(database)?;
        Ok(None)
    }

    async fn audit_entries(&self, station_id: Uuid) -> Result<Vec<AuditRecord>, DataError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT seq, at, actor, action, subject, detail, prev_hash, hash
                 FROM audit_entries WHERE station_id = $1 ORDER BY seq",
                &[&station_id],
            )
            .await
            .map_err(database)?;
        rows.iter()
            .map(|row| {
                Ok(AuditRecord {
                    seq: col(row, 0)?,
                    at: col(row, 1)?,
                    actor: col(row, 2)?,
                    action: col(row, 3)?,
                    subject: col(row, 4)?,
                    detail: col(row, 5)?,
                    prev_hash: col(row, 6)?,
                    hash: col(row, 7)?,
                })
            })
            .collect()
    }

    async fn audit_head(&self, station_id: Uuid) -> Result<Option<HeldHead>, DataError> {
        let client = self.client().await?;
        read_head(&**client, station_id).await
    }

    async fn observe_audit_head(
        &self,
        station_id: Uuid,
        claim: &AuditClaim,
        now: OffsetDateTime,
    ) -> Result<(Option<AuditHead>, Option<String>), DataError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(database)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&station_lock(station_id)],
        )
        .await
        .map_err(database)?;
        let held = read_head(&*tx, station_id).await?.map(|held| held.head);
        let at = crate::data::rfc3339(now);
        let (known, conflict) = match judge_head(held.as_ref(), claim) {
            HeadJudgement::Extends if held.as_ref() == Some(&claim.head) => (held, None),
            HeadJudgement::Extends => {
                tx.execute(
                    "INSERT INTO audit_heads (station_id, seq, hash, seen_at)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (station_id) DO UPDATE SET seq = $2, hash = $3, seen_at = $4",
                    &[&station_id, &claim.head.seq, &claim.head.hash, &at],
                )
                .await
                .map_err(database)?;
                (Some(claim.head.clone()), None)
            }
            HeadJudgement::Unanchored => (held, None),
            HeadJudgement::Conflict(conflict) => {
                tx.execute(
                    "UPDATE audit_heads SET conflict = $2, conflict_at = $3 WHERE station_id = $1",
                    &[&station_id, &conflict, &at],
                )
                .await
                .map_err(database)?;
                (held, Some(conflict))
            }
        };
        tx.commit().await.map_err(database)?;
        Ok((known, conflict))
    }

    async fn claim_job(
        &self,
        stages: &[&str],
        worker: &str,
        now: OffsetDateTime,
        lease: std::time::Duration,
    ) -> Result<Option<Job>, DataError> {
        let stages: Vec<String> = stages.iter().map(|s| (*s).to_owned()).collect();
        let until = now + lease;
        let client = self.client().await?;
        // SKIP LOCKED: replicas claiming at once each take a different job, none waits.
        let row = client
            .query_opt(
                "UPDATE jobs SET claimed_by = $2, claimed_until = $3, attempts = attempts + 1
                 WHERE packet_id = (
                     SELECT packet_id FROM jobs
                     WHERE stage = ANY($1) AND (claimed_until IS NULL OR claimed_until < $4)
                     ORDER BY queued_at, packet_id
                     LIMIT 1
                     FOR UPDATE SKIP LOCKED)
                 RETURNING packet_id, stage, attempts",
                &[&stages, &worker, &until, &now],
            )
            .await
            .map_err(database)?;
        row.map(|row| {
            Ok(Job {
                packet_id: col(&row, 0)?,
                stage: col(&row, 1)?,
                attempts: u32::try_from(col::<i32>(&row, 2)?).unwrap_or(0),
            })
        })
        .transpose()
    }

    async fn finish_job(
        &self,
        job: &Job,
        worker: &str,
        outcome: &StageOutcome,
        now: OffsetDateTime,
    ) -> Result<bool, DataError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(database)?;
        let held = tx
            .query_opt(
                "SELECT 1 FROM jobs WHERE packet_id = $1 AND stage = $2 AND claimed_by = $3
                 FOR UPDATE",
                &[&job.packet_id, &job.stage, &worker],
            )
            .await
            .map_err(database)?
            .is_some();
        if !held {
            return Ok(false);
        }
        if let StageOutcome::Next(stage) = outcome {
            tx.execute(
                "UPDATE jobs SET stage = $2, attempts = 0, claimed_by = NULL,
                 claimed_until = NULL, queued_at = $3 WHERE packet_id = $1",
                &[&job.packet_id, stage, &now],
            )
            .await
            .map_err(database)?;
        } else {
            tx.execute("DELETE FROM jobs WHERE packet_id = $1", &[&job.packet_id])
                .await
                .map_err(database)?;
        }
        let (stage, held_reason) = outcome.packet_stage();
        tx.execute(
            "UPDATE packets SET stage = $2, held_reason = $3 WHERE packet_id = $1",
            &[&job.packet_id, &stage, &held_reason],
        )
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(true)
    }

    async fn packet_stage(&self, packet_id: Uuid) -> Result<Option<PacketStage>, DataError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT stage, held_reason FROM packets WHERE packet_id = $1",
                &[&packet_id],
            )
            .await
            .map_err(database)?;
        row.map(|row| {
            Ok(PacketStage {
                stage: col(&row, 0)?,
                held_reason: col(&row, 1)?,
            })
        })
        .transpose()
    }

    async fn jobs_waiting(&self) -> Result<Vec<(String, u64)>, DataError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT stage, count(*) FROM jobs GROUP BY stage ORDER BY stage",
                &[],
            )
            .await
            .map_err(database)?;
        rows.iter()
            .map(|row| Ok((col(row, 0)?, to_u64(col(row, 1)?))))
            .collect()
    }

    async fn usage(&self) -> Result<Usage, DataError> {
        use futures_util::StreamExt;
        let database_bytes: i64 = {
            let client = self.client().await?;
            client
                .query_one(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = current_schema() AND c.relkind = 'r'",
                    &[],
                )
                .await
                .map_err(database)?
                .try_get(0)
                .map_err(database)?
        };
        let mut usage = Usage {
            database_bytes: to_u64(database_bytes),
            ..Usage::default()
        };
        let mut listing = self.objects.list(None);
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(objects)?;
            usage.object_bytes += meta.size;
            usage.objects += 1;
        }
        Ok(usage)
    }
}

async fn read_head(
    client: &impl tokio_postgres::GenericClient,
    station_id: Uuid,
) -> Result<Option<HeldHead>, DataError> {
    let row = client
        .query_opt(
            "SELECT seq, hash, seen_at, conflict, conflict_at FROM audit_heads
             WHERE station_id = $1",
            &[&station_id],
        )
        .await
        .map_err(database)?;
    row.map(|row| {
        let conflict: Option<String> = col(&row, 3)?;
        let conflict_at: Option<String> = col(&row, 4)?;
        Ok(HeldHead {
            head: AuditHead {
                seq: col(&row, 0)?,
                hash: col(&row, 1)?,
            },
            seen_at: col(&row, 2)?,
            conflict: conflict.zip(conflict_at),
        })
    })
    .transpose()
}
