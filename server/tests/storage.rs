//! What every storage backend must do, run against the one the environment selects
//! (`ENROLLMENT_SERVER_TEST_BACKEND`, see `enrollment_server::data::testing`): `scripts/test.sh`
//! runs this file against the embedded backend and again against PostgreSQL and Garage.

use std::sync::Arc;
use std::time::Duration;

use enrollment_server::data::testing::open_for_tests;
use enrollment_server::data::{
    DataError, PacketRecord, PacketStage, StageOutcome, Storage, MAX_BYTES_IN_FLIGHT,
    MAX_STATION_BYTES_IN_FLIGHT, MAX_UPLOADS_PER_STATION, TOKEN_LIFETIME,
};
use enrollment_server::ratelimit::{Bucket, REFUSAL_LIMIT, REGISTRATION_LIMIT};
use enrollment_server::stages::{IMAGES, LEASE};
use protocol::api::Announce;
use protocol::audit::{AuditClaim, AuditHead, AuditRecord};
use protocol::keys::{StationPublicKey, StationSigningKey};
use protocol::packet::sha256_hex;
use protocol::random::SystemRandom;
use time::OffsetDateTime;
use uuid::Uuid;

fn key() -> StationPublicKey {
    StationSigningKey::generate(&SystemRandom)
        .expect("key")
        .public_key()
}

async fn storage() -> (tempfile::TempDir, Arc<dyn Storage>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = open_for_tests(dir.path()).await.expect("the storage opens");
    (dir, data)
}

async fn with_station(data: &dyn Storage) -> Uuid {
    let station = Uuid::new_v4();
    data.insert_station_for_tests(station, &key(), OffsetDateTime::now_utc())
        .await
        .expect("station");
    station
}

fn announce(bytes: &[u8]) -> Announce {
    Announce {
        packet_id: Uuid::new_v4(),
        sha256: sha256_hex(bytes),
        size: bytes.len() as u64,
    }
}

fn record(station: Uuid, packet: Uuid, bytes: &[u8], verdict: &str) -> PacketRecord {
    PacketRecord {
        packet_id: packet,
        station_id: station,
        sha256: sha256_hex(bytes),
        verdict: verdict.into(),
        reason: (verdict == "rejected").then(|| "unreadable".into()),
        judged_at: "2026-12-03T10:00:00Z".into(),
        stage: enrollment_server::stages::entry(verdict == "accepted").into(),
    }
}

/// An upload of `bytes` announced at `started`, all of them sent in one chunk.
async fn uploaded_whole(
    data: &dyn Storage,
    station: Uuid,
    bytes: &[u8],
    started: OffsetDateTime,
) -> Announce {
    let upload = announce(bytes);
    data.start_upload(station, &upload, started)
        .await
        .expect("announce");
    data.append_chunk(station, upload.packet_id, 0, bytes)
        .await
        .expect("chunk");
    upload
}

fn entry(seq: i64, detail: &str) -> AuditRecord {
    AuditRecord {
        seq,
        at: "2026-12-03T10:00:00Z".into(),
        actor: "budi".into(),
        action: "login".into(),
        subject: "budi".into(),
        detail: detail.into(),
        prev_hash: "00".into(),
        hash: format!("{seq:02}"),
    }
}

#[tokio::test]
async fn a_token_registers_exactly_one_station() {
    let (_dir, data) = storage().await;
    let now = OffsetDateTime::now_utc();
    let token = data.issue_token(now).await.expect("token");
    let (first, second) = (key(), key());
    let id = data
        .register_station(&token.proof("Desk 1", &first), "Desk 1", &first, now)
        .await
        .expect("register");
    assert_eq!(
        data.station(id).await.expect("lookup").map(|s| s.name),
        Some("Desk 1".into())
    );
    let again = data
        .register_station(&token.proof("Desk 2", &second), "Desk 2", &second, now)
        .await;
    assert!(
        matches!(again, Err(DataError::InvalidToken)),
        "a token is good for one station only: {again:?}"
    );
    let forged = data
        .register_station(&"00".repeat(32), "X", &key(), now)
        .await;
    assert!(matches!(forged, Err(DataError::InvalidToken)));
}

#[tokio::test]
async fn two_registrations_racing_with_one_token_register_one_station() {
    let (_dir, data) = storage().await;
    let now = OffsetDateTime::now_utc();
    let token = data.issue_token(now).await.expect("token");
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let (data, key) = (data.clone(), key());
            let name = format!("Desk {i}");
            let proof = token.proof(&name, &key);
            tokio::spawn(async move { data.register_station(&proof, &name, &key, now).await })
        })
        .collect();
    let mut registered = 0;
    for attempt in attempts {
        match attempt.await.expect("task") {
            Ok(_) => registered += 1,
            Err(DataError::InvalidToken) => {}
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(
        registered, 1,
        "one token, one station, however many try at once"
    );
}

#[tokio::test]
async fn a_key_registers_once() {
    let (_dir, data) = storage().await;
    let now = OffsetDateTime::now_utc();
    let station = key();
    let first = data.issue_token(now).await.expect("token");
    data.register_station(&first.proof("Desk", &station), "Desk", &station, now)
        .await
        .expect("register");
    let second = data.issue_token(now).await.expect("token");
    let again = data
        .register_station(&second.proof("Desk", &station), "Desk", &station, now)
        .await;
    assert!(
        matches!(again, Err(DataError::KeyAlreadyRegistered)),
        "{again:?}"
    );
}

#[tokio::test]
async fn an_unused_token_expires_after_its_lifetime() {
    let (_dir, data) = storage().await;
    let issued = OffsetDateTime::now_utc();
    let token = data.issue_token(issued).await.expect("token");
    let station = key();
    let proof = token.proof("Desk", &station);
    let late = issued + TOKEN_LIFETIME + time::Duration::minutes(1);
    let result = data.register_station(&proof, "Desk", &station, late).await;
    assert!(matches!(result, Err(DataError::InvalidToken)), "{result:?}");
    let in_time = issued + TOKEN_LIFETIME - time::Duration::minutes(1);
    data.register_station(&proof, "Desk", &station, in_time)
        .await
        .expect("still good just before it expires");
}

#[tokio::test]
async fn a_revoked_station_is_known_as_revoked() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    assert!(data.revoke_station(station).await.expect("revoke"));
    assert!(
        data.station(station)
            .await
            .expect("lookup")
            .expect("known")
            .revoked
    );
    assert!(!data.revoke_station(Uuid::new_v4()).await.expect("unknown"));
}

#[tokio::test]
async fn a_nonce_is_good_once_per_station() {
    let (_dir, data) = storage().await;
    let (desk, other) = (Uuid::new_v4(), Uuid::new_v4());
    let now = 1_800_000_001;
    assert!(data.remember_nonce(desk, "n1", now).await.expect("first"));
    assert!(
        !data
            .remember_nonce(desk, "n1", now + 1)
            .await
            .expect("replay"),
        "a replayed nonce must be refused"
    );
    assert!(data
        .remember_nonce(other, "n1", now + 1)
        .await
        .expect("other"));
}

#[tokio::test]
async fn chunks_count_only_at_the_offset_held_and_read_back_whole() {
    let (_dir, data) = storage().await;
    let (station, stranger) = (with_station(&*data).await, with_station(&*data).await);
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let announced = announce(&bytes);
    let id = announced.packet_id;
    let now = OffsetDateTime::now_utc();
    let upload = data
        .start_upload(station, &announced, now)
        .await
        .expect("start");
    assert_eq!(upload.received, 0);
    assert_eq!(
        data.start_upload(station, &announced, now)
            .await
            .expect("again")
            .received,
        0,
        "announcing the same packet again is the same upload"
    );
    let mut other = announced.clone();
    other.size += 1;
    assert!(matches!(
        data.start_upload(station, &other, now).await,
        Err(DataError::AnnounceConflict(_))
    ));

    assert_eq!(
        data.append_chunk(station, id, 0, &bytes[..100_000])
            .await
            .expect("first"),
        100_000
    );
    let stale = data.append_chunk(station, id, 0, &bytes[..100_000]).await;
    assert!(
        matches!(
            stale,
            Err(DataError::OffsetMismatch {
                offset: 0,
                held: 100_000
            })
        ),
        "a chunk sent again is not counted twice: {stale:?}"
    );
    let foreign = data
        .append_chunk(stranger, id, 100_000, &bytes[100_000..])
        .await;
    assert!(
        matches!(foreign, Err(DataError::NotAnnounced(_))),
        "{foreign:?}"
    );
    let mut too_long = bytes[100_000..].to_vec();
    too_long.push(0);
    let past = data.append_chunk(station, id, 100_000, &too_long).await;
    assert!(matches!(past, Err(DataError::PastEnd(300_000))), "{past:?}");
    assert_eq!(
        data.append_chunk(station, id, 100_000, &bytes[100_000..])
            .await
            .expect("rest"),
        300_000
    );
    assert_eq!(
        data.upload(id)
            .await
            .expect("upload")
            .expect("held")
            .received,
        300_000
    );
    assert_eq!(data.upload_bytes(id).await.expect("bytes"), bytes);

    data.discard_upload(id).await.expect("discard");
    assert_eq!(data.upload(id).await.expect("lookup"), None);
}

#[tokio::test]
async fn the_same_chunk_sent_at_once_twice_is_counted_once() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let bytes = vec![7u8; 64 * 1024];
    let announced = announce(&bytes);
    let id = announced.packet_id;
    data.start_upload(station, &announced, OffsetDateTime::now_utc())
        .await
        .expect("start");
    let sends: Vec<_> = (0..4)
        .map(|_| {
            let (data, bytes) = (data.clone(), bytes.clone());
            tokio::spawn(async move { data.append_chunk(station, id, 0, &bytes).await })
        })
        .collect();
    let mut counted = 0;
    for send in sends {
        match send.await.expect("task") {
            Ok(end) => {
                assert_eq!(end, bytes.len() as u64);
                counted += 1;
            }
            Err(DataError::OffsetMismatch { .. }) => {}
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(
        counted, 1,
        "one of the copies counts, the others are told the offset held"
    );
    assert_eq!(data.upload_bytes(id).await.expect("bytes"), bytes);
}

#[tokio::test]
async fn a_station_may_have_only_so_many_uploads_in_progress() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let now = OffsetDateTime::now_utc();
    for _ in 0..MAX_UPLOADS_PER_STATION {
        data.start_upload(station, &announce(b"x"), now)
            .await
            .expect("within the limit");
    }
    let over = data.start_upload(station, &announce(b"y"), now).await;
    assert!(
        matches!(over, Err(DataError::TooManyUploads { .. })),
        "{over:?}"
    );
    let other = with_station(&*data).await;
    data.start_upload(other, &announce(b"z"), now)
        .await
        .expect("another station is not held back");
}

#[tokio::test]
async fn expired_uploads_go_with_their_bytes() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let now = OffsetDateTime::now_utc();
    let old = announce(b"old bytes");
    data.start_upload(station, &old, now - time::Duration::days(2))
        .await
        .expect("old");
    data.append_chunk(station, old.packet_id, 0, b"old")
        .await
        .expect("chunk");
    let fresh = announce(b"fresh");
    data.start_upload(station, &fresh, now)
        .await
        .expect("fresh");
    assert_eq!(
        data.expire_uploads(now - time::Duration::days(1))
            .await
            .expect("expire"),
        1
    );
    assert_eq!(data.upload(old.packet_id).await.expect("lookup"), None);
    assert!(data
        .upload(fresh.packet_id)
        .await
        .expect("lookup")
        .is_some());
}

#[tokio::test]
async fn a_packet_is_stored_once_with_its_audit_entries() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let bytes = b"sealed packet bytes".to_vec();
    let packet = Uuid::new_v4();
    let first = record(station, packet, &bytes, "accepted");
    let audit = [entry(2, "second"), entry(1, "first")];
    assert_eq!(
        data.store_packet(&first, &bytes, &audit)
            .await
            .expect("store"),
        None
    );
    let mut other = record(station, packet, b"other bytes", "accepted");
    other.judged_at = "2026-12-03T11:00:00Z".into();
    assert_eq!(
        data.store_packet(&other, b"other bytes", &[entry(1, "rewritten")])
            .await
            .expect("store again"),
        Some(first.clone()),
        "an id already stored keeps its first record"
    );
    assert_eq!(
        data.packet(packet).await.expect("lookup"),
        Some(first.clone())
    );
    assert_eq!(data.packet_bytes(&first).await.expect("bytes"), bytes);
    assert_eq!(data.packets().await.expect("all"), [first]);
    assert_eq!(
        data.audit_entries(station).await.expect("entries"),
        [entry(1, "first"), entry(2, "second")],
        "entries in order, as first received"
    );
}

#[tokio::test]
async fn the_space_used_grows_by_a_stored_packets_bytes() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let before = data.usage().await.expect("usage");
    let bytes = vec![7u8; 300_000];
    let packet = record(station, Uuid::new_v4(), &bytes, "accepted");
    data.store_packet(&packet, &bytes, &[])
        .await
        .expect("store");
    let after = data.usage().await.expect("usage");
    assert_eq!(after.objects, before.objects + 1, "one more object");
    assert_eq!(
        after.object_bytes,
        before.object_bytes + 300_000,
        "holding the packet's bytes"
    );
    assert!(after.database_bytes > 0, "the database is counted");
}

#[tokio::test]
async fn rejected_packets_lose_their_bytes_after_retention_but_keep_their_verdict() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let rejected = record(station, Uuid::new_v4(), b"bad", "rejected");
    let accepted = record(station, Uuid::new_v4(), b"good", "accepted");
    data.store_packet(&rejected, b"bad", &[])
        .await
        .expect("store");
    data.store_packet(&accepted, b"good", &[])
        .await
        .expect("store");
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(1);
    assert_eq!(data.purge_rejected(later).await.expect("purge"), 1);
    assert!(matches!(
        data.packet_bytes(&rejected).await,
        Err(DataError::Purged(_))
    ));
    assert_eq!(
        data.packet(rejected.packet_id).await.expect("row"),
        Some(rejected)
    );
    assert_eq!(data.packet_bytes(&accepted).await.expect("kept"), b"good");
    assert_eq!(data.purge_rejected(later).await.expect("again"), 0);
}

#[tokio::test]
async fn an_audit_head_is_held_until_a_claim_extends_it_and_a_cut_is_recorded() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let now = OffsetDateTime::now_utc();
    let head = |seq: i64, hash: &str| AuditHead {
        seq,
        hash: hash.into(),
    };
    let claim = |seq, hash: &str, anchor: Option<AuditHead>| AuditClaim {
        head: head(seq, hash),
        anchor,
    };
    assert_eq!(data.audit_head(station).await.expect("none"), None);
    let (known, conflict) = data
        .observe_audit_head(station, &claim(5, "e5", None), now)
        .await
        .expect("first");
    assert_eq!((known, conflict), (Some(head(5, "e5")), None));
    let (known, _) = data
        .observe_audit_head(station, &claim(9, "e9", Some(head(5, "e5"))), now)
        .await
        .expect("grew");
    assert_eq!(known, Some(head(9, "e9")));
    let (known, conflict) = data
        .observe_audit_head(station, &claim(3, "e3", None), now)
        .await
        .expect("cut");
    assert_eq!(
        known,
        Some(head(9, "e9")),
        "a cut log does not move the head back"
    );
    assert!(conflict.is_some());
    let held = data
        .audit_head(station)
        .await
        .expect("held")
        .expect("a head");
    assert_eq!(held.head, head(9, "e9"));
    assert!(held.conflict.is_some(), "the conflict is recorded");
}

#[tokio::test]
async fn storage_opened_again_holds_what_it_held() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = open_for_tests(dir.path()).await.expect("open");
    let station = with_station(&*data).await;
    let bytes = b"kept".to_vec();
    let kept = record(station, Uuid::new_v4(), &bytes, "accepted");
    data.store_packet(&kept, &bytes, &[]).await.expect("store");
    let key_id = data.encryption_key().public_key().key_id();
    drop(data);
    let again = open_for_tests(dir.path()).await.expect("reopen");
    assert_eq!(again.encryption_key().public_key().key_id(), key_id);
    assert_eq!(again.packet_bytes(&kept).await.expect("bytes"), bytes);
    assert!(again.station(station).await.expect("lookup").is_some());
}

fn stage_of(stage: &str, held_reason: Option<&str>) -> Option<PacketStage> {
    Some(PacketStage {
        stage: stage.into(),
        held_reason: held_reason.map(Into::into),
    })
}

/// Stores an accepted packet of `station`; its id.
async fn accepted(data: &dyn Storage, station: Uuid) -> Uuid {
    let bytes = Uuid::new_v4().as_bytes().to_vec();
    let id = Uuid::new_v4();
    data.store_packet(&record(station, id, &bytes, "accepted"), &bytes, &[])
        .await
        .expect("store");
    id
}

#[tokio::test]
async fn an_accepted_packet_waits_for_its_first_stage_and_a_rejected_one_for_none() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let good = accepted(&*data, station).await;
    let bad = Uuid::new_v4();
    data.store_packet(&record(station, bad, b"bad", "rejected"), b"bad", &[])
        .await
        .expect("store");
    assert_eq!(
        data.packet_stage(good).await.expect("stage"),
        stage_of(IMAGES, None)
    );
    assert_eq!(
        data.packet_stage(bad).await.expect("stage"),
        stage_of("done", None)
    );
    assert_eq!(
        data.jobs_waiting().await.expect("waiting"),
        [(IMAGES.to_owned(), 1)]
    );
    assert_eq!(
        data.packet_stage(Uuid::new_v4()).await.expect("stage"),
        None
    );
}

#[tokio::test]
async fn a_job_is_one_workers_until_its_lease_runs_out_then_anothers() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let packet = accepted(&*data, station).await;
    let now = OffsetDateTime::now_utc();
    let job = data
        .claim_job(&[IMAGES], "replica-a/0", now, LEASE)
        .await
        .expect("claim")
        .expect("a job waits");
    assert_eq!(
        (job.packet_id, job.stage.as_str(), job.attempts),
        (packet, IMAGES, 1)
    );
    assert_eq!(
        data.claim_job(&[IMAGES], "replica-b/0", now, LEASE)
            .await
            .expect("claim"),
        None,
        "held by its worker"
    );
    // Replica A was killed: once its lease runs out, B takes the job.
    let later = now + LEASE + time::Duration::seconds(1);
    let again = data
        .claim_job(&[IMAGES], "replica-b/0", later, LEASE)
        .await
        .expect("claim")
        .expect("the job again");
    assert_eq!((again.packet_id, again.attempts), (packet, 2));
    assert!(
        !data
            .finish_job(&job, "replica-a/0", &StageOutcome::Done, later)
            .await
            .expect("finish"),
        "a worker whose lease ran out records nothing"
    );
    assert!(data
        .finish_job(&again, "replica-b/0", &StageOutcome::Done, later)
        .await
        .expect("finish"));
    assert_eq!(
        data.packet_stage(packet).await.expect("stage"),
        stage_of("done", None)
    );
    assert_eq!(data.jobs_waiting().await.expect("waiting"), []);
}

#[tokio::test]
async fn workers_claiming_at_once_take_different_jobs() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let mut packets = vec![
        accepted(&*data, station).await,
        accepted(&*data, station).await,
    ];
    let now = OffsetDateTime::now_utc();
    let (a, b) = tokio::join!(
        data.claim_job(&[IMAGES], "a", now, LEASE),
        data.claim_job(&[IMAGES], "b", now, LEASE)
    );
    let mut claimed = vec![
        a.expect("claim").expect("a job").packet_id,
        b.expect("claim").expect("a job").packet_id,
    ];
    claimed.sort();
    packets.sort();
    assert_eq!(claimed, packets);
}

#[tokio::test]
async fn a_stage_moves_a_packet_on_or_holds_it_with_the_reason() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let packet = accepted(&*data, station).await;
    let now = OffsetDateTime::now_utc();
    let job = data
        .claim_job(&[IMAGES], "w", now, LEASE)
        .await
        .expect("claim")
        .expect("job");
    assert!(data
        .finish_job(&job, "w", &StageOutcome::Next("review".into()), now)
        .await
        .expect("finish"));
    assert_eq!(
        data.packet_stage(packet).await.expect("stage"),
        stage_of("review", None)
    );
    assert_eq!(
        data.claim_job(&[IMAGES], "w", now, LEASE)
            .await
            .expect("claim"),
        None,
        "a worker takes only the stages it knows"
    );
    let review = data
        .claim_job(&["review"], "w", now, LEASE)
        .await
        .expect("claim")
        .expect("the next stage's job");
    assert_eq!((review.stage.as_str(), review.attempts), ("review", 1));
    assert!(data
        .finish_job(
            &review,
            "w",
            &StageOutcome::Held("the face is not a face".into()),
            now
        )
        .await
        .expect("finish"));
    assert_eq!(
        data.packet_stage(packet).await.expect("stage"),
        stage_of("held", Some("the face is not a face"))
    );
    assert_eq!(data.jobs_waiting().await.expect("waiting"), []);
}

#[tokio::test]
async fn a_rate_limit_lets_its_burst_through_then_one_request_per_refill() {
    let (_dir, data) = storage().await;
    let address = Some(std::net::IpAddr::from([192, 0, 2, 7]));
    let bucket = Bucket::Registration(address);
    let burst = REGISTRATION_LIMIT.burst as usize;
    let now = OffsetDateTime::now_utc();
    assert_eq!(data.token_wait(bucket, now).await.expect("look"), None);
    for _ in 0..burst {
        assert_eq!(data.take_token(bucket, now).await.expect("take"), None);
    }
    let wait = data
        .take_token(bucket, now)
        .await
        .expect("take")
        .expect("the burst is spent");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    let looked = data.token_wait(bucket, now).await.expect("look");
    assert_eq!(looked, Some(wait), "a look takes nothing and waits as long");
    assert_eq!(
        data.take_token(Bucket::Registration(None), now)
            .await
            .expect("take"),
        None,
        "buckets are per address"
    );
    let later = now + time::Duration::seconds(1);
    assert_eq!(data.take_token(bucket, later).await.expect("take"), None);
    assert!(data
        .take_token(bucket, later)
        .await
        .expect("take")
        .is_some());
    let forgotten = data
        .forget_idle_buckets(later + time::Duration::seconds(1))
        .await
        .expect("forget");
    assert_eq!(forgotten, 2);
    assert_eq!(
        data.take_token(bucket, later).await.expect("take"),
        None,
        "a forgotten bucket is full"
    );
}

#[tokio::test]
async fn takes_at_once_from_one_bucket_never_pass_its_burst() {
    let (_dir, data) = storage().await;
    let bucket = Bucket::Refusals(Some(std::net::IpAddr::from([192, 0, 2, 9])));
    let now = OffsetDateTime::now_utc();
    let takes: Vec<_> = (0..REFUSAL_LIMIT.burst as usize + 20)
        .map(|_| {
            let data = data.clone();
            tokio::spawn(async move { data.take_token(bucket, now).await })
        })
        .collect();
    let mut allowed = 0;
    for take in takes {
        if take.await.expect("ran").expect("take").is_none() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, REFUSAL_LIMIT.burst as usize);
}

fn announce_of_size(size: u64) -> Announce {
    Announce {
        packet_id: Uuid::new_v4(),
        sha256: sha256_hex(b"not checked at announce"),
        size,
    }
}

#[tokio::test]
async fn a_station_may_hold_only_so_many_bytes_in_flight_and_the_server_so_many_in_all() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let now = OffsetDateTime::now_utc();
    let most = MAX_STATION_BYTES_IN_FLIGHT * 3 / 4;
    data.start_upload(station, &announce_of_size(most), now)
        .await
        .expect("within the station's bytes");
    let over = data
        .start_upload(station, &announce_of_size(most), now)
        .await;
    assert!(
        matches!(over, Err(DataError::TooManyUploads { bytes, .. }) if bytes == most),
        "{over:?}"
    );
    // Other stations fill the server until it has no room for one more.
    let mut held = most;
    while held + most <= MAX_BYTES_IN_FLIGHT {
        let other = with_station(&*data).await;
        data.start_upload(other, &announce_of_size(most), now)
            .await
            .expect("room on the server");
        held += most;
    }
    let other = with_station(&*data).await;
    let full = data.start_upload(other, &announce_of_size(most), now).await;
    assert!(matches!(full, Err(DataError::ServerFull)), "{full:?}");
    data.start_upload(other, &announce_of_size(MAX_BYTES_IN_FLIGHT - held), now)
        .await
        .expect("what still fits is taken");
}

#[tokio::test]
async fn the_bytes_of_an_upload_that_is_not_there_are_refused_as_not_announced() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let now = OffsetDateTime::now_utc();
    let never = Uuid::new_v4();
    let answer = data.upload_bytes(never).await;
    assert!(
        matches!(answer, Err(DataError::NotAnnounced(id)) if id == never),
        "{answer:?}"
    );
    let bytes = b"some packet bytes";
    let upload = announce(bytes);
    data.start_upload(station, &upload, now)
        .await
        .expect("announce");
    assert_eq!(
        data.upload_bytes(upload.packet_id)
            .await
            .expect("no chunk yet"),
        Vec::<u8>::new()
    );
    data.append_chunk(station, upload.packet_id, 0, bytes)
        .await
        .expect("chunk");
    data.discard_upload(upload.packet_id)
        .await
        .expect("discard");
    let gone = data.upload_bytes(upload.packet_id).await;
    assert!(matches!(gone, Err(DataError::NotAnnounced(_))), "{gone:?}");
}

#[tokio::test]
async fn two_stores_of_one_packet_at_once_keep_one_record_and_its_bytes() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let packet = Uuid::new_v4();
    let (first, second) = (b"first bytes".to_vec(), b"second bytes".to_vec());
    let store = |bytes: Vec<u8>| {
        let data = data.clone();
        tokio::spawn(async move {
            let record = record(station, packet, &bytes, "accepted");
            data.store_packet(&record, &bytes, &[])
                .await
                .map(|existing| (existing, bytes))
        })
    };
    let (a, b) = (store(first.clone()), store(second.clone()));
    let outcomes = [
        a.await.expect("ran").expect("stored"),
        b.await.expect("ran").expect("stored"),
    ];
    let winners: Vec<&Vec<u8>> = outcomes
        .iter()
        .filter(|(existing, _)| existing.is_none())
        .map(|(_, bytes)| bytes)
        .collect();
    assert_eq!(winners.len(), 1, "one store wins");
    let winner = winners[0];
    for (existing, _) in &outcomes {
        if let Some(existing) = existing {
            assert_eq!(
                existing.sha256,
                sha256_hex(winner),
                "the loser is told the winner"
            );
        }
    }
    let stored = data.packet(packet).await.expect("lookup").expect("stored");
    assert_eq!(stored.sha256, sha256_hex(winner));
    assert_eq!(&data.packet_bytes(&stored).await.expect("bytes"), winner);
}

#[tokio::test]
async fn expiring_an_upload_keeps_the_bytes_of_the_packet_it_became() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let now = OffsetDateTime::now_utc();
    let bytes = b"a packet whose upload row lingered".to_vec();
    let upload = uploaded_whole(&*data, station, &bytes, now - time::Duration::days(2)).await;
    // Stored, and the process stopped before it discarded the upload.
    let record = record(station, upload.packet_id, &bytes, "accepted");
    assert_eq!(
        data.store_packet(&record, &bytes, &[])
            .await
            .expect("store"),
        None
    );
    assert_eq!(
        data.expire_uploads(now - time::Duration::days(1))
            .await
            .expect("expire"),
        1
    );
    assert_eq!(data.packet_bytes(&record).await.expect("bytes"), bytes);
}

#[tokio::test]
async fn a_packet_that_came_in_one_chunk_keeps_its_bytes_once_its_upload_is_gone() {
    let (_dir, data) = storage().await;
    let station = with_station(&*data).await;
    let now = OffsetDateTime::now_utc();
    let bytes = b"a packet sent in one chunk".to_vec();
    let upload = uploaded_whole(&*data, station, &bytes, now).await;
    let record = record(station, upload.packet_id, &bytes, "accepted");
    assert_eq!(
        data.store_packet(&record, &bytes, &[])
            .await
            .expect("store"),
        None
    );
    data.discard_upload(upload.packet_id)
        .await
        .expect("discard");
    data.expire_uploads(now + time::Duration::days(2))
        .await
        .expect("sweep");
    assert_eq!(data.packet_bytes(&record).await.expect("bytes"), bytes);
}
