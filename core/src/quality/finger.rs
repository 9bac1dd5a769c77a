//! Fingerprint image quality, 0–100, from the quality features NFIQ 2 publishes (NIST IR 8382,
//! "NFIQ 2 Quality Feature Definitions"), computed on 32×32-pixel blocks of a 500 ppi image:
//!
//! - **foreground** (region of interest): the blocks whose ridges stand out from the glass;
//! - **orientation certainty** (OCL): how strongly one ridge direction dominates a block;
//! - **local clarity** (LCS): how cleanly the pixels split into ridge and valley across a block;
//! - **frequency domain analysis** (FDA): how much of the block's signature (grey levels across
//!   the ridges) lies in a single ridge frequency;
//! - **ridge-valley uniformity** (RVU): how steady the ratio of ridge to valley width is;
//! - **orientation flow** (OF): how smoothly the ridge direction turns from block to block;
//! - **minutiae**: ridge endings and bifurcations of the thinned, binarised print, counted where
//!   the ridges are clear.
//!
//! NFIQ 2 maps its features to a score with a random forest trained on operational data; this
//! module does the same with its own features: an ensemble of 50 small regression trees
//! (`finger_model.rs`, generated) fitted to NFIQ 2's scores on synthetic prints and their
//! degraded versions, none of which are in the set the result is measured on
//! (`scripts/finger_quality_calibration.py`, figures in `docs/benchmarks.md`). The actionable
//! feedback follows NFIQ 2's: an empty or uniform image, too little foreground, too few minutiae.

use std::f32::consts::PI;

use hardware::image::FingerprintImage;
use serde::Serialize;

use super::mean_std;

/// Block size, in pixels at 500 ppi, as NFIQ 2's local features use.
const BLOCK: usize = 32;
/// The band across the ridges a block's signature is taken from: ±16 pixels across, ±8 along.
const ACROSS: f32 = 16.0;
const ALONG: f32 = 8.0;
/// Signature bins: one per pixel across the ridges.
const BINS: usize = 32;
/// Ridge periods a 500 ppi print can have, in pixels (0.25–0.75 mm).
const PERIOD_RANGE: (f32, f32) = (5.0, 15.0);
/// NFIQ 2's actionable feedback thresholds: foreground pixels and minutiae.
const MIN_FOREGROUND_PIXELS: usize = 50_000;
const MIN_MINUTIAE: usize = 5;
/// Below this standard deviation the image has nothing on it (NFIQ 2: uniform image).
const UNIFORM_STD: f64 = 1.0;
/// Above this mean grey level the image is empty or its contrast too low (NFIQ 2: 250).
const EMPTY_MEAN: f64 = 250.0;

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

/// The quality features of one print (means over its foreground blocks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct FingerFeatures {
    /// Fraction of the image's blocks in the foreground, 0–1.
    pub foreground: f64,
    /// Foreground area in pixels.
    pub foreground_pixels: usize,
    /// Mean orientation certainty, 0–1 (1 = one clear direction).
    pub orientation_certainty: f64,
    /// Mean local clarity, 0–1 (1 = ridge and valley pixels never overlap).
    pub local_clarity: f64,
    /// Mean frequency-domain score, 0–1 (1 = all energy at one ridge frequency).
    pub frequency: f64,
    /// Mean spread of the ridge/valley width ratio (0 = perfectly uniform).
    pub ridge_valley_uniformity: f64,
    /// Mean orientation flow, 0–1 (0 = the direction turns smoothly everywhere).
    pub orientation_flow: f64,
    /// Fraction of the image's blocks that are foreground with clear ridges, 0–1.
    pub clear_area: f64,
    /// Minutiae found in clear blocks.
    pub minutiae: usize,
    /// Minutiae found anywhere inside the foreground.
    pub minutiae_foreground: usize,
    /// Spread (standard deviation) of local clarity over the foreground blocks.
    pub clarity_spread: f64,
    /// Spread of the frequency-domain score over the foreground blocks.
    pub frequency_spread: f64,
    /// Fraction of the foreground blocks whose ridges are unclear (local clarity below 0.5).
    pub unclear: f64,
    /// Mean grey level of the foreground.
    pub foreground_mean: f64,
}

/// A print's quality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FingerQuality {
    /// 0–100, higher is better; meant to rank prints as NFIQ 2 does.
    pub score: u8,
    /// The features the score is made of.
    pub features: FingerFeatures,
    /// What to do about it, empty when nothing needs doing.
    pub feedback: Vec<FingerFeedback>,
}

/// The names of the model's inputs, in order: the features as [`FingerFeatures`] holds them.
/// `core/examples/quality_corpus.rs` writes them under these names for the calibration script.
pub const MODEL_INPUTS: [&str; INPUTS] = [
    "foreground",
    "orientation_certainty",
    "local_clarity",
    "frequency",
    "ridge_valley_uniformity",
    "orientation_flow",
    "clear_area",
    "minutiae",
    "foreground_mean",
    "minutiae_foreground",
    "clarity_spread",
    "frequency_spread",
    "unclear",
];
const INPUTS: usize = 13;

/// The model's inputs for `features`, in the order of [`MODEL_INPUTS`].
pub fn model_inputs(features: &FingerFeatures) -> [f64; INPUTS] {
    [
        features.foreground,
        features.orientation_certainty,
        features.local_clarity,
        features.frequency,
        features.ridge_valley_uniformity,
        features.orientation_flow,
        features.clear_area,
        features.minutiae as f64,
        features.foreground_mean,
        features.minutiae_foreground as f64,
        features.clarity_spread,
        features.frequency_spread,
        features.unclear,
    ]
}

/// One node of a regression tree: a split sends an input whose `feature` is at most
/// `threshold` to `left`, others to `right`; a leaf holds its value in `threshold`.
pub(super) struct Node {
    feature: u8,
    threshold: f64,
    left: u16,
    right: u16,
}

const LEAF: u8 = u8::MAX;

/// A split node (the generated model is written with these).
pub(super) const fn split(feature: u8, threshold: f64, left: u16, right: u16) -> Node {
    Node {
        feature,
        threshold,
        left,
        right,
    }
}

/// A leaf node holding `value`.
pub(super) const fn leaf(value: f64) -> Node {
    Node {
        feature: LEAF,
        threshold: value,
        left: 0,
        right: 0,
    }
}

/// The calibrated score for `inputs`: the mean of the ensemble's trees (extremely randomised
/// trees fitted to NFIQ 2's scores, [`super::finger_model`]). Inputs are compared in single
/// precision, as the fitting library compares them, so the station and the script agree.
fn predict(inputs: &[f64; INPUTS]) -> f64 {
    use super::finger_model::{NODES, TREES};
    let mut total = 0.0;
    for &root in &TREES {
        let mut node = &NODES[usize::from(root)];
        while node.feature != LEAF {
            let x = f64::from(inputs[usize::from(node.feature)] as f32);
            let next = if x <= node.threshold {
                node.left
            } else {
                node.right
            };
            node = &NODES[usize::from(next)];
        }
        total += node.threshold;
    }
    total / TREES.len() as f64
}

/// The quality of `print`, assumed 500 ppi (other resolutions are judged as if they were).
pub fn assess(print: &FingerprintImage) -> FingerQuality {
    let (width, height) = (print.width() as usize, print.height() as usize);
    let pixels = print.pixels();
    let (mean, std) = mean_std(pixels.iter().map(|&v| f64::from(v)));
    if pixels.is_empty() || std < UNIFORM_STD || mean > EMPTY_MEAN {
        return FingerQuality {
            score: 0,
            features: FingerFeatures::default(),
            feedback: vec![FingerFeedback::EmptyOrFaint],
        };
    }
    let grid = Grid::new(width, height);
    let blocks = analyse_blocks(pixels, width, height, &grid);
    let foreground: Vec<&Block> = blocks.iter().filter(|b| b.foreground).collect();
    let mut features = FingerFeatures {
        foreground: foreground.len() as f64 / blocks.len().max(1) as f64,
        foreground_pixels: foreground.len() * BLOCK * BLOCK,
        ..FingerFeatures::default()
    };
    if !foreground.is_empty() {
        let n = foreground.len() as f64;
        features.orientation_certainty = foreground.iter().map(|b| b.ocl).sum::<f64>() / n;
        (features.local_clarity, features.clarity_spread) =
            mean_std(foreground.iter().map(|b| b.lcs));
        (features.frequency, features.frequency_spread) =
            mean_std(foreground.iter().map(|b| b.fda));
        features.ridge_valley_uniformity = foreground.iter().map(|b| b.rvu).sum::<f64>() / n;
        features.orientation_flow = orientation_flow(&blocks, &grid);
        features.foreground_mean = foreground.iter().map(|b| b.mean).sum::<f64>() / n;
        let clear: Vec<bool> = blocks.iter().map(Block::is_clear).collect();
        features.clear_area = clear.iter().filter(|&&c| c).count() as f64 / blocks.len() as f64;
        let fg: Vec<bool> = blocks.iter().map(|b| b.foreground).collect();
        (features.minutiae, features.minutiae_foreground) =
            count_minutiae(pixels, width, height, &grid, &clear, &fg);
        features.unclear = foreground.iter().filter(|b| b.lcs < 0.5).count() as f64 / n;
    }
    let raw = predict(&model_inputs(&features));
    let mut feedback = Vec::new();
    if features.foreground_pixels == 0 {
        feedback.push(FingerFeedback::EmptyOrFaint);
    } else if features.foreground_pixels < MIN_FOREGROUND_PIXELS {
        feedback.push(FingerFeedback::TooLittleForeground);
    }
    if features.foreground_pixels > 0 && features.minutiae < MIN_MINUTIAE {
        feedback.push(FingerFeedback::TooFewMinutiae);
    }
    let score = if features.foreground_pixels == 0 {
        0
    } else {
        raw.round().clamp(0.0, 100.0) as u8
    };
    FingerQuality {
        score,
        features,
        feedback,
    }
}

/// The block grid, centred on the image.
struct Grid {
    columns: usize,
    rows: usize,
    left: usize,
    top: usize,
}

impl Grid {
    fn new(width: usize, height: usize) -> Self {
        let (columns, rows) = (width / BLOCK, height / BLOCK);
        Grid {
            columns,
            rows,
            left: (width - columns * BLOCK) / 2,
            top: (height - rows * BLOCK) / 2,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Block {
    foreground: bool,
    mean: f64,
    /// Ridge direction as a doubled angle's unit vector (cos 2θ, sin 2θ).
    direction: (f64, f64),
    ocl: f64,
    lcs: f64,
    fda: f64,
    rvu: f64,
}

impl Block {
    fn is_clear(&self) -> bool {
        self.foreground && self.ocl > 0.5 && self.lcs > 0.55
    }
}

fn analyse_blocks(pixels: &[u8], width: usize, height: usize, grid: &Grid) -> Vec<Block> {
    let mut blocks = Vec::with_capacity(grid.columns * grid.rows);
    for row in 0..grid.rows {
        for column in 0..grid.columns {
            let (x0, y0) = (grid.left + column * BLOCK, grid.top + row * BLOCK);
            blocks.push(analyse_block(pixels, width, height, x0, y0));
        }
    }
    blocks
}

/// Foreground: the block's ridges stand out once sensor noise is averaged away (2×2 bins).
const FOREGROUND_STD: f64 = 9.0;

fn analyse_block(pixels: &[u8], width: usize, height: usize, x0: usize, y0: usize) -> Block {
    let at = |x: usize, y: usize| f64::from(pixels[y * width + x]);
    let (mean, _) =
        mean_std((y0..y0 + BLOCK).flat_map(|y| (x0..x0 + BLOCK).map(move |x| at(x, y))));
    let (_, binned_std) = mean_std((0..BLOCK / 2).flat_map(|by| {
        (0..BLOCK / 2).map(move |bx| {
            let (x, y) = (x0 + 2 * bx, y0 + 2 * by);
            (at(x, y) + at(x + 1, y) + at(x, y + 1) + at(x + 1, y + 1)) / 4.0
        })
    }));
    let mut block = Block {
        mean,
        ..Block::default()
    };
    if binned_std < FOREGROUND_STD {
        return block;
    }
    block.foreground = true;

    // Structure tensor of the gradients (central differences, inside the image).
    let (mut gxx, mut gyy, mut gxy) = (0.0f64, 0.0f64, 0.0f64);
    for y in y0.max(1)..(y0 + BLOCK).min(height - 1) {
        for x in x0.max(1)..(x0 + BLOCK).min(width - 1) {
            let gx = at(x + 1, y) - at(x - 1, y);
            let gy = at(x, y + 1) - at(x, y - 1);
            gxx += gx * gx;
            gyy += gy * gy;
            gxy += gx * gy;
        }
    }
    let trace = gxx + gyy;
    if trace <= f64::EPSILON {
        return block;
    }
    let root = ((gxx - gyy).powi(2) + 4.0 * gxy * gxy).sqrt();
    let (lambda_max, lambda_min) = ((trace + root) / 2.0, (trace - root) / 2.0);
    block.ocl = if lambda_max > 0.0 {
        1.0 - lambda_min / lambda_max
    } else {
        0.0
    };
    // The dominant gradient direction (across the ridges).
    let phi = 0.5 * (2.0 * gxy).atan2(gxx - gyy);
    // The ridge direction is perpendicular: doubling the angle adds π, which flips the vector.
    block.direction = (-(2.0 * phi).cos(), -(2.0 * phi).sin());

    let (across_x, across_y) = (phi.cos() as f32, phi.sin() as f32);
    let (cx, cy) = (
        x0 as f32 + BLOCK as f32 / 2.0,
        y0 as f32 + BLOCK as f32 / 2.0,
    );
    // The signature: mean grey level at each distance across the ridges, over a 32×16 band.
    let mut sums = [0f32; BINS];
    let mut counts = [0u32; BINS];
    let mut samples: Vec<(usize, f32)> = Vec::with_capacity(BINS * 16);
    let reach = 24usize;
    let (xa, xb) = (
        (cx as usize).saturating_sub(reach),
        (cx as usize + reach).min(width),
    );
    let (ya, yb) = (
        (cy as usize).saturating_sub(reach),
        (cy as usize + reach).min(height),
    );
    for y in ya..yb {
        for x in xa..xb {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let t = dx * across_x + dy * across_y;
            let s = -dx * across_y + dy * across_x;
            if t.abs() >= ACROSS || s.abs() >= ALONG {
                continue;
            }
            let bin = ((t + ACROSS) as usize).min(BINS - 1);
            let value = f32::from(pixels[y * width + x]);
            sums[bin] += value;
            counts[bin] += 1;
            samples.push((bin, value));
        }
    }
    let Some(signature) = signature(&sums, &counts) else {
        return block;
    };
    block.fda = frequency_domain(&signature);
    let (lcs, rvu) = clarity_and_uniformity(&signature, &samples);
    block.lcs = lcs;
    block.rvu = rvu;
    block
}

fn signature(sums: &[f32; BINS], counts: &[u32; BINS]) -> Option<[f32; BINS]> {
    let mut signature = [0f32; BINS];
    for bin in 0..BINS {
        if counts[bin] == 0 {
            return None;
        }
        signature[bin] = sums[bin] / counts[bin] as f32;
    }
    Some(signature)
}

/// NFIQ 2's FDA: the amplitude at the dominant ridge frequency (with 0.3 of its neighbours)
/// over the total amplitude of the detrended signature.
fn frequency_domain(signature: &[f32; BINS]) -> f64 {
    let mean = signature.iter().sum::<f32>() / BINS as f32;
    let amplitude = |k: usize| {
        let (mut re, mut im) = (0f32, 0f32);
        for (n, &value) in signature.iter().enumerate() {
            let angle = 2.0 * PI * (k * n) as f32 / BINS as f32;
            re += (value - mean) * angle.cos();
            im -= (value - mean) * angle.sin();
        }
        (re * re + im * im).sqrt()
    };
    let spectrum: Vec<f32> = (0..=BINS / 2).map(amplitude).collect();
    let total: f32 = spectrum[1..].iter().sum();
    if total <= f32::EPSILON {
        return 0.0;
    }
    let lowest = (BINS as f32 / PERIOD_RANGE.1).floor() as usize;
    let highest = (BINS as f32 / PERIOD_RANGE.0).ceil() as usize;
    let peak = (lowest.max(1)..=highest.min(BINS / 2 - 1))
        .max_by(|&a, &b| spectrum[a].total_cmp(&spectrum[b]))
        .unwrap_or(lowest);
    let around = spectrum[peak - 1] + spectrum.get(peak + 1).copied().unwrap_or(0.0);
    f64::from(((spectrum[peak] + 0.3 * around) / total).min(1.0))
}

/// NFIQ 2's LCS and RVU from the signature binarised against its regression line: local clarity
/// is 1 minus the mean share of ridge pixels lighter, and valley pixels darker, than the line;
/// uniformity is the spread of the ridge/valley width ratios.
fn clarity_and_uniformity(signature: &[f32; BINS], samples: &[(usize, f32)]) -> (f64, f64) {
    let n = BINS as f32;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = signature.iter().sum::<f32>() / n;
    let (mut sxy, mut sxx) = (0f32, 0f32);
    for (x, &y) in signature.iter().enumerate() {
        sxy += (x as f32 - mean_x) * (y - mean_y);
        sxx += (x as f32 - mean_x).powi(2);
    }
    let slope = sxy / sxx;
    let line = |x: usize| mean_y + slope * (x as f32 - mean_x);
    let ridge: Vec<bool> = (0..BINS).map(|x| signature[x] < line(x)).collect();

    // Runs of ridge and valley, the partial first and last ones left out.
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for &is_ridge in &ridge {
        match runs.last_mut() {
            Some((kind, length)) if *kind == is_ridge => *length += 1,
            _ => runs.push((is_ridge, 1)),
        }
    }
    let inner = if runs.len() > 2 {
        &runs[1..runs.len() - 1]
    } else {
        &[][..]
    };
    let (ridge_widths, valley_widths): (Vec<_>, Vec<_>) = inner.iter().partition(|(r, _)| *r);
    let mean_width = |runs: &[&(bool, usize)]| {
        runs.iter().map(|(_, l)| *l as f32).sum::<f32>() / runs.len().max(1) as f32
    };
    let period = mean_width(&ridge_widths) + mean_width(&valley_widths);
    if ridge_widths.is_empty()
        || valley_widths.is_empty()
        || period < PERIOD_RANGE.0
        || period > PERIOD_RANGE.1
    {
        // No believable ridge pattern: no clarity, the worst uniformity.
        return (0.0, 1.0);
    }
    let ratios: Vec<f64> = inner
        .windows(2)
        .filter_map(|pair| match pair {
            [(true, r), (false, v)] | [(false, v), (true, r)] => Some(*r as f64 / *v as f64),
            _ => None,
        })
        .collect();
    let (_, rvu) = mean_std(ratios.iter().copied());

    let (mut ridge_total, mut ridge_wrong, mut valley_total, mut valley_wrong) = (0, 0, 0, 0);
    for &(bin, value) in samples {
        let dark = value < line(bin);
        if ridge[bin] {
            ridge_total += 1;
            ridge_wrong += usize::from(!dark);
        } else {
            valley_total += 1;
            valley_wrong += usize::from(dark);
        }
    }
    let alpha = valley_wrong as f64 / valley_total.max(1) as f64;
    let beta = ridge_wrong as f64 / ridge_total.max(1) as f64;
    (1.0 - (alpha + beta) / 2.0, rvu.min(1.0))
}

/// NFIQ 2's orientation flow: for each foreground block, the mean angle to its foreground
/// neighbours beyond 4°, scaled to 0–1 at 90°.
fn orientation_flow(blocks: &[Block], grid: &Grid) -> f64 {
    const MIN_DEGREES: f64 = 4.0;
    let mut total = 0.0;
    let mut counted = 0usize;
    for row in 0..grid.rows {
        for column in 0..grid.columns {
            let block = &blocks[row * grid.columns + column];
            if !block.foreground {
                continue;
            }
            let (mut sum, mut neighbours) = (0.0, 0usize);
            for (dr, dc) in [
                (-1i32, -1i32),
                (-1, 0),
                (-1, 1),
                (0, -1),
                (0, 1),
                (1, -1),
                (1, 0),
                (1, 1),
            ] {
                let (r, c) = (row as i32 + dr, column as i32 + dc);
                if r < 0 || c < 0 || r >= grid.rows as i32 || c >= grid.columns as i32 {
                    continue;
                }
                let other = &blocks[r as usize * grid.columns + c as usize];
                if !other.foreground {
                    continue;
                }
                let dot =
                    block.direction.0 * other.direction.0 + block.direction.1 * other.direction.1;
                // Half the angle between the doubled-angle vectors: 0–90°.
                let degrees = dot.clamp(-1.0, 1.0).acos().to_degrees() / 2.0;
                sum += ((degrees - MIN_DEGREES) / (90.0 - MIN_DEGREES)).max(0.0);
                neighbours += 1;
            }
            if neighbours > 0 {
                total += sum / neighbours as f64;
                counted += 1;
            }
        }
    }
    if counted == 0 {
        1.0
    } else {
        total / counted as f64
    }
}

/// Minutiae of the binarised, thinned print in clear blocks, away from the print's edge, with
/// close pairs (the signature of broken ridges and spurs) removed.
fn count_minutiae(
    pixels: &[u8],
    width: usize,
    height: usize,
    grid: &Grid,
    clear: &[bool],
    foreground: &[bool],
) -> (usize, usize) {
    let block_of = |x: usize, y: usize| -> Option<usize> {
        let (bx, by) = (
            x.checked_sub(grid.left)? / BLOCK,
            y.checked_sub(grid.top)? / BLOCK,
        );
        (bx < grid.columns && by < grid.rows).then_some(by * grid.columns + bx)
    };
    let smooth = box_blur(pixels, width, height, 1);
    let local = box_blur(&smooth, width, height, 7);
    let mut ridge = vec![false; width * height];
    for y in 0..height {
        for x in 0..width {
            if let Some(b) = block_of(x, y) {
                if foreground[b] {
                    let i = y * width + x;
                    ridge[i] = smooth[i] < local[i];
                }
            }
        }
    }
    thin(&mut ridge, width, height);

    // Only where the block and all its neighbours are clear: no minutiae at the print's edge.
    let well_inside = |b: usize, mask: &[bool]| {
        let (row, column) = ((b / grid.columns) as i32, (b % grid.columns) as i32);
        (-1..=1).all(|dr| {
            (-1..=1).all(|dc| {
                let (r, c) = (row + dr, column + dc);
                r >= 0
                    && c >= 0
                    && (r as usize) < grid.rows
                    && (c as usize) < grid.columns
                    && mask[r as usize * grid.columns + c as usize]
            })
        })
    };
    let mut minutiae: Vec<(i32, i32, bool)> = Vec::new();
    for y in 1..height - 1 {
        for x in 1..width - 1 {
            if !ridge[y * width + x] {
                continue;
            }
            let Some(b) = block_of(x, y) else { continue };
            if !well_inside(b, foreground) {
                continue;
            }
            if is_minutia(&ridge, width, x, y) {
                minutiae.push((x as i32, y as i32, well_inside(b, clear)));
            }
        }
    }
    // Pairs closer than a ridge period are artefacts (a break, a spur, a bridge): drop both.
    let close =
        |a: (i32, i32, bool), b: (i32, i32, bool)| (a.0 - b.0).pow(2) + (a.1 - b.1).pow(2) < 100;
    let kept: Vec<_> = minutiae
        .iter()
        .filter(|&&m| !minutiae.iter().any(|&other| other != m && close(m, other)))
        .collect();
    (kept.iter().filter(|m| m.2).count(), kept.len())
}

/// Whether the skeleton pixel at (`x`, `y`) (not on the image's edge) is a ridge ending or a
/// bifurcation: its eight neighbours, walked round, cross between ridge and valley once or three
/// times (the crossing number).
pub(super) fn is_minutia(ridge: &[bool], width: usize, x: usize, y: usize) -> bool {
    let ring = [
        ridge[(y - 1) * width + x],
        ridge[(y - 1) * width + x + 1],
        ridge[y * width + x + 1],
        ridge[(y + 1) * width + x + 1],
        ridge[(y + 1) * width + x],
        ridge[(y + 1) * width + x - 1],
        ridge[y * width + x - 1],
        ridge[(y - 1) * width + x - 1],
    ];
    let crossings = (0..8).filter(|&k| ring[k] != ring[(k + 1) % 8]).count() / 2;
    crossings == 1 || crossings == 3
}

/// A box blur of radius `radius` (window 2r+1), edges clamped, via a summed-area table.
pub(super) fn box_blur(pixels: &[u8], width: usize, height: usize, radius: usize) -> Vec<u8> {
    let stride = width + 1;
    let mut table = vec![0u32; stride * (height + 1)];
    for y in 0..height {
        let mut row = 0u32;
        for x in 0..width {
            row += u32::from(pixels[y * width + x]);
            table[(y + 1) * stride + x + 1] = table[y * stride + x + 1] + row;
        }
    }
    let mut out = vec![0u8; pixels.len()];
    for y in 0..height {
        let (ya, yb) = (y.saturating_sub(radius), (y + radius + 1).min(height));
        for x in 0..width {
            let (xa, xb) = (x.saturating_sub(radius), (x + radius + 1).min(width));
            let sum = table[yb * stride + xb] + table[ya * stride + xa]
                - table[ya * stride + xb]
                - table[yb * stride + xa];
            let area = ((yb - ya) * (xb - xa)) as u32;
            out[y * width + x] = (sum / area) as u8;
        }
    }
    out
}

/// Zhang–Suen thinning: ridges to one-pixel lines.
pub(super) fn thin(image: &mut [bool], width: usize, height: usize) {
    let mut candidates: Vec<usize> = (0..image.len())
        .filter(|&i| {
            let (x, y) = (i % width, i / width);
            image[i] && x > 0 && y > 0 && x < width - 1 && y < height - 1
        })
        .collect();
    let mut remove = Vec::new();
    loop {
        let mut changed = false;
        for pass in 0..2 {
            remove.clear();
            for &i in &candidates {
                if !image[i] {
                    continue;
                }
                let p = [
                    image[i - width],
                    image[i - width + 1],
                    image[i + 1],
                    image[i + width + 1],
                    image[i + width],
                    image[i + width - 1],
                    image[i - 1],
                    image[i - width - 1],
                ];
                let neighbours = p.iter().filter(|&&v| v).count();
                if !(2..=6).contains(&neighbours) {
                    continue;
                }
                let transitions = (0..8).filter(|&k| !p[k] && p[(k + 1) % 8]).count();
                if transitions != 1 {
                    continue;
                }
                let (n, e, s, w) = (p[0], p[2], p[4], p[6]);
                let keep = if pass == 0 {
                    e && s && (n || w)
                } else {
                    n && w && (e || s)
                };
                if !keep {
                    remove.push(i);
                }
            }
            for &i in &remove {
                image[i] = false;
            }
            changed |= !remove.is_empty();
        }
        candidates.retain(|&i| image[i]);
        if !changed {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hardware::simulated::{degrade, render_fingerprint, Degradation};
    use hardware::FingerPosition;

    fn blank(level: u8) -> FingerprintImage {
        FingerprintImage::new(400, 500, 500, vec![level; 400 * 500]).expect("size")
    }

    #[test]
    fn a_blank_image_scores_zero_and_says_there_is_no_print() {
        for level in [255, 128, 0] {
            let quality = assess(&blank(level));
            assert_eq!(quality.score, 0);
            assert_eq!(quality.feedback, vec![FingerFeedback::EmptyOrFaint]);
        }
    }

    #[test]
    fn a_clean_print_scores_well_with_no_advice() {
        for seed in 1..=4 {
            let quality = assess(&render_fingerprint(seed, FingerPosition::RightIndex));
            assert!(quality.score >= 40, "seed {seed}: {quality:?}");
            assert!(quality.feedback.is_empty(), "seed {seed}: {quality:?}");
            assert!(quality.features.minutiae >= 20, "seed {seed}: {quality:?}");
        }
    }

    #[test]
    fn every_degradation_lowers_the_score() {
        let print = render_fingerprint(7, FingerPosition::LeftThumb);
        let clean = assess(&print).score;
        for degradation in Degradation::ALL {
            let spoilt = assess(&degrade(&print, degradation, 1.0, 7)).score;
            assert!(
                spoilt + 5 <= clean,
                "{degradation:?}: {spoilt} against {clean} clean"
            );
        }
    }

    #[test]
    fn every_tree_of_the_quality_model_reaches_a_leaf_for_any_print() {
        use super::super::finger_model::{NODES, TREES};
        // Children come after their parent and inside the table, so no walk can loop or leave it;
        // a split names one of the model's inputs.
        for (index, node) in NODES.iter().enumerate() {
            if node.feature != LEAF {
                assert!(usize::from(node.feature) < INPUTS, "node {index}");
                for child in [node.left, node.right] {
                    assert!(usize::from(child) > index, "node {index}");
                    assert!(usize::from(child) < NODES.len(), "node {index}");
                }
            }
        }
        assert!(TREES.iter().all(|&root| usize::from(root) < NODES.len()));
        let extremes = [
            [0.0; INPUTS],
            [1e9; INPUTS],
            [-1e9; INPUTS],
            [f64::NAN; INPUTS],
        ];
        for inputs in extremes {
            let score = predict(&inputs);
            assert!((0.0..=100.0).contains(&score), "{inputs:?}: {score}");
        }
    }

    #[test]
    fn a_print_mostly_off_the_glass_is_told_too_little_foreground() {
        let print = render_fingerprint(5, FingerPosition::RightMiddle);
        let quality = assess(&degrade(&print, Degradation::PartialContact, 0.75, 5));
        assert!(
            quality
                .feedback
                .contains(&FingerFeedback::TooLittleForeground),
            "{quality:?}"
        );
    }
}
