//! The station's hardware abstraction layer.
//!
//! - [`Camera`] and [`FingerprintScanner`]: object-safe, fallible traits that every backend
//!   implements; the enrollment workflow only ever sees these.
//! - [`DeviceError`] with [`DeviceError::kind`]: what went wrong, and what the caller should do
//!   about it (retry, ask to replug, call a technician).
//! - [`image`]: the pixel buffers devices produce.
//! - [`simulated`]: a deterministic backend that generates faces and fingerprints in-process and
//!   can script faults. It ships in the crate: it is the demo mode and the test double.
#![deny(missing_docs)]

pub mod image;
pub mod simulated;

mod error;

pub use error::{DeviceError, ErrorKind};
pub use protocol::content::FingerPosition;

use image::{FingerprintImage, RgbFrame};

/// What a device says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// A stable id within its backend.
    pub id: String,
    /// A name for people: maker and model.
    pub name: String,
    /// The backend that drives it, e.g. `simulated`.
    pub backend: &'static str,
}

/// A camera that takes the applicant's face photograph.
pub trait Camera: Send + Sync {
    /// Identity of the device.
    fn info(&self) -> DeviceInfo;

    /// Takes one still frame.
    ///
    /// # Errors
    /// [`DeviceError::Busy`] while another client holds the camera, [`DeviceError::Disconnected`]
    /// when it was unplugged, [`DeviceError::Timeout`] when no frame arrived in time.
    fn capture_still(&self) -> Result<RgbFrame, DeviceError>;
}

/// A fingerprint reader that images one finger at a time.
pub trait FingerprintScanner: Send + Sync {
    /// Identity of the device.
    fn info(&self) -> DeviceInfo;

    /// Images `finger` as the applicant places it on the platen.
    ///
    /// # Errors
    /// [`DeviceError::Busy`] while a capture is running, [`DeviceError::Disconnected`] when the
    /// reader was unplugged, [`DeviceError::Timeout`] when no finger was placed in time.
    fn capture(&self, finger: FingerPosition) -> Result<FingerprintImage, DeviceError>;
}
