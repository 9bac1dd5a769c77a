//! Encoding device pixels into the image formats a packet carries.

use formats::image::{FingerprintImage, RgbFrame};
use formats::records::finger::{Compression, FingerRecord, FingerView};
use formats::records::{CaptureDevice, CaptureTime, RecordError};
use formats::FingerPosition;
use hardware::convert::{rgb_to_jpeg, ConvertError};

/// JPEG quality for face photos: high enough for face comparison, small enough for a packet.
const FACE_JPEG_QUALITY: u8 = 90;

/// The face photo as a packet carries it: JPEG at `FACE_JPEG_QUALITY` (90).
///
/// # Errors
/// When the encoder fails.
pub fn encode_face_jpeg(frame: &RgbFrame) -> Result<Vec<u8>, ConvertError> {
    rgb_to_jpeg(frame, FACE_JPEG_QUALITY)
}

/// JPEG quality of the live previews: what the officer watches, not what is kept.
const PREVIEW_JPEG_QUALITY: u8 = 70;

/// A live preview frame as the app's screens receive it: `frame` at half size, JPEG.
///
/// # Errors
/// When the encoder fails.
pub fn preview_jpeg(frame: &RgbFrame) -> Result<Vec<u8>, ConvertError> {
    rgb_to_jpeg(&halve(frame), PREVIEW_JPEG_QUALITY)
}

/// `frame` at half size (2×2 averages).
pub fn halve(frame: &RgbFrame) -> RgbFrame {
    let (w, h) = (frame.width() as usize / 2, frame.height() as usize / 2);
    let stride = frame.width() as usize * 3;
    let source = frame.pixels();
    let mut pixels = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let at = |dx: usize, dy: usize| {
                    u16::from(source[(2 * y + dy) * stride + (2 * x + dx) * 3 + c])
                };
                pixels.push(((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4) as u8);
            }
        }
    }
    RgbFrame::new(w as u32, h as u32, pixels).unwrap_or_else(|| frame.clone())
}

/// JPEG quality for the exception photo of a hand: it shows which finger is missing, no more.
const EXCEPTION_JPEG_QUALITY: u8 = 75;

/// The photo of a hand with a declared exception: at most 640 pixels wide, JPEG.
///
/// # Errors
/// When the encoder fails.
pub fn encode_exception_jpeg(frame: &RgbFrame) -> Result<(Vec<u8>, u32, u32), ConvertError> {
    let step = frame.width().div_ceil(640).max(1);
    let (width, height) = (frame.width() / step, frame.height() / step);
    let source = frame.pixels();
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            let at = ((y * step) as usize * frame.width() as usize + (x * step) as usize) * 3;
            pixels.extend_from_slice(&source[at..at + 3]);
        }
    }
    let small = RgbFrame::new(width, height, pixels).unwrap_or_else(|| frame.clone());
    Ok((
        rgb_to_jpeg(&small, EXCEPTION_JPEG_QUALITY)?,
        small.width(),
        small.height(),
    ))
}

/// `print` of `finger` as an ISO/IEC 19794-4 finger image record, WSQ-compressed, captured now.
pub(crate) fn encode_finger_record(
    print: &FingerprintImage,
    finger: FingerPosition,
) -> Result<Vec<u8>, RecordError> {
    FingerRecord {
        captured_at: CaptureTime::from_datetime(time::OffsetDateTime::now_utc()),
        device: CaptureDevice::default(),
        views: vec![FingerView {
            position: finger.iso_code(),
            quality: Vec::new(),
            impression: 0, // live-scan plain
            image: print.clone(),
            compression: Compression::Wsq,
        }],
    }
    .to_bytes()
}

/// A finger record's image as PNG, for a screen (browsers cannot show WSQ); `None` for a record
/// that does not read.
pub fn finger_record_png(record: &[u8]) -> Option<Vec<u8>> {
    let record = FingerRecord::from_bytes(record).ok()?;
    record.views.first()?.image.to_png().ok()
}
