// FingerJetFX OSE -- Fingerprint Feature Extractor, Open Source Edition.
// Copyright (c) 2011 DigitalPersona, Inc. All rights reserved. MODIFIED: ported from C++ to
// Rust for the Enrollment Station. LGPL-3.0-or-later with the conditions of COPYRIGHT.txt.

//! Port of FingerJet FX OSE `fft_enhance<5, 17>` (fft_enhance.h) and the block FFT
//! machinery it uses (block_fft.h, namespace `FFT`).
//!
//! The instantiation used by `FeatureExtraction.h` (`From333DpiImg`) is
//! `fft_enhance<enh_block_bits = 5, enh_spacing = 17>`: the image is processed in
//! 32x32 blocks placed every 17 pixels in x and y; each block is 2-D FFT-ed in
//! fixed point, its spectrum is band-passed and contrast-boosted, transformed
//! back, normalized to 0..251 and weighted with a triangular window (overlapping
//! windows sum to 256), and accumulated (with `uint8` wraparound) into the output.

use crate::support::*;

/// `block_bits`: log2 of the block side.
const BLOCK_BITS: u32 = 5;
/// `block_dim = 1 << block_bits` = 32: side of a block.
const BLOCK_DIM: i32 = 1 << BLOCK_BITS;
/// `spacing` = 17: distance between consecutive block origins.
const SPACING: i32 = 17;

/// `FFT::sin_bits`: the FFT twiddle table covers a full turn in `1 << 5` = 32 steps.
const SIN_BITS: u32 = 5;

/// `FFT::sin(int32 a)` (block_fft.h): `4096 * sin(2 pi a / 32)` (Q12), from a
/// 16-entry half-period table; bit 4 of `a` selects the sign.
#[inline(always)]
fn fft_sin(a: i32) -> i32 {
    const SIN_TABLE: [i32; 16] = [
        0, 799, 1567, 2276, 2896, 3406, 3784, 4017, 4096, 4017, 3784, 3406, 2896, 2276, 1567, 799,
    ];
    let v = SIN_TABLE[(a & 15) as usize];
    if a & 16 != 0 {
        -v
    } else {
        v
    }
}

/// `FFT::cos(int32 a)` (block_fft.h): `sin(a + 8)`, a quarter turn later.
#[inline(always)]
fn fft_cos(a: i32) -> i32 {
    fft_sin(a.wrapping_add(8))
}

/// `FFT::swap2bitsets<a, s>(x)` (block_fft.h): swaps the bits selected by `a`
/// with those selected by `a << s`.
#[inline(always)]
const fn swap2bitsets(x: i32, a: i32, s: u32) -> i32 {
    ((x & a) << s) | ((x & (a << s)) >> s) | (x & !((a << s) | a))
}

/// `FFT::bitreverser<bits, shift>::reverse` (block_fft.h), for the two
/// specializations `fft_enhance<5, 17>` uses: 4 bits (row FFT, 16 complex
/// points, shift 1) and 5 bits (column FFT, 32 points, shift 5).
#[inline(always)]
const fn bitreverse(x: i32, bits: u32, shift: u32) -> i32 {
    match bits {
        // bitreverse4<0x5 << shift, 1, 0x3 << shift, 2>
        4 => swap2bitsets(swap2bitsets(x, 0x5 << shift, 1), 0x3 << shift, 2),
        // bitreverse4<0x9 << shift, 1, 0x3 << shift, 3>
        5 => swap2bitsets(swap2bitsets(x, 0x9 << shift, 1), 0x3 << shift, 3),
        // generic std::bitset version (not instantiated here)
        _ => {
            let v = (x >> shift) as u32 & ((1u32 << bits) - 1);
            ((v.reverse_bits() >> (32 - bits)) << shift) as i32
        }
    }
}

/// A set of `L` independent transforms processed in lock-step ("lanes"): the
/// FFTs of all rows (or all columns) of a block share every twiddle factor, so
/// each butterfly runs over whole lane arrays, which the compiler vectorizes.
/// Complex values are stored planar (`re[point][lane]`, `im[point][lane]`); the
/// arithmetic per value is exactly the C++ one.
type Planes<const L: usize, const NP: usize> = [[i32; L]; NP];

/// The last step of a butterfly on lane `l`, the twiddled value `t` known:
/// `b = a - t`, `a = a + t` (wrapping, as the C++ int32 arithmetic).
#[inline(always)]
fn finish<const L: usize>(
    ar: &mut [i32; L],
    ai: &mut [i32; L],
    br: &mut [i32; L],
    bi: &mut [i32; L],
    l: usize,
    tr: i32,
    ti: i32,
) {
    let (i0, i1) = (ar[l], ai[l]);
    br[l] = i0.wrapping_sub(tr);
    bi[l] = i1.wrapping_sub(ti);
    ar[l] = i0.wrapping_add(tr);
    ai[l] = i1.wrapping_add(ti);
}

/// One radix-2 butterfly of `FFT::fft` (block_fft.h) on every lane:
/// `t = reduce(w * b, 12)` (Q12 twiddle, rounded), `b = a - t`, `a = a + t`.
#[inline(always)]
fn butterfly<const L: usize>(
    ar: &mut [i32; L],
    ai: &mut [i32; L],
    br: &mut [i32; L],
    bi: &mut [i32; L],
    wr: i32,
    wi: i32,
) {
    for l in 0..L {
        let (j0, j1) = (br[l], bi[l]);
        let tr = reduce(wr.wrapping_mul(j0).wrapping_sub(wi.wrapping_mul(j1)), 12);
        let ti = reduce(wr.wrapping_mul(j1).wrapping_add(wi.wrapping_mul(j0)), 12);
        finish(ar, ai, br, bi, l, tr, ti);
    }
}

/// `reduce(4096 * x, 12)` with the C++ int32 wraparound of `4096 * x`: the low 12
/// bits of the product are 0, so adding 2048 never carries and the result is the
/// product shifted back, i.e. `x` sign-extended from its low 20 bits.
#[inline(always)]
fn q12_unit(x: i32) -> i32 {
    (x << 12) >> 12
}

/// `butterfly` for the twiddles `w = i^Q` that are exact units (Q = 0: `(4096, 0)`,
/// Q = 1: `(0, 4096)`, Q = 3: `(0, -4096)`): the products become shifts, with the
/// same wrapped result as the general formula.
#[inline(always)]
fn butterfly_rot<const L: usize, const Q: u32>(
    ar: &mut [i32; L],
    ai: &mut [i32; L],
    br: &mut [i32; L],
    bi: &mut [i32; L],
) {
    for l in 0..L {
        let (j0, j1) = (br[l], bi[l]);
        let (tr, ti) = match Q {
            // tr = reduce(4096 j0, 12), ti = reduce(4096 j1, 12)
            0 => (q12_unit(j0), q12_unit(j1)),
            // tr = reduce(-4096 j1, 12), ti = reduce(4096 j0, 12)
            1 => (q12_unit(j1.wrapping_neg()), q12_unit(j0)),
            // tr = reduce(4096 j1, 12), ti = reduce(-4096 j0, 12)
            _ => (q12_unit(j1), q12_unit(j0.wrapping_neg())),
        };
        finish(ar, ai, br, bi, l, tr, ti);
    }
}

/// Two distinct mutable rows `i < j` of a plane.
#[inline(always)]
fn two_rows<const L: usize>(
    p: &mut [[i32; L]],
    i: usize,
    j: usize,
) -> (&mut [i32; L], &mut [i32; L]) {
    let (lo, hi) = p.split_at_mut(j);
    (&mut lo[i], &mut hi[0])
}

/// `FFT::fft<inverse, size_bits, stride_bits>` (block_fft.h) with its
/// `FFT::shuffle` bit-reversal, on `NP = 1 << BITS` complex points
/// (`BITS = size_bits - stride_bits`) in each of `L` lanes: in-place radix-2
/// decimation in time, Q12 twiddles `cos/sin(2 pi t / 32)` with `t` stepping by
/// `dt = +-32 >> (stage + 1)`, no scaling between stages. `fft<_, 5, 1>` (row
/// FFT, 16 points) is `BITS = 4`, `fft<_, 10, 5>` (column FFT, 32 points) is 5.
#[inline(always)]
fn fft_lanes<const INVERSE: bool, const BITS: u32, const L: usize, const NP: usize>(
    re: &mut Planes<L, NP>,
    im: &mut Planes<L, NP>,
) {
    // shuffle<size_bits, stride_bits>: i runs over stride .. size - stride
    for k in 1..NP - 1 {
        // bitreverser<size_bits - stride_bits, stride_bits> on the int offset
        // i = k << stride_bits (stride_bits = 1 for rows, 5 for columns)
        let stride_bits = if BITS == 4 { 1 } else { 5 };
        let j = (bitreverse((k as i32) << stride_bits, BITS, stride_bits) >> stride_bits) as usize;
        if k > j {
            re.swap(k, j);
            im.swap(k, j);
        }
    }
    let mut dt: i32 = (if INVERSE { 1 } else { -1 }) * (1 << SIN_BITS);
    for stage in 0..BITS {
        let mmax = 1usize << stage;
        let istep = mmax << 1;
        dt >>= 1;
        let mut t = 0;
        for m in 0..mmax {
            let wr = fft_cos(t);
            let wi = fft_sin(t);
            for i in (m..NP).step_by(istep) {
                let (ar, br) = two_rows(re, i, i + mmax);
                let (ai, bi) = two_rows(im, i, i + mmax);
                match (wr, wi) {
                    // t = 0: w = 1 (4096 in Q12)
                    (4096, 0) => butterfly_rot::<L, 0>(ar, ai, br, bi),
                    // t = -8 (forward): w = -i
                    (0, -4096) => butterfly_rot::<L, 3>(ar, ai, br, bi),
                    // t = +8 (inverse): w = +i
                    (0, 4096) => butterfly_rot::<L, 1>(ar, ai, br, bi),
                    _ => butterfly(ar, ai, br, bi, wr, wi),
                }
            }
            t += dt;
        }
    }
}

/// One pair `(p1, p2 = 16 - p1)` of the real-FFT split step of `FFT::fft1`
/// (block_fft.h), on every lane:
/// `h1 = (p2.re + p1.re, p1.im - p2.im) << 12`,
/// `h2 = w * (p1.im + p2.im, p2.re - p1.re)`,
/// `p1 = reduce(h1 + h2, shift)`, `p2 = reduce(conj(h1 - h2), shift)`.
/// Returns `(f1.re, f1.im, f2.re, f2.im)` for one lane.
#[inline(always)]
fn split_one(r1: i32, i1: i32, r2: i32, i2: i32, wr: i32, wi: i32, shift: u32) -> [i32; 4] {
    let h1r = r2.wrapping_add(r1) << 12;
    let h1i = i1.wrapping_sub(i2) << 12;
    let br = i1.wrapping_add(i2);
    let bi = r2.wrapping_sub(r1);
    let h2r = wr.wrapping_mul(br).wrapping_sub(wi.wrapping_mul(bi));
    let h2i = wr.wrapping_mul(bi).wrapping_add(wi.wrapping_mul(br));
    [
        reduce(h1r.wrapping_add(h2r), shift),
        reduce(h1i.wrapping_add(h2i), shift),
        reduce(h1r.wrapping_sub(h2r), shift),
        reduce(h1i.wrapping_sub(h2i).wrapping_neg(), shift),
    ]
}

/// Real-input split step of `FFT::fft1<real = true, inverse, 5, 1>` (block_fft.h)
/// on 32 lanes (rows) of 16 complex points (`re[k] = x[2k]`, `im[k] = x[2k+1]`).
/// `dt = +-(1 << (sin_bits - 5)) = +-1` (1/32 turn); the inverse starts half a turn
/// on (`+16`). The forward rounds with `>> 13` (halving) and drops the Nyquist
/// term (`data[1] = 0`); the inverse rounds with `>> 12` and rebuilds it.
#[inline(always)]
fn real_split<const INVERSE: bool>(re: &mut Planes<32, 16>, im: &mut Planes<32, 16>) {
    let dt: i32 = if INVERSE { 1 } else { -1 };
    let shift = if INVERSE { 12 } else { 13 };
    let mut t = dt + if INVERSE { 1 << (SIN_BITS - 1) } else { 0 };
    for p1 in 1..8 {
        let (wr, wi) = (fft_cos(t), fft_sin(t));
        let (r1, r2) = two_rows(re, p1, 16 - p1);
        let (i1, i2) = two_rows(im, p1, 16 - p1);
        for l in 0..32 {
            let f = split_one(r1[l], i1[l], r2[l], i2[l], wr, wi, shift);
            r1[l] = f[0];
            i1[l] = f[1];
            r2[l] = f[2];
            i2[l] = f[3];
        }
        t += dt;
    }
    // p1 == p2 == 8: both results go to the same place, the second (f2) wins
    let (wr, wi) = (fft_cos(t), fft_sin(t));
    for l in 0..32 {
        let (r, i) = (re[8][l], im[8][l]);
        let f = split_one(r, i, r, i, wr, wi, shift);
        re[8][l] = f[2];
        im[8][l] = f[3];
    }
    for l in 0..32 {
        let (tr, ti) = (re[0][l], im[0][l]);
        re[0][l] = tr.wrapping_add(ti);
        // forward: suppress the highest frequency (stored in data[1])
        im[0][l] = if INVERSE { tr.wrapping_sub(ti) } else { 0 };
    }
}

/// `FFT::enhance(ci32 v, int32 x, int32 y)` (block_fft.h): band-pass (keeps
/// 6 < x^2 + y^2 < 169, i.e. ridge periods between ~2.5 and ~12 pixels in a
/// 32-pixel block) and boosts strong components:
/// `v' = (v + v * (|v|_oct / 32) / 128) / 8`, each division a rounding shift.
#[inline(always)]
fn enhance(v: Complex32, x: i32, y: i32) -> Complex32 {
    let r2 = sqr(x).wrapping_add(sqr(y));
    if r2 <= 6 || r2 >= 169 {
        return Complex32::default();
    }
    let a = reduce(oct_abs(v), 5);
    let v1 = reduce_c(v.scale(a), 7);
    reduce_c(v.wrapping_add(v1), 3)
}

/// `FFT::envelope<32, 17>` (block_fft.h) with `left = right = false`:
/// `_mirr = size + 1 - spacing = 16` is `norm()`; `_floor = min(_mirr, spacing) = 16`;
/// weight `min(i + 1, 32 - i, 16)`, a trapezoid whose copies spaced 17 apart sum
/// to 16 everywhere.
const ENV_NORM: i32 = BLOCK_DIM + 1 - SPACING;
const fn envelope(i: i32) -> i32 {
    let floor = if ENV_NORM < SPACING {
        ENV_NORM
    } else {
        SPACING
    };
    let a = if i + 1 < BLOCK_DIM - i {
        i + 1
    } else {
        BLOCK_DIM - i
    };
    if a < floor {
        a
    } else {
        floor
    }
}

/// `251 * xenv[x] * yenv[y]` of `FFT::normalize` for `x = 2k + odd` and lane `y`
/// (wrapping products are associative, so folding the constants first is exact).
const fn weights(odd: i32) -> Planes<32, 16> {
    let mut w = [[0i32; 32]; 16];
    let mut k = 0;
    while k < 16 {
        let mut y = 0;
        while y < 32 {
            w[k][y] = 251 * envelope(2 * k as i32 + odd) * envelope(y as i32);
            y += 1;
        }
        k += 1;
    }
    w
}
const WEIGHT_EVEN: Planes<32, 16> = weights(0);
const WEIGHT_ODD: Planes<32, 16> = weights(1);

/// Scratch of one block: `rre/rim[k][y]` = row `y`, complex point `k` (pixels
/// `2k`, `2k+1`) for the row pass; `cre/cim[y][k]` = the same values transposed
/// for the column pass.
struct Block {
    rre: Planes<32, 16>,
    rim: Planes<32, 16>,
    cre: Planes<16, 32>,
    cim: Planes<16, 32>,
}

impl Block {
    fn new() -> Self {
        Block {
            rre: [[0; 32]; 16],
            rim: [[0; 32]; 16],
            cre: [[0; 16]; 32],
            cim: [[0; 16]; 32],
        }
    }

    fn rows_to_cols(&mut self) {
        for k in 0..16 {
            for y in 0..32 {
                self.cre[y][k] = self.rre[k][y];
                self.cim[y][k] = self.rim[k][y];
            }
        }
    }

    fn cols_to_rows(&mut self) {
        for k in 0..16 {
            for y in 0..32 {
                self.rre[k][y] = self.cre[y][k];
                self.rim[k][y] = self.cim[y][k];
            }
        }
    }

    /// `FFT::enhance_block<5, 17>` (block_fft.h): `fft2<true, false, 5>` (row real
    /// FFTs, then column FFTs), `enhance_array<5>`, `fft2<true, true, 5>` (column
    /// then row inverse FFTs), `reduce_array<10, 10>` (the 1/1024 of the inverse,
    /// rounded) and `normalize<5, 17>`.
    fn enhance_block(&mut self) {
        fft_lanes::<false, 4, 32, 16>(&mut self.rre, &mut self.rim);
        real_split::<false>(&mut self.rre, &mut self.rim);
        self.rows_to_cols();
        fft_lanes::<false, 5, 16, 32>(&mut self.cre, &mut self.cim);
        // enhance_array<5>: column frequency x = k, row frequency y signed
        for y in 0..32 {
            let fy = y as i32 - if y < 16 { 0 } else { 32 };
            for k in 0..16 {
                let v = enhance(Complex32::new(self.cre[y][k], self.cim[y][k]), k as i32, fy);
                self.cre[y][k] = v.re;
                self.cim[y][k] = v.im;
            }
        }
        fft_lanes::<true, 5, 16, 32>(&mut self.cre, &mut self.cim);
        self.cols_to_rows();
        real_split::<true>(&mut self.rre, &mut self.rim);
        fft_lanes::<true, 4, 32, 16>(&mut self.rre, &mut self.rim);
        self.normalize();
    }

    /// `reduce_array<10, 10>` then `FFT::normalize<5, 17>` (block_fft.h):
    /// stretches the block to 0..251 (range at least 16, centred) times the x and y
    /// envelopes / 256: `divide((v - mn) * 251 * xenv[x] * yenv[y], range * 16 * 16)`.
    fn normalize(&mut self) {
        let mut mn = i32::MAX;
        let mut mx = i32::MIN;
        for plane in [&mut self.rre, &mut self.rim] {
            for row in plane.iter_mut() {
                for v in row.iter_mut() {
                    *v = reduce(*v, BLOCK_BITS * 2);
                    mn = mn.min(*v);
                    mx = mx.max(*v);
                }
            }
        }
        let range = mx.wrapping_sub(mn);
        let mut div = range;
        let trsh = 16;
        if range < trsh {
            div = trsh;
            mn = mn.wrapping_sub((trsh - range) / 2);
        }
        div = div.wrapping_mul(ENV_NORM * ENV_NORM);
        let d = Divider::new(div);
        for (plane, weight) in [(&mut self.rre, &WEIGHT_EVEN), (&mut self.rim, &WEIGHT_ODD)] {
            for (row, wrow) in plane.iter_mut().zip(weight) {
                for (v, &w) in row.iter_mut().zip(wrow) {
                    *v = d.divide(v.wrapping_sub(mn).wrapping_mul(w));
                }
            }
        }
    }
}

/// `divide(x, div)` (intmath.h) for one divisor and many `x`: for `0 <= x` and
/// `0 < div` it is `(x + div / 2) / div`, computed as a multiplication by the
/// 64-bit reciprocal `c = floor((2^64 - 1) / d) + 1`: `floor(n * c / 2^64)` equals
/// `n / d` for every 32-bit `n` and `1 < d < 2^32` (Lemire, Kaser, Kurz 2019).
/// Any other case (never seen: it needs overflowed products) uses `divide`.
struct Divider {
    div: i32,
    half: u32,
    c: u64,
}

impl Divider {
    fn new(div: i32) -> Self {
        let c = if div > 1 {
            u64::MAX / div as u64 + 1
        } else {
            0
        };
        Divider {
            div,
            half: (div >> 1) as u32,
            c,
        }
    }

    #[inline(always)]
    fn divide(&self, x: i32) -> i32 {
        if x >= 0 && self.c != 0 {
            let n = x as u32 as u64 + self.half as u64;
            // C++ (x + div / 2) would wrap above int32 max: leave that to divide()
            if n <= i32::MAX as u64 {
                return ((u128::from(n) * u128::from(self.c)) >> 64) as i32;
            }
        }
        divide(x, self.div)
    }
}

/// `fft_enhance<5, 17>(img, width, size, buffer_size)` (fft_enhance.h), as called
/// by `From333DpiImg` in FeatureExtraction.h: enhances `img` (`width` columns,
/// `img.len() = width * height`) in place.
///
/// The C++ returns false only when `size + 32 * width > buffer_size`, which cannot
/// happen in `From333DpiImg` (`enh_buffer_size = size + max(ori_size * 2, width << 5)`);
/// here false means an unusable geometry (`width == 0`, `img.len()` not a multiple
/// of `width`, or sizes beyond `int32`), and `img` is then left untouched.
///
/// The C++ moves the image 32 rows down inside its buffer (`memmove(img + bw, img,
/// size)`) and writes the output over the front; the output rows written while
/// processing a band only ever overlap input rows already consumed, so reading from
/// a separate copy of the input is equivalent. No scratch byte is read before the
/// C++ writes it.
pub fn fft_enhance(img: &mut [u8], width: usize) -> bool {
    let size_u = img.len();
    if width == 0 || size_u % width != 0 {
        return false;
    }
    let bw_u = width.saturating_mul(BLOCK_DIM as usize);
    if size_u.saturating_add(bw_u) > i32::MAX as usize / 2 {
        return false;
    }
    let w = width as i32;
    let height = (size_u / width) as i32;
    // in_img: FFT::image over the moved copy; its const operator() yields
    // ~pixel (255 - p, ridges become bright) inside the image and 0 outside.
    let inv: Vec<u8> = img.iter().map(|&p| !p).collect();
    let mut b = Block::new();

    // init(out_img, 0, width, 0, bw): clear the first 32 rows
    let first = (BLOCK_DIM.min(height) as usize) * width;
    img[..first].fill(0);

    let mut y0 = SPACING - BLOCK_DIM; // yw = yspacing - bw, in rows
    while y0 < height {
        // rows of this band that lie inside the image
        let ry0 = y0.max(0);
        let ry1 = (y0 + BLOCK_DIM).min(height);
        let mut x0 = SPACING - BLOCK_DIM;
        while x0 < w {
            let rx0 = x0.max(0);
            let rx1 = (x0 + BLOCK_DIM).min(w);
            // copy<32>(in_img, x, yw, block): outside the image reads 0
            b.rre = [[0; 32]; 16];
            b.rim = [[0; 32]; 16];
            for r in ry0..ry1 {
                let y = (r - y0) as usize;
                let mut line = [0i32; 32];
                let src = &inv[(r * w + rx0) as usize..(r * w + rx1) as usize];
                for (d, &p) in line[(rx0 - x0) as usize..].iter_mut().zip(src) {
                    *d = i32::from(p);
                }
                for k in 0..16 {
                    b.rre[k][y] = line[2 * k];
                    b.rim[k][y] = line[2 * k + 1];
                }
            }
            b.enhance_block();
            // add<32>(out_img, x, yw, block): uint8 += (uint8)block, wrapping
            for r in ry0..ry1 {
                let y = (r - y0) as usize;
                let mut line = [0i32; 32];
                for k in 0..16 {
                    line[2 * k] = b.rre[k][y];
                    line[2 * k + 1] = b.rim[k][y];
                }
                let dst = &mut img[(r * w + rx0) as usize..(r * w + rx1) as usize];
                for (d, &v) in dst.iter_mut().zip(&line[(rx0 - x0) as usize..]) {
                    *d = d.wrapping_add(v as u8);
                }
            }
            x0 += SPACING;
        }
        // init(out_img, 0, width, yw + bw, yspacing): clear the next 17 rows
        let c0 = (y0 + BLOCK_DIM).clamp(0, height) as usize;
        let c1 = (y0 + BLOCK_DIM + SPACING).clamp(0, height) as usize;
        img[c0 * width..c1 * width].fill(0);
        y0 += SPACING;
    }
    // inverse(out_img)
    for p in img.iter_mut() {
        *p = !*p;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The literal bit-swap specializations must be true bit reversals.
    #[test]
    fn bitreverse_specializations_reverse_bits() {
        for k in 0..16 {
            let expect = ((k as u32).reverse_bits() >> 28) as i32;
            assert_eq!(bitreverse(k << 1, 4, 1), expect << 1);
        }
        for k in 0..32 {
            let expect = ((k as u32).reverse_bits() >> 27) as i32;
            assert_eq!(bitreverse(k << 5, 5, 5), expect << 5);
        }
    }

    /// A uniform image has no content in the pass band (only DC, which is cut):
    /// every interior block comes back all zero, so `normalize` (range 0 < 16)
    /// lifts it by 8 and maps it to `8 * 251 * env / 4096`; the overlapping
    /// envelopes sum to 256, so the accumulation is ~8 * 251 / 16 = 125.5 and the
    /// inverted output is mid-grey (~129.5, rounding varies per pixel).
    #[test]
    fn uniform_image_becomes_mid_grey() {
        for level in [0u8, 77, 200, 255] {
            let (w, h) = (100, 90);
            let mut img = vec![level; w * h];
            assert!(fft_enhance(&mut img, w));
            // level 255 inverts to 0, the same as outside: no edge anywhere
            let (y_lo, y_hi, x_lo, x_hi) = if level == 255 {
                (0, h, 0, w)
            } else {
                (36, 54, 36, 64)
            };
            for y in y_lo..y_hi {
                for x in x_lo..x_hi {
                    let p = img[y * w + x];
                    assert!((127..=132).contains(&p), "level {level} at {x},{y}: {p}");
                }
            }
        }
    }

    /// A vertical-ridge sinusoid of period 8 stays a period-8 pattern with ridges
    /// (dark) and valleys (bright) in the same places, stretched to high contrast.
    #[test]
    fn sinusoid_keeps_period_and_phase() {
        let (w, h) = (128, 128);
        let mut img = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let v = 128.0 + 60.0 * (2.0 * std::f64::consts::PI * x as f64 / 8.0).cos();
                img[y * w + x] = v.round() as u8;
            }
        }
        let orig = img.clone();
        assert!(fft_enhance(&mut img, w));
        for y in 40..88 {
            for x in 40..88 {
                let o = orig[y * w + x] as i32 - 128;
                let e = img[y * w + x] as i32 - 128;
                // same sign where the input is clearly off mid-grey
                if o.abs() > 30 {
                    assert_eq!(o.signum(), e.signum(), "at {x},{y}: {o} {e}");
                }
            }
            // contrast is stretched to nearly the full range
            let row = &img[y * w + 40..y * w + 88];
            let mx = *row.iter().max().unwrap_or(&0) as i32;
            let mn = *row.iter().min().unwrap_or(&0) as i32;
            assert!(mx - mn > 200, "row {y}: {mn}..{mx}");
        }
    }

    /// Horizontal ridges: the enhanced image is constant along each row.
    #[test]
    fn horizontal_ridges_stay_horizontal() {
        let (w, h) = (96, 96);
        let mut img = vec![0u8; w * h];
        for y in 0..h {
            let v = 128.0 + 70.0 * (2.0 * std::f64::consts::PI * y as f64 / 9.0).sin();
            for x in 0..w {
                img[y * w + x] = v.round() as u8;
            }
        }
        assert!(fft_enhance(&mut img, w));
        for y in 32..64 {
            let row = &img[y * w + 32..y * w + 64];
            let (mn, mx) = row
                .iter()
                .fold((255u8, 0u8), |(a, b), &p| (a.min(p), b.max(p)));
            assert!(mx - mn <= 2, "row {y}: {mn}..{mx}");
        }
    }
}
