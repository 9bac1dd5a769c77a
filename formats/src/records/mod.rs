//! ISO/IEC 19794 biometric data interchange records, as SBI devices send them.
//!
//! - [`finger`]: 19794-4:2011 finger image records (`FIR\0`, version `020\0`).
//! - [`face`]: 19794-5:2011 face image records (`FAC\0`, version `030\0`).
//!
//! Readers check every length against the bytes present and refuse truncated or inconsistent
//! input with a [`RecordError`] that says where and why; they never panic on bad input.

pub mod face;
pub mod finger;

/// Why a record could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The data ends before a field the record needs.
    #[error("the record is truncated: {field} at byte {at} needs {needed} more bytes")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Its offset.
        at: usize,
        /// Bytes it needed beyond the end.
        needed: usize,
    },
    /// The record does not start with the expected format identifier.
    #[error("not a {expected} record (starts with {found:?})")]
    BadMagic {
        /// The identifier expected.
        expected: &'static str,
        /// The bytes found.
        found: Vec<u8>,
    },
    /// A version this reader does not read.
    #[error("unsupported record version {0:?}")]
    BadVersion(Vec<u8>),
    /// Two fields disagree (a length, a count, an image size).
    #[error("inconsistent record: {0}")]
    Inconsistent(String),
    /// An image compression this reader cannot decode.
    #[error("unsupported image compression code {0}")]
    UnsupportedCompression(u8),
    /// The embedded image does not decode or encode.
    #[error("the embedded image is unusable: {0}")]
    Image(String),
}

/// A cursor over record bytes that fails with [`RecordError::Truncated`] instead of panicking.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.at
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], RecordError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        match end {
            Some(end) => {
                let slice = &self.bytes[self.at..end];
                self.at = end;
                Ok(slice)
            }
            None => Err(RecordError::Truncated {
                field,
                at: self.at,
                needed: n - (self.bytes.len() - self.at),
            }),
        }
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, RecordError> {
        Ok(self.take(1, field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, RecordError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, RecordError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// When a capture was made, as the 9-byte ISO/IEC 19794 date-time (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaptureTime {
    /// Year, e.g. 2026.
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
    /// Hour 0–23.
    pub hour: u8,
    /// Minute 0–59.
    pub minute: u8,
    /// Second 0–59.
    pub second: u8,
    /// Millisecond 0–999.
    pub millisecond: u16,
}

impl CaptureTime {
    /// The time `at`, in UTC.
    pub fn from_datetime(at: time::OffsetDateTime) -> Self {
        let at = at.to_offset(time::UtcOffset::UTC);
        Self {
            year: u16::try_from(at.year()).unwrap_or(0),
            month: u8::from(at.month()),
            day: at.day(),
            hour: at.hour(),
            minute: at.minute(),
            second: at.second(),
            millisecond: at.millisecond(),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.year.to_be_bytes());
        out.extend_from_slice(&[self.month, self.day, self.hour, self.minute, self.second]);
        out.extend_from_slice(&self.millisecond.to_be_bytes());
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, RecordError> {
        let time = Self {
            year: reader.u16("capture year")?,
            month: reader.u8("capture month")?,
            day: reader.u8("capture day")?,
            hour: reader.u8("capture hour")?,
            minute: reader.u8("capture minute")?,
            second: reader.u8("capture second")?,
            millisecond: reader.u16("capture millisecond")?,
        };
        let valid = (1..=12).contains(&time.month)
            && (1..=31).contains(&time.day)
            && time.hour < 24
            && time.minute < 60
            && time.second < 60
            && time.millisecond < 1000;
        // All 0xFF bytes mean "not recorded" in the standard.
        let unset = time.year == 0xFFFF;
        if valid || unset {
            Ok(time)
        } else {
            Err(RecordError::Inconsistent(format!(
                "capture time {time:?} is not a date"
            )))
        }
    }
}

/// The capture device as a record names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaptureDevice {
    /// Capture device technology identifier (0 unknown).
    pub technology: u8,
    /// The vendor's IBIA-registered id (0 unknown).
    pub vendor: u16,
    /// The vendor's device type id (0 unknown).
    pub device_type: u16,
}

/// A quality block: a score and the algorithm that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualityBlock {
    /// 0–100, or 255 when the algorithm failed.
    pub score: u8,
    /// Owner of the quality algorithm (IBIA id).
    pub algorithm_owner: u16,
    /// The owner's algorithm id.
    pub algorithm_id: u16,
}

fn write_quality(blocks: &[QualityBlock], out: &mut Vec<u8>) -> Result<(), RecordError> {
    let count = u8::try_from(blocks.len())
        .map_err(|_| RecordError::Inconsistent("more than 255 quality blocks".into()))?;
    out.push(count);
    for block in blocks {
        out.push(block.score);
        out.extend_from_slice(&block.algorithm_owner.to_be_bytes());
        out.extend_from_slice(&block.algorithm_id.to_be_bytes());
    }
    Ok(())
}

fn read_quality(reader: &mut Reader<'_>) -> Result<Vec<QualityBlock>, RecordError> {
    let count = reader.u8("quality block count")?;
    (0..count)
        .map(|_| {
            let score = reader.u8("quality score")?;
            if score > 100 && score != 255 {
                return Err(RecordError::Inconsistent(format!(
                    "quality score {score} is outside 0–100"
                )));
            }
            Ok(QualityBlock {
                score,
                algorithm_owner: reader.u16("quality algorithm owner")?,
                algorithm_id: reader.u16("quality algorithm id")?,
            })
        })
        .collect()
}

fn length_u32(n: usize, what: &str) -> Result<u32, RecordError> {
    u32::try_from(n).map_err(|_| RecordError::Inconsistent(format!("{what} exceeds 4 GiB")))
}

fn length_u16(n: u32, what: &str) -> Result<u16, RecordError> {
    u16::try_from(n).map_err(|_| RecordError::Inconsistent(format!("{what} exceeds 65535")))
}

/// The format of a record: its identifier, version and a name for errors.
pub(crate) struct Format {
    pub(crate) magic: &'static [u8; 4],
    pub(crate) version: &'static [u8; 4],
    pub(crate) name: &'static str,
}

/// What the general header of a record says.
pub(crate) struct GeneralHeader {
    pub(crate) count: u16,
    pub(crate) certified: bool,
}

impl Format {
    /// Identifier, version, record length and representation count (`count`), the
    /// certification flag (none), then `extra` bytes of the format's own.
    pub(crate) fn write_header(
        &self,
        count: usize,
        extra: &[u8],
        body: &[u8],
    ) -> Result<Vec<u8>, RecordError> {
        let header = 4 + 4 + 4 + 2 + 1 + extra.len();
        let mut out = Vec::with_capacity(header + body.len());
        out.extend_from_slice(self.magic);
        out.extend_from_slice(self.version);
        out.extend_from_slice(&length_u32(header + body.len(), "record")?.to_be_bytes());
        let count = u16::try_from(count)
            .map_err(|_| RecordError::Inconsistent("more than 65535 views".into()))?;
        out.extend_from_slice(&count.to_be_bytes());
        out.push(0);
        out.extend_from_slice(extra);
        out.extend_from_slice(body);
        Ok(out)
    }

    /// Reads and checks identifier, version, record length (against `total`), representation
    /// count (at least one) and the certification flag.
    pub(crate) fn read_header(
        &self,
        reader: &mut Reader<'_>,
        total: usize,
    ) -> Result<GeneralHeader, RecordError> {
        let magic = reader.take(4, "format identifier")?;
        if magic != self.magic {
            return Err(RecordError::BadMagic {
                expected: self.name,
                found: magic.to_vec(),
            });
        }
        let version = reader.take(4, "version")?;
        if version != self.version {
            return Err(RecordError::BadVersion(version.to_vec()));
        }
        let declared = reader.u32("record length")? as usize;
        if declared != total {
            return Err(RecordError::Inconsistent(format!(
                "the header declares {declared} bytes but the record has {total}"
            )));
        }
        let count = reader.u16("representation count")?;
        if count == 0 {
            return Err(RecordError::Inconsistent("the record holds no view".into()));
        }
        let certified = reader.u8("certification flag")? != 0;
        Ok(GeneralHeader { count, certified })
    }
}

/// The fields every representation starts with.
pub(crate) struct RepresentationStart {
    pub(crate) start: usize,
    pub(crate) length: usize,
    pub(crate) captured_at: CaptureTime,
    pub(crate) device: CaptureDevice,
    pub(crate) quality: Vec<QualityBlock>,
}

/// Writes capture time, device and quality blocks (the representation length is prepended by
/// [`close_representation`]).
pub(crate) fn open_representation(
    captured_at: &CaptureTime,
    device: &CaptureDevice,
    quality: &[QualityBlock],
    capacity: usize,
) -> Result<Vec<u8>, RecordError> {
    let mut rep = Vec::with_capacity(64 + capacity);
    captured_at.write(&mut rep);
    rep.push(device.technology);
    rep.extend_from_slice(&device.vendor.to_be_bytes());
    rep.extend_from_slice(&device.device_type.to_be_bytes());
    write_quality(quality, &mut rep)?;
    Ok(rep)
}

/// Appends `rep` to `body`, prefixed by its length.
pub(crate) fn close_representation(rep: &[u8], body: &mut Vec<u8>) -> Result<(), RecordError> {
    body.extend_from_slice(&length_u32(rep.len() + 4, "representation")?.to_be_bytes());
    body.extend_from_slice(rep);
    Ok(())
}

impl RepresentationStart {
    /// Reads the common fields, and skips certification blocks when the record has them.
    pub(crate) fn read(reader: &mut Reader<'_>, certified: bool) -> Result<Self, RecordError> {
        let start = reader.position();
        let length = reader.u32("representation length")? as usize;
        let captured_at = CaptureTime::read(reader)?;
        let device = CaptureDevice {
            technology: reader.u8("device technology")?,
            vendor: reader.u16("device vendor")?,
            device_type: reader.u16("device type")?,
        };
        let quality = read_quality(reader)?;
        if certified {
            let blocks = reader.u8("certification block count")?;
            reader.take(usize::from(blocks) * 3, "certification blocks")?;
        }
        Ok(Self {
            start,
            length,
            captured_at,
            device,
            quality,
        })
    }

    /// Checks that the representation held exactly its declared length.
    pub(crate) fn finish(&self, reader: &Reader<'_>) -> Result<(), RecordError> {
        let held = reader.position() - self.start;
        if held == self.length {
            Ok(())
        } else {
            Err(RecordError::Inconsistent(format!(
                "a view declares {} bytes but holds {held}",
                self.length
            )))
        }
    }
}

/// Checks that nothing follows the last view.
pub(crate) fn check_end(reader: &Reader<'_>, total: usize) -> Result<(), RecordError> {
    if reader.position() == total {
        Ok(())
    } else {
        Err(RecordError::Inconsistent(format!(
            "{} bytes follow the last view",
            total - reader.position()
        )))
    }
}
