//! How long the station's quality checks take on one core, for live guidance.
//!
//! `cargo bench -p station-core --bench quality` (release profile; single-threaded: nothing in
//! the checks spawns threads). Prints the median and 95th percentile over many runs on varied
//! inputs; the figures go in `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use hardware::simulated::{degrade, render_fingerprint_with, Conditions, Degradation};
use hardware::FingerPosition;
use station_core::quality::finger;

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
    let mut times = Vec::new();
    for round in 0..10 {
        for print in &prints {
            let start = Instant::now();
            black_box(finger::assess(black_box(print)));
            if round > 0 {
                times.push(start.elapsed());
            }
        }
    }
    report(
        "finger quality, 400×500 at 500 ppi",
        Duration::from_millis(17),
        times,
    );
}
