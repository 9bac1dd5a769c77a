//! The live preview at 1280×720 from the simulated camera: frames per second reaching the
//! point where the app hands them to its IPC channel, the latency from the moment the sensor
//! had each frame to that point, and whether that latency grows (a queue building up).
//!
//! `cargo bench -p station-core --bench preview` (release profile). The simulated camera paces
//! itself like a sensor: frame n is due n/30 s after the stream opened; a consumer slower than
//! 30 fps falls behind and its latency grows frame after frame. What is not measured here: the
//! IPC hop into the web view and the web view decoding and drawing the frame (only the running
//! app has those). Figures go in `docs/benchmarks.md`.

use std::time::{Duration, Instant};

use base64::Engine;
use hardware::simulated::SimulatedCamera;
use hardware::Camera;
use station_core::imaging;
use station_core::quality::face::{self, FaceChecker};

const FPS: f64 = 30.0;
const SECONDS: u64 = 6;

/// Runs `payload` on every frame for [`SECONDS`] and prints the figures; returns the payload
/// bytes of the last frame.
fn run(what: &str, mut payload: impl FnMut(&formats::image::RgbFrame) -> usize) {
    let camera = SimulatedCamera::with_resolution(1, 1280, 720);
    let mut stream = match camera.open_stream() {
        Ok(stream) => stream,
        Err(error) => {
            eprintln!("cannot open the simulated camera: {error}");
            std::process::exit(1);
        }
    };
    let opened = Instant::now();
    let mut latencies = Vec::new();
    let mut bytes = 0;
    let mut n = 0u32;
    while opened.elapsed() < Duration::from_secs(SECONDS) {
        let frame = match stream.next_frame() {
            Ok(frame) => frame,
            Err(error) => {
                eprintln!("the simulated camera failed: {error}");
                std::process::exit(1);
            }
        };
        // The stream's first frame is due when it opens; frame n is due n/30 s later.
        let due = opened + Duration::from_secs_f64(f64::from(n) / FPS);
        bytes = payload(&frame);
        latencies.push(Instant::now().saturating_duration_since(due));
        n += 1;
    }
    report(what, n, opened.elapsed().as_secs_f64(), &latencies, bytes);
}

/// Prints the figures of `n` frames over `elapsed` seconds.
fn report(what: &str, n: u32, elapsed: f64, latencies: &[Duration], bytes: usize) {
    let fps = f64::from(n) / elapsed;
    let tenth = (latencies.len() / 10).max(1);
    let mean = |part: &[Duration]| {
        part.iter().map(Duration::as_secs_f64).sum::<f64>() / part.len().max(1) as f64 * 1e3
    };
    let (early, late) = (
        mean(&latencies[..tenth]),
        mean(&latencies[latencies.len() - tenth..]),
    );
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let p95 = sorted[sorted.len() * 95 / 100].as_secs_f64() * 1e3;
    let growing = late > early + 50.0;
    println!(
        "{what:<58} {fps:>5.1} fps  latency p95 {p95:>7.1} ms  first/last tenth {early:>6.1}/{late:>7.1} ms  {}  {:>7} bytes/frame",
        if growing { "GROWING" } else { "steady " },
        bytes
    );
}

/// The face step's own loop, [`face::watch`], with the app's preview encoding in its callback:
/// the checks on their own thread, the preview at the camera's pace.
fn face_step(b64: &base64::engine::GeneralPurpose) {
    let camera = SimulatedCamera::with_resolution(1, 1280, 720);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let opened = Instant::now();
    let (mut latencies, mut bytes, mut n, mut checked) = (Vec::new(), 0, 0u32, 0u32);
    // Never enough good frames in a row to end the watch: it runs until the limit.
    let outcome = face::watch(
        &camera,
        usize::MAX,
        Duration::from_secs(SECONDS),
        &stop,
        |frame, assessment, _| {
            let due = opened + Duration::from_secs_f64(f64::from(n) / FPS);
            std::hint::black_box(assessment);
            checked += u32::from(assessment.faces > 0);
            bytes = imaging::preview_jpeg(frame).map_or(0, |jpeg| b64.encode(jpeg).len());
            latencies.push(Instant::now().saturating_duration_since(due));
            n += 1;
        },
    );
    if let Err(error) = outcome {
        eprintln!("the face step's watch failed: {error}");
        std::process::exit(1);
    }
    report(
        "face step as it runs: face::watch + half-size JPEG data URL",
        n,
        opened.elapsed().as_secs_f64(),
        &latencies,
        bytes,
    );
}

fn main() {
    let b64 = base64::engine::general_purpose::STANDARD;
    println!(
        "1280×720 simulated camera, {SECONDS} s per line (targets: ≥ 30 fps, latency ≤ 100 ms, steady)"
    );
    run("raw RGB, no encoding (binary channel)", |frame| {
        frame.pixels().to_vec().len()
    });
    run("full-size JPEG q70 (binary channel)", |frame| {
        hardware::convert::rgb_to_jpeg(frame, 70).map_or(0, |jpeg| jpeg.len())
    });
    run("half-size JPEG q70 (binary channel)", |frame| {
        imaging::preview_jpeg(frame).map_or(0, |jpeg| jpeg.len())
    });
    run(
        "half-size JPEG q70 as a base64 data URL in JSON (today)",
        |frame| {
            imaging::preview_jpeg(frame).map_or(0, |jpeg| {
            let json = serde_json::json!({ "preview": format!("data:image/jpeg;base64,{}", b64.encode(jpeg)) });
            json.to_string().len()
        })
        },
    );
    let mut checker = match FaceChecker::new() {
        Ok(checker) => checker,
        Err(error) => {
            eprintln!("cannot load the face model: {error}");
            std::process::exit(1);
        }
    };
    run(
        "checks and preview on one thread, one after the other",
        |frame| {
            let assessment = checker.assess(frame);
            std::hint::black_box(&assessment);
            imaging::preview_jpeg(frame).map_or(0, |jpeg| b64.encode(jpeg).len())
        },
    );
    face_step(&b64);
}
