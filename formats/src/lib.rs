//! Biometric data formats shared by the station's devices, the station and the central server,
//! with no device, enrollment or wire-protocol knowledge:
//!
//! - [`FingerPosition`]: the ten fingers, numbered as ISO/IEC 19794-4 numbers them;
//! - [`image`]: the pixel buffers devices produce (RGB frames, grey prints), redacted in `Debug`
//!   and zeroized on drop;
//! - [`records`]: ISO/IEC 19794-4 finger and 19794-5 face interchange records, read and written
//!   with every length checked.
//!
//! The hardware layer produces these, the station seals them into packets (`station-protocol`),
//! and the server reads them back; none of the three depends on another to do so.
#![deny(missing_docs)]

pub mod image;
pub mod records;

use serde::{Deserialize, Serialize};

/// A finger, numbered as the finger position codes of ISO/IEC 19794-4.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerPosition {
    /// Code 1.
    RightThumb,
    /// Code 2.
    RightIndex,
    /// Code 3.
    RightMiddle,
    /// Code 4.
    RightRing,
    /// Code 5.
    RightLittle,
    /// Code 6.
    LeftThumb,
    /// Code 7.
    LeftIndex,
    /// Code 8.
    LeftMiddle,
    /// Code 9.
    LeftRing,
    /// Code 10.
    LeftLittle,
}

impl FingerPosition {
    /// All ten fingers in ISO code order.
    pub const ALL: [FingerPosition; 10] = [
        Self::RightThumb,
        Self::RightIndex,
        Self::RightMiddle,
        Self::RightRing,
        Self::RightLittle,
        Self::LeftThumb,
        Self::LeftIndex,
        Self::LeftMiddle,
        Self::LeftRing,
        Self::LeftLittle,
    ];

    /// The ISO/IEC 19794-4 finger position code, 1–10.
    pub fn iso_code(self) -> u8 {
        match self {
            Self::RightThumb => 1,
            Self::RightIndex => 2,
            Self::RightMiddle => 3,
            Self::RightRing => 4,
            Self::RightLittle => 5,
            Self::LeftThumb => 6,
            Self::LeftIndex => 7,
            Self::LeftMiddle => 8,
            Self::LeftRing => 9,
            Self::LeftLittle => 10,
        }
    }

    /// The finger's name for people: English, then Bahasa Indonesia ("Left index",
    /// "Telunjuk kiri"). The one table every screen, message and receipt takes it from.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::RightThumb => ("Right thumb", "Ibu jari kanan"),
            Self::RightIndex => ("Right index", "Telunjuk kanan"),
            Self::RightMiddle => ("Right middle", "Jari tengah kanan"),
            Self::RightRing => ("Right ring", "Jari manis kanan"),
            Self::RightLittle => ("Right little", "Kelingking kanan"),
            Self::LeftThumb => ("Left thumb", "Ibu jari kiri"),
            Self::LeftIndex => ("Left index", "Telunjuk kiri"),
            Self::LeftMiddle => ("Left middle", "Jari tengah kiri"),
            Self::LeftRing => ("Left ring", "Jari manis kiri"),
            Self::LeftLittle => ("Left little", "Kelingking kiri"),
        }
    }

    /// The finger for an ISO/IEC 19794-4 code.
    pub fn from_iso_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_finger_codes_round_trip() {
        for finger in FingerPosition::ALL {
            assert_eq!(
                FingerPosition::from_iso_code(finger.iso_code()),
                Some(finger)
            );
        }
        assert_eq!(FingerPosition::from_iso_code(0), None);
        assert_eq!(FingerPosition::from_iso_code(11), None);
    }
}
