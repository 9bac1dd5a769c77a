use super::{fingerprint, FaultScript, SimulatedFault};
use crate::image::FingerprintImage;
use crate::{DeviceError, DeviceInfo, FingerPosition, FingerprintScanner};

/// A single-finger reader that renders a synthetic print per (applicant seed, finger).
#[derive(Debug)]
pub struct SimulatedScanner {
    seed: u64,
    faults: FaultScript,
}

impl SimulatedScanner {
    /// A reader whose applicant is chosen by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            faults: FaultScript::default(),
        }
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
        }
    }

    fn capture(&self, finger: FingerPosition) -> Result<FingerprintImage, DeviceError> {
        self.faults.next_error("Simulated fingerprint reader")?;
        Ok(fingerprint::render_fingerprint(self.seed, finger))
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
