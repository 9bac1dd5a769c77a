//! The block features: FDA, LCS, OCL, OF, RVUP, Mu and MMB, as NIST's `common_functions.cpp`,
//! `FDA.cpp`, `LCS.cpp`, `OCLHistogram.cpp`, `OF.cpp`, `RVUPHistogram.cpp` and `Mu.cpp` compute
//! them (constants, block geometry, border handling and OpenCV's fixed-point rotation included).

use super::Grey;

const BLOCK: usize = 32;
/// The slanted block's extraction window: ceil(sqrt(32² + 16²)) = 36, 2 pixels around a block.
const WINDOW: usize = 36;
const OFFSET: usize = 2;

pub(super) const FDA_BOUNDS: [f64; 9] = [0.268, 0.304, 0.33, 0.355, 0.38, 0.407, 0.44, 0.50, 1.0];
pub(super) const LCS_BOUNDS: [f64; 9] = [0.0, 0.70, 0.74, 0.77, 0.79, 0.81, 0.83, 0.85, 0.87];
pub(super) const OCL_BOUNDS: [f64; 9] =
    [0.337, 0.479, 0.579, 0.655, 0.716, 0.766, 0.81, 0.852, 0.898];
pub(super) const OF_BOUNDS: [f64; 9] = [
    0.01715, 0.035, 0.0557, 0.081, 0.115, 0.1718, 0.2569, 0.4758, 0.748,
];
pub(super) const RVUP_BOUNDS: [f64; 9] = [0.5, 0.667, 0.8, 1.0, 1.25, 1.5, 2.0, 24.0, 30.0];

/// `cv::mean` of doubles, to the last bit: OpenCV sums four at a time (((a + b) + c) + d) into
/// the running sum, then the rest one by one, and multiplies by the reciprocal of the count.
/// The local-clarity widths compare against their limits exactly, so the bits matter.
fn opencv_mean(values: &[f64]) -> f64 {
    let mut sum = 0f64;
    let mut chunks = values.chunks_exact(4);
    for c in &mut chunks {
        sum += ((c[0] + c[1]) + c[2]) + c[3];
    }
    for v in chunks.remainder() {
        sum += v;
    }
    sum * (1.0 / values.len() as f64)
}

/// Mean and population standard deviation from sums, as OpenCV's `meanStdDev` computes them.
pub(super) use crate::quality::mean_std;

/// `ridgesegment(img, 32, 0.1)`: a pixel is foreground when the standard deviation of its
/// 32×32 tile (edge tiles partial) of the normalised image exceeds 0.1.
pub(super) fn ridge_segment(image: &Grey) -> Vec<bool> {
    let (w, h) = (image.width, image.height);
    let (mean, std) = pixel_mean_std(&image.pixels);
    // A pixel's normalised value depends on its grey level only: one division per level.
    let mut normalised = [0f64; 256];
    for (p, v) in normalised.iter_mut().enumerate() {
        *v = (p as f64 - mean) / std;
    }
    let mut mask = vec![false; w * h];
    if w == 0 {
        return mask;
    }
    let rows: Vec<&[u8]> = image.pixels.chunks_exact(w).take(h).collect();
    for r in (0..h).step_by(BLOCK) {
        let r1 = (r + BLOCK).min(h);
        for c in (0..w).step_by(BLOCK) {
            let c1 = (c + BLOCK).min(w);
            // `mean_std` over the tile in raster order, the same sums in the same order.
            let (mut n, mut sum, mut sum2) = (0f64, 0f64, 0f64);
            for row in &rows[r..r1] {
                for &p in &row[c..c1] {
                    let v = normalised[usize::from(p)];
                    n += 1.0;
                    sum += v;
                    sum2 += v * v;
                }
            }
            let block_mean = sum / n;
            let block_std = (sum2 / n - block_mean * block_mean).max(0.0).sqrt();
            let foreground = block_std > 0.1;
            for line in mask[r * w..r1 * w].chunks_exact_mut(w) {
                line[c..c1].fill(foreground);
            }
        }
    }
    mask
}

/// `mean_std` of the pixels, to the last bit: the sums of whole grey levels and of their squares
/// are exact in `f64` whatever the order, so they are summed as integers.
fn pixel_mean_std(pixels: &[u8]) -> (f64, f64) {
    if pixels.is_empty() {
        return (0.0, 0.0);
    }
    let (sum, sum2) = pixels.iter().fold((0u64, 0u64), |(s, s2), &p| {
        let p = u64::from(p);
        (s + p, s2 + p * p)
    });
    let n = pixels.len() as f64;
    let mean = sum as f64 / n;
    (mean, (sum2 as f64 / n - mean * mean).max(0.0).sqrt())
}

/// One block of the slanted-block loop.
pub(super) struct Slanted {
    /// Grid position.
    row: usize,
    column: usize,
    /// Top-left pixel of the 32×32 block.
    y: usize,
    x: usize,
    /// Every pixel of the block is foreground.
    all_foreground: bool,
    /// Orientation (radians) from the block's gradient covariance.
    orientation: f64,
}

/// The slanted-block geometry shared by FDA, LCS, OF and RVUP, with each block's orientation.
pub(super) struct SlantedBlocks {
    blocks: Vec<Slanted>,
    rows: usize,
    columns: usize,
}

pub(super) fn slanted_blocks(image: &Grey, mask: &[bool]) -> SlantedBlocks {
    let (w, h) = (image.width, image.height);
    let limit = |n: usize| n.saturating_sub(BLOCK + OFFSET - 1);
    let mut blocks = Vec::new();
    for (row, y) in (OFFSET..limit(h)).step_by(BLOCK).enumerate() {
        for (column, x) in (OFFSET..limit(w)).step_by(BLOCK).enumerate() {
            let all_foreground =
                (y..y + BLOCK).all(|yy| (x..x + BLOCK).all(|xx| mask[yy * w + xx]));
            let (a, b, c) = covariance(image, x, y);
            blocks.push(Slanted {
                row,
                column,
                y,
                x,
                all_foreground,
                orientation: ridge_orientation(a, b, c),
            });
        }
    }
    SlantedBlocks {
        blocks,
        rows: (h.saturating_sub(WINDOW - BLOCK)) / BLOCK,
        columns: (w.saturating_sub(WINDOW - BLOCK)) / BLOCK,
    }
}

/// Matlab's `gradient` along one line: forward differences at the ends, central inside.
#[cfg(test)]
fn gradient_line(values: &[f64], out: &mut [f64]) {
    let n = values.len();
    if n < 2 {
        out.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    out[0] = values[1] - values[0];
    out[n - 1] = values[n - 1] - values[n - 2];
    for i in 1..n - 1 {
        out[i] = (values[i + 1] - values[i - 1]) / 2.0;
    }
}

/// Gradients of a `bw × bh` block at (`x`, `y`): along rows (x) and columns (y).
#[cfg(test)]
fn gradients(image: &Grey, x: usize, y: usize, bw: usize, bh: usize) -> (Vec<f64>, Vec<f64>) {
    let mut gx = vec![0f64; bw * bh];
    let mut gy = vec![0f64; bw * bh];
    let mut line = vec![0f64; bw.max(bh)];
    let mut out = vec![0f64; bw.max(bh)];
    for r in 0..bh {
        for (c, v) in line[..bw].iter_mut().enumerate() {
            *v = f64::from(image.at(x + c, y + r));
        }
        gradient_line(&line[..bw], &mut out[..bw]);
        gx[r * bw..(r + 1) * bw].copy_from_slice(&out[..bw]);
    }
    for c in 0..bw {
        for (r, v) in line[..bh].iter_mut().enumerate() {
            *v = f64::from(image.at(x + c, y + r));
        }
        gradient_line(&line[..bh], &mut out[..bh]);
        for (r, v) in out[..bh].iter().enumerate() {
            gy[r * bw + c] = *v;
        }
    }
    (gx, gy)
}

/// Sums over the 32×32 block at (`x`, `y`) of the doubled gradients' products (Matlab's
/// `gradient`, forward differences at the block's edges and central inside, times 2 so that
/// they are whole: dx = 2·gx, dy = 2·gy): Σdx², Σdy², Σdx·dy, and how many pixels have a
/// gx·gy of −0 (one gradient 0, the other negative).
///
/// Every gradient is a multiple of ½, every product of two a multiple of ¼ below 2¹⁶, so every
/// partial sum of 1024 of them is exact in `f64` in any order: the integer sums divided by 4
/// are, bit for bit, NIST's `f64` sums (but for the sign of a zero, which the count settles).
fn gradient_sums(image: &Grey, x: usize, y: usize) -> (i64, i64, i64, usize) {
    let w = image.width;
    let mut block = [[0i32; BLOCK]; BLOCK];
    for (r, line) in block.iter_mut().enumerate() {
        let start = (y + r) * w + x;
        for (v, &p) in line.iter_mut().zip(&image.pixels[start..start + BLOCK]) {
            *v = i32::from(p);
        }
    }
    let (mut xx, mut yy, mut xy, mut negative_zeros) = (0i32, 0i32, 0i32, 0i32);
    for r in 0..BLOCK {
        let here = &block[r];
        let (above, below, factor) = if r == 0 {
            (&block[0], &block[1], 2)
        } else if r == BLOCK - 1 {
            (&block[BLOCK - 2], &block[BLOCK - 1], 2)
        } else {
            (&block[r - 1], &block[r + 1], 1)
        };
        let mut dx = [0i32; BLOCK];
        dx[0] = 2 * (here[1] - here[0]);
        dx[BLOCK - 1] = 2 * (here[BLOCK - 1] - here[BLOCK - 2]);
        for c in 1..BLOCK - 1 {
            dx[c] = here[c + 1] - here[c - 1];
        }
        for c in 0..BLOCK {
            let dy = factor * (below[c] - above[c]);
            let dxc = dx[c];
            xx += dxc * dxc;
            yy += dy * dy;
            xy += dxc * dy;
            negative_zeros += i32::from((dxc == 0) & (dy < 0)) | i32::from((dy == 0) & (dxc < 0));
        }
    }
    (
        i64::from(xx),
        i64::from(yy),
        i64::from(xy),
        negative_zeros as usize,
    )
}

/// `covcoef` with centred differences: means of gx², gy² and gx·gy over the 32×32 block.
fn covariance(image: &Grey, x: usize, y: usize) -> (f64, f64, f64) {
    let (xx, yy, xy, negative_zeros) = gradient_sums(image, x, y);
    let n = (BLOCK * BLOCK) as f64;
    let a = (xx as f64 / 4.0) / n;
    let b = (yy as f64 / 4.0) / n;
    // A sum of `f64`s starts from −0 and stays −0 only while every term is −0.
    let c = if negative_zeros == BLOCK * BLOCK {
        -0.0
    } else {
        xy as f64 / 4.0
    } / n;
    (a, b, c)
}

/// `ridgeorient`: the angle perpendicular to the ridges, radians.
fn ridge_orientation(a: f64, b: f64, c: f64) -> f64 {
    let temp = a - b;
    let denom = (c * c + temp * temp) + f64::EPSILON;
    (c / denom).atan2(temp / denom) / 2.0
}

/// The padded window's largest side: 36 + 2·2.
const PADDED: usize = WINDOW + 4;

/// The 36×36 window around a slanted block, with `margin` more pixels on each side (0 beyond the
/// image), into the first `size²` bytes of `out` (`size` = 36 + 2·`margin`, at most 40). NIST
/// pads the window with `copyMakeBorder` on a view into the print, and OpenCV then takes the
/// border from the print's own pixels where there are any.
fn window(image: &Grey, block: &Slanted, margin: usize, out: &mut [u8; PADDED * PADDED]) -> usize {
    let size = WINDOW + 2 * margin;
    let (x0, y0) = (
        block.x as i64 - (OFFSET + margin) as i64,
        block.y as i64 - (OFFSET + margin) as i64,
    );
    // The columns of the window inside the print: c in first..last.
    let first = (-x0).clamp(0, size as i64) as usize;
    let last = (image.width as i64 - x0).clamp(first as i64, size as i64) as usize;
    for (r, line) in out[..size * size].chunks_exact_mut(size).enumerate() {
        let y = y0 + r as i64;
        if y < 0 || y >= image.height as i64 || first == last {
            line.fill(0);
            continue;
        }
        let start = y as usize * image.width + (x0 + first as i64) as usize;
        line[..first].fill(0);
        line[first..last].copy_from_slice(&image.pixels[start..start + (last - first)]);
        line[last..].fill(0);
    }
    size
}

/// `getRotatedBlock`: OpenCV's `warpAffine(..., INTER_NEAREST)` of a square `window` (36×36, or
/// 40×40 when NIST pads it) by `angle` radians about its centre, into a 36×36 output (from a
/// padded window: the top-left 36×36 of the rotated 40×40, as NIST's code does). OpenCV maps
/// each output pixel back with 10-bit fixed-point coordinates; so does this.
///
/// Only the `rows × columns` part of the output from (`top`, `left`) is made, into `out`: each
/// output pixel is independent of the others.
#[allow(clippy::too_many_arguments)]
fn rotated_part(
    window: &[u8],
    angle: f64,
    top: usize,
    left: usize,
    rows: usize,
    columns: usize,
    out: &mut [u8],
) {
    let size = (window.len() as f64).sqrt() as usize;
    let centre = f64::from(size as f32 / 2.0);
    let degrees = angle * (180.0 / std::f64::consts::PI);
    let radians = degrees * std::f64::consts::PI / 180.0;
    let (alpha, beta) = (radians.cos(), radians.sin());
    let m = [
        alpha,
        beta,
        (1.0 - alpha) * centre - beta * centre,
        -beta,
        alpha,
        beta * centre + (1.0 - alpha) * centre,
    ];
    // Inverted as warpAffine does.
    let d = m[0] * m[4] - m[1] * m[3];
    let d = if d != 0.0 { 1.0 / d } else { 0.0 };
    let (i0, i1, i3, i4) = (m[4] * d, -m[1] * d, -m[3] * d, m[0] * d);
    let i2 = -i0 * m[2] - i1 * m[5];
    let i5 = -i3 * m[2] - i4 * m[5];
    const SCALE: f64 = 1024.0;
    let round = |v: f64| v.round_ties_even() as i64;
    // As OpenCV: each column's offsets, rounded once (they do not depend on the row).
    let mut column_x = [0i64; WINDOW];
    let mut column_y = [0i64; WINDOW];
    for (c, (cx, cy)) in column_x[..columns]
        .iter_mut()
        .zip(&mut column_y[..columns])
        .enumerate()
    {
        let x = (left + c) as f64;
        *cx = round(i0 * x * SCALE);
        *cy = round(i3 * x * SCALE);
    }
    let side = size as u64;
    for (r, line) in out[..rows * columns].chunks_exact_mut(columns).enumerate() {
        let y = (top + r) as f64;
        let x0 = round((i1 * y + i2) * SCALE) + 512;
        let y0 = round((i4 * y + i5) * SCALE) + 512;
        for ((v, &cx), &cy) in line.iter_mut().zip(&column_x).zip(&column_y) {
            let (sx, sy) = ((x0 + cx) >> 10, (y0 + cy) >> 10);
            // Negative coordinates wrap to huge ones: one comparison each.
            *v = if (sx as u64) < side && (sy as u64) < side {
                window[sy as usize * size + sx as usize]
            } else {
                0
            };
        }
    }
}

/// The whole 36×36 output of [`rotated_part`].
#[cfg(test)]
fn rotated(window: &[u8], angle: f64) -> [u8; WINDOW * WINDOW] {
    let mut out = [0u8; WINDOW * WINDOW];
    rotated_part(window, angle, 0, 0, WINDOW, WINDOW, &mut out);
    out
}

/// `getRidgeValleyStructure` of a `rows × columns` crop: per column, whether its mean lies
/// below the least-squares line through all column means (a ridge), and that line.
/// The crop is always 16 rows of 32 columns.
fn ridge_valley(crop: &[u8; STRIP]) -> ([bool; STRIP_COLUMNS], [f64; STRIP_COLUMNS]) {
    let (rows, columns) = (STRIP_ROWS, STRIP_COLUMNS);
    // Sums of whole grey levels, exact in `f64` as in integers.
    let mut sums = [0u32; STRIP_COLUMNS];
    for line in crop.chunks_exact(STRIP_COLUMNS) {
        for (s, &v) in sums.iter_mut().zip(line) {
            *s += u32::from(v);
        }
    }
    let mut means = [0f64; STRIP_COLUMNS];
    for (m, &s) in means.iter_mut().zip(&sums) {
        *m = f64::from(s) / rows as f64;
    }
    // Least squares of means ≈ d0 + d1·x, x = 1..columns.
    let n = columns as f64;
    let (sx, sy) = (
        (1..=columns).map(|x| x as f64).sum::<f64>(),
        means.iter().sum::<f64>(),
    );
    let sxx = (1..=columns).map(|x| (x as f64).powi(2)).sum::<f64>();
    let sxy = means
        .iter()
        .enumerate()
        .map(|(i, m)| (i + 1) as f64 * m)
        .sum::<f64>();
    let d1 = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    let d0 = (sy - d1 * sx) / n;
    let round10 = |v: f64| (v * 1e10).round() / 1e10;
    let (d0, d1) = (round10(d0), round10(d1));
    let mut line = [0f64; STRIP_COLUMNS];
    let mut ridges = [false; STRIP_COLUMNS];
    for (i, (t, ridge)) in line.iter_mut().zip(&mut ridges).enumerate() {
        *t = (i + 1) as f64 * d1 + d0;
        *ridge = means[i] < *t;
    }
    (ridges, line)
}

/// The ridge-valley strip of a rotated block: rows 10..26, columns 2..34 of the 36×36.
const STRIP_ROWS: usize = 16;
const STRIP_COLUMNS: usize = 32;
const STRIP: usize = STRIP_ROWS * STRIP_COLUMNS;

/// The strip (rows 10..26, columns 2..34) of the block rotated by `angle` from its window with
/// `margin` pixels of padding.
fn rotated_strip(image: &Grey, block: &Slanted, margin: usize, angle: f64) -> [u8; STRIP] {
    let mut padded = [0u8; PADDED * PADDED];
    let size = window(image, block, margin, &mut padded);
    let mut part = [0u8; STRIP];
    rotated_part(
        &padded[..size * size],
        angle,
        10,
        2,
        STRIP_ROWS,
        STRIP_COLUMNS,
        &mut part,
    );
    part
}

/// Frequency domain analysis of every all-foreground block.
pub(super) fn fda_values(image: &Grey, blocks: &SlantedBlocks) -> Vec<f64> {
    // cos and sin of 2πj/32: the 32-point DFT's twiddle factors.
    let twiddles: Vec<(f64, f64)> = (0..32)
        .map(|j| {
            let phase = 2.0 * std::f64::consts::PI * j as f64 / 32.0;
            (phase.cos(), phase.sin())
        })
        .collect();
    blocks
        .blocks
        .iter()
        .filter(|b| b.all_foreground)
        .map(|b| {
            let mut padded = [0u8; PADDED * PADDED];
            let size = window(image, b, 2, &mut padded);
            // Rows 2..34, columns 10..26 of the rotated block: 32 rows of 16.
            let mut part = [0u8; 32 * 16];
            rotated_part(
                &padded[..size * size],
                b.orientation + std::f64::consts::FRAC_PI_2,
                2,
                10,
                32,
                16,
                &mut part,
            );
            // Row means; the sums of whole grey levels are exact in `f64` as in integers.
            let mut t = [0f64; 32];
            for (v, line) in t.iter_mut().zip(part.chunks_exact(16)) {
                let sum: u32 = line.iter().map(|&p| u32::from(p)).sum();
                *v = f64::from(sum) / 16.0;
            }
            let mut amplitude = [0f64; 31];
            for (k, a) in (1..32).zip(amplitude.iter_mut()) {
                let (mut re, mut im) = (0f64, 0f64);
                for (n, v) in t.iter().enumerate() {
                    let (c, s) = twiddles[(k * n) % 32];
                    re += v * c;
                    im -= v * s;
                }
                *a = re.hypot(im);
            }
            let mut best = 0usize;
            for (i, a) in amplitude.iter().enumerate() {
                if *a > amplitude[best] {
                    best = i;
                }
            }
            let denominator: f64 = amplitude[..15].iter().sum();
            if best == 0 || best + 1 >= amplitude.len() {
                1.0
            } else {
                (amplitude[best] + 0.3 * (amplitude[best - 1] + amplitude[best + 1])) / denominator
            }
        })
        .collect()
}

/// Changes of ridge/valley along the columns: `i − 1` for each `i` in `1..end` where column `i`
/// differs from column `i − 1`.
fn change_index(ridges: &[bool], end: usize) -> Vec<usize> {
    (1..end)
        .filter(|&i| ridges[i] != ridges[i - 1])
        .map(|i| i - 1)
        .collect()
}

/// Local clarity score of every all-foreground block.
pub(super) fn lcs_values(image: &Grey, blocks: &SlantedBlocks) -> Vec<f64> {
    blocks
        .blocks
        .iter()
        .filter(|b| b.all_foreground)
        .map(|b| {
            let part = rotated_strip(image, b, 0, b.orientation);
            let (ridges, line) = ridge_valley(&part);
            let changes = change_index(&ridges, 32);
            if changes.is_empty() {
                return 0.0;
            }
            let mut widths = vec![changes[0] as f64];
            widths.extend(changes.windows(2).map(|p| ((p[1] - p[0]) as u8) as f64));
            let scale = (500.0 / 125.0) * 5.0;
            let (r_min, r_max, v_min, v_max) =
                (3.0 / scale, 10.0 / scale, 2.0 / scale, 10.0 / scale);
            let evens: Vec<f64> = widths.iter().step_by(2).map(|w| w / scale).collect();
            let odds: Vec<f64> = widths
                .iter()
                .skip(1)
                .step_by(2)
                .map(|w| w / scale)
                .collect();
            let (ridge_widths, valley_widths) = if ridges[0] {
                (evens, odds)
            } else {
                (odds, evens)
            };
            let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { opencv_mean(v) };
            let (mu_r, mu_v) = (mean(&ridge_widths), mean(&valley_widths));
            if !(mu_r >= r_min && mu_r <= r_max && mu_v >= v_min && mu_v <= v_max) {
                return 0.0;
            }
            let (mut ridge_good, mut valley_good, mut ridge_pixels, mut valley_pixels) =
                (0u32, 0u32, 0u32, 0u32);
            for (c, &ridge) in ridges.iter().enumerate() {
                for r in 0..16 {
                    let v = f64::from(part[r * 32 + c]);
                    if ridge {
                        ridge_good += u32::from(v >= line[c]);
                        ridge_pixels += 1;
                    } else {
                        valley_good += u32::from(v < line[c]);
                        valley_pixels += 1;
                    }
                }
            }
            let alpha = f64::from(valley_good) / f64::from(valley_pixels);
            let beta = f64::from(ridge_good) / f64::from(ridge_pixels);
            1.0 - (alpha + beta) / 2.0
        })
        .collect()
}

/// Ridge-valley uniformity: width ratios of consecutive ridges and valleys in each
/// all-foreground block.
pub(super) fn rvup_values(image: &Grey, blocks: &SlantedBlocks) -> Vec<f64> {
    let mut out = Vec::new();
    for b in blocks.blocks.iter().filter(|b| b.all_foreground) {
        let part = rotated_strip(image, b, 2, b.orientation);
        let (ridges, _) = ridge_valley(&part);
        // NIST compares columns 0..31 only (the last is left out).
        let changes = change_index(&ridges, 31);
        let (Some(&first), Some(&last)) = (changes.first(), changes.last()) else {
            continue;
        };
        if first + 1 >= last {
            continue;
        }
        let begins_with_ridge = ridges[first + 1];
        let complete: Vec<u8> = changes[1..].iter().map(|c| (c - first) as u8).collect();
        if complete.len() < 2 {
            continue;
        }
        let widths: Vec<u8> = (1..complete.len())
            .rev()
            .map(|i| complete[i].wrapping_sub(complete[i - 1]))
            .collect();
        let mut ratios: Vec<f64> = widths
            .windows(2)
            .map(|p| f64::from(p[0]) / f64::from(p[1]))
            .collect();
        let mut i = usize::from(begins_with_ridge);
        while i < ratios.len() {
            ratios[i] = 1.0 / ratios[i];
            i += 2;
        }
        out.extend(ratios);
    }
    out
}

/// Orientation flow: how far each block's orientation departs from its 8 neighbours'.
pub(super) fn of_values(blocks: &SlantedBlocks) -> Vec<f64> {
    let (rows, columns) = (blocks.rows, blocks.columns);
    let mut orientation = vec![0f64; rows * columns];
    let mut foreground = vec![false; rows * columns];
    for b in &blocks.blocks {
        if b.row < rows && b.column < columns {
            orientation[b.row * columns + b.column] = b.orientation;
            foreground[b.row * columns + b.column] = b.all_foreground;
        }
    }
    let at = |grid: &[f64], r: i64, c: i64| {
        if r < 0 || c < 0 || r >= rows as i64 || c >= columns as i64 {
            0.0
        } else {
            grid[r as usize * columns + c as usize]
        }
    };
    let on = |r: i64, c: i64| {
        r >= 0
            && c >= 0
            && r < rows as i64
            && c < columns as i64
            && foreground[r as usize * columns + c as usize]
    };
    let full_turn = std::f64::consts::PI / 180.0 * 360.0;
    let minimum = 4.0 * std::f64::consts::PI / 180.0;
    let span = (90.0 - 4.0) * std::f64::consts::PI / 180.0;
    let mut out = Vec::new();
    for r in 0..rows as i64 {
        for c in 0..columns as i64 {
            let centre = at(&orientation, r, c);
            let mut sum = 0.0;
            let mut all = true;
            for dr in -1..=1 {
                for dc in -1..=1 {
                    let difference = (centre - at(&orientation, r + dr, c + dc)).abs();
                    sum += difference.min(full_turn - difference);
                    all &= on(r + dr, c + dc);
                }
            }
            let loq = sum / 8.0;
            if all && loq > minimum {
                out.push((loq - minimum) / span);
            }
        }
    }
    out
}

/// Orientation certainty of every full 32×32 tile from the top-left (no foreground mask).
pub(super) fn ocl_values(image: &Grey) -> Vec<f64> {
    let mut out = Vec::new();
    for y in (0..image.height).step_by(BLOCK) {
        for x in (0..image.width).step_by(BLOCK) {
            if x + BLOCK > image.width || y + BLOCK > image.height {
                continue;
            }
            if let Some(ocl) = ocl_of_block(image, x, y) {
                out.push(ocl);
            }
        }
    }
    out
}

/// `getOCLValueOfBlock`: 1 − λmin/λmax of the block's gradient covariance (None when flat).
pub(super) fn ocl_of_block(image: &Grey, x: usize, y: usize) -> Option<f64> {
    // NIST sums column by column from +0; the sums are exact (see `gradient_sums`), and a sum
    // from +0 never ends at −0.
    let (xx, yy, xy, _) = gradient_sums(image, x, y);
    let n = (BLOCK * BLOCK) as f64;
    let (a, b, c) = (
        (xx as f64 / 4.0) / n,
        (yy as f64 / 4.0) / n,
        (xy as f64 / 4.0) / n,
    );
    let root = ((a - b).powi(2) + 4.0 * c.powi(2)).sqrt();
    let (max, min) = (((a + b) + root) / 2.0, ((a + b) - root) / 2.0);
    (max != 0.0).then(|| 1.0 - min / max)
}

/// Mean grey level of the print.
pub(super) fn mu(image: &Grey) -> f64 {
    // Whole grey levels sum exactly in `f64` as in integers; a sum of none is −0 in `f64`.
    let sum = if image.pixels.is_empty() {
        -0.0
    } else {
        image.pixels.iter().map(|&p| u64::from(p)).sum::<u64>() as f64
    };
    sum / image.pixels.len() as f64
}

/// Mean of the means of the 32×32 tiles (edge tiles partial).
pub(super) fn mmb(image: &Grey) -> f64 {
    let mut means = Vec::new();
    for y in (0..image.height).step_by(BLOCK) {
        for x in (0..image.width).step_by(BLOCK) {
            let (y1, x1) = ((y + BLOCK).min(image.height), (x + BLOCK).min(image.width));
            // Whole grey levels: exact in `f64` as in integers.
            let sum = (y..y1)
                .map(|yy| {
                    let start = yy * image.width;
                    image.pixels[start + x..start + x1]
                        .iter()
                        .map(|&p| u64::from(p))
                        .sum::<u64>()
                })
                .sum::<u64>() as f64;
            means.push(sum / ((y1 - y) * (x1 - x)) as f64);
        }
    }
    let count = means.len() as f64;
    means.iter().map(|m| m / count).sum()
}

/// Gradients of a block of any size (one pixel wide or high: zero): NIST's f64 computation of
/// the coherence map's gradients, which `roi.rs`'s tests check its whole-number one against.
#[cfg(test)]
pub(super) fn block_gradients(
    image: &Grey,
    x: usize,
    y: usize,
    bw: usize,
    bh: usize,
) -> (Vec<f64>, Vec<f64>) {
    gradients(image, x, y, bw, bh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sinusoid(width: usize, height: usize, period: f64, degrees: f64) -> Grey {
        let (s, c) = degrees.to_radians().sin_cos();
        let pixels = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| {
                let t = (x as f64 * c + y as f64 * s) * 2.0 * std::f64::consts::PI / period;
                (128.0 + 100.0 * t.cos()).round() as u8
            })
            .collect();
        Grey {
            width,
            height,
            pixels,
        }
    }

    #[test]
    fn a_uniform_image_has_no_foreground_and_no_orientation_certainty() {
        let flat = Grey {
            width: 96,
            height: 96,
            pixels: vec![200; 96 * 96],
        };
        // σ = 0 normalises to NaN, and NaN is not above the threshold.
        assert!(ridge_segment(&flat).iter().all(|&f| !f));
        assert!(ocl_values(&flat).is_empty(), "a flat block has no λmax");
        assert_eq!(mu(&flat), 200.0);
        assert!((mmb(&flat) - 200.0).abs() < 1e-9);
    }

    #[test]
    fn straight_sinusoidal_ridges_are_certain_in_orientation_and_flow_evenly() {
        // Period 8 px (a typical ridge period at 500 ppi: 4 periods in a 32 px block), vertical
        // ridges.
        let print = sinusoid(320, 320, 8.0, 0.0);
        let ocl = ocl_values(&print);
        assert_eq!(ocl.len(), 100);
        // A pure sinusoid has all its gradient along one axis: λmin ≈ 0, OCL ≈ 1.
        assert!(ocl.iter().all(|&v| v > 0.95), "{ocl:?}");
        let mask = ridge_segment(&print);
        let blocks = slanted_blocks(&print, &mask);
        // The orientation is perpendicular to the ridges: 0 rad for vertical ridges.
        assert!(blocks.blocks.iter().all(|b| b.orientation.abs() < 0.05));
        // Every block agrees with its neighbours: no orientation-flow values above 4°.
        assert!(of_values(&blocks).is_empty());
        // Four whole periods across the 32 samples: the spectrum is one line (k = 4) with no
        // neighbours, so the frequency-domain value, peak over the first 15 amplitudes, is 1
        // (less the small harmonics of rounding to 8 bits).
        let fda = fda_values(&print, &blocks);
        assert!(!fda.is_empty() && fda.iter().all(|&v| v > 0.9), "{fda:?}");
        // Ridges and valleys 4 px wide each (within NIST's 3–10 and 2–10 px), every pixel on the
        // right side of the line: local clarity 1 less rounding.
        let lcs = lcs_values(&print, &blocks);
        assert!(!lcs.is_empty() && lcs.iter().all(|&v| v > 0.9), "{lcs:?}");
        // Ridges and valleys of equal width: ratios near 1.
        let rvup = rvup_values(&print, &blocks);
        assert!(!rvup.is_empty());
        let (mean, _) = mean_std(rvup.iter().copied());
        assert!((mean - 1.0).abs() < 0.35, "{mean}");
    }

    #[test]
    fn diagonal_ridges_get_nists_orientation_and_the_same_certainty() {
        // Ridges whose normal is at θ from the x axis. The textbook orientation is
        // ½·atan2(2·Gxy, Gxx − Gyy) = θ; NIST's `ridgeorient` leaves out the 2, so its angle is
        // ½·atan2(sin 2θ / 2, cos 2θ) (20.5° for 30°, 69.5° for 60°), and the port keeps that:
        // NIST's forest was trained on it. The certainty of a pure sinusoid stays near 1 and its
        // flow even, whatever its direction.
        for degrees in [30.0f64, 60.0] {
            let double = 2.0 * degrees.to_radians();
            let nist = ((double.sin() / 2.0).atan2(double.cos()) / 2.0).to_degrees();
            let print = sinusoid(320, 320, 16.0, degrees);
            let mask = ridge_segment(&print);
            let blocks = slanted_blocks(&print, &mask);
            assert!(!blocks.blocks.is_empty());
            for block in &blocks.blocks {
                let angle = block
                    .orientation
                    .rem_euclid(std::f64::consts::PI)
                    .to_degrees();
                assert!(
                    (angle - nist).abs() < 1.0,
                    "{degrees}°: a block at {angle:.1}°, NIST's formula gives {nist:.1}°"
                );
            }
            assert!(ocl_values(&print).iter().all(|&v| v > 0.95), "{degrees}°");
            assert!(
                of_values(&blocks).is_empty(),
                "{degrees}°: the flow is even"
            );
        }
    }

    #[test]
    fn a_rotation_by_zero_is_the_identity_and_a_quarter_turn_turns() {
        let mut block = [0u8; WINDOW * WINDOW];
        for (i, v) in block.iter_mut().enumerate() {
            *v = (i % 251) as u8;
        }
        assert_eq!(rotated(&block, 0.0), block);
        // 90°: OpenCV's positive angle turns the picture anticlockwise.
        let turned = rotated(&block, std::f64::consts::FRAC_PI_2);
        let mut agree = 0;
        for y in 1..WINDOW - 1 {
            for x in 1..WINDOW - 1 {
                // Anticlockwise by 90° about the centre (18, 18): out(x, y) = in(36 - y, x).
                if WINDOW - y < WINDOW && turned[y * WINDOW + x] == block[x * WINDOW + (WINDOW - y)]
                {
                    agree += 1;
                }
            }
        }
        assert!(agree > 30 * 30, "{agree}");
    }
}
