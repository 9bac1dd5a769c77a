//! Delivery through a bad network: every packet reaches the server exactly once whatever the
//! link does, a station killed mid-upload loses nothing, and each kind of trouble reaches the
//! officer with its own message.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use enrollment_server::uploads::import_folder;
use station_core::clock::{ManualClock, SystemClock};
use station_core::station::{Station, StationPaths};
use station_core::store::outbox::OutboxState;
use station_core::sync::export::export_pending;
use station_core::sync::machine::{Phase, ProblemKind, SyncStatus};
use station_core::sync::{self, SyncConfig, Uploader};
use system_tests::proxy::{Fault, FaultProxy, FAULT_KINDS};
use system_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_packet_reaches_the_server_exactly_once_through_a_link_that_fails_in_every_way() {
    let rig = Rig::start().await;
    let proxy = FaultProxy::start(rig.server.address, 0x5eed_0001).await;
    let config = SyncConfig {
        request_timeout: Duration::from_secs(3),
        chunk_bytes: 32 * 1024,
        ..fast_sync()
    };
    let uploader = Uploader::to_server(&rig.station, &proxy.url, &config, Arc::new(SystemClock))
        .expect("uploader");
    let (handle, task) = sync::start(uploader);
    tokio::spawn(task);

    const PACKETS: usize = 8;
    for n in 0..PACKETS {
        rig.submit(&applicant_name(n), 100 + n as u64);
        handle.sync_now();
    }
    // Faults for a while (bounded), until every kind has hit.
    let every_kind = eventually(Duration::from_secs(60), || {
        let injected = proxy.injected();
        FAULT_KINDS
            .iter()
            .all(|kind| injected.get(kind).copied().unwrap_or(0) >= 1)
    })
    .await;
    assert!(
        every_kind,
        "the proxy injected every kind of fault: {:?}",
        proxy.injected()
    );
    proxy.heal();
    handle.sync_now();
    let station = &rig.station;
    let all_accepted = eventually(Duration::from_secs(60), || {
        outbox(station)
            .iter()
            .all(|(_, _, state, _)| *state == OutboxState::Accepted)
    })
    .await;
    assert!(
        all_accepted,
        "after the link heals every packet is accepted: {:?}; sync {:?}",
        outbox(station),
        handle.status()
    );
    assert_delivered_exactly_once(&rig.server, station, PACKETS).await;
    let failed: u32 = station
        .store()
        .list_enrollments()
        .expect("list")
        .iter()
        .map(|s| s.failed_attempts)
        .sum();
    assert!(
        failed >= 3,
        "the faults hit uploads in flight ({failed} failed attempts recorded)"
    );
    assert_eq!(
        handle.status().problem,
        None,
        "the problem clears once delivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_killed_again_and_again_during_upload_loses_and_duplicates_nothing() {
    let rig = Rig::start().await;
    // Latency only, so that uploads take long enough to be killed in the middle.
    let proxy = FaultProxy::start(rig.server.address, 7).await;
    proxy.always(Fault::Latency(15));
    const PACKETS: usize = 6;
    for n in 0..PACKETS {
        rig.submit(&applicant_name(n), 200 + n as u64);
    }
    let run = || {
        Command::new(workspace_binary("station"))
            .args(["sync", "--chunk-bytes", "16384", "--server", &proxy.url])
            .env("STATION_DATA_DIR", rig.station_dir.path())
            .env("STATION_PASSPHRASE", STATION_PASSPHRASE)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the station")
    };
    let mut random: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut killed_mid_way = 0;
    for _ in 0..12 {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let mut child = run();
        tokio::time::sleep(Duration::from_millis(150 + random % 900)).await;
        if child.try_wait().expect("wait").is_none() {
            // SIGKILL: no destructor, no flush, no goodbye.
            child.kill().expect("kill");
            killed_mid_way += 1;
        }
        let _ = child.wait();
        if outbox(&rig.station)
            .iter()
            .all(|(_, _, state, _)| *state == OutboxState::Accepted)
        {
            break;
        }
    }
    assert!(killed_mid_way >= 2, "the test killed uploads in progress");
    proxy.heal();
    let status = run().wait().expect("a last, uninterrupted run");
    assert!(status.success(), "the last run finishes cleanly");
    assert_delivered_exactly_once(&rig.server, &rig.station, PACKETS).await;
    let reopened = Station::open(StationPaths::new(rig.station_dir.path()), &passphrase())
        .expect("the station opens after being killed");
    reopened
        .store()
        .integrity_check()
        .expect("the station database passes integrity_check");
}

fn assert_problem(status: &SyncStatus, kind: ProblemKind) {
    let problem = status
        .problem
        .as_ref()
        .unwrap_or_else(|| panic!("expected {kind:?}, the pass ended without a problem"));
    assert_eq!(problem.kind, kind, "{}", problem.detail);
    assert_eq!(status.message, Some(kind.officer_message()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_trouble_reaches_the_officer_with_its_own_message() {
    let rig = Rig::start().await;
    rig.submit("Siti Rahayu", 31);
    let station = &rig.station;
    let clock: Arc<dyn station_core::clock::Clock> = Arc::new(SystemClock);

    // Offline: nothing listens.
    let nothing = format!("http://{}", free_loopback_address());
    assert_problem(
        &one_pass(station, &nothing, clock.clone()).await,
        ProblemKind::Offline,
    );

    // TLS: the server speaks plain HTTP where the station expects TLS.
    let tls = rig.server.url.replace("http://", "https://");
    assert_problem(
        &one_pass(station, &tls, clock.clone()).await,
        ProblemKind::DnsOrTls,
    );

    // DNS: a name that cannot resolve.
    let dns = "https://enrollment-server.invalid:8750";
    assert_problem(
        &one_pass(station, dns, clock.clone()).await,
        ProblemKind::DnsOrTls,
    );

    // Clock skew: the station's clock is an hour ahead.
    let skewed = Arc::new(ManualClock::new(
        time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    ));
    let status = one_pass(station, &rig.server.url, skewed).await;
    assert_problem(&status, ProblemKind::ClockSkew);
    assert!(status.problem.expect("problem").detail.contains("ahead"));

    // Server error: the server (behind a proxy) answers 503, then garbage.
    let proxy = FaultProxy::start(rig.server.address, 1).await;
    proxy.always(Fault::Status(503));
    assert_problem(
        &one_pass(station, &proxy.url, clock.clone()).await,
        ProblemKind::ServerError,
    );
    proxy.always(Fault::Garbage);
    assert_problem(
        &one_pass(station, &proxy.url, clock.clone()).await,
        ProblemKind::ServerError,
    );

    // Not registered: a server that never registered this station.
    let other_dir = temp_dir();
    let other = TestServer::start(other_dir.path(), "127.0.0.1:0".parse().expect("addr")).await;
    assert_problem(
        &one_pass(station, &other.url, clock.clone()).await,
        ProblemKind::NotRegistered,
    );

    // Revoked.
    rig.server
        .data
        .revoke_station(station.config().station_id)
        .await
        .expect("revoke");
    assert_problem(
        &one_pass(station, &rig.server.url, clock.clone()).await,
        ProblemKind::Revoked,
    );

    // Through all of it the packet stayed pending, with the last reason on it.
    let summary = &station.store().list_enrollments().expect("list")[0];
    assert_eq!(summary.state, OutboxState::Pending);
    assert!(summary.failed_attempts >= 7);
    assert!(summary
        .last_error
        .as_deref()
        .is_some_and(|e| e.starts_with(ProblemKind::Revoked.label())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packet_the_server_refuses_is_marked_rejected_with_its_reason_and_the_rest_go_on() {
    let rig = Rig::start().await;
    let refused = rig.submit("Sealed for an old key", 41);
    // The server's encryption key changes: the first packet was sealed for a key it no longer
    // holds. A packet sealed after the station learns nothing new is refused too, so only the
    // first is queued before the change.
    let address = rig.server.address;
    let Rig {
        server,
        station,
        station_dir,
        server_dir,
    } = rig;
    server.stop().await;
    std::fs::write(server_dir.path().join("keys/encryption.key"), [7u8; 32]).expect("new key");
    let adopted = server_command(server_dir.path())
        .await
        .arg("adopt-keys")
        .output()
        .expect("enrollment-server runs");
    assert!(adopted.status.success(), "{adopted:?}");
    let server = TestServer::start(server_dir.path(), address).await;
    let status = one_pass(&station, &server.url, Arc::new(SystemClock)).await;
    assert_eq!(
        status.phase,
        Phase::Idle,
        "the pass goes on past a refused packet"
    );
    let problem = status.problem.expect("the officer is told");
    assert_eq!(problem.kind, ProblemKind::PacketRejected);
    let summary = station
        .store()
        .list_enrollments()
        .expect("list")
        .into_iter()
        .find(|s| s.enrollment.id == refused.id.to_string())
        .expect("listed");
    assert_eq!(summary.state, OutboxState::Rejected);
    assert!(summary
        .server_reason
        .as_deref()
        .is_some_and(|r| r.starts_with("wrong_recipient")));
    drop((station_dir, server_dir));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_exported_to_a_usb_stick_are_imported_and_the_station_learns_their_verdicts_without_uploading_them(
) {
    let rig = Rig::start().await;
    for n in 0..3 {
        rig.submit(&applicant_name(n as usize), 50 + n);
    }
    let stick = temp_dir();
    let report = export_pending(&rig.station, stick.path(), "budi", &SystemClock).expect("export");
    assert_eq!(report.packets, 3);
    let files = std::fs::read_dir(stick.path()).expect("stick").count();
    assert_eq!(files, 3, "one sealed file per packet");

    // Online before the stick arrives: nothing is uploaded, the server is only asked.
    let status = one_pass(&rig.station, &rig.server.url, Arc::new(SystemClock)).await;
    assert_eq!(status.bytes_sent, 0, "exported packets are not uploaded");
    assert!(rig.server.data.packets().await.expect("packets").is_empty());

    let imported = import_folder(
        &*rig.server.data,
        stick.path(),
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("import");
    assert_eq!((imported.new, imported.refused), (3, 0));
    let again = import_folder(
        &*rig.server.data,
        stick.path(),
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("import again");
    assert_eq!(again.again, 3, "a second import counts nothing twice");

    let status = one_pass(&rig.station, &rig.server.url, Arc::new(SystemClock)).await;
    assert_eq!(status.bytes_sent, 0, "still nothing uploaded");
    assert_eq!(
        status.packets_done, 3,
        "the verdicts are learned from the server"
    );
    assert_delivered_exactly_once(&rig.server, &rig.station, 3).await;
    let metrics = metrics_of(&rig.server).await;
    assert!(
        metrics.contains("enrollment_packet_bytes_received_total 0\n"),
        "no packet byte came over the network: {metrics}"
    );
}
