//! Writes the simulator's fingerprint set: for each seed, a synthetic print under good,
//! middling and poor placement, and the good print spoilt by each degradation (blur, noise, low
//! contrast, partial contact, smudge) at five strengths (0.2 to 1.0). Each image is saved as PNG,
//! and `corpus.csv` lists it with the station's score (its NFIQ 2, `finger::assess`). The
//! agreement with NIST's NFIQ 2 is measured on these PNGs by `scripts/nfiq2_reference.py` and
//! `core/examples/nfiq2_agreement.rs`; the score distribution per simulated quality level, for
//! the capture threshold, comes from `corpus.csv` (see `docs/benchmarks.md`).
//!
//! `cargo run --release -p station-core --example quality_corpus -- OUT_DIR [SEEDS] [FIRST_SEED]`

use std::io::Write;

use formats::FingerPosition;
use hardware::simulated::{degrade, render_fingerprint_with, Conditions, Degradation};
use station_core::quality::finger;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: quality_corpus OUT_DIR [SEEDS] [FIRST_SEED]";
    let dir = std::path::PathBuf::from(args.next().ok_or(usage)?);
    let seeds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(30);
    let first: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    std::fs::create_dir_all(&dir)?;
    let mut csv = std::fs::File::create(dir.join("corpus.csv"))?;
    writeln!(
        csv,
        "file,seed,variant,strength,score,minutiae,foreground_pixels"
    )?;
    let mut written = 0;
    for seed in first..first + seeds {
        let finger = FingerPosition::ALL[(seed % 10) as usize];
        let mut variants = Vec::new();
        for (name, score) in [("good", 80u8), ("middling", 50), ("poor", 20)] {
            let print = render_fingerprint_with(seed, finger, &Conditions::for_quality(score));
            variants.push((name.to_owned(), 0.0, print));
        }
        let good = render_fingerprint_with(seed, finger, &Conditions::GOOD);
        for degradation in Degradation::ALL {
            for strength in [0.2, 0.4, 0.6, 0.8, 1.0] {
                let print = degrade(&good, degradation, strength, seed);
                variants.push((degradation.name().to_owned(), strength, print));
            }
        }
        for (variant, strength, print) in variants {
            let file = format!("s{seed:03}_{variant}_{:02}.png", (strength * 10.0) as u32);
            image::GrayImage::from_raw(print.width(), print.height(), print.pixels().to_vec())
                .ok_or("image size")?
                .save(dir.join(&file))?;
            let quality = finger::assess(&print)?;
            writeln!(
                csv,
                "{file},{seed},{variant},{strength},{},{},{}",
                quality.score, quality.minutiae, quality.foreground_pixels
            )?;
            written += 1;
        }
    }
    println!("wrote {written} prints and corpus.csv to {}", dir.display());
    Ok(())
}
