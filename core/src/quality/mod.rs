//! Biometric quality computed on the station, not taken on trust from the device: fast enough
//! to guide the officer live.
//!
//! - [`face`]: ICAO-style checks of each camera frame (one face, size, centring, roll, pose,
//!   exposure, contrast, even light, sharpness, background) from landmarks, auto-capture, the
//!   ISO 19794-5 token crop.
//! - [`finger`]: the fingerprint's NFIQ 2 score (0–100, [`nfiq2`]: NIST's features and trained
//!   forest), resampled to 500 ppi first when needed, with NFIQ 2's actionable feedback.
//! - [`slap`]: a four-finger slap or the two thumbs cut into one image per finger, with missing
//!   fingers named and the wrong hand refused.
//! - [`placement`]: the live check of a slap reader's preview (every finger asked for on the
//!   glass, the right hand, lying still) that tells the station when to capture.

pub mod face;
pub mod finger;
pub mod landmarks;
pub mod nfiq2;
pub mod placement;
pub mod slap;

/// How a live watch ended without a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEnd {
    /// Stopped from outside (the officer left the step or captured by hand).
    Stopped,
    /// No run of good frames within the time allowed.
    TimedOut,
}

/// The 4-connected neighbours of pixel `i` in a `width × height` row-major grid.
pub(crate) fn four_neighbours(
    i: usize,
    width: usize,
    height: usize,
) -> impl Iterator<Item = usize> {
    let (x, y) = (i % width, i / width);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < width).then(|| i + 1),
        (y > 0).then(|| i - width),
        (y + 1 < height).then(|| i + width),
    ]
    .into_iter()
    .flatten()
}

/// Connected groups (4-neighbours) of set cells, each found from its first cell in raster order.
pub(crate) fn components(mask: &[bool], columns: usize, rows: usize) -> Vec<Vec<usize>> {
    let mut seen = vec![false; mask.len()];
    let mut groups = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        let mut group = Vec::new();
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            group.push(i);
            for j in four_neighbours(i, columns, rows) {
                if mask[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        groups.push(group);
    }
    groups
}

/// Mean and standard deviation of `values` in one pass; (0, 0) for none.
pub(crate) fn mean_std(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut n, mut sum, mut sum2) = (0.0, 0.0, 0.0);
    for v in values {
        n += 1.0;
        sum += v;
        sum2 += v * v;
    }
    if n == 0.0 {
        return (0.0, 0.0);
    }
    let mean = sum / n;
    (mean, (sum2 / n - mean * mean).max(0.0).sqrt())
}
