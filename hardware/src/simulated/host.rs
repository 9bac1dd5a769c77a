use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{SimulatedCamera, SimulatedScanner};
use crate::{Camera, DeviceError, DeviceInfo, DeviceKind, FingerprintScanner, Host};

/// The simulated backend: one camera and one fingerprint reader, each of which can be
/// "unplugged" from the host (it then disappears from the device list, as a USB device does).
#[derive(Debug)]
pub struct SimulatedHost {
    camera: Arc<SimulatedCamera>,
    scanner: Arc<SimulatedScanner>,
    camera_present: AtomicBool,
    scanner_present: AtomicBool,
}

impl SimulatedHost {
    /// A host whose devices show the applicant chosen by `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_devices(SimulatedCamera::new(seed), SimulatedScanner::new(seed))
    }

    /// A host with the given devices (e.g. a camera of another resolution).
    pub fn with_devices(camera: SimulatedCamera, scanner: SimulatedScanner) -> Self {
        Self {
            camera: Arc::new(camera),
            scanner: Arc::new(scanner),
            camera_present: AtomicBool::new(true),
            scanner_present: AtomicBool::new(true),
        }
    }

    /// The camera, to script its faults.
    pub fn camera(&self) -> &Arc<SimulatedCamera> {
        &self.camera
    }

    /// The reader, to script its faults.
    pub fn scanner(&self) -> &Arc<SimulatedScanner> {
        &self.scanner
    }

    /// Plugs a device in (`true`) or pulls it out (`false`).
    pub fn set_present(&self, kind: DeviceKind, present: bool) {
        match kind {
            DeviceKind::Camera => {
                self.camera_present.store(present, Ordering::SeqCst);
                self.camera.set_unplugged(!present);
            }
            DeviceKind::FingerprintReader => {
                self.scanner_present.store(present, Ordering::SeqCst);
                self.scanner.set_unplugged(!present);
            }
        }
    }
}

impl Host for SimulatedHost {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        let mut devices = Vec::new();
        if self.camera_present.load(Ordering::SeqCst) {
            devices.push(Camera::info(&*self.camera));
        }
        if self.scanner_present.load(Ordering::SeqCst) {
            devices.push(FingerprintScanner::info(&*self.scanner));
        }
        Ok(devices)
    }

    fn open_camera(&self, id: &str) -> Result<Box<dyn Camera>, DeviceError> {
        if self.camera_present.load(Ordering::SeqCst) && Camera::info(&*self.camera).id == id {
            Ok(Box::new(Arc::clone(&self.camera)))
        } else {
            Err(DeviceError::NotFound {
                what: format!("camera {id}"),
            })
        }
    }

    fn open_reader(&self, id: &str) -> Result<Box<dyn FingerprintScanner>, DeviceError> {
        if self.scanner_present.load(Ordering::SeqCst)
            && FingerprintScanner::info(&*self.scanner).id == id
        {
            Ok(Box::new(Arc::clone(&self.scanner)))
        } else {
            Err(DeviceError::NotFound {
                what: format!("fingerprint reader {id}"),
            })
        }
    }
}
