//! The station's hardware abstraction layer.
//!
//! Three layers, split by capability (as cpal splits host → device → stream):
//! - a [`Host`] is one backend (simulated, webcam, SBI, libfprint): it lists the devices it can
//!   reach and opens them;
//! - a [`Camera`] takes stills and opens a [`FrameStream`]; a [`FingerprintScanner`] images one
//!   finger or a set of fingers (a slap, the thumbs) and may stream a preview;
//! - a [`FrameStream`] delivers frames until it is dropped.
//!
//! Every method is fallible with [`DeviceError`], whose [`DeviceError::kind`] says what the caller
//! should do (retry, ask to replug, call a technician). All traits are object-safe and
//! `Send + Sync`, so the workflow holds `Box<dyn Camera>` without knowing the backend.
//!
//! Backends, one module each: [`simulated`] (always built; the demo mode and the test double),
//! [`sbi`] (MOSIP Secure Biometric Interface device services), `webcam` (feature `webcam`, on
//! nokhwa) and [`libfprint`] (a helper process; the helper needs feature `libfprint`).
//! [`registry::DeviceRegistry`] discovers devices across hosts and publishes hot-plug changes;
//! [`selftest`] proves a device works; [`convert`] turns camera pixel formats into RGB. The
//! pixel buffers, finger positions and ISO/IEC 19794 records devices produce live in the
//! `biometric-formats` crate, which the station and the server share without this one.
#![deny(missing_docs)]

pub mod convert;
pub mod libfprint;
pub mod registry;
pub mod sbi;
pub mod selftest;
pub mod simulated;
#[cfg(feature = "webcam")]
pub mod webcam;

mod error;

pub use error::{DeviceError, Distrust, ErrorKind};

use formats::image::{FingerprintImage, RgbFrame};
use formats::FingerPosition;

/// Which kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// Takes the face photograph.
    Camera,
    /// Images fingerprints.
    FingerprintReader,
}

/// What a device says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct DeviceInfo {
    /// A stable id within its backend.
    pub id: String,
    /// A name for people: maker and model.
    pub name: String,
    /// The backend that drives it, e.g. `simulated`.
    pub backend: &'static str,
    /// What it is.
    pub kind: DeviceKind,
    /// Whether it can capture now.
    pub status: DeviceStatus,
}

/// Whether a device can capture now, as its backend reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeviceStatus {
    /// Ready to capture.
    Ready,
    /// Capturing for another client.
    Busy,
    /// Connected but not ready (warming up, platen not clear).
    NotReady,
    /// Not registered for use in this programme: a technician must register it.
    NotRegistered,
}

/// One backend: lists the devices it can reach and opens them.
pub trait Host: Send + Sync {
    /// The backend's name, as in [`DeviceInfo::backend`].
    fn name(&self) -> &'static str;

    /// The devices present now.
    ///
    /// # Errors
    /// When the backend itself cannot be asked (its service or library is missing); an empty
    /// list is not an error.
    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError>;

    /// Opens the camera with `id`.
    ///
    /// # Errors
    /// [`DeviceError::NotFound`] when no camera of this host has that id; any device error
    /// opening it raises.
    fn open_camera(&self, id: &str) -> Result<Box<dyn Camera>, DeviceError>;

    /// Opens the fingerprint reader with `id`.
    ///
    /// # Errors
    /// [`DeviceError::NotFound`] when no reader of this host has that id; any device error
    /// opening it raises.
    fn open_reader(&self, id: &str) -> Result<Box<dyn FingerprintScanner>, DeviceError>;
}

/// The pixel format and rate a stream delivers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StreamFormat {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second the device promised.
    pub fps: u32,
    /// The device's pixel encoding, e.g. `MJPEG`, `YUYV`, `RGB`.
    pub encoding: String,
}

/// Live frames from a camera, or a preview from a fingerprint reader.
pub trait FrameStream: Send {
    /// What the stream delivers.
    fn format(&self) -> StreamFormat;

    /// Waits for the next frame.
    ///
    /// # Errors
    /// [`DeviceError::Disconnected`] when the device went away, [`DeviceError::Timeout`] when
    /// no frame arrived in time, [`DeviceError::Protocol`] for a frame that cannot be decoded.
    fn next_frame(&mut self) -> Result<RgbFrame, DeviceError>;
}

/// A camera that takes the applicant's face photograph.
pub trait Camera: Send + Sync {
    /// Identity of the device.
    fn info(&self) -> DeviceInfo;

    /// Starts streaming frames for live preview and guidance.
    ///
    /// # Errors
    /// [`DeviceError::Busy`] while another client holds the camera, [`DeviceError::Disconnected`]
    /// when it was unplugged, [`DeviceError::Unsupported`] when no usable format exists.
    fn open_stream(&self) -> Result<Box<dyn FrameStream>, DeviceError>;

    /// Takes one still frame.
    ///
    /// # Errors
    /// [`DeviceError::Busy`] while another client holds the camera, [`DeviceError::Disconnected`]
    /// when it was unplugged, [`DeviceError::Timeout`] when no frame arrived in time.
    fn capture_still(&self) -> Result<RgbFrame, DeviceError>;
}

/// The finger sets a slap reader captures at once (SBI `deviceSubId` 1, 2, 3).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerSet {
    /// Left index, middle, ring and little fingers.
    LeftSlap,
    /// Right index, middle, ring and little fingers.
    RightSlap,
    /// Both thumbs.
    Thumbs,
}

impl FingerSet {
    /// The three sets of a ten-print enrollment (4-4-2).
    pub const ALL: [FingerSet; 3] = [Self::LeftSlap, Self::RightSlap, Self::Thumbs];

    /// The fingers in the set, as they lie on the platen from left to right.
    pub fn fingers(self) -> &'static [FingerPosition] {
        use FingerPosition as F;
        match self {
            Self::LeftSlap => &[F::LeftLittle, F::LeftRing, F::LeftMiddle, F::LeftIndex],
            Self::RightSlap => &[F::RightIndex, F::RightMiddle, F::RightRing, F::RightLittle],
            Self::Thumbs => &[F::LeftThumb, F::RightThumb],
        }
    }

    /// The set `finger` belongs to.
    pub fn of(finger: FingerPosition) -> Self {
        Self::ALL
            .into_iter()
            .find(|set| set.fingers().contains(&finger))
            .unwrap_or(Self::Thumbs)
    }

    /// The SBI `deviceSubId` of the set.
    pub fn sbi_sub_id(self) -> u8 {
        match self {
            Self::LeftSlap => 1,
            Self::RightSlap => 2,
            Self::Thumbs => 3,
        }
    }
}

/// A request to capture a set of fingers at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCapture {
    /// Which set.
    pub set: FingerSet,
    /// Fingers of the set that are missing or unusable and must not be expected.
    pub exceptions: Vec<FingerPosition>,
    /// The quality (0–100) at which the device may stop and return.
    pub requested_score: u8,
}

/// One finger out of a set capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerCapture {
    /// Which finger.
    pub position: FingerPosition,
    /// Its image.
    pub image: FingerprintImage,
    /// The quality the device itself gave it (0–100), when it gives one.
    pub device_score: Option<u8>,
}

/// A fingerprint reader.
pub trait FingerprintScanner: Send + Sync {
    /// Identity of the device.
    fn info(&self) -> DeviceInfo;

    /// Images `finger` as the applicant places it on the platen.
    ///
    /// # Errors
    /// [`DeviceError::Busy`] while a capture is running, [`DeviceError::Disconnected`] when the
    /// reader was unplugged, [`DeviceError::Timeout`] when no finger was placed in time.
    fn capture(&self, finger: FingerPosition) -> Result<FingerprintImage, DeviceError>;

    /// Images every finger of `request.set` but its exceptions. A single-finger reader images
    /// them one after the other.
    ///
    /// # Errors
    /// As [`FingerprintScanner::capture`]; a slap reader also rejects answers that fail its
    /// protocol's security checks with [`DeviceError::Untrusted`].
    fn capture_set(&self, request: &SetCapture) -> Result<Vec<FingerCapture>, DeviceError> {
        request
            .set
            .fingers()
            .iter()
            .filter(|finger| !request.exceptions.contains(finger))
            .map(|&position| {
                Ok(FingerCapture {
                    position,
                    image: self.capture(position)?,
                    device_score: None,
                })
            })
            .collect()
    }

    /// Streams what lies on the platen while the applicant places `set`.
    ///
    /// # Errors
    /// [`DeviceError::Unsupported`] for readers without a preview; device errors as for capture.
    fn preview(&self, set: FingerSet) -> Result<Box<dyn FrameStream>, DeviceError> {
        let _ = set;
        Err(DeviceError::Unsupported {
            device: self.info().name,
            what: "a live preview".into(),
        })
    }

    /// Starts a new enrollment: readers that chain their captures (SBI) start a new chain.
    fn begin_enrollment(&self) {}

    /// The reader itself waits for the fingers and captures once they are placed well enough
    /// (an SBI device's RCapture with its requested score): the station starts the capture at
    /// once and shows the preview while it runs. Otherwise the station watches the preview and
    /// starts the capture when the fingers lie still.
    fn captures_when_placed(&self) -> bool {
        false
    }
}

impl<T: Camera + ?Sized> Camera for std::sync::Arc<T> {
    fn info(&self) -> DeviceInfo {
        (**self).info()
    }

    fn open_stream(&self) -> Result<Box<dyn FrameStream>, DeviceError> {
        (**self).open_stream()
    }

    fn capture_still(&self) -> Result<RgbFrame, DeviceError> {
        (**self).capture_still()
    }
}

impl<T: FingerprintScanner + ?Sized> FingerprintScanner for std::sync::Arc<T> {
    fn info(&self) -> DeviceInfo {
        (**self).info()
    }

    fn capture(&self, finger: FingerPosition) -> Result<FingerprintImage, DeviceError> {
        (**self).capture(finger)
    }

    fn capture_set(&self, request: &SetCapture) -> Result<Vec<FingerCapture>, DeviceError> {
        (**self).capture_set(request)
    }

    fn preview(&self, set: FingerSet) -> Result<Box<dyn FrameStream>, DeviceError> {
        (**self).preview(set)
    }

    fn begin_enrollment(&self) {
        (**self).begin_enrollment();
    }

    fn captures_when_placed(&self) -> bool {
        (**self).captures_when_placed()
    }
}
