// FingerJetFX OSE -- Fingerprint Feature Extractor, Open Source Edition.
// Copyright (c) 2011 DigitalPersona, Inc. All rights reserved. MODIFIED: ported from C++ to
// Rust for the Enrollment Station. LGPL-3.0-or-later with the conditions of COPYRIGHT.txt.

//! Port of `freeman_phasemap<ori_scale = 4>` (FingerJet FX OSE, `freeman.h`): the ridge
//! phase map computed with Freeman & Adelson steerable quadrature filters (G2/H2),
//! steered by the orientation map.

use crate::support::*;

/// `ori_scale`: one orientation cell per 4×4 pixels.
const ORI_SCALE: usize = 4;
/// `flt_size2`: half-size of the 9×9 filters.
const FLT_SIZE2: usize = 4;

// The seven separable 9×9 filters of freeman.h (`conv9<t0, t1, t2, t3, t4>`; `t0 == 0`
// means antisymmetric). Taps are the Freeman–Adelson G2 (second derivative of a
// Gaussian) and H2 (its Hilbert transform) basis, 1-D factors scaled to ~128, with the
// centre tap of the zero-sum filters doubled ("zero taps are already multiplied by 2").
/// `conv9<-112, -7, 48, 14, 1> x20`: G2 second-derivative factor (sum of taps = 0).
type X20 = Conv9<-112, -7, 48, 14, 1>;
/// `conv9<122, 78, 20, 2, 0> x22, x33`: Gaussian smoothing factor (DC gain 322).
type X22 = Conv9<122, 78, 20, 2, 0>;
/// `conv9<0, 71, 37, 6, 0> x21`: first-derivative factor (odd).
type X21 = Conv9<0, 71, 37, 6, 0>;
/// `conv9<0, -92, -12, 8, 1> x30`: H2 odd third-order factor.
type X30 = Conv9<0, -92, -12, 8, 1>;
/// `conv9<0, 52, 27, 4, 0> x32`: H2 odd first-order factor.
type X32 = Conv9<0, 52, 27, 4, 0>;
/// `conv9<-90, -23, 21, 7, 1> x31`: H2 even factor.
type X31 = Conv9<-90, -23, 21, 7, 1>;
/// `x33` has the same taps as `x22` (own history buffer).
type X33 = X22;

/// Reads byte `idx` of the C++ working buffer as `freeman_phasemap` sees it past the end
/// of the image: in `From333DpiImg` the orientation map is stored right after the image
/// (`ori = (ori_t*)(img + size)`, `re` then `im` bytes per cell). Beyond the orientation
/// map lies fft_enhance scratch memory that cannot be reproduced; it is read as 0 here
/// (unreachable for the pipeline's images, whose height is a multiple of 4: then only the
/// first 4 bytes past the image, i.e. `ori[0]` and `ori[1]`, are read).
#[inline(never)]
fn byte_past_image(img: &[u8], ori: &[Ori], idx: usize) -> i32 {
    if let Some(&b) = img.get(idx) {
        return i32::from(b);
    }
    let o = idx - img.len();
    match ori.get(o / 2) {
        Some(c) if o % 2 == 0 => i32::from(c.re as u8),
        Some(c) => i32::from(c.im as u8),
        None => 0,
    }
}

/// History kept by the C++ `conv9` horizontal ring buffers (`length = 8`).
const HIST: usize = 2 * FLT_SIZE2;

/// Steering coefficients of one orientation cell (C++ `a20 a21 a22 a30 a31 a32 a33`).
#[derive(Clone, Copy, Default)]
struct Steer {
    a20: i32,
    a21: i32,
    a22: i32,
    a30: i32,
    a31: i32,
    a32: i32,
    a33: i32,
}

impl Steer {
    /// The per-cell part of the C++ loop body of `freeman_phasemap`.
    #[inline]
    fn new(o: Ori) -> Self {
        // Orientation vector components in Q7 (|.| <= 127 ≈ 1.0).
        let a10 = i32::from(o.re);
        let a11 = i32::from(o.im);
        // Second-order monomials (Q7) steering G2 ...
        let a20 = sincosnorm(a10 * a10);
        let a22 = sincosnorm(a11 * a11);
        Steer {
            a20,
            a21: sincosnorm(2 * a10 * a11),
            a22,
            // ... and third-order ones steering H2 (binomial weights 1, 3, 3, 1).
            a30: sincosnorm(a10 * a20),
            a31: sincosnorm(3 * a20 * a11),
            a32: sincosnorm(3 * a22 * a10),
            a33: sincosnorm(a11 * a22),
        }
    }
}

/// The six distinct vertical filters of `freeman_phasemap` over one chunk of stream
/// positions: `rows[k][i]` is the input byte at `p + (k - 4) * width` for the chunk's
/// `i`-th position `p`. Results go to `out[f][HIST + i]`.
fn verticals(rows: [&[u8]; 9], n: usize, out: &mut [Vec<i32>; 6]) {
    let [s1, a1, s2, a2, s3, a3] = out;
    let (s1, a1, s2) = (
        &mut s1[HIST..HIST + n],
        &mut a1[HIST..HIST + n],
        &mut s2[HIST..HIST + n],
    );
    let (a2, s3, a3) = (
        &mut a2[HIST..HIST + n],
        &mut s3[HIST..HIST + n],
        &mut a3[HIST..HIST + n],
    );
    let r: [&[u8]; 9] = rows.map(|r| &r[..n]);
    for i in 0..n {
        let col = [
            i32::from(r[0][i]),
            i32::from(r[1][i]),
            i32::from(r[2][i]),
            i32::from(r[3][i]),
            i32::from(r[4][i]),
            i32::from(r[5][i]),
            i32::from(r[6][i]),
            i32::from(r[7][i]),
            i32::from(r[8][i]),
        ];
        s1[i] = X22::vert(&col); // x22.vert == x33.vert
        a1[i] = X21::vert(&col);
        s2[i] = X20::vert(&col);
        a2[i] = X32::vert(&col);
        s3[i] = X31::vert(&col);
        a3[i] = X30::vert(&col);
    }
}

/// How many rows of orientation cells the C++ loop processes:
/// `for (y = ori_width; y < size / ori_scale2 - ori_width; y += ori_width)` runs for
/// k = 1..=k_max with k · ori_width < size/16 − ori_width. (The C++ never terminates for
/// ori_width == 0 and underflows for size/16 < ori_width; such tiny images never reach this
/// stage, they get 0 iterations here.)
fn iterations(size: usize, ori_width: usize) -> usize {
    let limit = (size / (ORI_SCALE * ORI_SCALE)).saturating_sub(ori_width);
    if ori_width == 0 || limit == 0 {
        0
    } else {
        (limit - 1) / ori_width
    }
}

/// Port of `freeman_phasemap<4>(width, size, img, ori, img)` (freeman.h) exactly as
/// `From333DpiImg` (FeatureExtraction.h) calls it: in place, `size = img.len()`.
///
/// `img` is the enhanced image (row-major, `width` columns); `ori` the orientation map
/// with `ori_width = width / 4` columns (equal to `(width - 1) / 4 + 1` since the
/// pipeline's width is a multiple of 4). On return `img` holds the phase map: each pixel
/// is `(127 - re) & 0xf0` where `re` is the octagon-normalised (`oct_sign`) real part of
/// the complex response (steered G2, steered H2), i.e. a 16-level code of the cosine of
/// the ridge phase (0 at intensity minima, 240 at intensity maxima), or [`PHASEMAP_FILLER`]
/// where the G2 response is 0.
///
/// Geometry kept from the C++: the filter at output pixel `t` (linear index) is centred
/// on input pixel `t + 4 * width`, so the phase map is shifted up by 4 rows (the output
/// is not re-centred); the horizontal filters run as one causal stream over the whole
/// image (rows wrap into each other, zero history at the start); orientation row 0 is
/// skipped, and the last `8 * width` bytes (plus anything the loop did not reach) are
/// [`PHASEMAP_FILLER`]. Missing orientation cells (a too-short `ori`) count as 0.
///
/// Aliasing: the C++ writes its output over its input. At output index `t` the filters
/// read input indices `>= t + 4`, and all earlier writes are at indices `< t`, so the
/// in-place run reads only original pixels. Here each chunk (one `(k, i)` iteration:
/// `4 * ori_width` stream positions, one image row) reads all its inputs (indices at
/// least its first output index + 4) before writing its outputs: the same result. Near the bottom the vertical
/// filters read up to 4 bytes past the image (into the orientation map stored there in
/// C++); this is reproduced (see `byte_past_image`).
///
/// Equivalent to the C++ per-pixel streaming loop, reorganised per row for speed: the
/// `conv9` horizontal ring buffers become the 8 history values kept at the front of each
/// vertical-response buffer.
pub fn freeman_phasemap(width: usize, img: &mut [u8], ori: &[Ori]) {
    let size = img.len();
    let ori_width = width / ORI_SCALE;
    let k_max = iterations(size, ori_width);

    let w = width;
    // Stream positions per (k, i) iteration of the C++ loop: ori_width cells of 4 pixels.
    let chunk = ORI_SCALE * ori_width;

    // Vertical responses with 8 values of horizontal history in front (initially 0, as
    // the C++ conv9 buffers): [x22/x33.vert, x21.vert, x20.vert, x32.vert, x31.vert,
    // x30.vert].
    let mut vbuf: [Vec<i32>; 6] = std::array::from_fn(|_| vec![0i32; HIST + chunk]);
    // Steering coefficients expanded per stream position of a chunk, and the chunk's
    // rescaled (G2, H2) responses.
    let mut coef: [Vec<i32>; 7] = std::array::from_fn(|_| vec![0i32; chunk]);
    // Horizontal filter outputs of a chunk: [v20, v21, v22, v30, v31, v32, v33].
    let mut hbuf: [Vec<i32>; 7] = std::array::from_fn(|_| vec![0i32; chunk]);
    let mut x2buf = vec![0i32; chunk];
    let mut x3buf = vec![0i32; chunk];
    let mut tail: Vec<u8> = Vec::new();

    let mut t0 = 0usize; // offset of p2 (output) at the chunk start
    for k in 1..=k_max {
        let row = k * ori_width;
        for x in 0..ori_width {
            let s = Steer::new(ori.get(row + x).copied().unwrap_or_default());
            let cells = x * ORI_SCALE..(x + 1) * ORI_SCALE;
            let vals = [s.a20, s.a21, s.a22, s.a30, s.a31, s.a32, s.a33];
            for (c, v) in coef.iter_mut().zip(vals) {
                c[cells.clone()].fill(v);
            }
        }
        for _i in 0..ORI_SCALE {
            // C++ p = inImage + (width + 1) * flt_size2 runs 4 rows and 4 columns ahead of
            // the output pointer p2 (which starts at the image start): the chunk's stream
            // positions are q0 = t0 + 4 * w + 4 onwards, and its column taps are at
            // q0 + (j - 4) * w, j = 0..9, i.e. rows starting at top + j * w with
            // top = q0 - 4 * w = t0 + 4. By the bound on k_max, t0 + chunk <= size - 16.
            let top = t0 + FLT_SIZE2;
            if top + 8 * w + chunk <= size {
                let rows: [&[u8]; 9] = std::array::from_fn(|j| &img[top + j * w..]);
                verticals(rows, chunk, &mut vbuf);
            } else {
                // Last row(s): some taps lie past the image.
                tail.clear();
                for j in 0..9 {
                    let base = top + j * w;
                    tail.extend(
                        (base..base + chunk).map(|idx| byte_past_image(img, ori, idx) as u8),
                    );
                }
                let rows: [&[u8]; 9] = std::array::from_fn(|j| &tail[j * chunk..]);
                verticals(rows, chunk, &mut vbuf);
            }

            // Horizontal filters (C++ operator() of each conv9), over the whole chunk.
            let [s1, a1, s2, a2, s3, a3] = &vbuf;
            let [h20, h21, h22, h30, h31, h32, h33] = &mut hbuf;
            X20::fir_into(s1, h20); // x20(x22.vert)
            X21::fir_into(a1, h21); // x21(x21.vert)
            X22::fir_into(s2, h22); // x22(x20.vert)
            X30::fir_into(s1, h30); // x30(x33.vert)
            X31::fir_into(a2, h31); // x31(x32.vert)
            X32::fir_into(s3, h32); // x32(x31.vert)
            X33::fir_into(a3, h33); // x33(x30.vert)

            // Steering: x2 = steered G2, x3 = steered H2. int32 sums in C++ (overflow
            // would be UB there; wrap like the generated x86 code would), then a rounded
            // rescale by 2^11 (arithmetic shift): coefficients are Q7 and the 2-D taps
            // carry a further ~2^14 gain, so x2/x3 come out at roughly pixel scale.
            let [c20, c21, c22, c30, c31, c32, c33] = &coef;
            let (x2s, x3s) = (&mut x2buf[..chunk], &mut x3buf[..chunk]);
            for i in 0..chunk {
                let x2 = c20[i]
                    .wrapping_mul(h20[i])
                    .wrapping_add(c21[i].wrapping_mul(h21[i]))
                    .wrapping_add(c22[i].wrapping_mul(h22[i]));
                x2s[i] = x2.wrapping_add(1024) >> 11;
            }
            for i in 0..chunk {
                let x3 = c30[i]
                    .wrapping_mul(h30[i])
                    .wrapping_add(c31[i].wrapping_mul(h31[i]))
                    .wrapping_add(c32[i].wrapping_mul(h32[i]))
                    .wrapping_add(c33[i].wrapping_mul(h33[i]));
                x3s[i] = x3.wrapping_add(1024) >> 11;
            }
            // Phase code per pixel.
            let out = &mut img[t0..t0 + chunk];
            for ((o, &x2), &x3) in out.iter_mut().zip(x2s.iter()).zip(x3s.iter()) {
                *o = if x2 != 0 {
                    let (re, _) = oct_sign(x2, x3);
                    ((127 - i32::from(re)) & 0xf0) as u8
                } else {
                    PHASEMAP_FILLER
                };
            }
            // Keep the last 8 vertical responses as the next chunk's horizontal history.
            for b in vbuf.iter_mut() {
                b.copy_within(chunk..chunk + HIST, 0);
            }
            t0 += chunk;
        }
    }
    // Trailing filler: 2 * flt_size2 rows. (In C++ this can run past the image into the
    // orientation map when the height is not a multiple of 4; only the image is kept.)
    let end = t0.saturating_add(w * FLT_SIZE2 * 2).min(size);
    if t0 < end {
        img[t0..end].fill(PHASEMAP_FILLER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C++ streaming `conv9::operator()`: the filter over the last nine samples pushed
    /// (eight zeros before the first).
    struct Stream {
        history: Vec<i32>,
        filter: fn(&[i32]) -> i32,
    }

    impl Stream {
        fn new(filter: fn(&[i32]) -> i32) -> Self {
            Stream {
                history: vec![0; 8],
                filter,
            }
        }

        fn apply(&mut self, v: i32) -> i32 {
            self.history.push(v);
            let n = self.history.len();
            (self.filter)(&self.history[n - 9..])
        }
    }

    /// Straight per-pixel streaming transcription of the C++ loop (conv9 ring buffers,
    /// one pixel at a time), used to check the row-blocked implementation.
    fn reference_phasemap(width: usize, img: &mut [u8], ori: &[Ori]) {
        let size = img.len();
        let ori_width = width / ORI_SCALE;
        // The C++ loop bound written out again (not `iterations`), so the count is checked too:
        // for (y = ori_width; y < size / ori_scale2 - ori_width; y += ori_width).
        let mut k_max = 0;
        while ori_width > 0 && (k_max + 1) * ori_width + ori_width < size / (ORI_SCALE * ORI_SCALE)
        {
            k_max += 1;
        }

        let w = width;
        // p = inImage + (width + 1) * flt_size2: the input pointer runs 4 rows and 4 columns
        // ahead of the output pointer p2 (which starts at the image start).
        let lead = (width + 1) * FLT_SIZE2;
        // Vertical taps at p + 4*width must stay inside the image for the fast path.
        let fast_end = size.saturating_sub(FLT_SIZE2 * w + lead);

        let mut x20 = Stream::new(X20::fir);
        let mut x22 = Stream::new(X22::fir);
        let mut x33 = Stream::new(X33::fir);
        let mut x21 = Stream::new(X21::fir);
        let mut x30 = Stream::new(X30::fir);
        let mut x32 = Stream::new(X32::fir);
        let mut x31 = Stream::new(X31::fir);

        let mut col = [0i32; 9];
        let mut t = 0usize; // offset of p2 (output); p = t + lead
        for k in 1..=k_max {
            let row = k * ori_width;
            for _i in 0..ORI_SCALE {
                for x in 0..ori_width {
                    let o = ori.get(row + x).copied().unwrap_or_default();
                    // Orientation vector components in Q7 (|.| <= 127 ≈ 1.0).
                    let a10 = i32::from(o.re);
                    let a11 = i32::from(o.im);
                    // Steering coefficients (Q7): second-order monomials for G2 ...
                    let a20 = sincosnorm(a10 * a10);
                    let a21 = sincosnorm(2 * a10 * a11);
                    let a22 = sincosnorm(a11 * a11);
                    // ... and third-order ones for H2 (binomial weights 1, 3, 3, 1).
                    let a30 = sincosnorm(a10 * a20);
                    let a31 = sincosnorm(3 * a20 * a11);
                    let a32 = sincosnorm(3 * a22 * a10);
                    let a33 = sincosnorm(a11 * a22);

                    for _j in 0..FLT_SIZE2 {
                        let q = t + lead; // p
                        if t < fast_end {
                            let mut idx = q - FLT_SIZE2 * w;
                            for c in col.iter_mut() {
                                *c = i32::from(img[idx]);
                                idx += w;
                            }
                        } else {
                            let mut idx = q - FLT_SIZE2 * w;
                            for c in col.iter_mut() {
                                *c = byte_past_image(img, ori, idx);
                                idx += w;
                            }
                        }
                        let v20 = x20.apply(X22::vert(&col));
                        let v21 = x21.apply(X21::vert(&col));
                        let v22 = x22.apply(X20::vert(&col));

                        let v30 = x30.apply(X33::vert(&col));
                        let v31 = x31.apply(X32::vert(&col));
                        let v32 = x32.apply(X31::vert(&col));
                        let v33 = x33.apply(X30::vert(&col));

                        // int32 sums in C++ (overflow would be UB there; wrap like the
                        // generated x86 code would).
                        let mut x2 = a20
                            .wrapping_mul(v20)
                            .wrapping_add(a21.wrapping_mul(v21))
                            .wrapping_add(a22.wrapping_mul(v22));
                        let mut x3 = a30
                            .wrapping_mul(v30)
                            .wrapping_add(a31.wrapping_mul(v31))
                            .wrapping_add(a32.wrapping_mul(v32))
                            .wrapping_add(a33.wrapping_mul(v33));
                        // Rounded rescale by 2^11 (arithmetic shift).
                        x2 = x2.wrapping_add(1024) >> 11;
                        x3 = x3.wrapping_add(1024) >> 11;
                        // t < 16 * ori_width * k_max <= size - 16 (see k_max).
                        img[t] = if x2 != 0 {
                            let (re, _) = oct_sign(x2, x3);
                            ((127 - i32::from(re)) & 0xf0) as u8
                        } else {
                            PHASEMAP_FILLER
                        };
                        t += 1;
                    }
                }
            }
        }
        // Trailing filler: 2 * flt_size2 rows. (In C++ this can run past the image into the
        // orientation map when the height is not a multiple of 4; only the image is kept.)
        let end = t.saturating_add(w * FLT_SIZE2 * 2).min(size);
        if t < end {
            img[t..end].fill(PHASEMAP_FILLER);
        }
    }

    /// Row-blocked implementation == per-pixel streaming transcription, including sizes
    /// whose height is not a multiple of 4 (reads/writes past the image in C++).
    #[test]
    fn blocked_matches_streaming() {
        let mut seed = 12345u32;
        let mut rnd = move || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u8
        };
        for &(w, h) in &[(64usize, 64usize), (64, 50), (36, 41), (40, 23), (8, 12)] {
            let img: Vec<u8> = (0..w * h).map(|_| rnd()).collect();
            let ori_size = ((w - 1) / 4 + 1) * ((h - 1) / 4 + 1);
            let ori: Vec<Ori> = (0..ori_size)
                .map(|_| Ori {
                    re: rnd() as i8,
                    im: rnd() as i8,
                })
                .collect();
            let (mut a, mut b) = (img.clone(), img);
            freeman_phasemap(w, &mut a, &ori);
            reference_phasemap(w, &mut b, &ori);
            assert_eq!(a, b, "w={w} h={h}");
        }
    }

    /// A uniform image has no ridges: every filter used for the G2 response has zero DC
    /// gain, so once the causal horizontal filters' zero history (8 samples) has been
    /// flushed, the response is 0 and every pixel is the filler -- except the last 4
    /// computed pixels, whose vertical taps read 4 bytes past the image (the C++ reads the
    /// orientation map stored there).
    #[test]
    fn uniform_image_is_all_filler() {
        let (w, h) = (64usize, 64usize);
        let mut img = vec![150u8; w * h];
        let ori = vec![Ori { re: 90, im: 90 }; (w / 4) * (h / 4)];
        freeman_phasemap(w, &mut img, &ori);
        let last = (h - 2 * FLT_SIZE2) * w; // end of the computed rows
        assert!(img[8..last - 4].iter().all(|&v| v == PHASEMAP_FILLER));
        assert!(img[last..].iter().all(|&v| v == PHASEMAP_FILLER));
    }

    fn sinusoid(w: usize, h: usize, period: f64, vertical_ridges: bool) -> Vec<u8> {
        let mut img = vec![0u8; w * h];
        for r in 0..h {
            for c in 0..w {
                let s = if vertical_ridges { c } else { r } as f64;
                let v = 128.0 + 100.0 * (2.0 * std::f64::consts::PI * s / period).cos();
                img[r * w + c] = v.round() as u8;
            }
        }
        img
    }

    /// Vertical ridges (intensity varies along x, orientation (127, 0)): the phase code
    /// is 240 (cos φ = -1 after the 127 - re flip) on the intensity crests, 0 in the
    /// valleys, is periodic with the ridge period and the same on every row.
    #[test]
    fn vertical_sinusoid_phase() {
        let (w, h, period) = (64usize, 64usize, 8usize);
        let mut img = sinusoid(w, h, period as f64, true);
        let ori = vec![Ori { re: 127, im: 0 }; (w / 4) * (h / 4)];
        freeman_phasemap(w, &mut img, &ori);
        // Rows 0..h-12 are computed (k = 1..h/4-2 → 4*(h/4-2) rows); the rest is filler.
        let computed = h - 2 * FLT_SIZE2;
        for r in 1..computed {
            for c in 0..w {
                let v = img[r * w + c];
                let expect_row0 = img[w + c % period];
                assert_eq!(v, expect_row0, "r={r} c={c}");
                if c % period == 0 {
                    assert_eq!(v, 240, "crest r={r} c={c}");
                }
                if c % period == period / 2 {
                    assert_eq!(v, 0, "valley r={r} c={c}");
                }
            }
        }
        assert!(img[computed * w..].iter().all(|&v| v == PHASEMAP_FILLER));
    }

    /// Horizontal ridges (orientation (0, 127), i.e. rotated by 90°): the same code
    /// appears along y, shifted up by the C++'s 4-row output offset. Columns within 4 of
    /// the left/right edge are skipped: the horizontal filters run as one stream over
    /// the image, so their window wraps into the neighbouring row there.
    #[test]
    fn horizontal_sinusoid_phase() {
        let (w, h, period) = (64usize, 64usize, 8usize);
        let mut img = sinusoid(w, h, period as f64, false);
        let ori = vec![Ori { re: 0, im: 127 }; (w / 4) * (h / 4)];
        freeman_phasemap(w, &mut img, &ori);
        let computed = h - 2 * FLT_SIZE2;
        for r in 1..computed {
            let input_row = r + FLT_SIZE2;
            for c in FLT_SIZE2..w - FLT_SIZE2 {
                let v = img[r * w + c];
                if input_row % period == 0 {
                    assert_eq!(v, 240, "crest r={r} c={c}");
                }
                if input_row % period == period / 2 {
                    assert_eq!(v, 0, "valley r={r} c={c}");
                }
            }
        }
    }
}
