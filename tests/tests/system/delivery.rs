//! An enrollment travels from the station's outbox to the server, whatever the server's state
//! at submit time.

use std::sync::Arc;
use std::time::Duration;

use formats::FingerPosition;
use protocol::content::EnrollmentContent;
use protocol::packet::SealedPacket;
use station_core::approval::{self, Decision};
use station_core::clock::SystemClock;
use station_core::enrollment;
use station_core::officers::{self, Password, Role};
use station_core::station::Station;
use station_core::store::outbox::OutboxState;
use station_core::sync::{self, SyncHandle, Uploader};
use system_tests::*;

fn start_sync(station: &Station) -> SyncHandle {
    let uploader = Uploader::new(station, &fast_sync(), Arc::new(SystemClock)).expect("uploader");
    let (handle, task) = sync::start(uploader);
    tokio::spawn(task);
    handle
}

fn state_of(station: &Station, id: &str) -> Option<OutboxState> {
    station
        .store()
        .list_enrollments()
        .expect("list")
        .into_iter()
        .find(|s| s.enrollment.id == id)
        .map(|s| s.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_enrollment_reaches_the_server_intact_and_shows_accepted() {
    let rig = Rig::start().await;
    let (server, station) = (&rig.server, &rig.station);
    let submitted = rig.submit("Siti Rahayu", 1);
    let id = submitted.id.to_string();
    assert_eq!(
        state_of(station, &id),
        Some(OutboxState::Pending),
        "a new enrollment waits in the outbox"
    );

    let sync = start_sync(station);
    sync.sync_now();
    let accepted = eventually(Duration::from_secs(20), || {
        state_of(station, &id) == Some(OutboxState::Accepted)
    })
    .await;
    assert!(
        accepted,
        "the station must show the enrollment accepted once the server has it"
    );

    let record = server
        .data
        .packet(submitted.id)
        .await
        .expect("lookup")
        .expect("the server stored the packet");
    assert_eq!(record.verdict, "accepted");
    let bytes = server
        .data
        .packet_bytes(&record)
        .await
        .expect("packet file");
    let station_key = server
        .data
        .station(record.station_id)
        .await
        .expect("lookup")
        .expect("station")
        .signing_key;
    let verified = SealedPacket::parse(&bytes)
        .and_then(|p| p.verify(&station_key))
        .expect("the stored packet verifies");
    let parts = verified
        .open(server.data.encryption_key())
        .expect("the server opens the stored packet");
    let content =
        EnrollmentContent::from_parts(parts, &verified.manifest().captures).expect("content");
    assert_eq!(content.demographics.full_name, "Siti Rahayu");
    assert_eq!(content.fingers.len(), 10, "all ten fingers arrive");
    assert_eq!(
        verified.manifest().officer_id,
        "budi",
        "the server knows which officer enrolled"
    );
    assert!(
        content.audit.iter().any(|e| e.action == "officer.added"),
        "the station's audit entries travel with the packet"
    );
    let kept = server
        .data
        .audit_entries(record.station_id)
        .await
        .expect("server audit copy");
    assert_eq!(
        kept, content.audit,
        "the server keeps its own copy of the station's log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrollment_made_while_the_server_is_down_is_uploaded_when_it_returns() {
    let (server_dir, station_dir) = (temp_dir(), temp_dir());
    let address = free_loopback_address();
    let server = TestServer::start(server_dir.path(), address).await;
    let station = provision_station(station_dir.path(), &server.url, &*server.data).await;
    server.stop().await;

    let submitted = submit_as_budi(&station, "Wayan Sudarsana", 2);
    let id = submitted.id.to_string();
    let _sync = start_sync(&station);

    let tried = eventually(Duration::from_secs(10), || {
        station.store().list_enrollments().expect("list")[0].failed_attempts >= 2
    })
    .await;
    assert!(tried, "the station keeps trying while the server is down");
    let summary = &station.store().list_enrollments().expect("list")[0];
    assert_eq!(
        summary.state,
        OutboxState::Pending,
        "an undelivered packet stays pending, never lost"
    );
    let error = summary.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("cannot reach the server"),
        "the officer sees why: {error}"
    );

    let server = TestServer::start(server_dir.path(), address).await;
    let accepted = eventually(Duration::from_secs(20), || {
        state_of(&station, &id) == Some(OutboxState::Accepted)
    })
    .await;
    assert!(
        accepted,
        "once the server is back the packet must go up without anyone acting"
    );
    assert_eq!(
        server.data.packets().await.expect("packets").len(),
        1,
        "exactly one packet at the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrollment_with_an_exception_is_uploaded_only_after_a_supervisor_approves_it() {
    let rig = Rig::start().await;
    let (server, station) = (&rig.server, &rig.station);
    officers::add_officer(
        station.store(),
        "sari",
        "Sari Dewi",
        Role::Supervisor,
        &Password::new(OFFICER_PASSWORD.into()),
        &SystemClock,
    )
    .expect("supervisor account");
    let mut draft = complete_draft(7);
    draft
        .declare_finger_exception(FingerPosition::LeftRing, "bandaged after an injury")
        .expect("exception");
    draft
        .take_exception_photo(&hardware::simulated::SimulatedCamera::new(7))
        .expect("exception photo");
    let id = enrollment::submit(
        station,
        &log_in(station),
        &demographics("Dewi Lestari"),
        &draft,
        &SystemClock,
        &protocol::random::SystemRandom,
    )
    .expect("submit")
    .id;

    let sync = start_sync(station);
    sync.sync_now();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        server.data.packet(id).await.expect("lookup").is_none(),
        "a flagged enrollment must not leave the station before approval"
    );

    let supervisor = officers::login(
        station.store(),
        "sari",
        &Password::new(OFFICER_PASSWORD.into()),
        &SystemClock,
    )
    .expect("supervisor login");
    approval::decide(
        station,
        &supervisor,
        &id.to_string(),
        Decision::Approve,
        "",
        &SystemClock,
    )
    .expect("approve");
    sync.sync_now();
    let accepted = eventually(Duration::from_secs(20), || {
        state_of(station, &id.to_string()) == Some(OutboxState::Accepted)
    })
    .await;
    let record = server.data.packet(id).await.expect("lookup");
    assert!(
        accepted,
        "the approved enrollment is accepted with its declared exception: {record:?}"
    );
}
