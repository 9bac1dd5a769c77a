//! NFIQ 2 (ISO/IEC 29794-4:2024), as NIST's reference implementation 2.3 computes it: its
//! quality features, each ported from NIST's source (usnistgov/NFIQ2, `NFIQ2Algorithm/src/
//! quality_modules/`, public domain in the US, free licence elsewhere; modified here: ported to
//! Rust), and NIST's own trained random forest (`nist_plain_tir-ink.yaml`, converted by
//! `scripts/nfiq2_model.py` into `core/models/nfiq2_plain_tir_ink.bin`), evaluated as OpenCV
//! does. The score is the number of the forest's 100 trees that vote "good".
//!
//! Where the port is not NIST's computation:
//! - not the minutiae: they come from FingerJet FX OSE as in NIST's code, through the crate
//!   `minutiae-extractor`, a bit-exact Rust port of it (LGPL; checked minutia for minutia
//!   against the C++);
//! - the orientation coherence pair (`OrientationMap_ROIFilter_Coherence*`) differs from NIST's
//!   by up to 0.001 on about 1 % of prints (not traced yet), which moves about 1 score in 400
//!   by one point (`docs/benchmarks.md`);
//! - the one-dimensional DFT of the frequency-domain feature is a plain DFT in `f64`, not
//!   OpenCV's; the two differ in the last bits only.
//!
//! Prints must be 500 ppi ([`Nfiq2Error::Resolution`] otherwise; resample first).
//! Derived from NIST NFIQ 2: this product includes software developed at NIST.

mod blocks;
mod forest;
pub mod minutiae;
mod resample;
mod roi;

pub use forest::Forest;
pub use minutiae_extractor::FjError;
pub use resample::resample;

/// The 69 features, in the model's order (its `var` index).
pub const FEATURE_NAMES: [&str; 69] = [
    "FDA_Bin10_0",
    "FDA_Bin10_1",
    "FDA_Bin10_2",
    "FDA_Bin10_3",
    "FDA_Bin10_4",
    "FDA_Bin10_5",
    "FDA_Bin10_6",
    "FDA_Bin10_7",
    "FDA_Bin10_8",
    "FDA_Bin10_9",
    "FDA_Bin10_Mean",
    "FDA_Bin10_StdDev",
    "FingerJetFX_MinCount_COMMinRect200x200",
    "FingerJetFX_MinutiaeCount",
    "FJFXPos_Mu_MinutiaeQuality_2",
    "FJFXPos_OCL_MinutiaeQuality_80",
    "ImgProcROIArea_Mean",
    "LCS_Bin10_0",
    "LCS_Bin10_1",
    "LCS_Bin10_2",
    "LCS_Bin10_3",
    "LCS_Bin10_4",
    "LCS_Bin10_5",
    "LCS_Bin10_6",
    "LCS_Bin10_7",
    "LCS_Bin10_8",
    "LCS_Bin10_9",
    "LCS_Bin10_Mean",
    "LCS_Bin10_StdDev",
    "MMB",
    "Mu",
    "OCL_Bin10_0",
    "OCL_Bin10_1",
    "OCL_Bin10_2",
    "OCL_Bin10_3",
    "OCL_Bin10_4",
    "OCL_Bin10_5",
    "OCL_Bin10_6",
    "OCL_Bin10_7",
    "OCL_Bin10_8",
    "OCL_Bin10_9",
    "OCL_Bin10_Mean",
    "OCL_Bin10_StdDev",
    "OF_Bin10_0",
    "OF_Bin10_1",
    "OF_Bin10_2",
    "OF_Bin10_3",
    "OF_Bin10_4",
    "OF_Bin10_5",
    "OF_Bin10_6",
    "OF_Bin10_7",
    "OF_Bin10_8",
    "OF_Bin10_9",
    "OF_Bin10_Mean",
    "OF_Bin10_StdDev",
    "OrientationMap_ROIFilter_CoherenceRel",
    "OrientationMap_ROIFilter_CoherenceSum",
    "RVUP_Bin10_0",
    "RVUP_Bin10_1",
    "RVUP_Bin10_2",
    "RVUP_Bin10_3",
    "RVUP_Bin10_4",
    "RVUP_Bin10_5",
    "RVUP_Bin10_6",
    "RVUP_Bin10_7",
    "RVUP_Bin10_8",
    "RVUP_Bin10_9",
    "RVUP_Bin10_Mean",
    "RVUP_Bin10_StdDev",
];

/// Why NFIQ 2 gives no score (as NIST's implementation refuses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Nfiq2Error {
    /// NFIQ 2 is defined at 500 ppi only.
    #[error("NFIQ 2 needs a 500 ppi print, this one is {0} ppi: resample it first")]
    Resolution(u32),
    /// The pixels do not fill the stated size.
    #[error("the print's pixels do not match its size")]
    Size,
    /// Every row or column is near white: no print.
    #[error("the print is blank")]
    Blank,
    /// Larger than NFIQ 2 accepts (800 × 1000 after the white frame is cut).
    #[error("the print is {0}×{1} after its white frame is cut, more than 800×1000")]
    TooLarge(usize, usize),
    /// Too little ridge area for NIST's block histograms: fewer than 10 blocks for the
    /// frequency-domain one, or none at all for another (orientation flow, typically, on a
    /// partial or smudged print).
    #[error("too little ridge area to judge")]
    TooLittleRidgeArea {
        /// The finger area found (NFIQ 2's region of interest), pixels.
        foreground_pixels: usize,
    },
    /// Too few minutiae or too small a finger area for the minutiae features.
    #[error("too few minutiae to judge")]
    TooFewMinutiae {
        /// The finger area found (NFIQ 2's region of interest), pixels.
        foreground_pixels: usize,
    },
    /// The minutiae extractor refused the print for another reason than too few minutiae
    /// (NIST's NFIQ 2 gives no score then either).
    #[error("the minutiae extractor refused the print: {refusal}")]
    MinutiaeExtractor {
        /// The extractor's reason.
        refusal: FjError,
        /// The finger area found (NFIQ 2's region of interest), pixels.
        foreground_pixels: usize,
    },
    /// The model compiled into the station does not parse.
    #[error("the NFIQ 2 model is damaged: reinstall the station")]
    Model,
}

/// A greyscale image, row-major, 0 black.
#[derive(Debug, Clone)]
pub struct Grey {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width × height` values.
    pub pixels: Vec<u8>,
}

impl Grey {
    fn at(&self, x: usize, y: usize) -> u8 {
        self.pixels[y * self.width + x]
    }

    /// The centre of `pixels` (`width × height`, row-major), at most `limit` pixels across and
    /// down, and where its top-left corner lies in the whole.
    pub fn centre(
        pixels: &[u8],
        (width, height): (usize, usize),
        limit: (usize, usize),
    ) -> (Grey, (usize, usize)) {
        let (w, h) = (width.min(limit.0), height.min(limit.1));
        let (left, top) = ((width - w) / 2, (height - h) / 2);
        let mut out = Vec::with_capacity(w * h);
        for y in top..top + h {
            out.extend_from_slice(&pixels[y * width + left..y * width + left + w]);
        }
        let centre = Grey {
            width: w,
            height: h,
            pixels: out,
        };
        (centre, (left, top))
    }
}

/// The score and the features it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Nfiq2 {
    /// 0–100.
    pub score: u8,
    /// In [`FEATURE_NAMES`] order.
    pub features: [f64; 69],
    /// Minutiae found.
    pub minutiae: usize,
    /// The finger area found (NFIQ 2's region of interest), pixels.
    pub foreground_pixels: usize,
}

/// Computes NFIQ 2 of a 500 ppi print.
///
/// # Errors
/// [`Nfiq2Error`] when NFIQ 2 gives no score for it.
pub fn assess(pixels: &[u8], width: usize, height: usize, ppi: u32) -> Result<Nfiq2, Nfiq2Error> {
    if ppi != 500 {
        return Err(Nfiq2Error::Resolution(ppi));
    }
    if width.checked_mul(height) != Some(pixels.len()) || width < 2 || height < 2 {
        return Err(Nfiq2Error::Size);
    }
    let forest = forest::shipped().ok_or(Nfiq2Error::Model)?;
    let image = crop_near_white_frame(pixels, width, height)?;
    let (features, foreground_pixels) = features(&image)?;
    Ok(Nfiq2 {
        score: forest.score(&features),
        minutiae: features[13] as usize,
        foreground_pixels,
        features,
    })
}

/// The features of an already cropped 500 ppi print, and its finger area in pixels.
///
/// # Errors
/// [`Nfiq2Error`] as NIST's modules refuse.
fn features(image: &Grey) -> Result<([f64; 69], usize), Nfiq2Error> {
    let mut out = [0f64; 69];
    let roi = roi::region_of_interest(image);
    let foreground_pixels = roi.area;
    let mask = blocks::ridge_segment(image);
    let slanted = blocks::slanted_blocks(image, &mask);
    let fda = blocks::fda_values(image, &slanted);
    if fda.len() < 10 {
        return Err(Nfiq2Error::TooLittleRidgeArea { foreground_pixels });
    }
    let none = |_: NoValues| Nfiq2Error::TooLittleRidgeArea { foreground_pixels };
    put_histogram(&mut out, 0, &blocks::FDA_BOUNDS, fda).map_err(none)?;
    put_histogram(
        &mut out,
        17,
        &blocks::LCS_BOUNDS,
        blocks::lcs_values(image, &slanted),
    )
    .map_err(none)?;
    put_histogram(&mut out, 31, &blocks::OCL_BOUNDS, blocks::ocl_values(image)).map_err(none)?;
    put_histogram(
        &mut out,
        43,
        &blocks::OF_BOUNDS,
        blocks::of_values(&slanted),
    )
    .map_err(none)?;
    put_histogram(
        &mut out,
        57,
        &blocks::RVUP_BOUNDS,
        blocks::rvup_values(image, &slanted),
    )
    .map_err(none)?;
    // The minutiae last: the extractor is the dearest step, and a print refused above needs none.
    let found = minutiae::extract(image).map_err(|e| match e {
        FjError::TooSmallArea => Nfiq2Error::TooFewMinutiae { foreground_pixels },
        other => Nfiq2Error::MinutiaeExtractor {
            refusal: other,
            foreground_pixels,
        },
    })?;
    // Every minutia in the white padding of a small print: NIST's centre of mass divides by
    // zero there and gives no score.
    if found.minutiae.is_empty() {
        return Err(Nfiq2Error::TooFewMinutiae { foreground_pixels });
    }
    out[12] = minutiae::count_near_centre(&found.minutiae, image) as f64;
    out[13] = found.reported as f64;
    out[14] = minutiae::mu_quality(&found.minutiae, image);
    out[15] = minutiae::ocl_quality(&found.minutiae, image);
    out[16] = roi.mean;
    out[29] = blocks::mmb(image);
    out[30] = blocks::mu(image);
    let (coherence_sum, coherence_rel) = roi::coherence(image, &roi);
    out[55] = coherence_rel;
    out[56] = coherence_sum;
    Ok((out, foreground_pixels))
}

/// NIST's `addHistogramFeatures`: ten bin counts (bin k holds bounds[k-1] ≤ v < bounds[k]),
/// then the mean and population standard deviation of all values (summed in sorted order).
/// [`NoValues`] when there are none.
fn put_histogram(
    out: &mut [f64; 69],
    at: usize,
    bounds: &[f64; 9],
    mut values: Vec<f64>,
) -> Result<(), NoValues> {
    if values.is_empty() {
        return Err(NoValues);
    }
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let mut bins = [0u32; 10];
    let mut bucket = 0usize;
    for &v in &values {
        while !v.is_infinite() && bucket < 9 && v >= bounds[bucket] {
            bucket += 1;
        }
        bins[bucket] += 1;
    }
    for (k, count) in bins.iter().enumerate() {
        out[at + k] = f64::from(*count);
    }
    let (mean, std) = blocks::mean_std(values.iter().copied());
    out[at + 10] = mean;
    out[at + 11] = std;
    Ok(())
}

/// A histogram feature with no values at all: OpenCV's `meanStdDev` refuses an empty input,
/// and NIST's NFIQ 2 gives no score.
struct NoValues;

/// NIST's `copyRemovingNearWhiteFrame`: cuts the rows and columns whose mean (over the whole
/// image) is above 250 from each edge.
fn crop_near_white_frame(pixels: &[u8], width: usize, height: usize) -> Result<Grey, Nfiq2Error> {
    let row_mean = |y: usize| {
        pixels[y * width..(y + 1) * width]
            .iter()
            .map(|&p| f64::from(p))
            .sum::<f64>()
            / width as f64
    };
    let column_mean = |x: usize| {
        (0..height)
            .map(|y| f64::from(pixels[y * width + x]))
            .sum::<f64>()
            / height as f64
    };
    // The first and the last line (of `0..n`) whose mean is not near white.
    let span = |n: usize, mean: &dyn Fn(usize) -> f64| {
        let first = (0..n).find(|&i| mean(i) <= 250.0)?;
        let last = (first..n).rev().find(|&i| mean(i) <= 250.0)?;
        Some((first, last))
    };
    let (top, bottom) = span(height, &row_mean).ok_or(Nfiq2Error::Blank)?;
    let (left, right) = span(width, &column_mean).ok_or(Nfiq2Error::Blank)?;
    if right <= left || bottom <= top {
        return Err(Nfiq2Error::Blank);
    }
    let (w, h) = (right - left + 1, bottom - top + 1);
    if w > 800 || h > 1000 {
        return Err(Nfiq2Error::TooLarge(w, h));
    }
    let mut out = Vec::with_capacity(w * h);
    for y in top..=bottom {
        out.extend_from_slice(&pixels[y * width + left..=y * width + right]);
    }
    Ok(Grey {
        width: w,
        height: h,
        pixels: out,
    })
}
