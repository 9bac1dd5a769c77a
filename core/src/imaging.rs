//! Encoding device pixels into the image formats a packet carries.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

use hardware::image::{FingerprintImage, RgbFrame};

/// JPEG quality for face photos: high enough for face comparison, small enough for a packet.
const FACE_JPEG_QUALITY: u8 = 90;

pub(crate) fn encode_face_jpeg(frame: &RgbFrame) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, FACE_JPEG_QUALITY).encode(
        frame.pixels(),
        frame.width(),
        frame.height(),
        ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

pub(crate) fn encode_finger_png(print: &FingerprintImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out).write_image(
        print.pixels(),
        print.width(),
        print.height(),
        ExtendedColorType::L8,
    )?;
    Ok(out)
}
