//! How big a full enrollment's biometrics are: ten fingers from the simulated reader and the
//! face photo the station keeps (the ISO token crop), with the fingers as PNG (what packets
//! carry today) and as ISO/IEC 19794-4 records with WSQ at 0.75 bpp.
//!
//! `cargo run --release -p station-core --example enrollment_size [SEED]`

use formats::records::finger::{Compression, FingerRecord, FingerView};
use formats::records::{CaptureDevice, CaptureTime};
use formats::FingerPosition;
use hardware::simulated::{SimulatedCamera, SimulatedScanner};
use hardware::{Camera, FingerprintScanner};
use station_core::quality::face::{token_frontal, FaceChecker};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1);
    let scanner = SimulatedScanner::new(seed);
    let (mut png, mut wsq) = (0usize, 0usize);
    for finger in FingerPosition::ALL {
        let print = scanner.capture(finger)?;
        let record = |compression| FingerRecord {
            captured_at: CaptureTime::from_datetime(time::OffsetDateTime::UNIX_EPOCH),
            device: CaptureDevice::default(),
            views: vec![FingerView {
                position: finger.iso_code(),
                quality: Vec::new(),
                impression: 0,
                image: print.clone(),
                compression,
            }],
        };
        png += record(Compression::Png).to_bytes()?.len();
        wsq += record(Compression::Wsq).to_bytes()?.len();
    }
    let frame = SimulatedCamera::new(seed).capture_still()?;
    let assessment = FaceChecker::new()?.assess(&frame);
    let geometry = assessment
        .geometry
        .ok_or("no face on the simulated camera")?;
    let token = token_frontal(&frame, &geometry);
    let face = station_core::imaging::encode_face_jpeg(&token)?.len();
    println!("ten fingers, PNG records:   {png:>9} bytes");
    println!("ten fingers, WSQ records:   {wsq:>9} bytes");
    println!("face, token crop JPEG q90:  {face:>9} bytes");
    println!("biometrics with WSQ:        {:>9} bytes", wsq + face);
    println!("biometrics with PNG:        {:>9} bytes", png + face);
    Ok(())
}
