//! Writes `docs/fingerprint-montage.png` (at half size): one synthetic finger under six
//! placements — good, light pressure, dry skin, sensor noise, partial contact, rotated 20° — and
//! the three slaps of the same applicant as a 4-4-2 reader's platen shows them.
//!
//! `cargo run -p station-hardware --example montage [-- OUTPUT.png]`

use formats::FingerPosition;
use station_hardware::simulated::{render_fingerprint_with, render_slap, Conditions};
use station_hardware::FingerSet;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let output = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "docs/fingerprint-montage.png".into());
    let seed = 42;
    let finger = FingerPosition::RightIndex;
    let placements = [
        Conditions::GOOD,
        Conditions {
            pressure: 0.4,
            ..Conditions::GOOD
        },
        Conditions {
            dryness: 0.7,
            ..Conditions::GOOD
        },
        Conditions {
            noise: 45.0,
            ..Conditions::GOOD
        },
        Conditions {
            contact: 0.45,
            ..Conditions::GOOD
        },
        Conditions {
            rotation_deg: 20.0,
            ..Conditions::GOOD
        },
    ];
    // Row 1: six 400×500 prints; row 2: three 800×520 slaps scaled to 800 wide each.
    let (width, height) = (2400u32, 500 + 520);
    let mut canvas = image::GrayImage::from_pixel(width, height, image::Luma([255]));
    for (i, conditions) in placements.iter().enumerate() {
        let print = render_fingerprint_with(seed, finger, conditions);
        for y in 0..print.height() {
            for x in 0..print.width() {
                let v = print.pixels()[(y * print.width() + x) as usize];
                canvas.put_pixel(i as u32 * 400 + x, y, image::Luma([v]));
            }
        }
    }
    for (i, set) in FingerSet::ALL.into_iter().enumerate() {
        let slap = render_slap(seed, set, 0);
        for y in 0..slap.height() {
            for x in 0..slap.width() {
                let v = slap.pixels()[((y * slap.width() + x) * 3) as usize];
                canvas.put_pixel(i as u32 * 800 + x, 500 + y, image::Luma([v]));
            }
        }
    }
    // Half size keeps the file small; ridges stay visible (about 4.5 pixels apart).
    image::imageops::resize(
        &canvas,
        width / 2,
        height / 2,
        image::imageops::FilterType::Triangle,
    )
    .save(&output)?;
    println!("wrote {output}");
    Ok(())
}
