//! Biometric quality computed on the station, not taken on trust from the device: fast enough
//! to guide the officer live.
//!
//! - [`face`]: ICAO-style checks of each camera frame (one face, size, centring, roll, pose,
//!   exposure, contrast, sharpness, background), auto-capture, the ISO 19794-5 token crop.
//! - [`finger`]: a 0–100 fingerprint quality from NFIQ 2's published features, with NFIQ 2's
//!   actionable feedback.
//! - [`slap`]: a four-finger slap or the two thumbs cut into one image per finger, with missing
//!   fingers named and the wrong hand refused.

pub mod face;
pub mod finger;
pub mod slap;
