//! Sync benchmarks (results in `docs/benchmarks.md`):
//!
//! 1. drain: a station with a backlog of N sealed packets uploads them all to a server on
//!    loopback; packets per second and MB/s, wall clock, both in this process.
//! 2. cut: one large packet is cut off mid-upload (the proxy drops the connection half-way);
//!    how many bytes the station had to send again.
//!
//! `cargo run --release -p system-tests --bin sync_bench -- [PACKETS] [CAMERA_WIDTH] [CHUNK_BYTES]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use formats::FingerPosition;
use hardware::simulated::{SimulatedCamera, SimulatedScanner};
use station_core::clock::SystemClock;
use station_core::enrollment::{self, EnrollmentDraft};
use station_core::sync::{SyncConfig, Uploader};
use system_tests::proxy::{Fault, FaultProxy};
use system_tests::*;

fn draft(width: u32) -> EnrollmentDraft {
    let mut draft = EnrollmentDraft::new();
    draft
        .capture_face(&SimulatedCamera::with_resolution(1, width, width * 3 / 4))
        .expect("face");
    let scanner = SimulatedScanner::new(1);
    for finger in FingerPosition::ALL {
        draft.capture_finger(&scanner, finger).expect("finger");
    }
    draft
}

fn fill(rig: &Rig, count: usize, width: u32) -> u64 {
    let officer = log_in(&rig.station);
    let draft = draft(width);
    let mut bytes = 0;
    for n in 0..count {
        let submitted = enrollment::submit(
            &rig.station,
            &officer,
            &demographics(&applicant_name(n)),
            &draft,
            &SystemClock,
            &protocol::random::SystemRandom,
        )
        .expect("submit");
        bytes += submitted.packet_bytes as u64;
    }
    bytes
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let packets: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let width: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(640);
    let chunk: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(256 * 1024);
    let config = SyncConfig {
        chunk_bytes: chunk,
        request_timeout: Duration::from_secs(30),
        ..SyncConfig::default()
    };

    // 1. Drain.
    let rig = Rig::start().await;
    let started = Instant::now();
    let total = fill(&rig, packets, width);
    println!(
        "sealed {packets} packets of {:.2} MB on average in {:.1} s",
        total as f64 / packets as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let uploader = Uploader::new(&rig.station, &config, Arc::new(SystemClock)).expect("uploader");
    let started = Instant::now();
    let status = uploader.run_pass().await;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        status.problem, None,
        "the drain ran into {:?}",
        status.problem
    );
    assert_eq!(status.packets_done as usize, packets);
    println!(
        "drain: {packets} packets, {:.1} MB in {seconds:.2} s = {:.1} packets/s, {:.1} MB/s (chunk {} KiB)",
        total as f64 / 1e6,
        packets as f64 / seconds,
        total as f64 / 1e6 / seconds,
        config.chunk_bytes / 1024
    );
    // The images stage (every image decoded in full, after intake) works through its queue
    // beside the drain; how long after the last receipt it is through.
    let drained = Instant::now();
    loop {
        let waiting: u64 = rig
            .server
            .data
            .jobs_waiting()
            .await
            .expect("jobs")
            .iter()
            .map(|(_, n)| n)
            .sum();
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "images stage through its queue {:.2} s after the drain ({:.1} packets/s end to end)",
        drained.elapsed().as_secs_f64(),
        packets as f64 / started.elapsed().as_secs_f64()
    );

    // 1b. The server's intake alone (verify, decrypt, read every image's structure, store), no
    // HTTP.
    let rig = Rig::start().await;
    let count = packets.min(100);
    fill(&rig, count, width);
    let sealed: Vec<Vec<u8>> = rig
        .station
        .store()
        .pending_packets(count)
        .expect("pending")
        .into_iter()
        .map(|p| p.packet)
        .collect();
    let started = Instant::now();
    for bytes in sealed {
        enrollment_server::intake::receive(
            &*rig.server.data,
            bytes,
            None,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("intake");
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "intake alone (one packet at a time): {count} packets in {seconds:.2} s = {:.1} packets/s, {:.1} ms each",
        count as f64 / seconds,
        seconds * 1000.0 / count as f64
    );

    // 2. A cut in the middle of one large upload.
    let rig = Rig::start().await;
    let size = fill(&rig, 1, 2560);
    let proxy = FaultProxy::start(rig.server.address, 3).await;
    proxy.always(Fault::DropMidBody(usize::try_from(size / 2).expect("size")));
    let uploader = Uploader::to_server(&rig.station, &proxy.url, &config, Arc::new(SystemClock))
        .expect("uploader");
    let first = uploader.run_pass().await;
    assert!(first.problem.is_some(), "the cut stopped the first pass");
    proxy.heal();
    let second = uploader.run_pass().await;
    assert_eq!(second.packets_done, 1, "{:?}", second.problem);
    let sent = first.bytes_sent + second.bytes_sent;
    println!(
        "cut: a {:.2} MB packet cut at {:.2} MB: {} bytes on the wire in all, {} bytes sent again (chunk {} bytes)",
        size as f64 / 1e6,
        size as f64 / 2e6,
        sent,
        sent.saturating_sub(size),
        config.chunk_bytes
    );
}
