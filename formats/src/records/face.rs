//! ISO/IEC 19794-5:2011 face image records.
//!
//! Layout (big-endian): general header `FAC\0` `030\0`, record length (4), representation count
//! (2), certification flag (1); then per representation: its length (4), capture date-time (9),
//! device technology (1), vendor (2), device type (2), quality blocks (count 1 + 5 each), landmark
//! point count (2), sex (1), eye colour (1), hair colour (1), subject height (1), property mask
//! (3), expression (2), pose angles yaw/pitch/roll and their uncertainties (6), landmark points
//! (8 each: type, code, x, y, z), face image type (1), image data type (1: 0 JPEG, 3 PNG),
//! width (2), height (2), spatial sampling rate (1), post-acquisition processing (2),
//! cross-reference (1), colour space (1), image data length (4), image data.

use super::{
    check_end, close_representation, length_u16, length_u32, open_representation, CaptureDevice,
    CaptureTime, Format, QualityBlock, Reader, RecordError, RepresentationStart,
};
const FORMAT: Format = Format {
    magic: b"FAC\0",
    version: b"030\0",
    name: "ISO/IEC 19794-5 face image (FAC)",
};

/// How the face image is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaceImageData {
    /// Code 0: JPEG.
    Jpeg,
    /// Code 3: PNG.
    Png,
}

/// A landmark point (MPEG-4 feature point when `kind` is 1), in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landmark {
    /// Landmark point type (1 = MPEG-4 feature point).
    pub kind: u8,
    /// The point's code: major in the high nibble, minor in the low (12.1 = right eye centre).
    pub code: u8,
    /// Column.
    pub x: u16,
    /// Row.
    pub y: u16,
}

impl Landmark {
    /// MPEG-4 feature point 12.1, the centre of the subject's right eye.
    pub const RIGHT_EYE_CENTRE: u8 = 0xC1;
    /// MPEG-4 feature point 12.2, the centre of the subject's left eye.
    pub const LEFT_EYE_CENTRE: u8 = 0xC2;
}

/// One face image in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceView {
    /// Quality blocks (may be empty).
    pub quality: Vec<QualityBlock>,
    /// Landmark points, e.g. the eye centres.
    pub landmarks: Vec<Landmark>,
    /// Face image type: 0 basic, 1 full frontal, 2 token frontal.
    pub image_type: u8,
    /// Encoding of `data`.
    pub data_type: FaceImageData,
    /// Image width in pixels.
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// The encoded image.
    pub data: Vec<u8>,
}

/// A face image record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceRecord {
    /// When the views were captured.
    pub captured_at: CaptureTime,
    /// The capturing device.
    pub device: CaptureDevice,
    /// One or more views.
    pub views: Vec<FaceView>,
}

impl FaceRecord {
    /// Serializes the record.
    ///
    /// # Errors
    /// [`RecordError::Inconsistent`] for a record with no view or sizes the format cannot hold.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RecordError> {
        if self.views.is_empty() {
            return Err(RecordError::Inconsistent(
                "a record needs at least one view".into(),
            ));
        }
        let mut body = Vec::new();
        for view in &self.views {
            let mut rep = open_representation(
                &self.captured_at,
                &self.device,
                &view.quality,
                view.data.len(),
            )?;
            let points = u32::try_from(view.landmarks.len()).unwrap_or(u32::MAX);
            rep.extend_from_slice(&length_u16(points, "landmark count")?.to_be_bytes());
            rep.extend_from_slice(&[0, 0, 0, 0]); // sex, eye colour, hair colour, height: unspecified
            rep.extend_from_slice(&[0, 0, 0]); // property mask
            rep.extend_from_slice(&[0, 1]); // expression: neutral
            rep.extend_from_slice(&[0; 6]); // pose angles: unspecified
            for point in &view.landmarks {
                rep.extend_from_slice(&[point.kind, point.code]);
                rep.extend_from_slice(&point.x.to_be_bytes());
                rep.extend_from_slice(&point.y.to_be_bytes());
                rep.extend_from_slice(&0u16.to_be_bytes());
            }
            rep.push(view.image_type);
            rep.push(match view.data_type {
                FaceImageData::Jpeg => 0,
                FaceImageData::Png => 3,
            });
            rep.extend_from_slice(&view.width.to_be_bytes());
            rep.extend_from_slice(&view.height.to_be_bytes());
            rep.push(0); // spatial sampling rate: unspecified
            rep.extend_from_slice(&[0, 0]); // no post-acquisition processing
            rep.push(0); // cross-reference: none
            rep.push(1); // colour space: 24-bit RGB
            rep.extend_from_slice(&length_u32(view.data.len(), "image data")?.to_be_bytes());
            rep.extend_from_slice(&view.data);
            close_representation(&rep, &mut body)?;
        }
        FORMAT.write_header(self.views.len(), &[], &body)
    }

    /// Reads a record, checking every length and count against the bytes present.
    ///
    /// # Errors
    /// [`RecordError`] naming the first problem found.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RecordError> {
        let mut reader = Reader::new(bytes);
        let header = FORMAT.read_header(&mut reader, bytes.len())?;
        let mut views = Vec::with_capacity(usize::from(header.count));
        let mut first = None;
        for _ in 0..header.count {
            let rep = RepresentationStart::read(&mut reader, header.certified)?;
            first.get_or_insert((rep.captured_at, rep.device));
            let points = reader.u16("landmark count")?;
            reader.take(4 + 3 + 2 + 6, "facial information")?;
            let mut landmarks = Vec::with_capacity(usize::from(points));
            for _ in 0..points {
                let kind = reader.u8("landmark type")?;
                let code = reader.u8("landmark code")?;
                let x = reader.u16("landmark x")?;
                let y = reader.u16("landmark y")?;
                let _z = reader.u16("landmark z")?;
                landmarks.push(Landmark { kind, code, x, y });
            }
            let image_type = reader.u8("face image type")?;
            let data_type = match reader.u8("image data type")? {
                0 => FaceImageData::Jpeg,
                3 => FaceImageData::Png,
                other => return Err(RecordError::UnsupportedCompression(other)),
            };
            let width = reader.u16("width")?;
            let height = reader.u16("height")?;
            reader.take(1 + 2 + 1 + 1, "image information")?;
            let data_length = reader.u32("image data length")? as usize;
            let data = reader.take(data_length, "image data")?.to_vec();
            rep.finish(&reader)?;
            if let Some(point) = landmarks.iter().find(|p| p.x >= width || p.y >= height) {
                return Err(RecordError::Inconsistent(format!(
                    "landmark {:#04x} at ({}, {}) lies outside the {width}×{height} image",
                    point.code, point.x, point.y
                )));
            }
            views.push(FaceView {
                quality: rep.quality,
                landmarks,
                image_type,
                data_type,
                width,
                height,
                data,
            });
        }
        check_end(&reader, bytes.len())?;
        let (captured_at, device) = first.unwrap_or_default();
        Ok(Self {
            captured_at,
            device,
            views,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> FaceRecord {
        FaceRecord {
            captured_at: CaptureTime {
                year: 2026,
                month: 1,
                day: 2,
                hour: 3,
                minute: 4,
                second: 5,
                millisecond: 6,
            },
            device: CaptureDevice::default(),
            views: vec![FaceView {
                quality: vec![],
                landmarks: vec![
                    Landmark {
                        kind: 1,
                        code: Landmark::RIGHT_EYE_CENTRE,
                        x: 200,
                        y: 240,
                    },
                    Landmark {
                        kind: 1,
                        code: Landmark::LEFT_EYE_CENTRE,
                        x: 280,
                        y: 240,
                    },
                ],
                image_type: 2,
                data_type: FaceImageData::Jpeg,
                width: 480,
                height: 640,
                data: vec![0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9],
            }],
        }
    }

    #[test]
    fn a_face_record_reads_back_exactly_as_written() {
        let bytes = record().to_bytes().expect("writes");
        assert_eq!(&bytes[..8], b"FAC\x00030\x00");
        assert_eq!(FaceRecord::from_bytes(&bytes).expect("reads"), record());
    }

    #[test]
    fn every_truncation_and_an_eye_outside_the_image_are_refused() {
        let bytes = record().to_bytes().expect("writes");
        for cut in 0..bytes.len() {
            assert!(
                FaceRecord::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut outside = record();
        outside.views[0].landmarks[0].x = 999;
        let bytes = outside.to_bytes().expect("writes");
        assert!(matches!(
            FaceRecord::from_bytes(&bytes),
            Err(RecordError::Inconsistent(reason)) if reason.contains("outside")
        ));
    }
}
