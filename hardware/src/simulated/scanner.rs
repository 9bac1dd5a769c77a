use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{fingerprint, FaultScript, SimulatedFault};
use crate::image::{FingerprintImage, RgbFrame};
use crate::{
    DeviceError, DeviceInfo, DeviceKind, FingerPosition, FingerSet, FingerprintScanner,
    FrameStream, StreamFormat,
};

/// A single-finger reader that renders a synthetic print per (applicant seed, finger). Its
/// preview shows the empty platen, with a latent print left on it when told to
/// ([`SimulatedScanner::set_residue`]).
#[derive(Debug)]
pub struct SimulatedScanner {
    seed: u64,
    faults: Arc<FaultScript>,
    residue: Arc<AtomicBool>,
    conditions: std::sync::Mutex<fingerprint::Conditions>,
}

impl SimulatedScanner {
    /// A reader whose applicant is chosen by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            faults: Arc::default(),
            residue: Arc::default(),
            conditions: std::sync::Mutex::new(fingerprint::Conditions::GOOD),
        }
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
        let _ = set;
        self.faults.next_error("Simulated fingerprint reader")?;
        Ok(Box::new(PlatenStream {
            seed: self.seed,
            faults: Arc::clone(&self.faults),
            residue: Arc::clone(&self.residue),
            frame: 0,
        }))
    }

    fn capture(&self, finger: FingerPosition) -> Result<FingerprintImage, DeviceError> {
        self.faults.next_error("Simulated fingerprint reader")?;
        let conditions = *self
            .conditions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(fingerprint::render_fingerprint_with(
            self.seed,
            finger,
            &conditions,
        ))
    }
}

/// The empty platen at 10 frames per second: light glass and sensor noise, plus a faint
/// latent print when residue is left.
struct PlatenStream {
    seed: u64,
    faults: Arc<FaultScript>,
    residue: Arc<AtomicBool>,
    frame: u64,
}

impl FrameStream for PlatenStream {
    fn format(&self) -> StreamFormat {
        StreamFormat {
            width: 400,
            height: 500,
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
        let latent = self
            .residue
            .load(Ordering::SeqCst)
            .then(|| fingerprint::render_fingerprint(self.seed, FingerPosition::RightIndex));
        Ok(fingerprint::render_empty_platen(
            400,
            500,
            latent.as_ref().map(|print| (print.pixels(), 250.0)),
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
