// FingerJetFX OSE -- Fingerprint Feature Extractor, Open Source Edition.
// Copyright (c) 2011 DigitalPersona, Inc. All rights reserved. MODIFIED: ported from C++ to
// Rust for the Enrollment Station. LGPL-3.0-or-later with the conditions of COPYRIGHT.txt.

//! From the Freeman phase map to the final minutiae.
//!
//! Ports `extract_minutia<256, 4>` (extract_minutia.h), `top_n` (top_n.h), the end of
//! `FeatureExtractionBase::From333DpiImg` (FeatureExtraction.h) and `FRFXLLGetMinutiae`
//! (lib/FRFXLLGetMinutiae.cpp), bit-exactly.

use super::biffilt::{Biffilt, BiffiltParameters};
use crate::support::{atan2, cos, muldiv_i16, oct_sign, sin, Delay, FjError, Ori, PHASEMAP_FILLER};

/// Minutia type as `FRXLL_MINUTIA_TYPE` (FRFXLL.h): OTHER = 0, RIDGE_END = 1,
/// RIDGE_BIFURCATION = 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinutiaKind {
    Other,
    RidgeEnding,
    Bifurcation,
}

/// One minutia as FRFXLLGetMinutiae returns it (FRFXLL_Basic_19794_2_Minutia): 500 ppi pixel
/// coordinates, ISO angle unit (256 per turn), quality 0..=100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Minutia {
    pub x: u16,
    pub y: u16,
    pub angle: u8,
    pub quality: u8,
    pub kind: MinutiaKind,
}

/// The C++ `Minutia` of matchData.h: position in int16, angle `theta` (256 per turn),
/// confidence `conf`, `type` (0 other, 1 ridge ending, 2 bifurcation) and `pmp` (always 0
/// here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawMinutia {
    pub x: i16,
    pub y: i16,
    pub pmp: u8,
    pub conf: u8,
    pub theta: u8,
    pub type_: u8,
}

/// `Minutia::type_other`.
pub const TYPE_OTHER: u8 = 0;
/// `Minutia::type_ridge_ending`.
pub const TYPE_RIDGE_ENDING: u8 = 1;
/// `Minutia::type_bifurcation`.
pub const TYPE_BIFURCATION: u8 = 2;

/// `SmmeParameters` (extract_minutia.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmmeParameters {
    /// Threshold on the smoothed squared gradients: 1328 ≈ 0.1 * 13280.
    pub tb: i32,
}

/// `UserFeedbackParameters` (extract_minutia.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserFeedbackParameters {
    pub minimum_number_of_minutia: u32,
    pub minimum_footprint_area: u32,
}

/// `FeatureExtractionImpl::Parameters` (extract_minutia.h).
///
/// `Default` gives the values NFIQ 2's FingerJet uses: the struct constructors' defaults
/// (biffilt threshold 80, ratio 102, type threshold 105; Tb 1328; user feedback 4 minutiae /
/// 11000 area), except that `FRFXLLCreateContext` (lib/FRFXLLCreateContext.cpp, "Overriding
/// default FRFXLL settings for NFIQ2", reached from FRFXLLCreateLibraryContext) sets both user
/// feedback minima to 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parameters {
    pub biffilt: BiffiltParameters,
    pub smme: SmmeParameters,
    pub user_feedback: UserFeedbackParameters,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            biffilt: BiffiltParameters::default(),
            smme: SmmeParameters { tb: 1328 },
            user_feedback: UserFeedbackParameters {
                minimum_number_of_minutia: 0,
                minimum_footprint_area: 0,
            },
        }
    }
}

/// `FeatureExtractionBase::maxwidth` = the `stride` template argument of extract_minutia.
const MAXWIDTH: usize = 256;
/// `FeatureExtractionBase::ori_scale`.
const ORI_SCALE: usize = 4;
/// `FeatureExtractionBase::min_minutia`.
const MIN_MINUTIA: usize = 6;
/// `FeatureExtractionBase::imageScale = 127 * 5`: 333-ppi pixel to 500-ppi-ish unit factor
/// (scaled by the image resolution in RescaleMinutia).
const IMAGE_SCALE: i32 = 127 * 5;
/// `MatchData` = `MinutiaPoints<255>`: NFIQ 2's patched top_n capacity (`md.capacity()`).
const MATCHDATA_CAPACITY: usize = 255;
/// `StdFmdDeserializer_Resolution` (167 ppcm ≈ 333 ppi) and the 197 ppcm (≈ 500 ppi) of the
/// final `muldiv(…, 197, 167)`.
const RESOLUTION_333_PPCM: i32 = 167;
const RESOLUTION_500_PPCM: i32 = 197;

/// `CompareMinutiaByConfidence` (matchData.h), used as `operator >`: higher confidence first,
/// then smaller y, smaller x, smaller theta; equal minutiae compare true (not a strict order,
/// so the exact libstdc++ heap algorithms below matter).
#[inline]
pub fn compare_minutia_by_confidence(a: &RawMinutia, b: &RawMinutia) -> bool {
    if a.conf != b.conf {
        return a.conf > b.conf;
    }
    if a.y != b.y {
        return a.y < b.y;
    }
    if a.x != b.x {
        return a.x < b.x;
    }
    if a.theta != b.theta {
        return a.theta < b.theta;
    }
    true
}

/// libstdc++ `std::__push_heap` with comparator `std::greater<Minutia>` (GCC 12 stl_heap.h).
fn heap_push_hole(s: &mut [RawMinutia], mut hole: isize, top: isize, value: RawMinutia) {
    let mut parent = (hole - 1) / 2;
    while hole > top && compare_minutia_by_confidence(&s[parent as usize], &value) {
        s[hole as usize] = s[parent as usize];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    s[hole as usize] = value;
}

/// libstdc++ `std::__adjust_heap` with comparator `std::greater<Minutia>`.
fn heap_adjust(s: &mut [RawMinutia], mut hole: isize, len: isize, value: RawMinutia) {
    let top = hole;
    let mut second = hole;
    while second < (len - 1) / 2 {
        second = 2 * (second + 1);
        if compare_minutia_by_confidence(&s[second as usize], &s[(second - 1) as usize]) {
            second -= 1;
        }
        s[hole as usize] = s[second as usize];
        hole = second;
    }
    if (len & 1) == 0 && second == (len - 2) / 2 {
        second = 2 * (second + 1);
        s[hole as usize] = s[(second - 1) as usize];
        hole = second - 1;
    }
    heap_push_hole(s, hole, top, value);
}

/// libstdc++ `std::__pop_heap(first, last, result)`: move `*first` to `*result` and re-heap
/// `[first, last)` with the old `*result`.
fn heap_pop_to(s: &mut [RawMinutia], last: usize) {
    let value = s[last];
    s[last] = s[0];
    heap_adjust(s, 0, last as isize, value);
}

/// `top_n<Minutia>` (top_n.h): keeps the `capacity` greatest minutiae (by
/// `CompareMinutiaByConfidence`) in a min-heap; `threshold` is `Minutia()`.
pub struct TopN {
    items: Vec<RawMinutia>,
    capacity: usize,
    threshold: RawMinutia,
}

impl TopN {
    /// `top_n(begin, begin + capacity, Minutia())`.
    pub fn new(capacity: usize) -> Self {
        TopN {
            items: Vec::with_capacity(capacity),
            capacity,
            threshold: RawMinutia::default(),
        }
    }
    /// `top_n::add`.
    pub fn add(&mut self, v: RawMinutia) {
        let n = self.items.len();
        if n == self.capacity {
            if n > 0 && compare_minutia_by_confidence(&v, &self.items[0]) {
                // std::pop_heap(begin, end, greater)
                if n > 1 {
                    heap_pop_to(&mut self.items, n - 1);
                }
                self.items[n - 1] = v;
                // std::push_heap(begin, end, greater)
                heap_push_hole(&mut self.items, (n - 1) as isize, 0, v);
            }
        } else if compare_minutia_by_confidence(&v, &self.threshold) {
            self.items.push(v);
            heap_push_hole(&mut self.items, n as isize, 0, v);
        }
    }
    /// `top_n::sort` (`std::sort_heap` with `greater`): descending order.
    pub fn into_sorted(mut self) -> Vec<RawMinutia> {
        let mut last = self.items.len();
        while last > 1 {
            last -= 1;
            heap_pop_to(&mut self.items, last);
        }
        self.items
    }
}

/// The three `conv2d3<stride, 2, 1, 5>` filters of extract_minutia.h (for gxx, gxy, gyy):
/// separable 3x3 smoothing with taps (1, 2, 1) in both directions (gain 16), output
/// `(o + 16) >> 5`, i.e. half the weighted mean, delayed by one row and one column
/// (`xoffs = yoffs = 1`).
///
/// The C++ vertical delays `dv1`, `dv2` are rings of exactly `width` samples pushed once per
/// pixel, so their read/write position always equals x: they are kept here as row buffers
/// indexed by x (same values, less bookkeeping). `dh1`, `dh2` are one-sample delays.
///
/// The horizontal pass is run over a whole line of vertical sums `h`, whose first two
/// entries carry the last two sums of the previous line (the C++ `dh2`, `dh1`, which keep
/// running from one line to the next).
struct Conv2d3x3 {
    /// (dv1, dv2) contents at column x: the inputs of 1 and 2 rows above.
    rows: Vec<[[i32; 3]; 2]>,
    /// `h[0]`, `h[1]`: the C++ `dh2`, `dh1` at the start of the line; `h[2 + x]`: the
    /// vertical sum at column x.
    h: Vec<[i32; 3]>,
}

impl Conv2d3x3 {
    /// `conv2d3()` ×3: all delays start at 0.
    fn new(width: usize) -> Self {
        Conv2d3x3 {
            rows: vec![[[0; 3]; 2]; width],
            h: vec![[0; 3]; width + 2],
        }
    }
    /// `conv2d3::operator()(v0)` for the three channels, once per column of a line:
    /// `inout[x]` holds the input at column x and receives the output.
    #[inline]
    fn apply_line(&mut self, inout: &mut [[i32; 3]]) {
        for ((slot, v), h) in self
            .rows
            .iter_mut()
            .zip(inout.iter())
            .zip(self.h[2..].iter_mut())
        {
            let v0 = *v;
            let v1 = slot[0];
            let v2 = slot[1];
            slot[1] = v1;
            slot[0] = v0;
            for k in 0..3 {
                h[k] = v1[k] * 2 + (v2[k] + v0[k]);
            }
        }
        for (v, h) in inout.iter_mut().zip(self.h.windows(3)) {
            // h[0] = h2 (two columns back), h[1] = h1, h[2] = h0.
            for k in 0..3 {
                let o = h[1][k] * 2 + (h[0][k] + h[2][k]);
                v[k] = (o + (1 << 4)) >> 5;
            }
        }
        let n = self.h.len();
        self.h.copy_within(n - 2.., 0);
    }
}

/// `max2d5fast<int32, stride>` (extract_minutia.h): streaming detector of local maxima over
/// 5x5 neighbourhoods, evaluated on a 3x3 block grid; output delayed by 4 rows and 4 columns.
/// Negative values mean "outside the footprint".
struct Max2d5Fast {
    width: usize,
    /// `T buffer[7][stride]`, memset to -1.
    buffer: Vec<i32>,
    /// `std::bitset<stride + xoffs> mxset[7]`, one bool per bit.
    mxset: Vec<bool>,
}

impl Max2d5Fast {
    const XOFFS: usize = 4;
    const YOFFS: usize = 4;

    fn new(width: usize) -> Self {
        Max2d5Fast {
            width,
            buffer: vec![-1; 7 * width],
            mxset: vec![false; 7 * (width + Self::XOFFS)],
        }
    }
    #[inline]
    fn buf(&self, i: usize, j: usize) -> i32 {
        self.buffer[(i % 7) * self.width + j]
    }
    /// `max2d5fast::operator()(v, x, y)` for every column x of line y: `vals[x]` is the
    /// input, `out[x]` receives the output.
    ///
    /// Same results as the C++ pixel-by-pixel order: `FindMaxInBlock` at column x reads
    /// line y only up to column x (so storing the whole line first changes nothing) and sets
    /// bits only at columns ≥ x (so running all of them before reading the line's bits
    /// changes nothing either: each bit is still read after every call that can set it).
    fn apply_line(&mut self, vals: &[i32], y: usize, out: &mut [bool]) {
        let w = self.width;
        let bw = w + Self::XOFFS;
        let y_ = y % 7;
        self.buffer[y_ * w..(y_ + 1) * w].copy_from_slice(&vals[..w]);
        // x == 0: mxset[(y-1)%7].reset() with size_t arithmetic (y = 0 wraps).
        let r = y.wrapping_sub(1) % 7;
        self.mxset[r * bw..(r + 1) * bw].fill(false);
        if y >= 6 && y % 3 == 0 {
            for x in (6..w).step_by(3) {
                self.find_max_in_block(y - 4, x - 4);
            }
        }
        for (o, bit) in out.iter_mut().zip(&mut self.mxset[y_ * bw..y_ * bw + w]) {
            *o = std::mem::take(bit);
        }
    }
    /// `max2d5fast::FindMaxInBlock(i, j)`.
    fn find_max_in_block(&mut self, i: usize, j: usize) {
        let (mut mi, mut mj) = (i, j);
        let mut mvalue = self.buf(mi, mj);
        for i2 in i..=i + 2 {
            for j2 in j..=j + 2 {
                let b = self.buf(i2, j2);
                if b < 0 {
                    return;
                }
                if b > mvalue {
                    mi = i2;
                    mj = j2;
                    mvalue = b;
                }
            }
        }
        if mvalue <= 0 {
            return;
        }
        for i2 in mi - 2..=mi + 2 {
            for j2 in mj - 2..=mj + 2 {
                if i2 < i || i2 > i + 2 || j2 < j || j2 > j + 2 {
                    let b = self.buf(i2, j2);
                    if b < 0 || b > mvalue {
                        return;
                    }
                }
            }
        }
        let bw = self.width + Self::XOFFS;
        self.mxset[((mi + Self::YOFFS) % 7) * bw + mj + Self::XOFFS] = true;
    }
}

/// `is_in_footprint<1>(xp, yp, width, size, phasemap)` (extract_minutia.h): whether the four
/// diagonal neighbours of (xp, yp) are inside the image and not `phasemap_filler`. Negative
/// coordinates (C++ `size_t` wrap-around) are outside.
#[inline]
fn is_in_footprint(xp: i64, yp: i64, width: usize, size: usize, phasemap: &[u8]) -> bool {
    let x1 = xp + 1;
    let y1 = yp + 1;
    let w = width as i64;
    if x1 < 2 || y1 < 2 || x1 >= w {
        return false;
    }
    let offs = x1 + y1 * w;
    if offs >= size as i64 {
        return false;
    }
    let offs = offs as usize;
    phasemap[offs - 2] != PHASEMAP_FILLER
        && phasemap[offs] != PHASEMAP_FILLER
        && phasemap[offs - (width * 2 + 2)] != PHASEMAP_FILLER
        && phasemap[offs - width * 2] != PHASEMAP_FILLER
}

/// `a_point` (extract_minutia.h): a pixel position, a direction 0..7 (eighths of a turn,
/// kept in a uint8) and the phase-map value there.
#[derive(Clone, Copy)]
struct APoint {
    x: i16,
    y: i16,
    a: u8,
    v: u8,
}

impl APoint {
    /// `a_point(x, y, a, p, width)`: reads `p[x + y * width]` (flat index, so x = -1 reads
    /// the previous row's last pixel as in C++). A negative flat index (before the C++
    /// buffer) yields `phasemap_filler`.
    #[inline]
    fn at(x: i16, y: i16, a: u8, p: &[u8], width: usize) -> APoint {
        let idx = i64::from(x) + i64::from(y) * width as i64;
        let v = if idx < 0 {
            PHASEMAP_FILLER
        } else {
            p.get(idx as usize).copied().unwrap_or(PHASEMAP_FILLER)
        };
        APoint { x, y, a, v }
    }
    /// `a_point::next`: among the three neighbours in directions a-1, a, a+1, the one with
    /// the smallest (`mn`) or largest value (ties: the later one).
    #[inline]
    fn next(&self, p: &[u8], width: usize, mn: bool, relative: bool) -> APoint {
        const OFFS: [i32; 8] = [0, 1, 1, 1, 0, -1, -1, -1];
        let mut out = APoint {
            x: 0,
            y: 0,
            a: 0,
            v: if mn { 255 } else { 0 },
        };
        for i in -1i32..=1 {
            let ai = i32::from(self.a) + i;
            let cx = (i32::from(self.x) + OFFS[(ai & 7) as usize]) as i16;
            let cy = (i32::from(self.y) + OFFS[((ai - 2) & 7) as usize]) as i16;
            let ca = if relative { (ai & 0xff) as u8 } else { self.a };
            let cur = APoint::at(cx, cy, ca, p, width);
            if if mn { cur.v <= out.v } else { cur.v >= out.v } {
                out = cur;
            }
        }
        out
    }
}

/// `Distance2(p1 - p2)` (matchData.h) with the int16 truncation of `Point operator -`.
#[inline]
fn distance2(a: &APoint, b: &APoint) -> u32 {
    let dx = i32::from(a.x.wrapping_sub(b.x));
    let dy = i32::from(a.y.wrapping_sub(b.y));
    (dx * dx + dy * dy) as u32
}

/// `adjust_angle(a, xp, yp, p, width, size, relative)` (extract_minutia.h): follow the
/// phase-map valley or ridge starting from the minutia for up to 20 steps and, if it gets at
/// least 14 pixels away, replace `a` by the direction of the traced line.
fn adjust_angle(
    a: &mut u8,
    xp: usize,
    yp: usize,
    p: &[u8],
    width: usize,
    size: usize,
    relative: bool,
) -> bool {
    let start = APoint::at(xp as i16, yp as i16, *a >> 5, p, width);
    let mut cur = start.next(p, width, false, relative);
    let mut p2 = start.next(p, width, true, relative);
    let mn = (255 - i32::from(p2.v)) > i32::from(cur.v);
    if mn {
        cur = p2;
    }
    let mut d0: u32 = 0;
    for i in 0..20 {
        cur = cur.next(p, width, mn, relative);
        if mn == (cur.v >= 128) {
            break;
        }
        if !is_in_footprint(i64::from(cur.x), i64::from(cur.y), width, size, p) {
            break;
        }
        let d = distance2(&cur, &start);
        if d <= d0 {
            break;
        }
        d0 = d;
        if d > 400 {
            break;
        }
        if i == 0 {
            p2 = cur;
        }
    }
    if d0 >= 14 * 14 {
        let bx = i32::from(cur.x.wrapping_sub(p2.x));
        let by = i32::from(cur.y.wrapping_sub(p2.y));
        *a = atan2(-by, bx);
        true
    } else {
        false
    }
}

/// Checks the phase-map geometry and returns its height.
fn check_geometry(phasemap: &[u8], width: usize) -> Result<usize, FjError> {
    if width == 0 || width > MAXWIDTH || phasemap.len() % width != 0 || phasemap.is_empty() {
        return Err(FjError::InvalidImage);
    }
    Ok(phasemap.len() / width)
}

/// `extract_minutia<256, 4, Minutia>(phasemap, width, size, footprint, top_minutia, param)`
/// (extract_minutia.h). `tail` holds the bytes that follow the phase map in the C++ working
/// buffer (the orientation map as re/im bytes): the biffilt's bilinear sampling on the last
/// image row reads up to `width + 1` of them. Missing tail bytes read as 0. (The C++
/// `footprint` argument is unused by extract_minutia.)
pub fn extract_minutia(
    phasemap: &[u8],
    width: usize,
    tail: &[u8],
    top_minutia: &mut TopN,
    param: &Parameters,
) -> Result<(), FjError> {
    const INVALID: u8 = 255;
    const INVALID_B: i32 = -1;
    const ORIFILT_SIZE: usize = 13;
    const YOFFS: usize = 3;
    // conv2d3::xoffs / yoffs
    const CONV_OFFS: usize = 1;

    let height = check_geometry(phasemap, width)?;
    let size = phasemap.len();
    // Phase map followed by the bytes the C++ code can read past its end.
    let mut ext = Vec::with_capacity(size + width + 1);
    ext.extend_from_slice(phasemap);
    ext.extend(tail.iter().copied().take(width + 1));
    ext.resize(size + width + 1, 0);
    let ext = ext;

    let end = size - width;
    let lines = height + ORIFILT_SIZE;
    let mut cxx_cxy_cyy = Conv2d3x3::new(width);
    let mut max5 = Max2d5Fast::new(width);
    // C++ `delay<bool> delay_mc(width * (orifilt_size - yoffs) - xoffs)`: every max2d5fast
    // output is kept (one per pixel of the scan), and the delayed value at scan position t is
    // the output at t - delay_mc (false before the start).
    let delay_mc = (width * (ORIFILT_SIZE - Max2d5Fast::YOFFS))
        .saturating_sub(Max2d5Fast::XOFFS)
        .max(1);
    let mut maxima = vec![false; lines * width];
    let mut bf = Biffilt::new(width, height, &ext, param.biffilt);
    let mut delay_ori_y: Delay<(i8, i8)> = Delay::new(ORIFILT_SIZE * width / 2, (0, 0));
    let mut ori_s1 = [(0i16, 0i16); MAXWIDTH / 2];
    let mut direction = [0u8; MAXWIDTH / 2];
    let tb = param.smme.tb;
    // Per line: squared gradients (then their smoothed values), outside flags, max2d5 input.
    let mut g = vec![[0i32; 3]; width];
    let mut outside = vec![true; width];
    let mut mval = vec![0i32; width];

    for y in 0..lines {
        // The C++ pointer p = width * (yoffs + y) + x; p >= end holds for a whole line or
        // for none of it (both are multiples of width).
        let line = width * (YOFFS + y);
        if line < end {
            // p >= 3 * width, and p + width < size.
            let mid = &ext[line - 3..line + width + 1];
            let up1 = &ext[line - width..line];
            let up3 = &ext[line - 3 * width..line - 2 * width];
            let dn1 = &ext[line + width..line + 2 * width];
            for (x, (gv, out)) in g.iter_mut().zip(outside.iter_mut()).enumerate() {
                // mid[x + 3] is p.
                let (pm3, pm1, pp1) = (mid[x], mid[x + 2], mid[x + 4]);
                let (pmw, ppw, pm3w) = (up1[x], dn1[x], up3[x]);
                *out = pp1 == INVALID || pm3 == INVALID || ppw == INVALID || pm3w == INVALID;
                let gx = i32::from(pp1) - i32::from(pm1);
                let gy = i32::from(ppw) - i32::from(pmw);
                *gv = [gx * gx, gx * gy, gy * gy];
            }
        } else {
            g.fill([0; 3]);
            outside.fill(true);
        }
        cxx_cxy_cyy.apply_line(&mut g);
        let even_line = (y & 1) == 0;
        for (x, ((&[gxx, gxy, gyy], &out), mv)) in g
            .iter()
            .zip(outside.iter())
            .zip(mval.iter_mut())
            .enumerate()
        {
            let e1b = gxx + gyy > tb.wrapping_mul(2);
            let b2 = tb
                .wrapping_sub(gxx)
                .wrapping_mul(tb.wrapping_sub(gyy))
                .wrapping_sub(gxy.wrapping_mul(gxy));
            let e2b = b2 > 0;
            let e = e1b && e2b;
            if even_line && (x & 1) == 0 {
                let ori = oct_sign(gxx - gyy, 2 * gxy);
                let old = delay_ori_y.push(ori);
                let s1 = &mut ori_s1[x / 2];
                s1.0 =
                    s1.0.wrapping_add(i16::from(ori.0))
                        .wrapping_sub(i16::from(old.0));
                s1.1 =
                    s1.1.wrapping_add(i16::from(ori.1))
                        .wrapping_sub(i16::from(old.1));
            }
            *mv = if out {
                INVALID_B
            } else if e {
                b2
            } else {
                0
            };
        }
        max5.apply_line(&mval, y, &mut maxima[y * width..(y + 1) * width]);
        for x in 0..width {
            let t = y * width + x;
            let mut mc = t >= delay_mc && maxima[t - delay_mc];
            if !mc {
                continue;
            }
            // size_t xp = x - 1, yp = y + 3 - 1 - 13 (may wrap: then not in the footprint)
            let xp = x as i64 - CONV_OFFS as i64;
            let yp = y as i64 + YOFFS as i64 - CONV_OFFS as i64 - ORIFILT_SIZE as i64;
            mc = mc && is_in_footprint(xp, yp, width, size, &ext);
            if mc {
                // In the footprint, so xp >= 1 and yp >= 1.
                let (xp, yp) = (xp as usize, yp as usize);
                let mut confidence = 0i32;
                let mut confirmed = false;
                let mut type_ = false;
                let mut a = 0u8;
                for i in [-2i8, 2] {
                    let a0 = direction[x / 2].wrapping_add(i as u8);
                    let (c, s) = (cos(a0), sin(a0));
                    if bf.apply(xp, yp, c, s) {
                        confirmed = true;
                        if bf.confidence > confidence {
                            confidence = bf.confidence;
                            a = a0;
                            type_ = bf.type_;
                        }
                    }
                }
                if confirmed {
                    // bf.rotate180 is from the last *successful* biffilt call (C++ member).
                    if bf.rotate180 {
                        a = a.wrapping_add(128);
                    }
                    if !adjust_angle(&mut a, xp, yp, &ext, width, size, false) {
                        adjust_angle(&mut a, xp, yp, &ext, width, size, true);
                    }
                    let type_code = if confidence > param.biffilt.type_threshold {
                        if type_ {
                            TYPE_RIDGE_ENDING
                        } else {
                            TYPE_BIFURCATION
                        }
                    } else {
                        TYPE_OTHER
                    };
                    top_minutia.add(RawMinutia {
                        x: xp as i16,
                        y: yp as i16,
                        pmp: 0,
                        conf: confidence as u8,
                        theta: a,
                        type_: type_code,
                    });
                }
            }
        }
        if (y & 1) == 0 {
            // Box filter of 13 cells along x over the column sums, then the doubled-angle
            // orientation halved: direction = atan2(re, im) / 2.
            let (mut s2r, mut s2i) = (0i32, 0i32);
            for x in 0..width / 2 + ORIFILT_SIZE / 2 {
                if x < width / 2 {
                    s2r += i32::from(ori_s1[x].0);
                    s2i += i32::from(ori_s1[x].1);
                }
                if x >= ORIFILT_SIZE {
                    s2r -= i32::from(ori_s1[x - ORIFILT_SIZE].0);
                    s2i -= i32::from(ori_s1[x - ORIFILT_SIZE].1);
                }
                if x >= ORIFILT_SIZE / 2 {
                    direction[x - ORIFILT_SIZE / 2] = atan2(s2r, s2i) / 2;
                }
            }
        }
    }
    Ok(())
}

/// `extract_minutia` + `top_n::sort` as in From333DpiImg (NFIQ 2's patched capacity: 255):
/// the minutiae as the C++ holds them before the conversion (the port was checked against dumps
/// of these from an instrumented build of the C++; 333 ppi working-image
/// coordinates, FingerJet angle convention, before the ISO/scale/offset fixes).
#[cfg(test)]
pub fn raw_minutiae(
    phasemap: &[u8],
    width: usize,
    tail: &[u8],
) -> Result<Vec<RawMinutia>, FjError> {
    let mut top = TopN::new(MATCHDATA_CAPACITY);
    extract_minutia(phasemap, width, tail, &mut top, &Parameters::default())?;
    Ok(top.into_sorted())
}

/// `Footprint` of matchData.h: a 32 x 50 bitmap of 8x8-pixel cells and its area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    pub data: [u32; 50],
    pub area: u32,
}

/// `FeatureExtractionBase::WriteFootprint` (FeatureExtraction.h): resample the orientation
/// footprint (`ori_width` columns, `ori_size` cells) onto the 32 x 50 grid of 8 x 8 output
/// pixels; the area is 64 per set cell.
pub fn write_footprint(
    footprint: &[u8],
    ori_width: usize,
    ori_size: usize,
    image_resolution: u16,
) -> Footprint {
    const FP_HEIGHT: i32 = 50;
    const FP_WIDTH: i32 = 32;
    let res = i32::from(image_resolution);
    let mut fp = Footprint {
        data: [0; 50],
        area: 0,
    };
    let mut area = 0u32;
    // reduce<int>(v, 2) = (v + 2) >> 2
    let cell = |k: i32| (((k * 8) * res + res / 2) / IMAGE_SCALE + 2) >> 2;
    for y in 0..FP_HEIGHT {
        for x in 0..FP_WIDTH {
            let xi = cell(x) as usize;
            let yi = cell(y) as usize * ori_width;
            let b =
                xi < ori_width && yi < ori_size && footprint.get(xi + yi).is_some_and(|&f| f != 0);
            if b {
                area += 1;
                fp.data[y as usize] |= 1 << x;
            }
        }
    }
    fp.area = area * 8 * 8;
    fp
}

/// The part of `FeatureExtractionBase::From333DpiImg` (FeatureExtraction.h) after
/// freeman_phasemap: extract_minutia, top_n (capacity 255), sort, ISO angle fix,
/// RescaleMinutia, the xOffs/yOffs shift, WriteFootprint, `muldiv(…, 197, 167)` and the
/// minimum-minutiae / user-feedback checks. Returns the C++ `md.minutia[0..numMinutia]`
/// and footprint.
#[allow(clippy::too_many_arguments)]
pub fn from_333_dpi_img_tail(
    phasemap: &[u8],
    width: usize,
    tail: &[u8],
    footprint: &[u8],
    x_offs: i32,
    y_offs: i32,
    resolution: u16,
    param: &Parameters,
) -> Result<(Vec<RawMinutia>, Footprint), FjError> {
    let height = check_geometry(phasemap, width)?;
    if resolution == 0 {
        return Err(FjError::InvalidImage);
    }
    let mut top = TopN::new(MATCHDATA_CAPACITY);
    extract_minutia(phasemap, width, tail, &mut top, param)?;
    let mut md = top.into_sorted();
    let res = i32::from(resolution);
    // ISO angle fix: theta = -theta + 64 (truncated to uint8).
    for m in md.iter_mut() {
        m.theta = 64u8.wrapping_sub(m.theta);
    }
    // RescaleMinutia: int16(pos * imageScale / imageResolution) in int arithmetic.
    for m in md.iter_mut() {
        m.x = (i32::from(m.x).wrapping_mul(IMAGE_SCALE) / res) as i16;
        m.y = (i32::from(m.y).wrapping_mul(IMAGE_SCALE) / res) as i16;
    }
    // Phase-map padding shift: pos += int16(offs * imageScale / imageResolution).
    let dx = (x_offs.wrapping_mul(IMAGE_SCALE) / res) as i16;
    let dy = (y_offs.wrapping_mul(IMAGE_SCALE) / res) as i16;
    for m in md.iter_mut() {
        m.x = m.x.wrapping_add(dx);
        m.y = m.y.wrapping_add(dy);
    }
    // SetOriSize
    let ori_width = (width - 1) / ORI_SCALE + 1;
    let ori_height = (height - 1) / ORI_SCALE + 1;
    let fp = write_footprint(footprint, ori_width, ori_height * ori_width, resolution);
    // Always scaled "back to 500 ppi": muldiv(pos, 197, 167) (ppcm), rounding half away
    // from zero.
    for m in md.iter_mut() {
        m.x = muldiv_i16(m.x, RESOLUTION_500_PPCM, RESOLUTION_333_PPCM);
        m.y = muldiv_i16(m.y, RESOLUTION_500_PPCM, RESOLUTION_333_PPCM);
    }
    if md.len() < MIN_MINUTIA {
        return Err(FjError::TooSmallArea);
    }
    if (md.len() as u64) < u64::from(param.user_feedback.minimum_number_of_minutia)
        || fp.area < param.user_feedback.minimum_footprint_area
    {
        return Err(FjError::TooSmallArea);
    }
    Ok((md, fp))
}

/// `StdFmdSerializer::QualityFromConfidence` (serializeFpData.h):
/// `min<uint8>((confidence + 1) / 2, 100)`.
#[inline]
pub fn quality_from_confidence(confidence: u8) -> u8 {
    // (confidence + 1) / 2 == ceil(confidence / 2)
    (u32::from(confidence).div_ceil(2) as u8).min(100)
}

/// `FRFXLLGetMinutiae(…, BASIC_19794_2_MINUTIA_STRUCT, …)` (lib/FRFXLLGetMinutiae.cpp) for
/// one minutia: int16 position → `unsigned int` → `unsigned short` (two's complement wrap),
/// theta as is, type mapped, quality from confidence.
pub fn to_basic_19794_2(m: &RawMinutia) -> Minutia {
    Minutia {
        x: m.x as u16,
        y: m.y as u16,
        angle: m.theta,
        quality: quality_from_confidence(m.conf),
        kind: match m.type_ {
            TYPE_RIDGE_ENDING => MinutiaKind::RidgeEnding,
            TYPE_BIFURCATION => MinutiaKind::Bifurcation,
            _ => MinutiaKind::Other,
        },
    }
}

/// Everything after freeman_phasemap in From333DpiImg, then FRFXLLGetMinutiae, bit-exact
/// including the C++ reads past the end of the phase map (which see the orientation map
/// that follows it in the working buffer).
/// `ori`: the orientation map after the second orientation_map_and_footprint.
pub fn minutiae(
    phasemap: &[u8],
    width: usize,
    ori: &[Ori],
    footprint: &[u8],
    x_offs: i32,
    y_offs: i32,
    resolution: u16,
) -> Result<Vec<Minutia>, FjError> {
    let mut tail = Vec::with_capacity(width + 2);
    for o in ori.iter().take(width / 2 + 1) {
        tail.push(o.re as u8);
        tail.push(o.im as u8);
    }
    let (md, _) = from_333_dpi_img_tail(
        phasemap,
        width,
        &tail,
        footprint,
        x_offs,
        y_offs,
        resolution,
        &Parameters::default(),
    )?;
    Ok(md.iter().map(to_basic_19794_2).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: usize = 128;
    const H: usize = 160;

    /// A Freeman-style phase map (`(127 - 127 cos(phase)) & 0xf0`, as freeman_phasemap
    /// encodes it) for the given phase function, with the filler border freeman leaves at
    /// the bottom (8 rows).
    fn phasemap(phase: impl Fn(f64, f64) -> f64) -> Vec<u8> {
        let mut pm = vec![PHASEMAP_FILLER; W * H];
        for y in 0..H - 8 {
            for x in 0..W {
                let c = (127.0 * phase(x as f64, y as f64).cos()).round() as i32;
                pm[y * W + x] = ((127 - c) & 0xf0) as u8;
            }
        }
        pm
    }

    #[test]
    fn uniform_and_plane_wave_have_no_minutiae() {
        let flat = vec![64u8; W * H];
        assert!(raw_minutiae(&flat, W, &[])
            .expect("a valid test image")
            .is_empty());
        let footprint = vec![1u8; ((W - 1) / 4 + 1) * ((H - 1) / 4 + 1)];
        assert_eq!(
            minutiae(&flat, W, &[], &footprint, 1, 6, 500),
            Err(FjError::TooSmallArea)
        );
        // Parallel ridges (period 7 px at 30 degrees): the gradient tensor has one small
        // eigenvalue everywhere, so no minutia candidate.
        let t = 30f64.to_radians();
        let stripes =
            phasemap(|x, y| 2.0 * std::f64::consts::PI * (x * t.cos() + y * t.sin()) / 7.0);
        assert!(raw_minutiae(&stripes, W, &[])
            .expect("a valid test image")
            .is_empty());
    }

    #[test]
    fn ridge_ending_is_found_where_the_phase_spirals() {
        // Phase of a single minutia: plane wave plus one turn of spiral phase around (x0, y0).
        let (x0, y0) = (64.0, 70.0);
        let pm = phasemap(|x, y| 2.0 * std::f64::consts::PI * x / 7.0 + (y - y0).atan2(x - x0));
        let raw = raw_minutiae(&pm, W, &[]).expect("a valid test image");
        assert!(!raw.is_empty());
        let best = raw[0];
        let d2 = (f64::from(best.x) - x0).powi(2) + (f64::from(best.y) - y0).powi(2);
        assert!(d2 <= 36.0, "strongest minutia at ({}, {})", best.x, best.y);
        assert!(best.conf >= 80);
    }

    #[test]
    fn top_n_keeps_the_most_confident_sorted() {
        let mut top = TopN::new(3);
        let m = |conf: u8, x: i16, y: i16| RawMinutia {
            x,
            y,
            conf,
            ..RawMinutia::default()
        };
        for (c, x, y) in [
            (90, 1, 1),
            (200, 2, 2),
            (120, 3, 3),
            (150, 4, 4),
            (100, 5, 5),
            (150, 6, 1),
        ] {
            top.add(m(c, x, y));
        }
        // Zero confidence at the origin is not above the threshold Minutia().
        top.add(m(0, 0, 0));
        let v: Vec<(u8, i16)> = top.into_sorted().iter().map(|r| (r.conf, r.x)).collect();
        // Highest confidence first; equal confidence: smaller y first.
        assert_eq!(v, vec![(200, 2), (150, 6), (150, 4)]);
    }

    #[test]
    fn basic_19794_2_conversion() {
        let r = RawMinutia {
            x: -3,
            y: 400,
            pmp: 0,
            conf: 255,
            theta: 7,
            type_: TYPE_BIFURCATION,
        };
        let m = to_basic_19794_2(&r);
        // int16 -3 → unsigned int → unsigned short wraps; quality (255 + 1) / 2 capped at 100.
        assert_eq!(m.x, 65533);
        assert_eq!(m.y, 400);
        assert_eq!(
            (m.angle, m.quality, m.kind),
            (7, 100, MinutiaKind::Bifurcation)
        );
        assert_eq!(quality_from_confidence(80), 40);
        assert_eq!(quality_from_confidence(81), 41);
        // An empty footprint has no area; a full one covers the 32 x 50 grid cells that map
        // into the orientation map.
        assert_eq!(write_footprint(&[0; 64 * 83], 64, 64 * 83, 500).area, 0);
        let full = write_footprint(&[1; 64 * 83], 64, 64 * 83, 500);
        assert!(full.area > 0 && full.area <= 32 * 50 * 64);
    }
}
