//! The applicant's receipt: the enrollment id as text and as a QR code, the photo, each
//! finger's quality and how to follow the application. Shown on screen for printing, and written
//! as a one-page PDF (PDF 1.4 with the photo as a JPEG image and the QR code as vector
//! squares; no PDF library needed for that).
//!
//! A receipt holds the applicant's photo: it lives in memory until the next enrollment or
//! logout, and is written to a file only when the officer asks.

use std::fmt::{self, Write as _};

use formats::FingerPosition;
use protocol::content::{BiometricBytes, Demographics};
use protocol::form::Label;
use qrcode::{Color, QrCode};

use crate::enrollment::EnrollmentDraft;
use crate::station::Station;

/// One finger on the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFinger {
    /// Which finger.
    pub position: FingerPosition,
    /// Its name in both languages.
    pub name: Label,
    /// The station's quality score, or `None` when declared missing.
    pub quality: Option<u8>,
    /// Why it is missing, when declared.
    pub exception: Option<String>,
}

/// Everything a receipt shows.
#[derive(Clone)]
pub struct Receipt {
    /// The enrollment (packet) id.
    pub id: String,
    /// When it was sealed, RFC 3339.
    pub created_at: String,
    /// The station's name.
    pub station_name: String,
    /// The application, e.g. "Foreigner (WNA): visa".
    pub application: Label,
    /// The applicant's name.
    pub full_name: String,
    /// The NIK or passport number.
    pub document_number: String,
    /// The face photo, JPEG.
    pub photo: BiometricBytes,
    /// Its size in pixels.
    pub photo_size: (u32, u32),
    /// The ten fingers.
    pub fingers: Vec<ReceiptFinger>,
    /// Whether it waits for a supervisor before it is sent.
    pub needs_approval: bool,
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt")
            .field("id", &self.id)
            .field("photo", &self.photo)
            .finish_non_exhaustive()
    }
}

/// Why a receipt could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The id does not fit a QR code (it always does for a UUID).
    #[error("cannot encode the enrollment id as a QR code: {0}")]
    Qr(String),
}

/// How the applicant follows the application, in each language.
pub fn tracking_text() -> Label {
    Label::new(
        "Keep this receipt. To follow your application, give the enrollment number (or show the \
         QR code) at any immigration office or to the call centre. You will be told when your \
         document is ready to collect.",
        "Simpan tanda terima ini. Untuk memantau permohonan Anda, sebutkan nomor perekaman (atau \
         tunjukkan kode QR) di kantor imigrasi mana pun atau ke pusat layanan. Anda akan diberi \
         tahu saat dokumen siap diambil.",
    )
}

/// A finger's name in each language.
pub fn finger_label(position: FingerPosition) -> Label {
    let (en, id) = position.names();
    Label::new(en, id)
}

impl Receipt {
    /// The receipt of an enrollment just sealed from `draft` with `form` (normalized as sealed).
    ///
    /// Returns `None` when the draft has no face photo (a sealed enrollment always has one).
    pub fn of(
        station: &Station,
        form: &Demographics,
        draft: &EnrollmentDraft,
        id: &str,
        created_at: &str,
    ) -> Option<Self> {
        let face = draft.face()?;
        let application = station
            .forms()
            .find(&form.form, &form.form_version)
            .map_or_else(|| Label::new(&form.form, &form.form), |f| f.title.clone());
        let exceptions: Vec<(FingerPosition, String)> = draft
            .exceptions()
            .map(|(position, reason)| (position, reason.to_owned()))
            .collect();
        let fingers = FingerPosition::ALL
            .iter()
            .map(|&position| {
                let exception = exceptions
                    .iter()
                    .find(|(p, _)| *p == position)
                    .map(|(_, reason)| reason.clone());
                ReceiptFinger {
                    position,
                    name: finger_label(position),
                    quality: exception
                        .is_none()
                        .then(|| draft.finger_quality(position))
                        .flatten(),
                    exception,
                }
            })
            .collect();
        Some(Self {
            id: id.to_owned(),
            created_at: created_at.to_owned(),
            station_name: station.config().station_name.clone(),
            application,
            full_name: form.full_name.clone(),
            document_number: form.document_number.clone(),
            photo: face.jpeg.clone(),
            photo_size: (face.width, face.height),
            fingers,
            needs_approval: draft.needs_approval(),
        })
    }

    fn qr(&self) -> Result<QrCode, ReceiptError> {
        QrCode::new(self.id.as_bytes()).map_err(|e| ReceiptError::Qr(e.to_string()))
    }

    /// The enrollment id as a QR code, SVG.
    ///
    /// # Errors
    /// [`ReceiptError::Qr`].
    pub fn qr_svg(&self) -> Result<String, ReceiptError> {
        Ok(self
            .qr()?
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(160, 160)
            .build())
    }

    /// The receipt as a one-page A4 PDF in `lang` (`"id"` for Bahasa Indonesia, else English).
    ///
    /// # Errors
    /// [`ReceiptError::Qr`].
    pub fn to_pdf(&self, lang: &str) -> Result<Vec<u8>, ReceiptError> {
        let pick = |label: &Label| {
            if lang == "id" {
                label.id.clone()
            } else {
                label.en.clone()
            }
        };
        let words = |en: &str, id: &str| pick(&Label::new(en, id));
        let mut page = String::new();
        let mut text = |x: f32, y: f32, size: f32, line: &str| {
            let _ = writeln!(
                page,
                "BT /F1 {size} Tf {x} {y} Td ({}) Tj ET",
                pdf_text(line)
            );
        };
        // A4: 595 × 842 points.
        text(
            50.0,
            790.0,
            20.0,
            &words("Enrollment receipt", "Tanda terima perekaman"),
        );
        text(50.0, 764.0, 12.0, &pick(&self.application));
        let rows = [
            (
                words("Enrollment number", "Nomor perekaman"),
                self.id.clone(),
            ),
            (words("Name", "Nama"), self.full_name.clone()),
            (words("Document", "Dokumen"), self.document_number.clone()),
            (words("Enrolled", "Direkam"), self.created_at.clone()),
            (words("Station", "Stasiun"), self.station_name.clone()),
        ];
        let mut y = 730.0;
        for (label, value) in &rows {
            text(50.0, y, 10.0, label);
            text(170.0, y, 11.0, value);
            y -= 18.0;
        }
        if self.needs_approval {
            text(
                50.0,
                y,
                10.0,
                &words(
                    "Waits for a supervisor's approval before it is sent.",
                    "Menunggu persetujuan supervisor sebelum dikirim.",
                ),
            );
        }
        y = 560.0;
        text(50.0, y, 13.0, &words("Fingerprints", "Sidik jari"));
        y -= 20.0;
        for finger in &self.fingers {
            let state = match (&finger.exception, finger.quality) {
                (Some(reason), _) => format!("{}: {reason}", words("missing", "tidak ada")),
                (None, Some(q)) => format!("{} {q}/100", words("quality", "mutu")),
                (None, None) => "-".into(),
            };
            text(50.0, y, 10.0, &pick(&finger.name));
            text(170.0, y, 10.0, &state);
            y -= 16.0;
        }
        let tracking = pick(&tracking_text());
        let mut line = String::new();
        y -= 14.0;
        for word in tracking.split_whitespace() {
            if line.len() + word.len() > 90 {
                text(50.0, y, 10.0, &line);
                y -= 14.0;
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        text(50.0, y, 10.0, &line);

        // The photo, 120 points wide, top right.
        let (w, h) = self.photo_size;
        let photo_w = 120.0_f32;
        let photo_h = photo_w * h.max(1) as f32 / w.max(1) as f32;
        let _ = writeln!(
            page,
            "q {photo_w} 0 0 {photo_h} 425 {} cm /Photo Do Q",
            800.0 - photo_h
        );
        // The QR code below it, 3 points a module, with a quiet zone of 4 modules.
        let qr = self.qr()?;
        let modules = qr.width();
        let unit = 3.0_f32;
        let (left, top) = (425.0_f32, 800.0 - photo_h - 20.0);
        page.push_str("0 g\n");
        for (index, color) in qr.to_colors().iter().enumerate() {
            if *color == Color::Dark {
                let (col, row) = (index % modules, index / modules);
                let _ = writeln!(
                    page,
                    "{} {} {unit} {unit} re",
                    left + (col as f32 + 4.0) * unit,
                    top - (row as f32 + 5.0) * unit
                );
            }
        }
        page.push_str("f\n");
        Ok(pdf_document(&page, self.photo.as_bytes(), w, h))
    }
}

/// `text` as a PDF string literal body: Latin-1 only (other characters become `?`), with
/// `\`, `(` and `)` escaped.
fn pdf_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\\' | '(' | ')' => format!("\\{c}"),
            '–' | '—' => "-".into(),
            '·' => "-".into(),
            c if (c as u32) < 0x7f && !c.is_control() => c.to_string(),
            c if (0xa0..=0xff).contains(&(c as u32)) => format!("\\{:03o}", c as u32),
            _ => "?".into(),
        })
        .collect()
}

/// A one-page PDF: the page's content stream, Helvetica, and one JPEG image named `/Photo`.
fn pdf_document(content: &str, jpeg: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    let mut object = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", offsets.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    object(&mut out, b"<< /Type /Catalog /Pages 2 0 R >>");
    object(&mut out, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    object(
        &mut out,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
          /Resources << /Font << /F1 5 0 R >> /XObject << /Photo 6 0 R >> >> >>",
    );
    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(content.as_bytes());
    stream.extend_from_slice(b"\nendstream");
    object(&mut out, &stream);
    object(
        &mut out,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    );
    let mut image = format!(
        "<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace \
         /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
        jpeg.len()
    )
    .into_bytes();
    image.extend_from_slice(jpeg);
    image.extend_from_slice(b"\nendstream");
    object(&mut out, &image);
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
    for offset in &offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        offsets.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt() -> Receipt {
        let frame =
            image::RgbImage::from_fn(36, 48, |x, y| image::Rgb([x as u8 * 7, y as u8 * 5, 90]));
        let mut jpeg = Vec::new();
        image::DynamicImage::ImageRgb8(frame)
            .write_to(
                &mut std::io::Cursor::new(&mut jpeg),
                image::ImageFormat::Jpeg,
            )
            .expect("jpeg");
        Receipt {
            id: "5f0c8a2e-3b7d-4c1e-9a6f-2d8e1b4c7a90".into(),
            created_at: "2026-11-24T05:40:00Z".into(),
            station_name: "Kantor Imigrasi Jakarta Selatan (desk 3)".into(),
            application: Label::new("Foreigner (WNA): visa", "WNA: visa"),
            full_name: "MARIE CLAIRE DUPONT".into(),
            document_number: "X4K7Q2M19".into(),
            photo: BiometricBytes::new(jpeg),
            photo_size: (36, 48),
            fingers: FingerPosition::ALL
                .iter()
                .map(|&position| ReceiptFinger {
                    position,
                    name: Label::new(format!("{position:?}"), format!("{position:?}")),
                    quality: (position != FingerPosition::RightLittle).then_some(72),
                    exception: (position == FingerPosition::RightLittle)
                        .then(|| "Scarred (worn)".to_owned()),
                })
                .collect(),
            needs_approval: true,
        }
    }

    #[test]
    fn the_pdf_is_one_page_with_the_id_the_photo_and_every_finger_and_a_valid_index() {
        let receipt = receipt();
        let pdf = receipt.to_pdf("en").expect("pdf");
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-1.4") && text.ends_with("%%EOF\n"));
        assert!(text.contains("(5f0c8a2e-3b7d-4c1e-9a6f-2d8e1b4c7a90) Tj"));
        assert!(text.contains("(MARIE CLAIRE DUPONT) Tj"));
        assert!(text.contains("(missing: Scarred \\(worn\\)) Tj"), "escaped");
        assert_eq!(text.matches("quality 72/100").count(), 9);
        assert!(text.contains("/Count 1"));
        let photo = receipt.photo.as_bytes();
        assert!(
            pdf.windows(photo.len()).any(|w| w == photo),
            "the photo is embedded as is"
        );
        // Every xref offset points at its object (byte offsets: the JPEG is binary).
        let xref_at: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref");
        let table = String::from_utf8_lossy(&pdf[xref_at..]).into_owned();
        assert!(table.starts_with("xref\n0 7\n"), "{table}");
        for (number, line) in table.lines().skip(3).take(6).enumerate() {
            let offset: usize = line[..10].parse().expect("offset");
            assert!(
                pdf[offset..].starts_with(format!("{} 0 obj", number + 1).as_bytes()),
                "object {} at {offset}",
                number + 1
            );
        }
    }

    #[test]
    fn the_pdf_speaks_the_officers_language() {
        let pdf = receipt().to_pdf("id").expect("pdf");
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("(Tanda terima perekaman) Tj"));
        assert!(text.contains("(Menunggu persetujuan supervisor sebelum dikirim.) Tj"));
    }

    #[test]
    fn the_qr_code_encodes_the_enrollment_id() {
        let receipt = receipt();
        let svg = receipt.qr_svg().expect("svg");
        assert!(svg.contains("<svg"));
        let qr = receipt.qr().expect("qr");
        let again = QrCode::new(receipt.id.as_bytes()).expect("qr");
        assert_eq!(qr.to_colors(), again.to_colors());
        assert!(qr.width() >= 25, "a UUID needs at least version 2");
    }

    #[test]
    fn text_outside_latin_1_cannot_break_the_pdf() {
        assert_eq!(pdf_text("a(b)c\\"), "a\\(b\\)c\\\\");
        assert_eq!(pdf_text("José"), "Jos\\351");
        assert_eq!(pdf_text("名前"), "??");
        assert_eq!(pdf_text("line\nbreak"), "line?break");
    }
}
