//! Pixel buffers produced by devices. They hold biometric data: their `Debug` output shows only
//! dimensions, and their pixels are zeroized when dropped.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// An 8-bit RGB frame, row-major, 3 bytes per pixel.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct RgbFrame {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl RgbFrame {
    /// Wraps `pixels`; `None` when their length is not `width × height × 3`.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Option<Self> {
        let expected = usize::try_from(u64::from(width) * u64::from(height) * 3).ok()?;
        (pixels.len() == expected).then_some(Self {
            width,
            height,
            pixels,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels, row-major RGB.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }
}

impl fmt::Debug for RgbFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RgbFrame({}×{}, pixels redacted)",
            self.width, self.height
        )
    }
}

/// An 8-bit greyscale fingerprint image, row-major, dark ridges on a light background.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct FingerprintImage {
    width: u32,
    height: u32,
    resolution_ppi: u16,
    pixels: Vec<u8>,
}

impl FingerprintImage {
    /// Wraps `pixels`; `None` when their length is not `width × height`.
    pub fn new(width: u32, height: u32, resolution_ppi: u16, pixels: Vec<u8>) -> Option<Self> {
        let expected = usize::try_from(u64::from(width) * u64::from(height)).ok()?;
        (pixels.len() == expected).then_some(Self {
            width,
            height,
            resolution_ppi,
            pixels,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Scan resolution in pixels per inch.
    pub fn resolution_ppi(&self) -> u16 {
        self.resolution_ppi
    }

    /// The pixels, row-major, one byte each.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The print as a (lossless) 8-bit grey PNG.
    ///
    /// # Errors
    /// [`PngError`] when the encoder fails.
    pub fn to_png(&self) -> Result<Vec<u8>, PngError> {
        let mut out = Vec::new();
        ::image::ImageEncoder::write_image(
            ::image::codecs::png::PngEncoder::new(&mut out),
            self.pixels(),
            self.width(),
            self.height(),
            ::image::ExtendedColorType::L8,
        )
        .map_err(|error| PngError(error.to_string()))?;
        Ok(out)
    }
}

/// A print could not be encoded as PNG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the image could not be encoded as PNG: {0}")]
pub struct PngError(String);

impl fmt::Debug for FingerprintImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FingerprintImage({}×{} at {} ppi, pixels redacted)",
            self.width, self.height, self.resolution_ppi
        )
    }
}

/// The grey level below which `percent` % of `pixels` lie (255 for an empty slice): the 95th
/// percentile of a fingerprint image is its glass, with a few hot pixels ignored.
pub fn grey_percentile(pixels: &[u8], percent: usize) -> u8 {
    let mut histogram = [0usize; 256];
    for &value in pixels {
        histogram[usize::from(value)] += 1;
    }
    let target = pixels.len() * percent.min(100) / 100;
    let mut seen = 0;
    for (level, count) in histogram.iter().enumerate() {
        seen += count;
        if seen >= target {
            return level as u8;
        }
    }
    255
}
