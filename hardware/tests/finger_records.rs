//! ISO/IEC 19794-4 finger records written and read back with the simulated reader's prints:
//! raw, PNG and WSQ views, truncations, per-centimetre sampling rates, inconsistent headers.

use formats::records::finger::{Compression, FingerRecord, FingerView};
use formats::records::{CaptureDevice, CaptureTime, QualityBlock, RecordError};
use formats::FingerPosition;
use station_hardware::simulated::render_fingerprint;

fn record(compression: Compression) -> FingerRecord {
    let views = [FingerPosition::LeftIndex, FingerPosition::LeftMiddle]
        .into_iter()
        .map(|finger| FingerView {
            position: finger.iso_code(),
            quality: vec![QualityBlock {
                score: 77,
                algorithm_owner: 0x0103,
                algorithm_id: 0x0001,
            }],
            impression: 0,
            image: render_fingerprint(5, finger),
            compression,
        })
        .collect();
    FingerRecord {
        captured_at: CaptureTime {
            year: 2026,
            month: 11,
            day: 23,
            hour: 9,
            minute: 30,
            second: 5,
            millisecond: 250,
        },
        device: CaptureDevice {
            technology: 4,
            vendor: 0x00FF,
            device_type: 7,
        },
        views,
    }
}

#[test]
fn a_finger_record_reads_back_exactly_as_written_raw_and_png() {
    for compression in [Compression::Uncompressed, Compression::Png] {
        let original = record(compression);
        let bytes = original.to_bytes().expect("writes");
        assert_eq!(&bytes[..8], b"FIR\x00020\x00");
        assert_eq!(FingerRecord::from_bytes(&bytes).expect("reads"), original);
    }
}

#[test]
fn every_truncation_of_a_record_is_refused_without_panicking() {
    let bytes = record(Compression::Png).to_bytes().expect("writes");
    for cut in 0..bytes.len() {
        assert!(
            FingerRecord::from_bytes(&bytes[..cut]).is_err(),
            "a record cut at {cut} must be refused"
        );
    }
}

#[test]
fn a_sampling_rate_given_per_centimetre_is_read_in_pixels_per_inch() {
    let bytes = record(Compression::Uncompressed)
        .to_bytes()
        .expect("writes");
    // The first view's scale units (offset 26 in its representation, after the 16-byte
    // header) and image sampling rate (offset 31, two bytes, big-endian).
    let (scale, rate) = (16 + 26, 16 + 31);
    let mut per_cm = bytes.clone();
    per_cm[scale] = 2;
    per_cm[rate..rate + 2].copy_from_slice(&197u16.to_be_bytes());
    let read = FingerRecord::from_bytes(&per_cm).expect("reads");
    assert_eq!(read.views[0].image.resolution_ppi(), 500, "197 per cm");
    let mut unknown = bytes;
    unknown[scale] = 7;
    assert!(matches!(
        FingerRecord::from_bytes(&unknown),
        Err(RecordError::Inconsistent(reason)) if reason.contains("scale units")
    ));
}

#[test]
fn inconsistent_headers_are_refused_with_the_reason() {
    let bytes = record(Compression::Uncompressed)
        .to_bytes()
        .expect("writes");
    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert!(matches!(
        FingerRecord::from_bytes(&wrong_magic),
        Err(RecordError::BadMagic { .. })
    ));
    let mut wrong_count = bytes.clone();
    wrong_count[15] = 3; // distinct positions
    assert!(matches!(
        FingerRecord::from_bytes(&wrong_count),
        Err(RecordError::Inconsistent(reason)) if reason.contains("finger positions")
    ));
    let mut jpeg = bytes.clone();
    // compression byte of the first view: header 16 + offset 36 within the representation.
    jpeg[16 + 36] = 3;
    assert_eq!(
        FingerRecord::from_bytes(&jpeg),
        Err(RecordError::UnsupportedCompression(3))
    );
    // Raw pixels labelled WSQ are not a WSQ image.
    let mut mislabelled = bytes;
    mislabelled[16 + 36] = 2;
    assert!(matches!(
        FingerRecord::from_bytes(&mislabelled),
        Err(RecordError::Image(reason)) if reason.contains("WSQ")
    ));
}

#[test]
fn a_wsq_record_is_about_fifteen_times_smaller_and_keeps_the_ridges() {
    let original = record(Compression::Wsq);
    let bytes = original.to_bytes().expect("writes");
    let raw = 2 * 400 * 500;
    assert!(
        bytes.len() * 10 < raw,
        "{} bytes for {raw} pixels",
        bytes.len()
    );
    let read = FingerRecord::from_bytes(&bytes).expect("reads");
    assert_eq!(read.views.len(), 2);
    for (before, after) in original.views.iter().zip(&read.views) {
        assert_eq!(after.compression, Compression::Wsq);
        assert_eq!(after.position, before.position);
        assert_eq!(after.quality, before.quality);
        assert_eq!(
            (
                after.image.width(),
                after.image.height(),
                after.image.resolution_ppi()
            ),
            (400, 500, 500)
        );
        // Lossy, but close: peak signal-to-noise ratio above 30 dB.
        let squared: f64 = before
            .image
            .pixels()
            .iter()
            .zip(after.image.pixels())
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum();
        let mse = squared / before.image.pixels().len() as f64;
        let psnr = 10.0 * (255.0f64.powi(2) / mse).log10();
        assert!(psnr > 30.0, "PSNR {psnr:.1} dB");
    }
    // Written again, the decoded record is stable in size and layout.
    let again = read.to_bytes().expect("writes again");
    assert_eq!(
        FingerRecord::from_bytes(&again)
            .expect("reads again")
            .views
            .len(),
        2
    );
}
