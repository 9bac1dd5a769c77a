// FingerJetFX OSE -- Fingerprint Feature Extractor, Open Source Edition.
// Copyright (c) 2011 DigitalPersona, Inc. All rights reserved. MODIFIED: ported from C++ to
// Rust for the Enrollment Station. LGPL-3.0-or-later with the conditions of COPYRIGHT.txt.

//! Integer helpers shared by the stages: `intmath.h` (sine, cosine and arctangent tables in
//! binary angles, 256 = one turn; rounding divisions), `complex.h` (the complex integer types
//! and `oct_sign`), `delay.h` (delay lines) and `conv2.h` (the 9-tap separable filters).
//!
//! Wrapping arithmetic (`wrapping_*`) marks every place where the C++ computes in a narrower
//! integer type and wraps; the port keeps those wraps, they are part of the result.

use std::fmt;

/// Why the extractor refused an image (the C++ `FRFXLL_RESULT` in each comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FjError {
    /// `FRFXLL_ERR_INVALID_IMAGE`: size or resolution outside the extractor's range.
    InvalidImage,
    /// `FRFXLL_ERR_FB_TOO_SMALL_AREA`: fewer than 6 minutiae (or too small a footprint).
    TooSmallArea,
    /// `FRFXLL_ERR_INTERNAL`.
    Internal,
}

impl fmt::Display for FjError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FjError::InvalidImage => "the print is outside the minutiae extractor's size range",
            FjError::TooSmallArea => "too few minutiae or too small a finger area",
            FjError::Internal => "the minutiae extractor failed internally",
        })
    }
}

impl std::error::Error for FjError {}

/// One cell of the orientation map: C++ `complex<int8>` (re, im).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ori {
    pub re: i8,
    pub im: i8,
}

/// C++ `std::complex<int16>`. Arithmetic wraps modulo 2^16, as the C++ code does when it stores
/// an `int` result back into an `int16` member.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Complex16 {
    pub re: i16,
    pub im: i16,
}

impl Complex16 {
    /// `*this += complex<int8>` (libstdc++ `operator+=(const complex<U>&)`), wrapping in int16.
    #[inline]
    pub fn add_ori(self, o: Ori) -> Self {
        Complex16 {
            re: self.re.wrapping_add(i16::from(o.re)),
            im: self.im.wrapping_add(i16::from(o.im)),
        }
    }
    /// `complex<int16> + complex<int16>`, wrapping in int16.
    #[inline]
    pub fn wrapping_add(self, o: Self) -> Self {
        Complex16 {
            re: self.re.wrapping_add(o.re),
            im: self.im.wrapping_add(o.im),
        }
    }
    /// `complex<int16> - complex<int16>`, wrapping in int16.
    #[inline]
    pub fn wrapping_sub(self, o: Self) -> Self {
        Complex16 {
            re: self.re.wrapping_sub(o.re),
            im: self.im.wrapping_sub(o.im),
        }
    }
}

/// C++ `std::complex<int32>`. Arithmetic wraps modulo 2^32 (signed overflow is undefined in C++,
/// but g++ -O2 emits plain two's-complement instructions for these sums and products).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Complex32 {
    pub re: i32,
    pub im: i32,
}

impl Complex32 {
    /// `a * s` for a scalar `s`, wrapping.
    #[inline(always)]
    pub fn scale(self, s: i32) -> Self {
        Complex32::new(self.re.wrapping_mul(s), self.im.wrapping_mul(s))
    }
    #[inline]
    pub fn new(re: i32, im: i32) -> Self {
        Complex32 { re, im }
    }
    #[inline]
    pub fn wrapping_add(self, o: Self) -> Self {
        Complex32 {
            re: self.re.wrapping_add(o.re),
            im: self.im.wrapping_add(o.im),
        }
    }
    #[inline]
    pub fn wrapping_sub(self, o: Self) -> Self {
        Complex32 {
            re: self.re.wrapping_sub(o.re),
            im: self.im.wrapping_sub(o.im),
        }
    }
}

impl From<Complex16> for Complex32 {
    /// The converting constructor `complex<int32>(const complex<int16>&)`.
    #[inline]
    fn from(c: Complex16) -> Self {
        Complex32 {
            re: i32::from(c.re),
            im: i32::from(c.im),
        }
    }
}

/// `delay<T, size>` from `delay.h`: a ring buffer of `dt` samples; `push(x)` returns the sample
/// pushed `dt` calls earlier (the initial value for the first `dt` calls).
#[derive(Clone, Debug)]
pub struct Delay<T> {
    buffer: Vec<T>,
    ptr: usize,
}

impl<T: Copy> Delay<T> {
    /// `delay(dt, init)`. A length of 0 is treated as 1 (the C++ would read past its buffer).
    pub fn new(dt: usize, init: T) -> Self {
        Delay {
            buffer: vec![init; dt.max(1)],
            ptr: 0,
        }
    }
    /// `T operator()(T in)`: store `input`, return the sample from `dt` calls ago.
    #[inline]
    pub fn push(&mut self, input: T) -> T {
        let slot = &mut self.buffer[self.ptr];
        let out = *slot;
        *slot = input;
        self.ptr += 1;
        if self.ptr >= self.buffer.len() {
            self.ptr = 0;
        }
        out
    }
}

/// `delay<T, 1>` specialisation: a one-sample delay held in `state`.
#[inline]
pub fn delay1<T>(state: &mut T, input: T) -> T {
    std::mem::replace(state, input)
}

/// `phasemap_filler` from freeman.h (`#define phasemap_filler ((uint8)127)`): the phase-map
/// value that marks "outside the footprint". Real phase values are multiples of 16
/// (`(127 - re) & 0xf0`), so 127 never occurs inside the footprint.
pub const PHASEMAP_FILLER: u8 = 127;

/// Quarter-wave sine table of `FingerJetFxOSE::sin` (intmath.h): `127 * sin(2*pi*a/256)` for
/// a = 0..127 (rounded).
const SIN_TABLE: [i8; 128] = [
    0, 3, 6, 9, 12, 15, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 51, 54, 57, 60, 63, 65, 68, 71,
    73, 76, 78, 81, 83, 85, 88, 90, 92, 94, 96, 98, 100, 102, 104, 106, 107, 109, 111, 112, 113,
    115, 116, 117, 118, 120, 121, 122, 122, 123, 124, 125, 125, 126, 126, 126, 127, 127, 127, 127,
    127, 127, 127, 126, 126, 126, 125, 125, 124, 123, 122, 122, 121, 120, 118, 117, 116, 115, 113,
    112, 111, 109, 107, 106, 104, 102, 100, 98, 96, 94, 92, 90, 88, 85, 83, 81, 78, 76, 73, 71, 68,
    65, 63, 60, 57, 54, 51, 49, 46, 43, 40, 37, 34, 31, 28, 25, 22, 19, 15, 12, 9, 6, 3,
];

/// `FingerJetFxOSE::sin(uint8 a)` (intmath.h): sine of the angle `a` (256 units per turn),
/// scaled by 127.
#[inline]
pub fn sin(a: u8) -> i8 {
    let v = SIN_TABLE[(a & 0x7f) as usize];
    if a & 0x80 != 0 {
        -v
    } else {
        v
    }
}

/// `FingerJetFxOSE::cos(uint8 a)` (intmath.h): `sin(a + 64)`.
#[inline]
pub fn cos(a: u8) -> i8 {
    sin(a.wrapping_add(64))
}

/// Arctangent table of `FingerJetFxOSE::atan2` (intmath.h): `atan(k/96)` in units of
/// 256 per turn, k = 0..=96 (96 entries plus the pi/4 point).
const ATAN_TABLE: [u8; 97] = [
    0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 6, 6, 7, 7, 8, 8, 8, 9, 9, 10, 10, 10, 11, 11, 12, 12,
    12, 13, 13, 13, 14, 14, 15, 15, 15, 16, 16, 16, 17, 17, 18, 18, 18, 19, 19, 19, 20, 20, 20, 21,
    21, 21, 22, 22, 22, 22, 23, 23, 23, 24, 24, 24, 25, 25, 25, 25, 26, 26, 26, 27, 27, 27, 27, 28,
    28, 28, 28, 29, 29, 29, 29, 30, 30, 30, 30, 31, 31, 31, 31, 31, 32, 32, 32, 32,
];

/// `FingerJetFxOSE::atan2(int32 c, int32 s)` (intmath.h): the angle of the vector (c, s) in
/// units of 256 per turn (note the argument order: cosine first).
#[inline]
pub fn atan2(c: i32, s: i32) -> u8 {
    let (mut c, mut s) = (c, s);
    let sn = s < 0;
    if sn {
        s = s.wrapping_neg();
    }
    let cn = c < 0;
    if cn {
        c = c.wrapping_neg();
    }
    let cls = c < s;
    if cls {
        std::mem::swap(&mut c, &mut s);
    }
    if c == 0 {
        return 0;
    }
    // s <= c, so the index is in 0..=96 (int32 arithmetic as in C++).
    let idx = (s.wrapping_mul(96) / c) as usize;
    let mut out = ATAN_TABLE.get(idx).copied().unwrap_or(32);
    if cls {
        out = 0x40u8.wrapping_sub(out);
    }
    if cn {
        out = 0x80u8.wrapping_sub(out);
    }
    if sn {
        out = out.wrapping_neg();
    }
    out
}

/// `FingerJetFxOSE::reduce(a, n)` (intmath.h): `(a + 2^(n-1)) >> n`, a division by 2^n
/// rounding half up (arithmetic shift; the addition wraps as the C++ int32 code does).
#[inline(always)]
pub fn reduce(a: i32, n: u32) -> i32 {
    a.wrapping_add(1 << (n - 1)) >> n
}

/// `FingerJetFxOSE::reduce<uint32>(a, n)` (intmath.h), unsigned.
#[inline(always)]
pub fn reduce_u32(a: u32, n: u32) -> u32 {
    a.wrapping_add(1 << (n - 1)) >> n
}

/// `FingerJetFxOSE::sqr(a)` (intmath.h).
#[inline(always)]
pub fn sqr(a: i32) -> i32 {
    a.wrapping_mul(a)
}

/// `FingerJetFxOSE::divide<int32>(x, y)` (intmath.h, the signed `divider`): the magnitudes
/// divided rounding half away from zero, then the sign of `x·y`. `y == 0` (a crash in the C++,
/// which never divides by 0 here) gives 0.
#[inline(always)]
pub fn divide(x: i32, y: i32) -> i32 {
    let t: i32 = if (x >= 0) != (y > 0) { -1 } else { 1 };
    let x = x.wrapping_abs();
    let y = y.wrapping_abs();
    if y == 0 {
        return 0;
    }
    x.wrapping_add(y >> 1).wrapping_div(y).wrapping_mul(t)
}

/// `muldiv<int16, int, int>(x, y, z)` (intmath.h): `int16(divide<int32>(int32(x) * y, z))`.
#[inline]
pub fn muldiv_i16(x: i16, y: i32, z: i32) -> i16 {
    divide(i32::from(x).wrapping_mul(y), z) as i16
}

/// `reduce(complex<T>, n)` (complex.h): [`reduce`] of both parts.
#[inline(always)]
pub fn reduce_c(a: Complex32, n: u32) -> Complex32 {
    Complex32::new(reduce(a.re, n), reduce(a.im, n))
}

/// `oct_abs(complex<T>)` (complex.h): the octagonal approximation of |t|,
/// `max(max(|x|, |y|), (|x| + |y|) · 181 / 256)` (181/256 ≈ 1/√2).
#[inline(always)]
pub fn oct_abs(t: Complex32) -> i32 {
    let x = t.re.wrapping_abs();
    let y = t.im.wrapping_abs();
    let n = x.max(y);
    n.max(reduce(x.wrapping_add(y).wrapping_mul(181), 8))
}

/// `oct_sign(complex<int32>)` (complex.h): the direction of (re, im) scaled to a complex<int8>
/// whose "octagonal norm" is about 127: `n = max(|re|, |im|) / 127`, zero if `n <= 0`,
/// otherwise `n = max(n, (|re| + |im|) / 180)` and the result is `(re / n, im / n)`
/// (truncating divisions).
#[inline]
pub fn oct_sign(re: i32, im: i32) -> (i8, i8) {
    let x = re.wrapping_abs();
    let y = im.wrapping_abs();
    let n = x.max(y) / 127;
    if n <= 0 {
        return (0, 0);
    }
    let n = n.max(x.wrapping_add(y) / 180);
    ((re / n) as i8, (im / n) as i8)
}

/// `oct_sign(const complex<int32>&, threshold)` (complex.h) with a threshold: 0 when
/// `max(|re|, |im|) / 127 <= threshold` (too weak a direction), [`oct_sign`] otherwise.
#[inline]
pub fn oct_sign_tr(t: Complex32, threshold: i32) -> Ori {
    if t.re.wrapping_abs().max(t.im.wrapping_abs()) / 127 <= threshold {
        return Ori::default();
    }
    let (re, im) = oct_sign(t.re, t.im);
    Ori { re, im }
}

/// Port of `sincosnorm` (intmath.h): rescales a product of two Q7 sine/cosine values
/// (each scaled by 128, range about ±127) back to Q7 with rounding: `(x + 64) >> 7`.
/// The shift is an arithmetic (flooring) shift on `int32`, as in the C++.
#[inline(always)]
pub fn sincosnorm(x: i32) -> i32 {
    x.wrapping_add(64) >> 7
}

/// Port of the `conv9<t0, t1, t2, t3, t4>` 9-tap separable filter (conv2.h) with the
/// default `autodetect` symmetry: `t0 != 0` means a symmetric filter (taps
/// `t4 t3 t2 t1 t0 t1 t2 t3 t4`), `t0 == 0` an antisymmetric one
/// (`-t4 -t3 -t2 -t1 0 t1 t2 t3 t4`, "right/below minus left/above").
///
/// The C++ horizontal `operator()` is a causal streaming filter over a ring buffer of the last
/// 8 inputs (zeros at the start) whose output is centred 4 samples back: that is
/// [`Conv9::fir`] over the last nine samples of the stream, which is how the port runs it
/// ([`Conv9::fir_into`] on a row with its history in front). The vertical part
/// ([`Conv9::vert`], C++ static `vert`) is the same filter down a 9-pixel column.
pub struct Conv9<const T0: i32, const T1: i32, const T2: i32, const T3: i32, const T4: i32>;

impl<const T0: i32, const T1: i32, const T2: i32, const T3: i32, const T4: i32>
    Conv9<T0, T1, T2, T3, T4>
{
    /// C++ `addsub<autodetect, t0>::apply`: `x + y` for symmetric filters, `x - y`
    /// (computed in `uint32`, i.e. wrapping) for antisymmetric ones.
    #[inline(always)]
    fn addsub(x: i32, y: i32) -> i32 {
        if T0 != 0 {
            x.wrapping_add(y)
        } else {
            x.wrapping_sub(y)
        }
    }

    /// C++ static `vert(width, p)`: vertical filter on a column, `col[4 + k]` being
    /// `p[k * width]` (`k = -4..=4`).
    #[inline(always)]
    pub fn vert(col: &[i32; 9]) -> i32 {
        Self::fir(col)
    }

    /// The 9-tap filter on a window `win[0..9]` of consecutive samples (centre
    /// `win[4]`). On a column this is C++ `vert`; on the last 9 values of a stream
    /// (`win[8]` the newest) it equals C++ `operator()` once 8 values have been pushed
    /// (`win[0..8]` = ring buffer `p[0..8]`, `win[8]` = the argument `v`).
    #[inline(always)]
    pub fn fir(win: &[i32]) -> i32 {
        let win = &win[..9];
        let v1 = Self::addsub(win[5], win[3]);
        let v2 = Self::addsub(win[6], win[2]);
        let v3 = Self::addsub(win[7], win[1]);
        let v4 = Self::addsub(win[8], win[0]);
        win[4] * T0 + v1 * T1 + v2 * T2 + v3 * T3 + v4 * T4
    }

    /// `dst[i] = fir(&src[i..i + 9])` for every `i < dst.len()` (`src` needs
    /// `dst.len() + 8` values): the streaming `operator()` over a block, with `src[0..8]`
    /// holding the ring buffer's history.
    #[inline(always)]
    pub fn fir_into(src: &[i32], dst: &mut [i32]) {
        let n = dst.len();
        let w: [&[i32]; 9] = std::array::from_fn(|k| &src[k..k + n]);
        let [w0, w1, w2, w3, w4, w5, w6, w7, w8] = w;
        for i in 0..n {
            let v1 = Self::addsub(w5[i], w3[i]);
            let v2 = Self::addsub(w6[i], w2[i]);
            let v3 = Self::addsub(w7[i], w1[i]);
            let v4 = Self::addsub(w8[i], w0[i]);
            dst[i] = w4[i] * T0 + v1 * T1 + v2 * T2 + v3 * T3 + v4 * T4;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atan2_sin_cos_are_consistent() {
        // The four axes and the diagonals, in binary angles (64 = 90°).
        assert_eq!(atan2(127, 0), 0);
        assert_eq!(atan2(0, 127), 64);
        assert_eq!(atan2(-127, 0), 128);
        assert_eq!(atan2(0, -127), 192);
        assert_eq!(atan2(100, 100), 32);
        assert_eq!(atan2(-100, -100), 160);
        assert_eq!((cos(0), sin(0)), (127, 0));
        assert_eq!((cos(64), sin(64)), (0, 127));
        assert_eq!((cos(128), sin(128)), (-127, 0));
        // Round trip: atan2 of the table vector gives back the angle within one unit.
        for a in 0..=255u8 {
            let b = atan2(i32::from(cos(a)), i32::from(sin(a)));
            let d = b.wrapping_sub(a) as i8;
            assert!(d.abs() <= 1, "a={a} b={b}");
        }
    }

    #[test]
    fn delay_returns_old_samples() {
        let mut d = Delay::new(3, 7i16);
        assert_eq!(d.push(1), 7);
        assert_eq!(d.push(2), 7);
        assert_eq!(d.push(3), 7);
        assert_eq!(d.push(4), 1);
        assert_eq!(d.push(5), 2);
    }

    #[test]
    fn trig_and_atan2_are_consistent() {
        // Quarter turns.
        assert_eq!((cos(0), sin(0)), (127, 0));
        assert_eq!((cos(64), sin(64)), (0, 127));
        assert_eq!((cos(128), sin(128)), (-127, 0));
        assert_eq!(atan2(100, 0), 0);
        assert_eq!(atan2(0, 100), 64);
        assert_eq!(atan2(-100, 0), 128);
        assert_eq!(atan2(0, -100), 192);
        // atan2 inverts (cos, sin) to within one unit over the whole circle.
        for a in 0..=255u8 {
            let b = atan2(i32::from(cos(a)), i32::from(sin(a)));
            let d = b.wrapping_sub(a) as i8;
            assert!(d.abs() <= 1, "a={a} b={b}");
        }
    }

    #[test]
    fn divide_rounds_half_away_from_zero() {
        assert_eq!(divide(5, 2), 3);
        assert_eq!(divide(-5, 2), -3);
        assert_eq!(divide(4, 3), 1);
        assert_eq!(muldiv_i16(167, 197, 167), 197);
        assert_eq!(muldiv_i16(-167, 197, 167), -197);
    }

    #[test]
    fn oct_sign_basics() {
        assert_eq!(oct_sign(0, 0), (0, 0));
        assert_eq!(oct_sign(100, 0), (0, 0)); // below threshold 127
        assert_eq!(oct_sign(127_000, 0), (127, 0));
        assert_eq!(oct_sign(0, -127_000), (0, -127));
        // diagonal: octagon facet gives ~90 = 127/sqrt(2)
        assert_eq!(oct_sign(90_000, 90_000), (90, 90));
        // C++ int8 wrap quirk
        assert_eq!(oct_sign(253, 0), (-3, 0));
    }

    #[test]
    fn conv9_impulse_response() {
        // A stream holding one impulse comes out (4 samples later) as the taps, antisymmetric:
        // output(n) = sum t_k (x[c+k] - x[c-k]), c = n - 4.
        let mut stream = vec![0; 8];
        stream.push(1);
        stream.extend([0; 11]);
        let mut out = vec![0; 12];
        Conv9::<0, 71, 37, 6, 0>::fir_into(&stream, &mut out);
        assert_eq!(out, vec![0, 6, 37, 71, 0, -71, -37, -6, 0, 0, 0, 0]);
        let col = [0, 0, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(Conv9::<0, 71, 37, 6, 0>::vert(&col), 71);
        // A symmetric filter whose taps sum to 0 gives 0 on a flat column.
        assert_eq!(Conv9::<-112, -7, 48, 14, 1>::vert(&[1; 9]), 0);
    }
}
