//! Writes synthetic prints as PNG files named `s{seed}_q{score}.png`: for each seed, one finger
//! rendered with `Conditions::for_quality` at scores 80, 60, 40 and 20. Used by
//! `scripts/nfiq2_synthetic.py` to check the prints against NFIQ 2.
//!
//! `cargo run --release -p station-hardware --example export_prints -- OUT_DIR [SEEDS]`

use formats::FingerPosition;
use station_hardware::simulated::{render_fingerprint_with, Conditions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: export_prints OUT_DIR [SEEDS]")?);
    let seeds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(12);
    std::fs::create_dir_all(&dir)?;
    for seed in 1..=seeds {
        let finger = FingerPosition::ALL[(seed % 10) as usize];
        for score in [80u8, 60, 40, 20] {
            let print = render_fingerprint_with(seed, finger, &Conditions::for_quality(score));
            let image =
                image::GrayImage::from_raw(print.width(), print.height(), print.pixels().to_vec())
                    .ok_or("image size")?;
            image.save(dir.join(format!("s{seed}_q{score}.png")))?;
        }
    }
    println!("wrote {} prints to {}", seeds * 4, dir.display());
    Ok(())
}
