//! The distribution of the station's finger score (NFIQ 2) per simulated quality level, for
//! reading the capture threshold (`FINGER_THRESHOLD`) against it: for each level of
//! `Conditions::for_quality` (the simulated reader's placement from good to poor), the score of
//! 60 prints (seeds 1–60, every finger position), as percentiles, with the share of prints below
//! the threshold. With `--real TSV` it also summarises the station's scores of the prints listed
//! in a reference TSV (`scripts/nfiq2_reference.py`'s output: image path relative to the TSV,
//! NIST's score), beside NIST's own.
//!
//! `cargo run --release -p station-core --example finger_scores [-- --real REF.tsv]`

use formats::image::FingerprintImage;
use formats::FingerPosition;
use hardware::simulated::{render_fingerprint_with, Conditions};
use station_core::enrollment::FINGER_THRESHOLD;
use station_core::quality::finger;

fn summary(what: &str, mut scores: Vec<u8>) {
    if scores.is_empty() {
        println!("| {what} | 0 | | | | | | |");
        return;
    }
    scores.sort_unstable();
    let at = |p: usize| scores[(scores.len() - 1) * p / 100];
    let below = scores.iter().filter(|&&s| s < FINGER_THRESHOLD).count();
    println!(
        "| {what} | {} | {} | {} | {} | {} | {} | {:.0} % |",
        scores.len(),
        at(0),
        at(10),
        at(50),
        at(90),
        at(100),
        100.0 * below as f64 / scores.len().max(1) as f64
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("| prints | n | min | p10 | median | p90 | max | below {FINGER_THRESHOLD} |");
    println!("|---|---|---|---|---|---|---|---|");
    for level in [100u8, 80, 70, 60, 50, 40, 30, 20, 10, 0] {
        let mut scores = Vec::new();
        for seed in 1..=60u64 {
            let position = FingerPosition::ALL[(seed % 10) as usize];
            let print = render_fingerprint_with(seed, position, &Conditions::for_quality(level));
            scores.push(finger::assess(&print)?.score);
        }
        summary(&format!("simulated, quality level {level}"), scores);
    }
    if let Some(i) = args.iter().position(|a| a == "--real") {
        let tsv = std::path::PathBuf::from(args.get(i + 1).ok_or("--real needs a TSV")?);
        let dir = tsv.parent().unwrap_or(std::path::Path::new("."));
        let (mut scores, mut reference) = (Vec::new(), Vec::new());
        for line in std::fs::read_to_string(&tsv)?.lines().skip(1) {
            let mut columns = line.split('\t');
            let path = dir.join(columns.next().unwrap_or_default());
            // The reference's refusals (ERROR:…) count as 0, as the station scores them.
            reference.push(columns.next().and_then(|s| s.parse().ok()).unwrap_or(0u8));
            let grey = match image::open(&path) {
                Ok(image) => image.to_luma8(),
                Err(error) => {
                    eprintln!("left out {}: {error}", path.display());
                    reference.pop();
                    continue;
                }
            };
            let (w, h) = grey.dimensions();
            let print = FingerprintImage::new(w, h, 500, grey.into_raw()).ok_or("image size")?;
            scores.push(finger::assess(&print)?.score);
        }
        summary("real prints, NIST NFIQ 2.3 (reference)", reference);
        summary("real prints, the station", scores);
    }
    Ok(())
}
