use std::sync::atomic::{AtomicU64, Ordering};

use super::{face, FaultScript, SimulatedFault};
use crate::image::RgbFrame;
use crate::{Camera, DeviceError, DeviceInfo};

/// A camera that renders a synthetic applicant's face, moving slightly from frame to frame.
#[derive(Debug)]
pub struct SimulatedCamera {
    seed: u64,
    width: u32,
    height: u32,
    frame: AtomicU64,
    faults: FaultScript,
}

impl SimulatedCamera {
    /// A 640×480 camera whose applicant is chosen by `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_resolution(seed, 640, 480)
    }

    /// A camera of the given resolution (at least 64×48).
    pub fn with_resolution(seed: u64, width: u32, height: u32) -> Self {
        Self {
            seed,
            width: width.max(64),
            height: height.max(48),
            frame: AtomicU64::new(0),
            faults: FaultScript::default(),
        }
    }

    /// Makes the next capture fail with `fault`.
    pub fn script_fault(&self, fault: SimulatedFault) {
        self.faults.push(fault);
    }

    /// Unplugs (`true`) or replugs (`false`) the camera.
    pub fn set_unplugged(&self, unplugged: bool) {
        self.faults.set_unplugged(unplugged);
    }
}

impl Camera for SimulatedCamera {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: format!("simulated-camera-{}", self.seed),
            name: "Simulated camera".into(),
            backend: "simulated",
        }
    }

    fn capture_still(&self) -> Result<RgbFrame, DeviceError> {
        self.faults.next_error("Simulated camera")?;
        let frame = self.frame.fetch_add(1, Ordering::Relaxed);
        Ok(face::render(self.seed, frame, self.width, self.height))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn the_same_seed_shows_the_same_applicant() {
        let a = SimulatedCamera::new(7).capture_still().expect("frame");
        let b = SimulatedCamera::new(7).capture_still().expect("frame");
        let c = SimulatedCamera::new(8).capture_still().expect("frame");
        assert_eq!(a, b, "a seed must reproduce its frames exactly");
        assert_ne!(a, c, "another seed must show another applicant");
        assert_eq!((a.width(), a.height()), (640, 480));
    }

    #[test]
    fn a_scripted_fault_fails_one_capture_then_the_camera_recovers() {
        let camera = SimulatedCamera::new(1);
        camera.script_fault(SimulatedFault::Busy);
        let error = camera.capture_still().expect_err("scripted busy");
        assert_eq!(error.kind(), ErrorKind::Retry);
        camera.capture_still().expect("the fault lasts one call");
    }

    #[test]
    fn an_unplugged_camera_asks_to_be_replugged_until_plugged_back() {
        let camera = SimulatedCamera::new(1);
        camera.set_unplugged(true);
        for _ in 0..2 {
            let error = camera.capture_still().expect_err("unplugged");
            assert_eq!(error.kind(), ErrorKind::Replug);
        }
        camera.set_unplugged(false);
        camera.capture_still().expect("replugged");
    }
}
