//! ISO/IEC 19794-4:2011 finger image records.
//!
//! Layout (big-endian): general header `FIR\0` `020\0`, record length (4), representation count
//! (2), certification flag (1), distinct finger positions (1); then per representation: its
//! length (4), capture date-time (9), device technology (1), vendor (2), device type (2), quality
//! blocks (count 1 + 5 each), [certification blocks when flagged: count 1 + 3 each], finger
//! position (1), representation number (1), scale units (1: 1 = ppi, 2 = ppcm), capture and image
//! sampling rates (2 + 2 each), bit depth (1), compression (1), impression type (1), width (2),
//! height (2), image data length (4), image data.
//!
//! Images are written and read uncompressed (code 0), as WSQ (code 2: the FBI's wavelet scalar
//! quantization, lossy, at 0.75 bit per pixel — about 15:1 — as NBIS does for 500 ppi prints;
//! the `wsq-codec` crate matches NBIS's encoder byte for byte) or as PNG (code 6, lossless).
//! Other codes (JPEG, JPEG 2000) are refused with [`RecordError::UnsupportedCompression`].

use super::{
    check_end, close_representation, length_u16, length_u32, open_representation, CaptureDevice,
    CaptureTime, Format, QualityBlock, Reader, RecordError, RepresentationStart,
};
use crate::image::FingerprintImage;

const FORMAT: Format = Format {
    magic: b"FIR\0",
    version: b"020\0",
    name: "ISO/IEC 19794-4 finger image (FIR)",
};

/// How the image in a view is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Code 0: one byte per pixel, no compression.
    Uncompressed,
    /// Code 2: WSQ at [`WSQ_BITRATE`] bits per pixel, lossy.
    Wsq,
    /// Code 6: PNG, lossless.
    Png,
}

impl Compression {
    fn code(self) -> u8 {
        match self {
            Self::Uncompressed => 0,
            Self::Wsq => 2,
            Self::Png => 6,
        }
    }
}

/// The WSQ bit rate, in bits per pixel: NBIS's documented choice for 500 ppi fingerprints.
pub const WSQ_BITRATE: f32 = 0.75;

/// One finger image in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerView {
    /// The ISO finger position code: 0 unknown, 1–10 the fingers, 13–15 plain slaps.
    pub position: u8,
    /// Quality blocks (may be empty).
    pub quality: Vec<QualityBlock>,
    /// Impression type: 0 live-scan plain, 1 live-scan rolled, …
    pub impression: u8,
    /// The image.
    pub image: FingerprintImage,
    /// How the image is stored when written.
    pub compression: Compression,
}

/// A finger image record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerRecord {
    /// When the views were captured.
    pub captured_at: CaptureTime,
    /// The device that captured them.
    pub device: CaptureDevice,
    /// One or more views.
    pub views: Vec<FingerView>,
}

impl FingerRecord {
    /// Serializes the record.
    ///
    /// # Errors
    /// [`RecordError::Inconsistent`] for a record with no view or sizes the format cannot hold,
    /// [`RecordError::Image`] when PNG encoding fails.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RecordError> {
        if self.views.is_empty() {
            return Err(RecordError::Inconsistent(
                "a record needs at least one view".into(),
            ));
        }
        let mut body = Vec::new();
        for (number, view) in self.views.iter().enumerate() {
            let data = match view.compression {
                Compression::Uncompressed => view.image.pixels().to_vec(),
                Compression::Png => view
                    .image
                    .to_png()
                    .map_err(|error| RecordError::Image(error.to_string()))?,
                Compression::Wsq => encode_wsq(&view.image)?,
            };
            let mut rep =
                open_representation(&self.captured_at, &self.device, &view.quality, data.len())?;
            rep.push(view.position);
            rep.push(u8::try_from(number).unwrap_or(u8::MAX));
            rep.push(1); // pixels per inch
            let ppi = view.image.resolution_ppi();
            for _ in 0..4 {
                rep.extend_from_slice(&ppi.to_be_bytes());
            }
            rep.push(8);
            rep.push(view.compression.code());
            rep.push(view.impression);
            rep.extend_from_slice(&length_u16(view.image.width(), "image width")?.to_be_bytes());
            rep.extend_from_slice(&length_u16(view.image.height(), "image height")?.to_be_bytes());
            rep.extend_from_slice(&length_u32(data.len(), "image data")?.to_be_bytes());
            rep.extend_from_slice(&data);
            close_representation(&rep, &mut body)?;
        }
        let mut positions: Vec<u8> = self.views.iter().map(|view| view.position).collect();
        positions.sort_unstable();
        positions.dedup();
        let distinct = u8::try_from(positions.len()).unwrap_or(u8::MAX);
        FORMAT.write_header(self.views.len(), &[distinct], &body)
    }

    /// Reads a record, checking every length and count against the bytes present, and decodes
    /// every image.
    ///
    /// # Errors
    /// [`RecordError`] naming the first problem found.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RecordError> {
        let (captured_at, device, views) = parse(
            bytes,
            |compression, data, width, height, ppi| match compression {
                0 => Ok((
                    FingerprintImage::new(width, height, ppi, data.to_vec()).ok_or_else(|| {
                        RecordError::Inconsistent(format!(
                            "{width}×{height} uncompressed needs {} bytes, has {}",
                            width as usize * height as usize,
                            data.len()
                        ))
                    })?,
                    Compression::Uncompressed,
                )),
                2 => Ok((decode_wsq(data, width, height, ppi)?, Compression::Wsq)),
                6 => Ok((decode_png(data, width, height, ppi)?, Compression::Png)),
                other => Err(RecordError::UnsupportedCompression(other)),
            },
        )?;
        Ok(Self {
            captured_at,
            device,
            views: views
                .into_iter()
                .map(
                    |(position, quality, impression, (image, compression))| FingerView {
                        position,
                        quality,
                        impression,
                        image,
                        compression,
                    },
                )
                .collect(),
        })
    }

    /// Reads a record as [`from_bytes`](Self::from_bytes) does — every length, count and field
    /// — and each image's own header (WSQ: its markers, transform, quantization and Huffman
    /// tables and frame header; PNG: its header; uncompressed: its length), checking the
    /// image's size against the record's, without decoding the pixels: a small fraction of the
    /// time. Damage inside the compressed image data is found only by decoding it.
    ///
    /// # Errors
    /// [`RecordError`] naming the first problem found.
    pub fn outline(bytes: &[u8]) -> Result<Vec<ViewOutline>, RecordError> {
        let (_, _, views) = parse(bytes, |compression, data, width, height, _| {
            let (compression, size) = match compression {
                0 => {
                    if data.len() != width as usize * height as usize {
                        return Err(RecordError::Inconsistent(format!(
                            "{width}×{height} uncompressed needs {} bytes, has {}",
                            width as usize * height as usize,
                            data.len()
                        )));
                    }
                    (Compression::Uncompressed, (width, height))
                }
                2 => {
                    let info = wsq_codec::read_info(data).map_err(|error| {
                        RecordError::Image(format!("the WSQ image does not read: {error}"))
                    })?;
                    let size = (
                        u32::try_from(info.width).unwrap_or(u32::MAX),
                        u32::try_from(info.height).unwrap_or(u32::MAX),
                    );
                    (Compression::Wsq, size)
                }
                6 => {
                    let size = image::ImageReader::with_format(
                        std::io::Cursor::new(data),
                        image::ImageFormat::Png,
                    )
                    .into_dimensions()
                    .map_err(|error| RecordError::Image(error.to_string()))?;
                    (Compression::Png, size)
                }
                other => return Err(RecordError::UnsupportedCompression(other)),
            };
            if size != (width, height) {
                return Err(RecordError::Inconsistent(format!(
                    "the header says {width}×{height}, the image is {}×{}",
                    size.0, size.1
                )));
            }
            Ok((compression, width, height))
        })?;
        Ok(views
            .into_iter()
            .map(
                |(position, _, _, (compression, width, height))| ViewOutline {
                    position,
                    width,
                    height,
                    compression,
                },
            )
            .collect())
    }
}

/// A view as [`FingerRecord::outline`] reads it: where and how, the image not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewOutline {
    /// The ISO finger position code.
    pub position: u8,
    /// The image's width in pixels (the record's and the image header's).
    pub width: u32,
    /// The image's height in pixels.
    pub height: u32,
    /// How the image is stored.
    pub compression: Compression,
}

/// A view's position, quality blocks, impression type and what `image` made of its image.
type ParsedView<T> = (u8, Vec<QualityBlock>, u8, T);

/// Reads a record's structure, handing each view's image (compression code, data, width,
/// height, ppi) to `image`.
fn parse<T>(
    bytes: &[u8],
    image: impl Fn(u8, &[u8], u32, u32, u16) -> Result<T, RecordError>,
) -> Result<(CaptureTime, CaptureDevice, Vec<ParsedView<T>>), RecordError> {
    let mut reader = Reader::new(bytes);
    let header = FORMAT.read_header(&mut reader, bytes.len())?;
    let distinct = reader.u8("distinct positions")?;

    let mut views = Vec::with_capacity(usize::from(header.count));
    let mut first: Option<(CaptureTime, CaptureDevice)> = None;
    for _ in 0..header.count {
        let rep = RepresentationStart::read(&mut reader, header.certified)?;
        first.get_or_insert((rep.captured_at, rep.device));
        let position = reader.u8("finger position")?;
        if position > 15 && !(40..=50).contains(&position) {
            return Err(RecordError::Inconsistent(format!(
                "finger position code {position} is not defined"
            )));
        }
        let _number = reader.u8("representation number")?;
        let scale = reader.u8("scale units")?;
        let _capture_h = reader.u16("capture sampling rate")?;
        let _capture_v = reader.u16("capture sampling rate")?;
        let rate = reader.u16("image sampling rate")?;
        // The rate is per inch (1) or per centimetre (2): 197 per cm is 500 ppi.
        let image_h = match scale {
            1 => rate,
            2 => (f64::from(rate) * 2.54).round().min(f64::from(u16::MAX)) as u16,
            other => {
                return Err(RecordError::Inconsistent(format!(
                    "scale units {other} (1 is per inch, 2 per centimetre)"
                )))
            }
        };
        let _image_v = reader.u16("image sampling rate")?;
        let depth = reader.u8("bit depth")?;
        if depth != 8 {
            return Err(RecordError::Inconsistent(format!(
                "bit depth {depth} (only 8-bit grey is read)"
            )));
        }
        let compression = reader.u8("compression")?;
        let impression = reader.u8("impression type")?;
        let width = u32::from(reader.u16("width")?);
        let height = u32::from(reader.u16("height")?);
        let data_length = reader.u32("image data length")? as usize;
        let data = reader.take(data_length, "image data")?;
        rep.finish(&reader)?;
        let made = image(compression, data, width, height, image_h)?;
        views.push((position, rep.quality, impression, made));
    }
    check_end(&reader, bytes.len())?;
    let mut positions: Vec<u8> = views.iter().map(|view| view.0).collect();
    positions.sort_unstable();
    positions.dedup();
    if usize::from(distinct) != positions.len() {
        return Err(RecordError::Inconsistent(format!(
            "the header counts {distinct} finger positions, the views hold {}",
            positions.len()
        )));
    }
    let (captured_at, device) = first.unwrap_or_default();
    Ok((captured_at, device, views))
}

fn encode_wsq(image: &FingerprintImage) -> Result<Vec<u8>, RecordError> {
    let options = wsq_codec::EncodeOptions::default()
        .with_bitrate(WSQ_BITRATE)
        .with_ppi(Some(u32::from(image.resolution_ppi())));
    wsq_codec::encode(
        image.pixels(),
        image.width() as usize,
        image.height() as usize,
        &options,
    )
    .map_err(|error| RecordError::Image(format!("WSQ encoding failed: {error}")))
}

fn decode_wsq(
    data: &[u8],
    width: u32,
    height: u32,
    ppi: u16,
) -> Result<FingerprintImage, RecordError> {
    // The header's size bounds the decoder before it allocates anything.
    let options =
        wsq_codec::DecodeOptions::default().with_max_pixels(Some(width as usize * height as usize));
    let decoded = wsq_codec::decode_with(data, &options)
        .map_err(|error| RecordError::Image(format!("the WSQ image does not decode: {error}")))?;
    if (decoded.width, decoded.height) != (width as usize, height as usize) {
        return Err(RecordError::Inconsistent(format!(
            "the header says {width}×{height}, the WSQ image is {}×{}",
            decoded.width, decoded.height
        )));
    }
    FingerprintImage::new(width, height, ppi, decoded.pixels)
        .ok_or_else(|| RecordError::Image("the WSQ image has the wrong number of pixels".into()))
}

fn decode_png(
    data: &[u8],
    width: u32,
    height: u32,
    ppi: u16,
) -> Result<FingerprintImage, RecordError> {
    let decoded = image::load_from_memory_with_format(data, image::ImageFormat::Png)
        .map_err(|error| RecordError::Image(error.to_string()))?
        .into_luma8();
    if decoded.dimensions() != (width, height) {
        return Err(RecordError::Inconsistent(format!(
            "the header says {width}×{height}, the PNG is {}×{}",
            decoded.width(),
            decoded.height()
        )));
    }
    FingerprintImage::new(width, height, ppi, decoded.into_raw())
        .ok_or_else(|| RecordError::Image("the PNG decoder returned a short buffer".into()))
}
