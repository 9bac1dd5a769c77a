//! The STREAM preview: `multipart/x-mixed-replace` of JPEG frames.

use std::io::{BufRead, BufReader, Read};

use crate::convert::mjpeg_to_rgb;
use crate::{DeviceError, FrameStream, StreamFormat};
use formats::image::RgbFrame;

/// The largest frame accepted (a 1280×720 JPEG is well below this).
const MAX_FRAME_BYTES: usize = 8 << 20;
/// The longest header line accepted.
const MAX_LINE_BYTES: usize = 4096;

/// The boundary of a `multipart/x-mixed-replace; boundary=…` content type.
pub(crate) fn boundary_of(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind
        .trim()
        .eq_ignore_ascii_case("multipart/x-mixed-replace")
    {
        return None;
    }
    params.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|boundary| !boundary.is_empty())
    })
}

/// Frames out of a multipart body, one JPEG per part.
pub(crate) struct MultipartFrames<R> {
    reader: BufReader<R>,
    delimiter: String,
    device: String,
    format: StreamFormat,
    /// A frame read ahead to learn the stream's size.
    pending: Option<RgbFrame>,
}

impl<R: Read + Send> MultipartFrames<R> {
    pub(crate) fn new(reader: R, boundary: &str, device: String) -> Self {
        Self {
            reader: BufReader::new(reader),
            delimiter: format!("--{boundary}"),
            device,
            format: StreamFormat {
                width: 0,
                height: 0,
                // The specification's minimum preview rate.
                fps: 3,
                encoding: "MJPEG".into(),
            },
            pending: None,
        }
    }

    /// Reads the first frame ahead so that [`FrameStream::format`] knows the frame size.
    pub(crate) fn prime(&mut self) -> Result<(), DeviceError> {
        let frame = self.read_frame()?;
        self.pending = Some(frame);
        Ok(())
    }

    fn line(&mut self) -> Result<Option<String>, DeviceError> {
        let mut line = Vec::new();
        let read = (&mut self.reader)
            .take(MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut line)
            .map_err(|error| self.io(error))?;
        if read == 0 {
            return Ok(None);
        }
        if !line.ends_with(b"\n") {
            return Err(self.protocol("a preview header line is too long"));
        }
        Ok(Some(String::from_utf8_lossy(&line).trim_end().to_owned()))
    }

    fn io(&self, error: std::io::Error) -> DeviceError {
        match error.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => DeviceError::Timeout {
                device: self.device.clone(),
                after: std::time::Duration::from_secs(5),
            },
            _ => DeviceError::ConnectionLost {
                device: self.device.clone(),
                reason: format!("the preview stream broke: {error}"),
            },
        }
    }

    fn protocol(&self, reason: &str) -> DeviceError {
        DeviceError::Protocol {
            device: self.device.clone(),
            reason: reason.to_owned(),
        }
    }

    fn ended(&self) -> DeviceError {
        DeviceError::ConnectionLost {
            device: self.device.clone(),
            reason: "the preview stream ended".into(),
        }
    }
}

impl<R: Read + Send> FrameStream for MultipartFrames<R> {
    fn format(&self) -> StreamFormat {
        self.format.clone()
    }

    fn next_frame(&mut self) -> Result<RgbFrame, DeviceError> {
        match self.pending.take() {
            Some(frame) => Ok(frame),
            None => self.read_frame(),
        }
    }
}

impl<R: Read + Send> MultipartFrames<R> {
    fn read_frame(&mut self) -> Result<RgbFrame, DeviceError> {
        // Skip to the next delimiter (a preamble or the CRLF after the previous part).
        loop {
            match self.line()? {
                None => return Err(self.ended()),
                Some(line) if line == self.delimiter => break,
                Some(line) if line == format!("{}--", self.delimiter) => return Err(self.ended()),
                Some(_) => {}
            }
        }
        let mut length = None;
        loop {
            let Some(line) = self.line()? else {
                return Err(self.ended());
            };
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    length = Some(value.trim().parse::<usize>().map_err(|_| {
                        self.protocol("a preview frame has an unreadable Content-Length")
                    })?);
                }
            }
        }
        let length =
            length.ok_or_else(|| self.protocol("a preview frame has no Content-Length"))?;
        if length > MAX_FRAME_BYTES {
            return Err(self.protocol("a preview frame is larger than 8 MiB"));
        }
        let mut jpeg = vec![0; length];
        self.reader
            .read_exact(&mut jpeg)
            .map_err(|error| self.io(error))?;
        let frame = mjpeg_to_rgb(&jpeg).map_err(|error| DeviceError::Protocol {
            device: self.device.clone(),
            reason: error.to_string(),
        })?;
        self.format.width = frame.width();
        self.format.height = frame.height();
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::rgb_to_jpeg;

    #[test]
    fn frames_are_read_part_by_part_until_the_stream_ends() {
        let frame = RgbFrame::new(16, 8, vec![90; 16 * 8 * 3]).expect("frame");
        let jpeg = rgb_to_jpeg(&frame, 90).expect("jpeg");
        let mut body = b"preamble\r\n".to_vec();
        for _ in 0..2 {
            body.extend_from_slice(b"--frame\r\nContent-Type: image/jpeg\r\n");
            body.extend_from_slice(format!("Content-Length: {}\r\n\r\n", jpeg.len()).as_bytes());
            body.extend_from_slice(&jpeg);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--frame--\r\n");
        let boundary = boundary_of("multipart/x-mixed-replace; boundary=\"frame\"").expect("b");
        let mut frames = MultipartFrames::new(&body[..], &boundary, "reader".into());
        for _ in 0..2 {
            let got = frames.next_frame().expect("frame");
            assert_eq!((got.width(), got.height()), (16, 8));
        }
        assert!(matches!(
            frames.next_frame(),
            Err(DeviceError::ConnectionLost { .. })
        ));
    }

    #[test]
    fn a_part_without_length_or_with_garbage_is_a_protocol_error() {
        let body = b"--f\r\nContent-Type: image/jpeg\r\n\r\nxyz\r\n".to_vec();
        let mut frames = MultipartFrames::new(&body[..], "f", "reader".into());
        assert!(matches!(
            frames.next_frame(),
            Err(DeviceError::Protocol { .. })
        ));
        let body = b"--f\r\nContent-Length: 3\r\n\r\nxyz\r\n".to_vec();
        let mut frames = MultipartFrames::new(&body[..], "f", "reader".into());
        assert!(matches!(
            frames.next_frame(),
            Err(DeviceError::Protocol { .. })
        ));
        assert_eq!(boundary_of("application/json"), None);
    }
}
