//! Property tests of the ISO/IEC 19794 record readers and writers: for many generated records,
//! writing then reading gives the record back; and no truncation or byte corruption of a valid
//! record makes a reader panic — it returns a record or a `RecordError`, and a record it returns
//! writes back to bytes that read the same.
//!
//! The cases come from a fixed-seed generator, so a failure names a case that reproduces.

use biometric_formats::image::FingerprintImage;
use biometric_formats::records::face::{FaceImageData, FaceRecord, FaceView, Landmark};
use biometric_formats::records::finger::{Compression, FingerRecord, FingerView};
use biometric_formats::records::{CaptureDevice, CaptureTime, QualityBlock};

/// SplitMix64, for reproducible cases.
struct Cases(u64);

impl Cases {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn time(&mut self) -> CaptureTime {
        CaptureTime {
            year: 1990 + self.below(60) as u16,
            month: 1 + self.below(12) as u8,
            day: 1 + self.below(28) as u8,
            hour: self.below(24) as u8,
            minute: self.below(60) as u8,
            second: self.below(60) as u8,
            millisecond: self.below(1000) as u16,
        }
    }

    fn device(&mut self) -> CaptureDevice {
        CaptureDevice {
            technology: self.below(20) as u8,
            vendor: self.below(65536) as u16,
            device_type: self.below(65536) as u16,
        }
    }

    fn quality(&mut self) -> Vec<QualityBlock> {
        (0..self.below(4))
            .map(|_| QualityBlock {
                score: if self.below(10) == 0 {
                    255
                } else {
                    self.below(101) as u8
                },
                algorithm_owner: self.below(65536) as u16,
                algorithm_id: self.below(65536) as u16,
            })
            .collect()
    }

    fn finger_record(&mut self) -> FingerRecord {
        let views = (0..1 + self.below(4))
            .map(|_| {
                let (w, h) = (1 + self.below(48) as u32, 1 + self.below(48) as u32);
                let pixels = (0..w * h).map(|_| self.below(256) as u8).collect();
                FingerView {
                    position: self.below(16) as u8,
                    quality: self.quality(),
                    impression: self.below(4) as u8,
                    image: FingerprintImage::new(w, h, 500, pixels).expect("sized"),
                    compression: if self.below(2) == 0 {
                        Compression::Uncompressed
                    } else {
                        Compression::Png
                    },
                }
            })
            .collect();
        FingerRecord {
            captured_at: self.time(),
            device: self.device(),
            views,
        }
    }

    fn face_record(&mut self) -> FaceRecord {
        let views = (0..1 + self.below(3))
            .map(|_| {
                let (width, height) = (1 + self.below(2000) as u16, 1 + self.below(2000) as u16);
                FaceView {
                    quality: self.quality(),
                    landmarks: (0..self.below(4))
                        .map(|_| Landmark {
                            kind: 1,
                            code: self.below(256) as u8,
                            x: self.below(u64::from(width)) as u16,
                            y: self.below(u64::from(height)) as u16,
                        })
                        .collect(),
                    image_type: self.below(3) as u8,
                    data_type: if self.below(2) == 0 {
                        FaceImageData::Jpeg
                    } else {
                        FaceImageData::Png
                    },
                    width,
                    height,
                    data: (0..self.below(300))
                        .map(|_| self.below(256) as u8)
                        .collect(),
                }
            })
            .collect();
        FaceRecord {
            captured_at: self.time(),
            device: self.device(),
            views,
        }
    }

    /// `bytes` cut short or with a few bytes changed.
    fn damage(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut damaged = bytes.to_vec();
        if self.below(3) == 0 {
            damaged.truncate(self.below(bytes.len() as u64) as usize);
        } else {
            for _ in 0..1 + self.below(4) {
                let at = self.below(damaged.len() as u64) as usize;
                damaged[at] = self.below(256) as u8;
            }
        }
        damaged
    }
}

#[test]
fn any_finger_record_reads_back_as_written() {
    let mut cases = Cases(197_944);
    for case in 0..300 {
        let record = cases.finger_record();
        let bytes = record.to_bytes().expect("writes");
        assert_eq!(
            FingerRecord::from_bytes(&bytes).as_ref(),
            Ok(&record),
            "case {case}"
        );
    }
}

#[test]
fn any_face_record_reads_back_as_written() {
    let mut cases = Cases(197_945);
    for case in 0..300 {
        let record = cases.face_record();
        let bytes = record.to_bytes().expect("writes");
        assert_eq!(
            FaceRecord::from_bytes(&bytes).as_ref(),
            Ok(&record),
            "case {case}"
        );
    }
}

#[test]
fn damaged_records_give_an_error_or_a_record_that_writes_back_the_same() {
    let mut cases = Cases(42);
    let mut refused = 0;
    for _ in 0..200 {
        let finger = cases.finger_record().to_bytes().expect("writes");
        let face = cases.face_record().to_bytes().expect("writes");
        for _ in 0..10 {
            match FingerRecord::from_bytes(&cases.damage(&finger)) {
                Ok(read) => {
                    let again = read.to_bytes().expect("a record read writes");
                    assert_eq!(FingerRecord::from_bytes(&again), Ok(read));
                }
                Err(error) => {
                    assert!(!error.to_string().is_empty());
                    refused += 1;
                }
            }
            match FaceRecord::from_bytes(&cases.damage(&face)) {
                Ok(read) => {
                    let again = read.to_bytes().expect("a record read writes");
                    assert_eq!(FaceRecord::from_bytes(&again), Ok(read));
                }
                Err(error) => {
                    assert!(!error.to_string().is_empty());
                    refused += 1;
                }
            }
        }
    }
    assert!(
        refused > 1000,
        "most damage must be caught ({refused} of 4000 refused)"
    );
}

#[test]
fn wsq_records_keep_their_layout_and_damaged_ones_are_refused_or_read_without_panicking() {
    let mut cases = Cases(7_654);
    let mut refused = 0;
    for case in 0..60 {
        let record = wsq_record(&mut cases);
        let bytes = record.to_bytes().expect("writes");
        let read = FingerRecord::from_bytes(&bytes).expect("reads");
        assert_eq!(read.views.len(), record.views.len(), "case {case}");
        for (before, after) in record.views.iter().zip(&read.views) {
            assert_eq!(
                (
                    after.position,
                    after.impression,
                    &after.quality,
                    after.compression
                ),
                (
                    before.position,
                    before.impression,
                    &before.quality,
                    Compression::Wsq
                ),
                "case {case}"
            );
            assert_eq!(
                (after.image.width(), after.image.height()),
                (before.image.width(), before.image.height()),
                "case {case}"
            );
        }
        for _ in 0..20 {
            if let Err(error) = FingerRecord::from_bytes(&cases.damage(&bytes)) {
                assert!(!error.to_string().is_empty());
                refused += 1;
            }
        }
    }
    assert!(
        refused > 600,
        "most damage must be caught ({refused} of 1200)"
    );
}

/// A record whose views are WSQ images of ridge-like stripes (what WSQ is made for), as the
/// station writes them.
fn wsq_record(cases: &mut Cases) -> FingerRecord {
    let mut record = cases.finger_record();
    for view in &mut record.views {
        // WSQ needs at least 81 pixels each way.
        let (w, h) = (81 + cases.below(64) as u32, 81 + cases.below(64) as u32);
        let pixels = (0..w * h)
            .map(|i| {
                let stripe = if (i % w + i / w) % 9 < 4 { 60 } else { 200 };
                (stripe + cases.below(30) as u32) as u8
            })
            .collect();
        view.image = FingerprintImage::new(w, h, 500, pixels).expect("sized");
        view.compression = Compression::Wsq;
    }
    record
}

#[test]
fn an_outline_reads_what_a_full_read_reads_and_refuses_no_record_a_full_read_takes() {
    let mut cases = Cases(19_794);
    let mut damage_only_decoding_finds = 0;
    for case in 0..120 {
        let record = if case % 2 == 0 {
            wsq_record(&mut cases)
        } else {
            cases.finger_record()
        };
        let bytes = record.to_bytes().expect("writes");
        let outline = FingerRecord::outline(&bytes).expect("a valid record outlines");
        let described: Vec<_> = record
            .views
            .iter()
            .map(|v| (v.position, v.image.width(), v.image.height(), v.compression))
            .collect();
        let outlined: Vec<_> = outline
            .iter()
            .map(|v| (v.position, v.width, v.height, v.compression))
            .collect();
        assert_eq!(outlined, described, "case {case}");
        for _ in 0..20 {
            let damaged = cases.damage(&bytes);
            match (
                FingerRecord::outline(&damaged),
                FingerRecord::from_bytes(&damaged),
            ) {
                (Err(_), Ok(_)) => panic!("case {case}: the outline refused what reads"),
                (Ok(_), Err(_)) => damage_only_decoding_finds += 1,
                _ => {}
            }
        }
    }
    // Damage inside compressed image data is what only decoding finds: the images stage after
    // intake decodes every image in full for this reason.
    println!("damage only a full decode found: {damage_only_decoding_finds}");
}
