// FingerJetFX OSE -- Fingerprint Feature Extractor, Open Source Edition.
// Copyright (c) 2011 DigitalPersona, Inc. All rights reserved. MODIFIED: ported from C++ to
// Rust for the Enrollment Station. LGPL-3.0-or-later with the conditions of COPYRIGHT.txt.

//! Port of biffilt.h (the minutia-confirming "bifurcation filter") with the parts of conv2.h
//! it uses (`conv17`), as configured in FingerJet FX OSE (`#define BifSize17`).

use crate::support::{reduce, reduce_u32, PHASEMAP_FILLER};

/// `biffilt::parameters` (biffilt.h) with its default values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BiffiltParameters {
    /// Minimum normalised response (`threshold`, 80 ≈ 0.65 * 128).
    pub threshold: i32,
    /// Minimum ratio of the best response to its mirror response, times 256 (`ratio`,
    /// 102 ≈ 0.40 * 256).
    pub ratio: i32,
    /// Confidence above which the minutia type is reported (`type_thresold`, sic).
    pub type_threshold: i32,
}

impl Default for BiffiltParameters {
    fn default() -> Self {
        BiffiltParameters {
            threshold: 80,
            ratio: 102,
            type_threshold: 105,
        }
    }
}

/// Filter size `n` (17 taps).
const N: usize = 17;
/// Response size `m` (3 x 3 positions).
const M: usize = 3;
/// Number of scales (periods 5..9).
const SCALES: usize = 5;
/// `resp2offs = m*m*scales`: offset of the second filter bank's responses.
const RESP2OFFS: usize = M * M * SCALES;
/// `patch_width = n + m - 1`.
const PATCH_WIDTH: usize = N + M - 1;
/// `patch_size = patch_width^2`.
const PATCH_SIZE: usize = PATCH_WIDTH * PATCH_WIDTH;
/// `n2 = n / 2`.
const N2: usize = N / 2;
/// `image::bits`: sub-pixel coordinates are multiplied by 2^7 = 128.
const IMG_BITS: u32 = 7;

/// Vertical taps `cv1` (Gxr, symmetric: t0 != 0 so `addsub` adds) and `cv2` (Gyr,
/// anti-symmetric: t0 == 0 with `autodetect` so `addsub` subtracts: below minus above).
/// Taps t0..t8 of `conv17<...>`.
const CV1: [i32; 9] = [50, 48, 41, 32, 23, 14, 8, 4, 2];
const CV2: [i32; 9] = [0, 48, 82, 96, 90, 72, 50, 30, 16];
/// Horizontal taps `ch15`..`ch19` (all `symmetric`, so `addsub` adds even when t0 == 0).
const CH1: [[i32; 9]; SCALES] = [
    [0, 55, -53, -61, 74, 3, -28, 7, 3],
    [0, 42, 0, -83, 3, 63, -1, -25, 1],
    [0, 29, 25, -50, -58, 22, 51, 5, -24],
    [-2, 16, 28, -14, -60, -41, 18, 41, 13],
    [0, 13, 28, 13, -27, -50, -29, 14, 38],
];
/// Horizontal taps `ch25`..`ch29` (`autodetect` with t0 != 0, so `addsub` adds).
const CH2: [[i32; 9]; SCALES] = [
    [52, -14, -32, 22, 6, -9, 1, 1, 0],
    [44, 0, -36, 1, 19, 0, -7, 0, 2],
    [37, 9, -28, -18, 12, 14, -1, -6, -1],
    [31, 13, -17, -24, -5, 13, 11, 0, -5],
    [26, 15, -7, -21, -16, 0, 11, 10, 3],
];

/// `confweight` of `biffilt::butterfly`: weight (in 1/16) of each of the 45 responses in
/// storage order (row, column, scale), decreasing by one every 9 entries as in the C++ table.
const CONFWEIGHT: [i32; 45] = [
    16, 16, 16, 16, 16, 16, 16, 16, 16, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14, 14, 14, 14, 14, 14,
    14, 14, 14, 13, 13, 13, 13, 13, 13, 13, 13, 13, 12, 12, 12, 12, 12, 12, 12, 12, 12,
];

/// `biffilt` (biffilt.h): samples a 19x19 patch of the phase map rotated to the local ridge
/// direction, applies two banks of separable 17x17 filters at five scales and decides whether
/// the centre is a minutia.
pub struct Biffilt<'a> {
    /// The phase map followed by the bytes that follow it in the C++ working buffer (the
    /// orientation map); bilinear sampling on the last row/column reads `width + 1` of them.
    img: &'a [u8],
    width: usize,
    height: usize,
    param: BiffiltParameters,
    patch: [u8; PATCH_SIZE],
    resp: [i32; RESP2OFFS * 2],
    /// Sub-pixel offset of the best response (computed but unused by extract_minutia).
    pub xoffs: i32,
    /// See `xoffs`.
    pub yoffs: i32,
    /// Period (5..9) of the best response.
    pub period: i32,
    /// Normalised confidence of the last call.
    pub confidence: i32,
    /// true: ridge ending, false: bifurcation (of the last successful call).
    pub type_: bool,
    /// Whether the best response was in the second (anti-symmetric) half; only updated by
    /// successful calls, like the C++ member.
    pub rotate180: bool,
    /// Result of the last call.
    pub confirmed: bool,
}

impl<'a> Biffilt<'a> {
    /// `biffilt(width, size, img, param)`. `img` holds `width * height` phase-map bytes plus
    /// at least `width + 1` trailing bytes (what follows the phase map in memory).
    pub fn new(width: usize, height: usize, img: &'a [u8], param: BiffiltParameters) -> Self {
        Biffilt {
            img,
            width,
            height,
            param,
            patch: [0; PATCH_SIZE],
            resp: [0; RESP2OFFS * 2],
            xoffs: 0,
            yoffs: 0,
            period: 0,
            confidence: 0,
            type_: false,
            rotate180: false,
            confirmed: false,
        }
    }

    /// `image::operator()(x, y)` (biffilt.h): bilinear interpolation at (x/128, y/128).
    /// Coordinates are the C++ `size_t` values read as signed: a negative one wrapped to a
    /// huge unsigned number, so it is outside like any coordinate past the last row/column.
    /// On the last row/column the C++ reads the next row / the bytes after the image.
    #[inline]
    fn sample(&self, x: i64, y: i64) -> u8 {
        if x < 0 || y < 0 {
            return PHASEMAP_FILLER;
        }
        let (x, y) = (x as u64, y as u64);
        let x0 = (x >> IMG_BITS) as usize;
        let y0 = (y >> IMG_BITS) as usize;
        if y0 > self.height - 1 || x0 > self.width - 1 {
            return PHASEMAP_FILLER;
        }
        let wx1 = (x & 127) as u32;
        let wy1 = (y & 127) as u32;
        let wx0 = 128 - wx1;
        let wy0 = 128 - wy1;
        let i = x0 + y0 * self.width;
        let w = self.width;
        let px = |k: usize| u32::from(self.img.get(k).copied().unwrap_or(0));
        let v = px(i) * wx0 * wy0
            + px(i + 1) * wx1 * wy0
            + px(i + w) * wx0 * wy1
            + px(i + w + 1) * wx1 * wy1;
        // Weights total 128 * 128 = 2^14.
        reduce_u32(v, 14) as u8
    }

    /// `biffilt::rotate` (biffilt.h): fill the patch with the image sampled on a grid rotated
    /// by (c, s) / 127 (one patch pixel = one step of (c, s) in 1/128 pixel units) and
    /// centred on (x, y).
    fn rotate(&mut self, x: usize, y: usize, c: i8, s: i8) {
        let (c, s) = (i64::from(c), i64::from(s));
        let half = (PATCH_WIDTH / 2) as i64;
        let mut x = ((x as i64) << IMG_BITS) - half * (c - s);
        let mut y = ((y as i64) << IMG_BITS) - half * (s + c);
        for row in 0..PATCH_WIDTH {
            let (mut x0, mut y0) = (x, y);
            for col in 0..PATCH_WIDTH {
                self.patch[row * PATCH_WIDTH + col] = self.sample(x0, y0);
                x0 += c;
                y0 += s;
            }
            x -= s;
            y += c;
        }
    }

    /// `biffilt::convolutions<cv, ch5..ch9>` (biffilt.h) for one filter bank: for the 3
    /// middle patch rows, the vertical 17-tap filter `cv` on each column, then the horizontal
    /// 17-tap filters of the five scales at the 3 middle columns. Writes 3 * 3 * 5 responses
    /// ordered (row, column, scale).
    fn convolutions(&mut self, cv: &[i32; 9], antisym: bool, ch: &[[i32; 9]; SCALES], base: usize) {
        let mut out = base;
        let mut bv = [0i32; PATCH_WIDTH];
        for r in N2..N2 + M {
            // conv17::vert at (r, col)
            for (col, b) in bv.iter_mut().enumerate() {
                let at = |rr: usize| i32::from(self.patch[rr * PATCH_WIDTH + col]);
                let mut acc = at(r) * cv[0];
                for (i, &t) in cv.iter().enumerate().skip(1) {
                    let (below, above) = (at(r + i), at(r - i));
                    let v = if antisym {
                        below - above
                    } else {
                        below + above
                    };
                    acc += v * t;
                }
                *b = acc;
            }
            // conv17::operator() at the last 3 columns (each sees the 17 latest values).
            for k in N - 1..PATCH_WIDTH {
                let c = k - N2;
                for taps in ch.iter() {
                    let mut acc = bv[c].wrapping_mul(taps[0]);
                    for (i, &t) in taps.iter().enumerate().skip(1) {
                        acc = acc.wrapping_add(bv[c + i].wrapping_add(bv[c - i]).wrapping_mul(t));
                    }
                    self.resp[out] = acc;
                    out += 1;
                }
            }
        }
    }

    /// `biffilt::butterfly` (biffilt.h): combine the two banks into sum/difference responses,
    /// pick the strongest weighted one and test it against `threshold` and `ratio`.
    fn butterfly(&mut self, c: i8, s: i8) -> bool {
        let mut conf = 0i32;
        let mut mirr = 0i32;
        let mut pmx = 0usize;
        for (k, &weight) in CONFWEIGHT.iter().enumerate() {
            let r1 = self.resp[k];
            let r2 = self.resp[k + RESP2OFFS];
            let sum = r1.wrapping_add(r2);
            let diff = r1.wrapping_sub(r2);
            self.resp[k] = sum;
            self.resp[k + RESP2OFFS] = diff;
            // reduce(abs(.) * confweight, 4): weights are in 1/16.
            let asum = reduce(sum.wrapping_abs().wrapping_mul(weight), 4);
            let adif = reduce(diff.wrapping_abs().wrapping_mul(weight), 4);
            if asum > conf {
                conf = asum;
                mirr = adif;
                pmx = k;
            }
            if adif > conf {
                conf = adif;
                mirr = asum;
                pmx = k + RESP2OFFS;
            }
        }
        // norm(): the filter gain is 2^18 and the phase signal 2^8 per pi; reduce by 2^17.
        conf = reduce(conf, 17);
        mirr = reduce(mirr, 17);
        self.confidence = conf;
        if conf < self.param.threshold {
            return false;
        }
        if conf.wrapping_mul(self.param.ratio) < mirr.wrapping_mul(256) {
            return false;
        }
        self.rotate180 = pmx >= RESP2OFFS;
        let mut i = pmx % RESP2OFFS;
        let dy = (i / (M * SCALES)) as i32 - (M / 2) as i32;
        i %= M * SCALES;
        let dx = (i / SCALES) as i32 - (M / 2) as i32;
        i %= SCALES;
        self.period = i as i32 + 5;
        self.type_ = self.resp[pmx] > 0;
        let (c, s) = (i32::from(c), i32::from(s));
        self.xoffs = dx * c - dy * s;
        self.yoffs = dx * s + dy * c;
        true
    }

    /// `biffilt::operator()(x, y, c, s)` (biffilt.h): true if (x, y) is a minutia for the
    /// direction (c, s); then `confidence`, `type_`, `rotate180`, `period` are valid.
    pub fn apply(&mut self, x: usize, y: usize, c: i8, s: i8) -> bool {
        self.confidence = 0;
        self.type_ = false;
        self.xoffs = 0;
        self.yoffs = 0;
        self.period = 0;
        self.rotate(x, y, c, s);
        self.convolutions(&CV1, false, &CH1, 0);
        self.convolutions(&CV2, true, &CH2, RESP2OFFS);
        self.confirmed = self.butterfly(c, s);
        self.confirmed
    }
}
