//! How long the station's quality checks take on one core, for live guidance.
//!
//! `cargo bench -p station-core --bench quality` (release profile; single-threaded: nothing in
//! the checks spawns threads). Prints the median and 95th percentile over many runs on varied
//! inputs; the figures go in `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use formats::image::FingerprintImage;
use formats::FingerPosition;
use hardware::simulated::{
    degrade, render_fingerprint_with, render_slap_without, Conditions, Degradation,
};
use hardware::Camera;
use hardware::FingerSet;
use station_core::quality::{face, finger, slap};

fn report(what: &str, target: Duration, mut times: Vec<Duration>) {
    times.sort();
    let median = times[times.len() / 2];
    let p95 = times[times.len() * 95 / 100];
    let verdict = if p95 <= target { "met" } else { "MISSED" };
    println!(
        "{what:<44} median {:>7.2} ms   p95 {:>7.2} ms   target {:>5.1} ms   {verdict}",
        median.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3,
        target.as_secs_f64() * 1e3,
    );
}

fn main() {
    bench_face();
    // Prints of several fingers, clean and spoilt, so the figure is not one lucky image.
    let mut prints = Vec::new();
    for seed in 1..=10u64 {
        let finger = FingerPosition::ALL[(seed % 10) as usize];
        let good = render_fingerprint_with(seed, finger, &Conditions::GOOD);
        prints.push(render_fingerprint_with(
            seed,
            finger,
            &Conditions::for_quality(40),
        ));
        prints.push(degrade(
            &good,
            Degradation::ALL[(seed % 5) as usize],
            0.5,
            seed,
        ));
        prints.push(good);
    }
    report(
        "finger quality, 400×500 at 500 ppi",
        Duration::from_millis(17),
        time_finger_quality(&prints, 10),
    );
    // The same prints from a 1000 ppi reader: resampled to 500 ppi first (NIST's NFIR filter).
    let fine: Vec<_> = prints.iter().map(double).collect();
    report(
        "finger quality, 800×1000 at 1000 ppi (resampled)",
        Duration::from_millis(100),
        time_finger_quality(&fine, 4),
    );

    // Slaps as the simulated reader gives them (800×520 at 250 ppi), some with a finger missing,
    // and the same slaps doubled to 1600×1040 at 500 ppi, the size of a real 4-4-2 reader's.
    let mut slaps = Vec::new();
    for seed in 1..=6u64 {
        for set in FingerSet::ALL {
            let missing = if seed % 2 == 0 {
                &set.fingers()[..1]
            } else {
                &[]
            };
            let frame = render_slap_without(seed, set, 0, missing);
            let grey: Vec<u8> = frame.pixels().chunks(3).map(|rgb| rgb[0]).collect();
            slaps.push((
                set,
                FingerprintImage::new(800, 520, 250, grey).expect("800×520"),
            ));
        }
    }
    let full: Vec<_> = slaps
        .iter()
        .map(|(set, image)| (*set, double(image)))
        .collect();
    for (what, slaps) in [
        ("slap segmentation, 800×520 at 250 ppi", &slaps),
        ("slap segmentation, 1600×1040 at 500 ppi", &full),
    ] {
        let mut times = Vec::new();
        for round in 0..6 {
            for (set, image) in slaps.iter() {
                let start = Instant::now();
                let _ = black_box(slap::segment(black_box(image), *set));
                if round > 0 {
                    times.push(start.elapsed());
                }
            }
        }
        report(what, Duration::from_millis(30), times);
    }
}

/// The face checks on 640×480 frames: the astronaut photo framed as a camera would, and the
/// simulated camera's frames.
fn bench_face() {
    let photo = image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/astronaut.png"
    ))
    .expect("the astronaut fixture")
    .to_rgb8();
    let region = image::imageops::crop_imm(&photo, 40, 0, 366, 274).to_image();
    let framed = image::imageops::resize(&region, 640, 480, image::imageops::FilterType::Triangle);
    let astronaut = formats::image::RgbFrame::new(640, 480, framed.into_raw()).expect("640×480");
    let camera = hardware::simulated::SimulatedCamera::new(3);
    let simulated = camera.capture_still().expect("a simulated frame");
    let wide = hardware::simulated::SimulatedCamera::with_resolution(3, 1280, 720)
        .capture_still()
        .expect("a simulated 1280×720 frame");
    let mut checker = face::FaceChecker::new().expect("the detector model");
    for (what, frame) in [
        ("face checks, 640×480 (astronaut photo)", &astronaut),
        ("face checks, 640×480 (simulated camera)", &simulated),
        ("face checks, 1280×720 (simulated camera)", &wide),
    ] {
        let first = checker.assess(frame);
        println!(
            "  ({what}: {} face(s), compliant: {})",
            first.faces,
            first.compliant()
        );
        let mut times = Vec::new();
        for _ in 0..60 {
            let start = Instant::now();
            black_box(checker.assess(black_box(frame)));
            times.push(start.elapsed());
        }
        report(what, Duration::from_millis(20), times);
    }
}

/// The time of each finger assessment of `prints` over `rounds` rounds, the first (warm-up)
/// round left out.
fn time_finger_quality(prints: &[FingerprintImage], rounds: usize) -> Vec<Duration> {
    let mut times = Vec::new();
    for round in 0..rounds {
        for print in prints {
            let start = Instant::now();
            let _ = black_box(finger::assess(black_box(print)));
            if round > 0 {
                times.push(start.elapsed());
            }
        }
    }
    times
}

/// Each pixel twice across and twice down, at double the resolution.
fn double(image: &FingerprintImage) -> FingerprintImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let pixels = (0..h * 2)
        .flat_map(|y| (0..w * 2).map(move |x| (y / 2) * w + x / 2))
        .map(|i| image.pixels()[i])
        .collect();
    FingerprintImage::new(
        image.width() * 2,
        image.height() * 2,
        image.resolution_ppi() * 2,
        pixels,
    )
    .expect("doubled size")
}
