//! The region of interest (NIST's `ImgProcROI.cpp`) and the orientation coherence over it
//! (`QualityMap.cpp`): erosion, OpenCV's bit-exact 8-bit Gaussian blurs, Otsu's threshold, hole
//! filling and the largest blob, reproduced step by step.

use super::Grey;

const BLOCK: usize = 32;

/// The region of interest: `true` where the finger is.
pub(super) struct Roi {
    mask: Vec<bool>,
    /// Mean grey level of the original print inside it (255 when empty).
    pub mean: f64,
    /// Its size in pixels.
    pub area: usize,
}

pub(super) fn region_of_interest(image: &Grey) -> Roi {
    let (w, h) = (image.width, image.height);
    let eroded = erode(image);
    let blurred = gaussian_blur(&eroded, w, h, 41);
    let once = otsu_binarise(&blurred);
    let blurred = gaussian_blur(&once, w, h, 91);
    let mut binary = otsu_binarise(&blurred);
    fill_holes(&mut binary, w, h);
    keep_largest_blob(&mut binary, w, h);
    let mask: Vec<bool> = binary.iter().map(|&v| v == 0).collect();
    let (mut n, mut sum) = (0u64, 0f64);
    for (inside, &p) in mask.iter().zip(&image.pixels) {
        if *inside {
            n += 1;
            sum += f64::from(p);
        }
    }
    Roi {
        mean: if n == 0 { 255.0 } else { sum / n as f64 },
        area: n as usize,
        mask,
    }
}

/// `erode` with a 5×5 square: the minimum over the neighbours inside the image.
fn erode(image: &Grey) -> Vec<u8> {
    let (w, h) = (image.width, image.height);
    let mut rows = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let (a, b) = (x.saturating_sub(2), (x + 2).min(w - 1));
            rows[y * w + x] = (a..=b).map(|xx| image.at(xx, y)).min().unwrap_or(255);
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let (a, b) = (y.saturating_sub(2), (y + 2).min(h - 1));
        for x in 0..w {
            out[y * w + x] = (a..=b).map(|yy| rows[yy * w + x]).min().unwrap_or(255);
        }
    }
    out
}

/// OpenCV's fixed-point Gaussian kernel for 8-bit images (`getGaussianKernelBitExact`, then
/// `getGaussianKernelFixedPoint_ED` with 8 fraction bits): σ = 0.15·n + 0.35, quantised from
/// the outside in with the rounding error carried to the next tap; the centre takes what is
/// left of 256.
fn fixed_point_kernel(n: usize) -> Vec<i64> {
    let sigma = n as f64 * 0.15 + 0.35;
    let scale = -0.125 / (sigma * sigma);
    let half = (n - 1) / 2;
    let mut values = Vec::with_capacity(half);
    let mut sum = 0.0;
    let mut x = 1i64 - n as i64;
    for _ in 0..half {
        let t = ((x * x) as f64 * scale).exp();
        values.push(t);
        sum += t;
        x += 2;
    }
    sum *= 2.0;
    sum += 1.0;
    let mul = 1.0 / sum;
    let mut kernel = vec![0i64; n];
    let mut error = 0.0;
    let mut total = 0i64;
    for (i, v) in values.iter().enumerate() {
        let adjusted = v * mul * 256.0 + error;
        let rounded = adjusted.round_ties_even() as i64;
        error = adjusted - rounded as f64;
        kernel[i] = rounded;
        kernel[n - 1 - i] = rounded;
        total += rounded;
    }
    kernel[half] = 256 - 2 * total;
    kernel
}

/// `reflect_101` index of `i` into `0..n`.
fn reflect(i: i64, n: usize) -> usize {
    let n = n as i64;
    if n == 1 {
        return 0;
    }
    let mut i = i;
    while i < 0 || i >= n {
        if i < 0 {
            i = -i;
        }
        if i >= n {
            i = 2 * (n - 1) - i;
        }
    }
    i as usize
}

/// `GaussianBlur(ksize n × n, σ 0)` on 8-bit pixels, bit-exact to OpenCV's fixed-point path:
/// rows first (integer sums), then columns, rounded back to 8 bits; borders reflected (101).
/// Both passes run tap by tap over whole rows, which the compiler turns into vector code.
fn gaussian_blur(pixels: &[u8], w: usize, h: usize, n: usize) -> Vec<u8> {
    debug_assert!(
        n % 2 == 1,
        "the pairing below needs an odd, symmetric kernel"
    );
    let kernel: Vec<i32> = fixed_point_kernel(n).iter().map(|&k| k as i32).collect();
    let half = n / 2;
    // The kernel is symmetric and its tails round to zero: each pair of taps at the same distance
    // is added first and multiplied once, and zero taps are skipped (integer sums: exact).
    let centre = kernel[half];
    let pairs: Vec<(usize, i32)> = (0..half)
        .filter(|&k| kernel[k] != 0)
        .map(|k| (k, kernel[k]))
        .collect();
    // Row sums are at most 256 × 255 and column sums 256 × that: both fit in an i32.
    let mut line = vec![0i32; w + 2 * half];
    let mut rows = vec![0i32; w * h];
    for y in 0..h {
        for (i, v) in line.iter_mut().enumerate() {
            *v = i32::from(pixels[y * w + reflect(i as i64 - half as i64, w)]);
        }
        let out = &mut rows[y * w..(y + 1) * w];
        for (o, v) in out.iter_mut().zip(&line[half..half + w]) {
            *o = centre * v;
        }
        for &(k, weight) in &pairs {
            let (near, far) = (&line[k..k + w], &line[n - 1 - k..n - 1 - k + w]);
            for ((o, a), b) in out.iter_mut().zip(near).zip(far) {
                *o += weight * (a + b);
            }
        }
    }
    let mut out = vec![0u8; w * h];
    let mut sum = vec![0i32; w];
    for y in 0..h {
        let row = |k: usize| {
            let source = reflect(y as i64 + k as i64 - half as i64, h);
            &rows[source * w..(source + 1) * w]
        };
        for (s, v) in sum.iter_mut().zip(row(half)) {
            *s = centre * v;
        }
        for &(k, weight) in &pairs {
            let (near, far) = (row(k), row(n - 1 - k));
            for ((s, a), b) in sum.iter_mut().zip(near).zip(far) {
                *s += weight * (a + b);
            }
        }
        for (o, s) in out[y * w..(y + 1) * w].iter_mut().zip(&sum) {
            *o = ((s + (1 << 15)) >> 16).clamp(0, 255) as u8;
        }
    }
    out
}

/// Otsu's threshold as OpenCV computes it (`getThreshVal_Otsu_8u`), then `src > T ? 255 : 0`.
fn otsu_binarise(pixels: &[u8]) -> Vec<u8> {
    let mut histogram = [0u64; 256];
    for &p in pixels {
        histogram[usize::from(p)] += 1;
    }
    let scale = 1.0 / pixels.len().max(1) as f64;
    let mu: f64 = histogram
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum::<f64>()
        * scale;
    let (mut mu1, mut q1) = (0f64, 0f64);
    let (mut best_sigma, mut best) = (0f64, 0usize);
    for (i, &count) in histogram.iter().enumerate() {
        let p_i = count as f64 * scale;
        mu1 *= q1;
        q1 += p_i;
        let q2 = 1.0 - q1;
        if q1.min(q2) < f64::from(f32::EPSILON) || q1.max(q2) > 1.0 - f64::from(f32::EPSILON) {
            continue;
        }
        mu1 = (mu1 + i as f64 * p_i) / q1;
        let mu2 = (mu - q1 * mu1) / q2;
        let sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
        if sigma > best_sigma {
            best_sigma = sigma;
            best = i;
        }
    }
    pixels
        .iter()
        .map(|&p| if usize::from(p) > best { 255 } else { 0 })
        .collect()
}

/// Fills the holes of the finger (0): every 255-region not 4-connected to the image's frame
/// becomes 0. The frame's own pixels count as outside (OpenCV's `findContours` clears them).
fn fill_holes(binary: &mut [u8], w: usize, h: usize) {
    let mut outside = vec![false; w * h];
    let mut stack = Vec::new();
    for y in 0..h {
        for x in 0..w {
            if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
                outside[y * w + x] = true;
                stack.push(y * w + x);
            }
        }
    }
    while let Some(i) = stack.pop() {
        for j in crate::quality::four_neighbours(i, w, h) {
            if !outside[j] && binary[j] == 255 {
                outside[j] = true;
                stack.push(j);
            }
        }
    }
    for (value, out) in binary.iter_mut().zip(&outside) {
        if *value == 255 && !out {
            *value = 0;
        }
    }
}

/// Keeps the 4-connected 0-region whose bounding box is largest (the first found in raster
/// order on a tie); the others become 255.
fn keep_largest_blob(binary: &mut [u8], w: usize, h: usize) {
    let finger: Vec<bool> = binary.iter().map(|&v| v == 0).collect();
    let blobs = crate::quality::components(&finger, w, h);
    let box_area = |blob: &[usize]| {
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        for &i in blob {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        (x1 - x0 + 1) * (y1 - y0 + 1)
    };
    let (mut keep, mut largest) = (0usize, 0usize);
    for (id, blob) in blobs.iter().enumerate() {
        let area = box_area(blob);
        if area > largest {
            (keep, largest) = (id, area);
        }
    }
    for (id, blob) in blobs.iter().enumerate() {
        if id != keep {
            for &i in blob {
                binary[i] = 255;
            }
        }
    }
}

/// `OrientationMap_ROIFilter_CoherenceSum` and `_CoherenceRel`: the orientation coherence of
/// each 32×32 tile (edge tiles partial) holding any of the region of interest, summed, and that
/// sum over the number of such tiles.
pub(super) fn coherence(image: &Grey, roi: &Roi) -> (f64, f64) {
    let (w, h) = (image.width, image.height);
    let (mut sum, mut tiles) = (0f64, 0usize);
    for y in (0..h).step_by(BLOCK) {
        for x in (0..w).step_by(BLOCK) {
            let (bw, bh) = ((w - x).min(BLOCK), (h - y).min(BLOCK));
            let inside = (y..y + bh).any(|yy| (x..x + bw).any(|xx| roi.mask[yy * w + xx]));
            if !inside {
                continue;
            }
            tiles += 1;
            let (gx, gy) = super::blocks::block_gradients(image, x, y, bw, bh);
            let (mut sx, mut sy, mut magnitude) = (0f64, 0f64, 0f64);
            for (p, q) in gx.iter().zip(&gy) {
                let across = 2.0 * p * q;
                let along = p * p - q * q;
                sy += across;
                sx += along;
                magnitude += (across * across + along * along).sqrt();
            }
            let total = (sx * sx + sy * sy).sqrt();
            let c = if magnitude != 0.0 {
                total / magnitude
            } else {
                0.0
            };
            sum += if c.is_nan() { 0.0 } else { c };
        }
    }
    let relative = if tiles == 0 { 0.0 } else { sum / tiles as f64 };
    (sum, relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blur as OpenCV defines it, tap by tap: the reference the paired sums must equal.
    fn naive_blur(pixels: &[u8], w: usize, h: usize, n: usize) -> Vec<u8> {
        let kernel = fixed_point_kernel(n);
        let half = n as i64 / 2;
        let rows: Vec<i64> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as i64, i / w);
                (0..n)
                    .map(|k| {
                        let xx = reflect(x + k as i64 - half, w);
                        i64::from(kernel[k] as i32) * i64::from(pixels[y * w + xx])
                    })
                    .sum()
            })
            .collect();
        (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, (i / w) as i64);
                let sum: i64 = (0..n)
                    .map(|k| {
                        let yy = reflect(y + k as i64 - half, h);
                        i64::from(kernel[k] as i32) * rows[yy * w + x]
                    })
                    .sum();
                ((sum + (1 << 15)) >> 16).clamp(0, 255) as u8
            })
            .collect()
    }

    #[test]
    fn the_paired_blur_equals_the_tap_by_tap_one_even_on_images_narrower_than_the_kernel() {
        for n in [3usize, 41, 91] {
            for (w, h) in [
                (1usize, 1usize),
                (2, 3),
                (7, 5),
                (12, 40),
                (45, 9),
                (100, 64),
            ] {
                let pixels: Vec<u8> = (0..w * h)
                    .map(|i| ((i * 37 + i / w * 11) % 256) as u8)
                    .collect();
                assert_eq!(
                    gaussian_blur(&pixels, w, h, n),
                    naive_blur(&pixels, w, h, n),
                    "{n} taps on {w}×{h}"
                );
            }
        }
    }

    #[test]
    fn the_gaussian_kernels_sum_to_256_are_symmetric_and_follow_the_bell_within_a_step() {
        for n in [41, 91] {
            let k = fixed_point_kernel(n);
            assert_eq!(k.iter().sum::<i64>(), 256, "{n}");
            assert!(k.iter().zip(k.iter().rev()).all(|(a, b)| a == b));
            // Each tap is 256 × the normalised Gaussian (σ = 0.15 n + 0.35), rounded with the
            // error carried from the outside in: never a whole step away.
            let sigma = n as f64 * 0.15 + 0.35;
            let bell: Vec<f64> = (0..n)
                .map(|i| {
                    let d = i as f64 - (n - 1) as f64 / 2.0;
                    (-(d * d) / (2.0 * sigma * sigma)).exp()
                })
                .collect();
            let total: f64 = bell.iter().sum();
            for (tap, b) in k.iter().zip(&bell) {
                assert!((*tap as f64 - 256.0 * b / total).abs() < 1.0, "{n}: {k:?}");
            }
        }
    }

    #[test]
    fn a_blur_keeps_a_flat_image_flat_and_otsu_splits_two_levels_between_them() {
        let flat = vec![77u8; 50 * 40];
        assert!(gaussian_blur(&flat, 50, 40, 41).iter().all(|&v| v == 77));
        let two: Vec<u8> = (0..100).map(|i| if i < 60 { 40 } else { 200 }).collect();
        let split = otsu_binarise(&two);
        assert_eq!(split.iter().filter(|&&v| v == 0).count(), 60);
    }

    #[test]
    fn a_hole_in_the_finger_is_filled_and_a_second_smaller_blob_dropped() {
        let (w, h) = (20, 12);
        let mut b = vec![255u8; w * h];
        // A finger 3..11 × 2..10 with a hole at (6, 5), and a speck at (16, 2).
        for y in 2..10 {
            for x in 3..11 {
                b[y * w + x] = 0;
            }
        }
        b[5 * w + 6] = 255;
        b[2 * w + 16] = 0;
        fill_holes(&mut b, w, h);
        assert_eq!(b[5 * w + 6], 0, "hole filled");
        keep_largest_blob(&mut b, w, h);
        assert_eq!(b[2 * w + 16], 255, "speck dropped");
        assert_eq!(b.iter().filter(|&&v| v == 0).count(), 64);
    }
}
