use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{fingerprint, FaultScript, SimulatedFault};
use crate::{
    DeviceError, DeviceInfo, DeviceKind, FingerPosition, FingerSet, FingerprintScanner,
    FrameStream, StreamFormat,
};
use formats::image::{FingerprintImage, RgbFrame};

/// A reader that renders a synthetic print per (applicant seed, finger), one finger at a time.
/// Its preview shows a slap platen (800×520 at 250 ppi, 10 frames per second) as a 4-4-2 reader
/// shows it while the applicant places the set asked for: the empty glass for half a second
/// (with a latent print left on it when told to, [`SimulatedScanner::set_residue`]), then the
/// fingers sliding down into place for half a second, then lying still.
#[derive(Debug)]
pub struct SimulatedScanner {
    seed: u64,
    faults: Arc<FaultScript>,
    residue: Arc<AtomicBool>,
    conditions: std::sync::Mutex<fingerprint::Conditions>,
    /// Captures still to come out under other conditions, before `conditions` apply again.
    passing: std::sync::Mutex<Option<(fingerprint::Conditions, u32)>>,
}

impl SimulatedScanner {
    /// A reader whose applicant is chosen by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            faults: Arc::default(),
            residue: Arc::default(),
            conditions: std::sync::Mutex::new(fingerprint::Conditions::GOOD),
            passing: std::sync::Mutex::new(None),
        }
    }

    /// The next `captures` captures are taken under `conditions` (dry fingers, say), the ones
    /// after under the usual conditions again: an applicant whose first placement is poor.
    pub fn set_conditions_for_next(&self, conditions: fingerprint::Conditions, captures: u32) {
        *self
            .passing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            (captures > 0).then_some((conditions, captures));
    }

    /// How the applicant's fingers meet the platen from now on (pressure, dryness, …).
    pub fn set_conditions(&self, conditions: fingerprint::Conditions) {
        *self
            .conditions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = conditions;
    }

    /// Leaves (`true`) or wipes (`false`) a latent print on the platen.
    pub fn set_residue(&self, residue: bool) {
        self.residue.store(residue, Ordering::SeqCst);
    }

    /// Makes the next capture fail with `fault`.
    pub fn script_fault(&self, fault: SimulatedFault) {
        self.faults.push(fault);
    }

    /// Unplugs (`true`) or replugs (`false`) the reader.
    pub fn set_unplugged(&self, unplugged: bool) {
        self.faults.set_unplugged(unplugged);
    }

    /// Whether the reader is unplugged.
    pub fn is_unplugged(&self) -> bool {
        self.faults.is_unplugged()
    }
}

impl FingerprintScanner for SimulatedScanner {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: format!("simulated-scanner-{}", self.seed),
            name: "Simulated fingerprint reader (500 ppi)".into(),
            backend: "simulated",
            kind: DeviceKind::FingerprintReader,
            status: crate::DeviceStatus::Ready,
        }
    }

    fn preview(&self, set: FingerSet) -> Result<Box<dyn FrameStream>, DeviceError> {
        self.faults.next_error("Simulated fingerprint reader")?;
        Ok(Box::new(PlatenStream {
            seed: self.seed,
            set,
            faults: Arc::clone(&self.faults),
            residue: Arc::clone(&self.residue),
            frame: 0,
        }))
    }

    fn capture(&self, finger: FingerPosition) -> Result<FingerprintImage, DeviceError> {
        self.faults.next_error("Simulated fingerprint reader")?;
        let passing = {
            let mut passing = self
                .passing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = passing.map(|(conditions, _)| conditions);
            *passing = passing.and_then(|(c, left)| (left > 1).then_some((c, left - 1)));
            now
        };
        let conditions = passing.unwrap_or_else(|| {
            *self
                .conditions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        });
        Ok(fingerprint::render_fingerprint_with(
            self.seed,
            finger,
            &conditions,
        ))
    }
}

/// The platen at 10 frames per second: light glass and sensor noise (plus a faint latent slap
/// when residue is left) until the applicant's fingers arrive.
struct PlatenStream {
    seed: u64,
    set: FingerSet,
    faults: Arc<FaultScript>,
    residue: Arc<AtomicBool>,
    frame: u64,
}

/// Preview frames of the empty platen before the fingers arrive.
const EMPTY_FRAMES: u64 = 5;
/// How far above their resting place the fingers arrive, and how far they slide each frame.
const SLIDE: u64 = 50;
const SLIDE_STEP: u64 = 10;

impl FrameStream for PlatenStream {
    fn format(&self) -> StreamFormat {
        StreamFormat {
            width: 800,
            height: 520,
            fps: 10,
            encoding: "GREY".into(),
        }
    }

    fn next_frame(&mut self) -> Result<RgbFrame, DeviceError> {
        if self.faults.is_unplugged() {
            return Err(DeviceError::Disconnected {
                device: "Simulated fingerprint reader".into(),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
        self.frame += 1;
        if self.frame > EMPTY_FRAMES {
            let slid = (self.frame - EMPTY_FRAMES) * SLIDE_STEP;
            let settle = SLIDE.saturating_sub(slid) as u32;
            return Ok(fingerprint::render_slap(self.seed, self.set, settle));
        }
        Ok(fingerprint::render_empty_slap_platen(
            self.seed,
            self.residue.load(Ordering::SeqCst),
            self.seed ^ self.frame,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn each_finger_has_its_own_stable_print() {
        let scanner = SimulatedScanner::new(3);
        let thumb = scanner
            .capture(FingerPosition::RightThumb)
            .expect("capture");
        let again = SimulatedScanner::new(3)
            .capture(FingerPosition::RightThumb)
            .expect("capture");
        let index = scanner
            .capture(FingerPosition::RightIndex)
            .expect("capture");
        assert_eq!(thumb, again, "a finger must give the same print every time");
        assert_ne!(thumb, index, "two fingers must not share a print");
        assert_eq!(thumb.resolution_ppi(), 500);
    }

    #[test]
    fn the_preview_shows_the_empty_platen_then_the_fingers_sliding_into_place() {
        let scanner = SimulatedScanner::new(3);
        let mut stream = scanner.preview(FingerSet::LeftSlap).expect("preview");
        let frames: Vec<RgbFrame> = (0..12)
            .map(|_| stream.next_frame().expect("frame"))
            .collect();
        let dark = |frame: &RgbFrame| frame.pixels().iter().filter(|&&v| v < 128).count();
        assert!(
            frames[..5].iter().all(|f| dark(f) == 0),
            "the platen starts empty"
        );
        assert!(dark(&frames[5]) > 10_000, "then the fingers arrive");
        assert_ne!(frames[5], frames[6], "sliding down");
        assert_eq!(frames[10], frames[11], "and then lying still");
        assert_eq!(
            frames[11],
            fingerprint::render_slap(3, FingerSet::LeftSlap, 0),
            "in their resting place"
        );
    }

    #[test]
    fn a_timeout_is_retryable_and_does_not_break_the_reader() {
        let scanner = SimulatedScanner::new(3);
        scanner.script_fault(SimulatedFault::Timeout);
        let error = scanner
            .capture(FingerPosition::LeftLittle)
            .expect_err("timeout");
        assert_eq!(error.kind(), ErrorKind::Retry);
        scanner
            .capture(FingerPosition::LeftLittle)
            .expect("works again");
    }
}
