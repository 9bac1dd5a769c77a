//! Camera pixel formats to RGB, and RGB to JPEG (photos and previews).
//!
//! Webcams deliver MJPEG (each frame a JPEG) or YUYV (packed 4:2:2: `Y0 U Y1 V` for two pixels).
//! YUYV uses the BT.601 limited-range ("studio swing") conversion webcams use.

use formats::image::RgbFrame;

/// Why a frame could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The buffer is shorter or longer than its format and size require.
    #[error("a {width}×{height} {format} frame needs {expected} bytes, got {actual}")]
    WrongLength {
        /// The pixel format.
        format: &'static str,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// Bytes the format needs.
        expected: usize,
        /// Bytes delivered.
        actual: usize,
    },
    /// YUYV packs two pixels together; an odd width cannot be packed.
    #[error("a YUYV frame must have an even width, got {0}")]
    OddWidth(u32),
    /// The JPEG data does not decode.
    #[error("the JPEG frame does not decode: {0}")]
    BadJpeg(String),
}

/// Converts a packed YUYV (YUY2) frame to RGB.
///
/// # Errors
/// [`ConvertError::OddWidth`], or [`ConvertError::WrongLength`] when `data` is not
/// `width × height × 2` bytes.
pub fn yuyv_to_rgb(width: u32, height: u32, data: &[u8]) -> Result<RgbFrame, ConvertError> {
    if width % 2 != 0 {
        return Err(ConvertError::OddWidth(width));
    }
    let pixels = width as usize * height as usize;
    if data.len() != pixels * 2 {
        return Err(ConvertError::WrongLength {
            format: "YUYV",
            width,
            height,
            expected: pixels * 2,
            actual: data.len(),
        });
    }
    let mut rgb = Vec::with_capacity(pixels * 3);
    for quad in data.chunks_exact(4) {
        let (y0, u, y1, v) = (quad[0], quad[1], quad[2], quad[3]);
        rgb.extend_from_slice(&yuv_to_rgb(y0, u, v));
        rgb.extend_from_slice(&yuv_to_rgb(y1, u, v));
    }
    RgbFrame::new(width, height, rgb).ok_or(ConvertError::WrongLength {
        format: "RGB",
        width,
        height,
        expected: pixels * 3,
        actual: 0,
    })
}

/// One pixel, BT.601 limited range, in integer arithmetic (8 fractional bits).
fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = 298 * (i32::from(y) - 16);
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clamp = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
    [
        clamp(c + 409 * e),
        clamp(c - 100 * d - 208 * e),
        clamp(c + 516 * d),
    ]
}

/// Decodes one MJPEG frame (a JPEG image) to RGB.
///
/// # Errors
/// [`ConvertError::BadJpeg`] when the data is not a decodable JPEG.
pub fn mjpeg_to_rgb(data: &[u8]) -> Result<RgbFrame, ConvertError> {
    let decoded = image::load_from_memory_with_format(data, image::ImageFormat::Jpeg)
        .map_err(|error| ConvertError::BadJpeg(error.to_string()))?
        .into_rgb8();
    let (width, height) = decoded.dimensions();
    RgbFrame::new(width, height, decoded.into_raw())
        .ok_or_else(|| ConvertError::BadJpeg("the decoder returned a short buffer".into()))
}

/// Encodes `frame` as a JPEG of the given quality (1–100), e.g. for a preview stream.
///
/// # Errors
/// [`ConvertError::BadJpeg`] when the encoder fails.
pub fn rgb_to_jpeg(frame: &RgbFrame, quality: u8) -> Result<Vec<u8>, ConvertError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode(
            frame.pixels(),
            frame.width(),
            frame.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|error| ConvertError::BadJpeg(error.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_black_white_and_primaries_convert_to_the_right_rgb() {
        // Two pixels per quad: black+white (neutral chroma), then pure red and pure blue
        // (BT.601 limited-range values of each colour).
        let data = [
            16, 128, 235, 128, // black, white
            81, 90, 81, 240, // red, red
            41, 240, 41, 110, // blue, blue
        ];
        let frame = yuyv_to_rgb(2, 3, &data).expect("converts");
        let px = |i: usize| &frame.pixels()[i * 3..i * 3 + 3];
        assert_eq!(px(0), [0, 0, 0]);
        assert_eq!(px(1), [255, 255, 255]);
        let close = |a: &[u8], b: [u8; 3]| a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= 3);
        assert!(close(px(2), [255, 0, 0]), "red came out {:?}", px(2));
        assert!(close(px(4), [0, 0, 255]), "blue came out {:?}", px(4));
    }

    #[test]
    fn a_short_or_odd_yuyv_frame_is_refused_with_the_reason() {
        assert!(matches!(
            yuyv_to_rgb(4, 2, &[0; 15]),
            Err(ConvertError::WrongLength {
                expected: 16,
                actual: 15,
                ..
            })
        ));
        assert_eq!(yuyv_to_rgb(3, 2, &[0; 12]), Err(ConvertError::OddWidth(3)));
    }

    #[test]
    fn an_mjpeg_frame_decodes_to_the_picture_that_was_encoded() {
        let mut pixels = Vec::new();
        for y in 0..48u32 {
            for x in 0..64u32 {
                pixels.extend_from_slice(&[(x * 4) as u8, (y * 5) as u8, 128]);
            }
        }
        let frame = RgbFrame::new(64, 48, pixels).expect("frame");
        let jpeg = rgb_to_jpeg(&frame, 95).expect("encodes");
        let back = mjpeg_to_rgb(&jpeg).expect("decodes");
        assert_eq!((back.width(), back.height()), (64, 48));
        let worst = frame
            .pixels()
            .iter()
            .zip(back.pixels())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        assert!(worst <= 12, "JPEG at quality 95 drifted by {worst}");
    }

    #[test]
    fn a_corrupt_mjpeg_frame_is_an_error_not_a_panic() {
        assert!(matches!(
            mjpeg_to_rgb(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]),
            Err(ConvertError::BadJpeg(_))
        ));
    }
}
