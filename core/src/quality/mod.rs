//! Biometric quality computed on the station, not taken on trust from the device: fast enough
//! to guide the officer live.
//!
//! - [`finger`]: a 0–100 fingerprint quality from NFIQ 2's published features, with NFIQ 2's
//!   actionable feedback.

pub mod finger;
