//! Fingerprint image quality, 0–100: NFIQ 2 (ISO/IEC 29794-4:2024) as NIST's reference
//! implementation computes it ([`super::nfiq2`]: its features and NIST's own trained forest;
//! the minutiae from FingerJet FX OSE as NIST takes them, through its Rust port),
//! on the print resampled to 500 ppi when the reader reports another resolution
//! ([`super::nfiq2::resample`]). A print larger than NFIQ 2 scores (800×1000 once its white
//! frame is cut; NIST refuses it) is scored on its centre. The feedback an officer reads is NFIQ
//! 2's actionable feedback: an empty or uniform image, too little finger on the glass, too few
//! minutiae.

use formats::image::FingerprintImage;
use serde::Serialize;

use super::nfiq2::{self, Nfiq2Error};

/// NFIQ 2's actionable feedback thresholds: finger area in pixels and minutiae.
const MIN_FOREGROUND_PIXELS: usize = 50_000;
const MIN_MINUTIAE: usize = 5;
/// Below this standard deviation the image has nothing on it (NFIQ 2: uniform image).
const UNIFORM_STD: f64 = 1.0;
/// Above this mean grey level the image is empty or its contrast too low (NFIQ 2: 250).
const EMPTY_MEAN: f64 = 250.0;
/// The largest print NFIQ 2 scores, 500 ppi pixels across and down once its white frame is cut.
const LARGEST: (usize, usize) = (800, 1000);
/// Resolutions a fingerprint reader reports (slap previews at 250 ppi, sensors up to 1200).
const PPI_RANGE: std::ops::RangeInclusive<u16> = 100..=1200;

/// What an officer can do about a poor print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerFeedback {
    /// Nothing on the image, or too faint to see.
    EmptyOrFaint,
    /// The finger covers too little of the image.
    TooLittleForeground,
    /// Too few ridge endings and bifurcations could be found.
    TooFewMinutiae,
}

impl FingerFeedback {
    /// The advice an officer reads, in English and Bahasa Indonesia.
    pub fn advice(self) -> protocol::form::Label {
        let (en, id) = match self {
            FingerFeedback::EmptyOrFaint => (
                "no print on the image: place the finger flat on the glass and press firmly",
                "tidak ada sidik jari pada gambar: letakkan jari rata di atas kaca dan tekan dengan mantap",
            ),
            FingerFeedback::TooLittleForeground => (
                "too little of the finger touches the glass: roll it flat and centre it",
                "terlalu sedikit bagian jari yang menyentuh kaca: ratakan dan letakkan di tengah",
            ),
            FingerFeedback::TooFewMinutiae => (
                "the ridges are not clear: clean and dry (or moisten) the finger and press again",
                "guratan sidik jari tidak jelas: bersihkan dan keringkan (atau lembapkan) jari lalu tekan lagi",
            ),
        };
        protocol::form::Label::new(en, id)
    }
}

/// A print's quality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FingerQuality {
    /// The NFIQ 2 score, 0–100, higher is better; 0 when NFIQ 2 finds nothing to score.
    pub score: u8,
    /// Minutiae NFIQ 2 found (0 when it found too few to score).
    pub minutiae: usize,
    /// Finger area NFIQ 2 found, in pixels at 500 ppi.
    pub foreground_pixels: usize,
    /// What to do about it, empty when nothing needs doing.
    pub feedback: Vec<FingerFeedback>,
}

impl FingerQuality {
    /// An image with no print on it.
    fn no_print() -> Self {
        FingerQuality {
            score: 0,
            minutiae: 0,
            foreground_pixels: 0,
            feedback: vec![FingerFeedback::EmptyOrFaint],
        }
    }
}

/// The print's quality could not be judged at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FingerQualityError {
    /// The NFIQ 2 model compiled into the station does not parse (a damaged build).
    #[error("the fingerprint quality model is damaged: reinstall the station")]
    Model,
    /// The reader reports a resolution no fingerprint reader has.
    #[error("the reader reports {0} ppi, which no fingerprint reader has: check the reader")]
    Resolution(u16),
}

/// The NFIQ 2 quality of `print`, resampled to 500 ppi first when its reader reports another
/// resolution.
///
/// # Errors
/// [`FingerQualityError`] when the station's NFIQ 2 model is damaged or the reader reports a
/// resolution outside 100–1200 ppi.
pub fn assess(print: &FingerprintImage) -> Result<FingerQuality, FingerQualityError> {
    let (width, height) = (print.width() as usize, print.height() as usize);
    let ppi = print.resolution_ppi();
    if !PPI_RANGE.contains(&ppi) {
        return Err(FingerQualityError::Resolution(ppi));
    }
    let at_500;
    let (pixels, width, height) = if ppi == 500 {
        (print.pixels(), width, height)
    } else {
        // Only as much as NFIQ 2 could score (and room for its white frame) is resampled, so
        // a huge image from a reader costs no more than a large print.
        let (source, _) = nfiq2::Grey::centre(print.pixels(), (width, height), source_limit(ppi));
        at_500 = nfiq2::resample(&source, u32::from(ppi));
        (&at_500.pixels[..], at_500.width, at_500.height)
    };
    let (mean, std) = super::mean_std(pixels.iter().map(|&v| f64::from(v)));
    if pixels.is_empty() || std < UNIFORM_STD || mean > EMPTY_MEAN {
        return Ok(FingerQuality::no_print());
    }
    let scored = match nfiq2::assess(pixels, width, height, 500) {
        Err(Nfiq2Error::TooLarge(..)) => {
            let (centre, _) = nfiq2::Grey::centre(pixels, (width, height), LARGEST);
            nfiq2::assess(&centre.pixels, centre.width, centre.height, 500)
        }
        other => other,
    };
    let (score, minutiae, foreground_pixels) = match scored {
        Ok(nfiq) => (nfiq.score, nfiq.minutiae, nfiq.foreground_pixels),
        Err(Nfiq2Error::Model) => return Err(FingerQualityError::Model),
        // Blank, or (from a reader) an image one pixel wide: nothing to score, retake it.
        Err(Nfiq2Error::Blank | Nfiq2Error::Size) => return Ok(FingerQuality::no_print()),
        Err(
            Nfiq2Error::TooFewMinutiae { foreground_pixels }
            | Nfiq2Error::TooLittleRidgeArea { foreground_pixels },
        ) => (0, 0, foreground_pixels),
        // Cropped and padded to the extractor's size range first, so this is not the print's
        // fault: scored as NIST would (no score, 0) and logged for the technician.
        Err(Nfiq2Error::MinutiaeExtractor {
            refusal,
            foreground_pixels,
        }) => {
            tracing::warn!(%refusal, "the minutiae extractor refused a print it should take");
            (0, 0, foreground_pixels)
        }
        // Cut to the largest size above, and at 500 ppi: NFIQ 2 has no other refusal.
        Err(Nfiq2Error::TooLarge(..) | Nfiq2Error::Resolution(_)) => {
            return Ok(FingerQuality::no_print())
        }
    };
    let mut feedback = Vec::new();
    if foreground_pixels < MIN_FOREGROUND_PIXELS {
        feedback.push(FingerFeedback::TooLittleForeground);
    }
    if minutiae < MIN_MINUTIAE {
        feedback.push(FingerFeedback::TooFewMinutiae);
    }
    Ok(FingerQuality {
        score,
        minutiae,
        foreground_pixels,
        feedback,
    })
}

/// The most of a print at `ppi` worth resampling: NFIQ 2's largest size with a fifth more for
/// the white frame it cuts first, in the print's own pixels.
fn source_limit(ppi: u16) -> (usize, usize) {
    let scale = |n: usize| n * 6 / 5 * usize::from(ppi) / 500 + 1;
    (scale(LARGEST.0), scale(LARGEST.1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::FingerPosition;
    use hardware::simulated::{degrade, render_fingerprint, Degradation};

    fn blank(level: u8) -> FingerprintImage {
        FingerprintImage::new(400, 500, 500, vec![level; 400 * 500]).expect("size")
    }

    #[test]
    fn a_blank_image_scores_zero_and_says_there_is_no_print() {
        for level in [255, 128, 0] {
            let quality = assess(&blank(level)).expect("scored");
            assert_eq!(quality.score, 0);
            assert_eq!(quality.feedback, vec![FingerFeedback::EmptyOrFaint]);
        }
    }

    #[test]
    fn a_clean_print_scores_well_with_no_advice() {
        for seed in 1..=4 {
            let quality =
                assess(&render_fingerprint(seed, FingerPosition::RightIndex)).expect("scored");
            assert!(quality.score >= 40, "seed {seed}: {quality:?}");
            assert!(quality.feedback.is_empty(), "seed {seed}: {quality:?}");
            assert!(quality.minutiae >= 20, "seed {seed}: {quality:?}");
        }
    }

    /// NFIQ 2 judges ridge structure, not contrast as such: full-strength low contrast costs this
    /// print only a few points (NIST's own implementation agrees within its usual difference).
    #[test]
    fn every_degradation_lowers_the_score() {
        let print = render_fingerprint(7, FingerPosition::LeftThumb);
        let clean = assess(&print).expect("scored").score;
        for degradation in Degradation::ALL {
            let spoilt = assess(&degrade(&print, degradation, 1.0, 7))
                .expect("scored")
                .score;
            assert!(
                spoilt < clean,
                "{degradation:?}: {spoilt} against {clean} clean"
            );
        }
    }

    #[test]
    fn a_print_mostly_off_the_glass_is_told_too_little_foreground() {
        let print = render_fingerprint(5, FingerPosition::RightMiddle);
        let quality =
            assess(&degrade(&print, Degradation::PartialContact, 0.75, 5)).expect("scored");
        assert!(
            quality
                .feedback
                .contains(&FingerFeedback::TooLittleForeground),
            "{quality:?}"
        );
    }

    #[test]
    fn a_print_from_a_1000_ppi_reader_is_resampled_and_scores_as_at_500_ppi() {
        let print = render_fingerprint(3, FingerPosition::RightIndex);
        let at_500 = assess(&print).expect("scored");
        // The same print as a 1000 ppi reader would give it: every pixel twice across and down
        // (which itself softens the finest detail a little, so a few points apart is expected).
        let (w, h) = (print.width() as usize, print.height() as usize);
        let pixels = (0..h * 2)
            .flat_map(|y| (0..w * 2).map(move |x| (y / 2) * w + x / 2))
            .map(|i| print.pixels()[i])
            .collect();
        let fine = FingerprintImage::new(print.width() * 2, print.height() * 2, 1000, pixels)
            .expect("doubled");
        let at_1000 = assess(&fine).expect("scored");
        assert!(
            at_1000.score.abs_diff(at_500.score) <= 8,
            "{} at 1000 ppi against {} at 500",
            at_1000.score,
            at_500.score
        );
        // Judged as if it were 500 ppi, its ridges would be twice too far apart.
        let unresampled = FingerprintImage::new(
            print.width() * 2,
            print.height() * 2,
            500,
            fine.pixels().to_vec(),
        )
        .expect("same pixels");
        let misread = assess(&unresampled).expect("scored");
        assert!(
            misread.score + 10 <= at_500.score,
            "read at the wrong resolution it scores {}, against {}",
            misread.score,
            at_500.score
        );
    }

    #[test]
    fn a_faint_or_badly_blurred_print_scores_zero_and_is_told_the_ridges_are_not_clear() {
        // NIST's NFIQ 2 refuses these (FingerJet finds fewer than 6 minutiae); so does the
        // station, though every other feature normalises the faintness away.
        let print = render_fingerprint(11, FingerPosition::LeftIndex);
        for degradation in [Degradation::LowContrast, Degradation::Blur] {
            let quality = assess(&degrade(&print, degradation, 1.0, 11)).expect("judged");
            assert_eq!(quality.score, 0, "{degradation:?}: {quality:?}");
            assert!(
                quality.feedback.contains(&FingerFeedback::TooFewMinutiae),
                "{degradation:?}: {quality:?}"
            );
        }
    }

    #[test]
    fn a_reader_reporting_an_impossible_resolution_is_refused_not_resampled() {
        // 1 ppi would mean enlarging the image 500 times: a faulty reader, not a print.
        for ppi in [0u16, 1, 99, 1201, u16::MAX] {
            let print = FingerprintImage::new(256, 360, ppi, vec![128; 256 * 360]).expect("size");
            assert_eq!(assess(&print), Err(FingerQualityError::Resolution(ppi)));
        }
    }
}
