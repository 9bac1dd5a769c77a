//! Resampling a print to 500 ppi as NFIQ 2.3's tool does it: NIST's fingerprint image resampler
//! (NFIR, the revision NFIQ 2.3 pins, with its recommended settings) over OpenCV's `resize`.
//!
//! - Up (below 500 ppi): bicubic interpolation.
//! - Down: first a low-pass filter at the target's Nyquist frequency, applied in the frequency
//!   domain to the print padded with white (right and bottom) to an even size the DFT handles
//!   quickly — an ideal (elliptical) filter, or at exactly 1200 ppi a Gaussian one — then
//!   bilinear interpolation (bicubic at exactly 600 ppi; the exact halving from 1000 ppi averages
//!   2×2 pixels).
//!
//! The interpolation is OpenCV's fixed-point 8-bit arithmetic; the filter runs in `f64` where
//! NFIR's runs in `f32`, which moves a few pixels by one grey level.

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use super::Grey;

/// The target resolution.
const TARGET_PPI: u32 = 500;
/// OpenCV's fixed-point interpolation weights: 11 fraction bits.
const COEF_SCALE: f32 = 2048.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Interpolation {
    Linear,
    Cubic,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Filter {
    Ideal,
    Gaussian,
}

/// `image` at `ppi`, resampled to 500 ppi. A print already at 500 ppi comes back unchanged.
pub fn resample(image: &Grey, ppi: u32) -> Grey {
    if ppi == TARGET_PPI || ppi == 0 || image.width == 0 || image.height == 0 {
        return image.clone();
    }
    // NFIR takes the ratio in single precision.
    let ratio = f64::from(TARGET_PPI as f32 / ppi as f32);
    if ppi < TARGET_PPI {
        return resize(image, ratio, Interpolation::Cubic);
    }
    let (filter, interpolation) = match ppi {
        600 => (Filter::Ideal, Interpolation::Cubic),
        1200 => (Filter::Gaussian, Interpolation::Linear),
        _ => (Filter::Ideal, Interpolation::Linear),
    };
    resize(&low_pass(image, ratio, filter), ratio, interpolation)
}

/// OpenCV's `getOptimalDFTSize`: the smallest 2^a·3^b·5^c at least `n`; NFIR then makes it even.
fn padded_size(n: usize) -> usize {
    let smooth = |mut m: usize| {
        for p in [2, 3, 5] {
            while m % p == 0 {
                m /= p;
            }
        }
        m == 1
    };
    let size = (n.max(1)..).find(|&m| smooth(m)).unwrap_or(n);
    size + size % 2
}

/// NFIR's low-pass step: pad with white, filter in the frequency domain, back to 8 bits, crop.
fn low_pass(image: &Grey, ratio: f64, filter: Filter) -> Grey {
    let (w, h) = (image.width, image.height);
    let (pw, ph) = (padded_size(w), padded_size(h));
    let mut data = vec![Complex::new(255.0f64, 0.0); pw * ph];
    for y in 0..h {
        for x in 0..w {
            data[y * pw + x].re = f64::from(image.pixels[y * w + x]);
        }
    }
    let mut planner = FftPlanner::<f64>::new();
    fft_2d(&mut planner, &mut data, pw, ph, false);
    let mask = match filter {
        Filter::Ideal => ideal_mask(pw, ph, ratio),
        Filter::Gaussian => gaussian_mask(pw, ph, ratio),
    };
    // NFIR multiplies the spectrum by the mask in both its real and imaginary planes: m·(1+i).
    for (value, &m) in data.iter_mut().zip(&mask) {
        *value *= Complex::new(m, m);
    }
    fft_2d(&mut planner, &mut data, pw, ph, true);
    let scale = (pw * ph) as f64;
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let v = (data[y * pw + x].re / scale).round_ties_even();
            pixels.push(v.clamp(0.0, 255.0) as u8);
        }
    }
    Grey {
        width: w,
        height: h,
        pixels,
    }
}

/// An unnormalised 2-D DFT (or its inverse), rows then columns.
fn fft_2d(
    planner: &mut FftPlanner<f64>,
    data: &mut [Complex<f64>],
    w: usize,
    h: usize,
    inverse: bool,
) {
    let (rows, columns) = if inverse {
        (planner.plan_fft_inverse(w), planner.plan_fft_inverse(h))
    } else {
        (planner.plan_fft_forward(w), planner.plan_fft_forward(h))
    };
    rows.process(data);
    let mut column = vec![Complex::new(0.0, 0.0); h];
    for x in 0..w {
        for (y, value) in column.iter_mut().enumerate() {
            *value = data[y * w + x];
        }
        columns.process(&mut column);
        for (y, value) in column.iter().enumerate() {
            data[y * w + x] = *value;
        }
    }
}

/// Frequency index `j` of `n` as a signed frequency (DC at 0).
fn signed(j: usize, n: usize) -> f64 {
    if j <= n / 2 {
        j as f64
    } else {
        j as f64 - n as f64
    }
}

/// The ideal low-pass: keeps the frequencies inside the ellipse at the target's Nyquist limit.
fn ideal_mask(pw: usize, ph: usize, ratio: f64) -> Vec<f64> {
    let limit = (ratio / 2.0).powi(2);
    let mut mask = Vec::with_capacity(pw * ph);
    for i in 0..ph {
        let fy = signed(i, ph) / ph as f64;
        for j in 0..pw {
            let fx = signed(j, pw) / pw as f64;
            mask.push(if fx * fx + fy * fy < limit { 1.0 } else { 0.0 });
        }
    }
    mask
}

/// NFIR's Gaussian low-pass: a separable bell of σ = ratio · n / 2 bins, peak at (n − 1) / 2,
/// scaled to 0–1 and shifted so the middle lands at DC.
fn gaussian_mask(pw: usize, ph: usize, ratio: f64) -> Vec<f64> {
    let bell = |n: usize| {
        let sigma = ratio * n as f64 / 2.0;
        let centre = (n as f64 - 1.0) / 2.0;
        let raw: Vec<f64> = (0..n)
            .map(|t| (-(t as f64 - centre).powi(2) / (2.0 * sigma * sigma)).exp())
            .collect();
        let sum: f64 = raw.iter().sum();
        raw.iter()
            .map(|v| f64::from((v / sum) as f32))
            .collect::<Vec<f64>>()
    };
    let (gy, gx) = (bell(ph), bell(pw));
    let kernel: Vec<f64> = gy
        .iter()
        .flat_map(|a| gx.iter().map(move |b| a * b))
        .collect();
    let (low, high) = kernel
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let span = (high - low).max(f64::MIN_POSITIVE);
    let mut mask = Vec::with_capacity(pw * ph);
    for i in 0..ph {
        for j in 0..pw {
            let k = kernel[((i + ph / 2) % ph) * pw + (j + pw / 2) % pw];
            mask.push((k - low) / span);
        }
    }
    mask
}

/// OpenCV's `resize` of an 8-bit image by `ratio` both ways.
fn resize(image: &Grey, ratio: f64, interpolation: Interpolation) -> Grey {
    let (w, h) = (image.width, image.height);
    let dw = ((w as f64 * ratio).round_ties_even() as usize).max(1);
    let dh = ((h as f64 * ratio).round_ties_even() as usize).max(1);
    let scale = 1.0 / ratio;
    if interpolation == Interpolation::Linear && scale == 2.0 {
        return halve(image, dw, dh);
    }
    let taps = match interpolation {
        Interpolation::Linear => 2,
        Interpolation::Cubic => 4,
    };
    // Each output column's first source column and weights, then each output row's.
    let weights = |d: usize, n: usize, clamp_ends: bool| -> (isize, Vec<i32>) {
        let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
        let mut s = f.floor();
        let mut t = f - s;
        if clamp_ends && interpolation == Interpolation::Linear {
            if s < 0.0 {
                (s, t) = (0.0, 0.0);
            }
            if s >= (n - 1) as f32 {
                (s, t) = ((n - 1) as f32, 0.0);
            }
        }
        let coefficients: Vec<f32> = match interpolation {
            Interpolation::Linear => vec![1.0 - t, t],
            Interpolation::Cubic => cubic(t).to_vec(),
        };
        let first = s as isize - (taps as isize / 2 - 1);
        let fixed = coefficients
            .iter()
            .map(|c| (c * COEF_SCALE).round_ties_even() as i32)
            .collect();
        (first, fixed)
    };
    let at = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
    let columns: Vec<(isize, Vec<i32>)> = (0..dw).map(|d| weights(d, w, true)).collect();
    let mut horizontal = vec![0i32; dw * h];
    for y in 0..h {
        let row = &image.pixels[y * w..(y + 1) * w];
        for (x, (first, alpha)) in columns.iter().enumerate() {
            horizontal[y * dw + x] = alpha
                .iter()
                .enumerate()
                .map(|(k, a)| i32::from(row[at(first + k as isize, w)]) * a)
                .sum();
        }
    }
    let mut pixels = vec![0u8; dw * dh];
    for dy in 0..dh {
        let (first, beta) = weights(dy, h, false);
        for x in 0..dw {
            let column = |k: usize| horizontal[at(first + k as isize, h) * dw + x];
            pixels[dy * dw + x] = match interpolation {
                Interpolation::Linear => {
                    let part = |k: usize| (beta[k] * (column(k) >> 4)) >> 16;
                    ((part(0) + part(1) + 2) >> 2).clamp(0, 255) as u8
                }
                Interpolation::Cubic => {
                    let sum: i64 = (0..4)
                        .map(|k| i64::from(beta[k]) * i64::from(column(k)))
                        .sum();
                    ((sum + (1 << 21)) >> 22).clamp(0, 255) as u8
                }
            };
        }
    }
    Grey {
        width: dw,
        height: dh,
        pixels,
    }
}

/// OpenCV's bicubic weights (A = −0.75) at fraction `x`.
fn cubic(x: f32) -> [f32; 4] {
    const A: f32 = -0.75;
    let c0 = ((A * (x + 1.0) - 5.0 * A) * (x + 1.0) + 8.0 * A) * (x + 1.0) - 4.0 * A;
    let c1 = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let c2 = ((A + 2.0) * (1.0 - x) - (A + 3.0)) * (1.0 - x) * (1.0 - x) + 1.0;
    [c0, c1, c2, 1.0 - c0 - c1 - c2]
}

/// An exact halving as OpenCV does it: the mean of each 2×2 block, rounded; where the image's
/// edge cuts a block, the mean of the pixels it has.
fn halve(image: &Grey, dw: usize, dh: usize) -> Grey {
    let (w, h) = (image.width, image.height);
    let mut pixels = Vec::with_capacity(dw * dh);
    for dy in 0..dh {
        for dx in 0..dw {
            let (x0, y0) = (2 * dx, 2 * dy);
            let (x1, y1) = ((x0 + 2).min(w), (y0 + 2).min(h));
            let (mut sum, mut count) = (0u32, 0u32);
            for y in y0..y1 {
                for x in x0..x1 {
                    sum += u32::from(image.pixels[y * w + x]);
                    count += 1;
                }
            }
            pixels.push(if count == 4 {
                ((sum + 2) >> 2) as u8
            } else {
                (f64::from(sum) / f64::from(count.max(1))).round_ties_even() as u8
            });
        }
    }
    Grey {
        width: dw,
        height: dh,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straight ridges across the image, `period` pixels apart.
    fn ridges(width: usize, height: usize, period: f64) -> Grey {
        let pixels = (0..height)
            .flat_map(|_| {
                (0..width).map(move |x| {
                    let phase = 2.0 * std::f64::consts::PI * x as f64 / period;
                    (128.0 + 80.0 * phase.cos()).round() as u8
                })
            })
            .collect();
        Grey {
            width,
            height,
            pixels,
        }
    }

    /// The ridge period measured by counting dark-to-light crossings along the middle row.
    fn period(image: &Grey) -> f64 {
        let row = &image.pixels[image.height / 2 * image.width..][..image.width];
        let rises = row
            .windows(2)
            .filter(|pair| pair[0] < 128 && pair[1] >= 128)
            .count();
        image.width as f64 / rises as f64
    }

    #[test]
    fn a_print_at_500_ppi_comes_back_unchanged() {
        let print = ridges(40, 30, 9.0);
        let same = resample(&print, 500);
        assert_eq!((same.width, same.height), (40, 30));
        assert_eq!(same.pixels, print.pixels);
    }

    #[test]
    fn the_size_and_the_ridge_period_scale_to_500_ppi_from_above_and_below() {
        // Ridges 0.45 mm apart: 9 pixels at 500 ppi, 18 at 1000, 10.8 at 600, 7.2 at 400.
        for (ppi, width, height, ridge) in [
            (1000u32, 403usize, 389usize, 18.0),
            (600, 480, 600, 10.8),
            (1200, 481, 600, 21.6),
            (400, 320, 400, 7.2),
        ] {
            let print = ridges(width, height, ridge);
            let out = resample(&print, ppi);
            let ratio = 500.0 / f64::from(ppi);
            assert_eq!(
                (out.width, out.height),
                (
                    (width as f64 * ratio).round_ties_even() as usize,
                    (height as f64 * ratio).round_ties_even() as usize
                ),
                "{ppi} ppi"
            );
            let measured = period(&out);
            assert!(
                (measured - 9.0).abs() < 0.3,
                "{ppi} ppi: ridges {measured:.2} pixels apart, 9 expected"
            );
        }
    }

    #[test]
    fn downsampling_removes_detail_finer_than_500_ppi_can_hold_instead_of_aliasing_it() {
        // Stripes 2.2 pixels apart at 1000 ppi are finer than 500 ppi's limit (2 pixels at
        // 500 ppi = 4 at 1000): they must vanish to grey, not fold into a false coarse pattern.
        let fine = ridges(300, 200, 2.2);
        let out = resample(&fine, 1000);
        let inner: Vec<f64> = (20..out.height - 20)
            .flat_map(|y| (20..out.width - 20).map(move |x| (x, y)))
            .map(|(x, y)| f64::from(out.pixels[y * out.width + x]))
            .collect();
        let (_, std) = crate::quality::mean_std(inner.iter().copied());
        assert!(std < 6.0, "left a pattern of spread {std:.1}");
    }

    #[test]
    fn a_flat_grey_print_stays_flat_at_every_resolution() {
        for ppi in [362u32, 400, 600, 700, 1000, 1200] {
            let flat = Grey {
                width: 120,
                height: 90,
                pixels: vec![90u8; 120 * 90],
            };
            let out = resample(&flat, ppi);
            assert!(
                out.pixels.iter().all(|&v| v == 90),
                "{ppi} ppi: {:?}",
                out.pixels.iter().find(|&&v| v != 90)
            );
        }
    }

    #[test]
    fn padding_sizes_are_the_next_size_made_of_2_3_and_5_rounded_up_to_even() {
        assert_eq!(padded_size(753), 768);
        assert_eq!(padded_size(801), 810);
        assert_eq!(padded_size(1003), 1024);
        assert_eq!(padded_size(611), 626);
        assert_eq!(padded_size(1100), 1126);
    }
}
