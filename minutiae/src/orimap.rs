// FingerJetFX OSE -- Fingerprint Feature Extractor, Open Source Edition.
// Copyright (c) 2011 DigitalPersona, Inc. All rights reserved. MODIFIED: ported from C++ to
// Rust for the Enrollment Station. LGPL-3.0-or-later with the conditions of COPYRIGHT.txt.

//! Bringing a 500 ppi print to the 333 ppi working resolution
//! (`FeatureExtraction.h`: `FeatureExtractionBase::Init` + `Resize_AnyTo333InPlaceOrBuffer`,
//! `imresize.h`: `imresize23`) and computing the orientation map and footprint
//! (`orimap.h`: `orientation_map_and_footprint<256, 4>`).
//!
//! Bit-exact port of the fixed-point C++ code; the C++ template parameters are the constants
//! the pipeline instantiates: `maxwidth = stride = 256`, `maxheight = 400`, `ori_scale = 4`.
//! The orientation map and footprint have one cell per 4×4 block of the working image,
//! `ori_width = width / 4` columns, row-major.

use crate::support::*;

/// `FeatureExtractionBase::maxwidth`: widest working image (333 ppi pixels); also the `stride`
/// template argument of `imresize23` and `orientation_map_and_footprint`.
pub const MAXWIDTH: usize = 256;
/// `FeatureExtractionBase::maxheight`: tallest working image (333 ppi pixels).
pub const MAXHEIGHT: usize = 400;
/// `FeatureExtractionBase::ori_scale`: one orientation cell per 4×4 pixels.
pub const ORI_SCALE: usize = 4;

/// The working image produced by [`resize_to_333`] with the fields `FeatureExtractionBase`
/// holds after `Resize_AnyTo333InPlaceOrBuffer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resized {
    /// 333 ppi working image, row-major, `width * height` bytes.
    pub img: Vec<u8>,
    pub width: usize,
    pub height: usize,
    /// `xOffs`: phasemap offset (1 plus the left crop in working pixels).
    pub x_offs: i32,
    /// `yOffs`: phasemap offset (6 plus the top crop in working pixels).
    pub y_offs: i32,
    /// `imageResolution` after the resize (unchanged on the 450..=550 ppi path).
    pub resolution: u16,
}

/// The size/resolution checks of `FeatureExtractionObj::CreateFeatureSet` (lib/CreateFtrSet.h),
/// which `FRFXLLCreateFeatureSetFromRaw` runs before `Init`: at most 2000×2000 pixels,
/// 300..=1024 ppi, 0.3..1.62 in wide and 0.3..2.0 in tall (`width * 500 < 150 * dpi` etc. are
/// those inch limits scaled by 500). All arithmetic is `uint32` as in C++ (no overflow is
/// possible once width, height ≤ 2000 and dpi ≤ 1024 are checked first).
pub fn create_feature_set_checks(width: u32, height: u32, dpi: u32) -> Result<(), FjError> {
    if width > 2000 || height > 2000 {
        return Err(FjError::InvalidImage);
    }
    if !(300..=1024).contains(&dpi) {
        return Err(FjError::InvalidImage);
    }
    if width * 500 < 150 * dpi || width * 500 > 812 * dpi {
        return Err(FjError::InvalidImage);
    }
    if height * 500 < 150 * dpi || height * 500 > 1000 * dpi {
        return Err(FjError::InvalidImage);
    }
    Ok(())
}

/// `FeatureExtractionBase::Init` (FeatureExtraction.h): buffer large enough, 300..=1008 ppi and
/// the width at 500 ppi in 196..=800. Quirk kept: C++ computes `height_at_500` from the
/// *width* too, so the height is never checked here (`create_feature_set_checks` and
/// `Resize_AnyTo333InPlaceOrBuffer` check it). `width_ * 500` is `uint32` arithmetic (wrapping).
fn init_checks(buffer_size: usize, width: u32, height: u32, dpi: u32) -> Result<(), FjError> {
    let needed = (width as usize)
        .checked_mul(height as usize)
        .ok_or(FjError::InvalidImage)?;
    if buffer_size < needed {
        return Err(FjError::InvalidImage);
    }
    if !(300..=1008).contains(&dpi) {
        return Err(FjError::InvalidImage);
    }
    let width_at_500 = width.wrapping_mul(500) / dpi;
    let height_at_500 = width.wrapping_mul(500) / dpi; // sic: from width, as in C++
    if width_at_500 < 196 || height_at_500 < 196 {
        return Err(FjError::InvalidImage);
    }
    if width_at_500 > 800 || height_at_500 > 1000 {
        return Err(FjError::InvalidImage);
    }
    Ok(())
}

/// `FeatureExtractionBase::Init` + `Resize_AnyTo333InPlaceOrBuffer` (FeatureExtraction.h) for a
/// print at 450..=550 ppi (other resolutions: `Err(FjError::InvalidImage)`; the caller resamples
/// to 500 first). Also runs the `CreateFeatureSet` checks of `FRFXLLCreateFeatureSetFromRaw`
/// ([`create_feature_set_checks`]).
///
/// 500 → 333 ppi is taken as exactly 3 → 2: `width = in_width / 6 * 4` (a multiple of 4), same
/// for the height. A result wider than 256 or taller than 400 is centred: the input is cropped to
/// 384 (= 256·3/2) columns / 600 (= 400·3/2) rows starting at `(in − 384) / 2` /
/// `(in − 600) / 2`, and `x_offs` / `y_offs` (start values 1 and 6) grow by half the output
/// excess. Then `imresize23<256>`.
pub fn resize_to_333(
    img: &[u8],
    width: usize,
    height: usize,
    resolution: u32,
) -> Result<Resized, FjError> {
    let w32 = u32::try_from(width).map_err(|_| FjError::InvalidImage)?;
    let h32 = u32::try_from(height).map_err(|_| FjError::InvalidImage)?;
    create_feature_set_checks(w32, h32, resolution)?;
    init_checks(img.len(), w32, h32, resolution)?;

    // Resize_AnyTo333InPlaceOrBuffer
    let in_width = width;
    let in_height = height;
    if in_width == 0 || in_width * in_height == 0 {
        return Err(FjError::InvalidImage);
    }
    if in_height < 32 || in_width < 32 {
        return Err(FjError::InvalidImage);
    }
    if !(450..=550).contains(&resolution) {
        // The general imresize path (and the 300..366 ppi copy path) is not ported.
        return Err(FjError::InvalidImage);
    }
    // 500/333 = 1500/999 ~= 3/2: width ~= in_width / 6 * 4 (a multiple of 4).
    let mut out_width = in_width / 6 * 4;
    let mut out_height = in_height / 6 * 4;
    let mut x_offs: i32 = 1;
    let mut y_offs: i32 = 6;
    let mut in_offset = 0usize;

    if out_height > MAXHEIGHT {
        // centre the image vertically
        let maxheight_in = MAXHEIGHT * 3 / 2;
        let diff = in_height
            .checked_sub(maxheight_in)
            .filter(|&d| d > 0)
            .ok_or(FjError::Internal)?;
        in_offset += (diff / 2) * in_width;
        y_offs += ((out_height - MAXHEIGHT) / 2) as i32;
        out_height = MAXHEIGHT;
    }
    if out_width > MAXWIDTH {
        // centre the image horizontally
        let maxwidth_in = MAXWIDTH * 3 / 2;
        let diff = in_width
            .checked_sub(maxwidth_in)
            .filter(|&d| d > 0)
            .ok_or(FjError::Internal)?;
        in_offset += diff / 2;
        x_offs += ((out_width - MAXWIDTH) / 2) as i32;
        out_width = MAXWIDTH;
    }
    let size = out_width * out_height;
    if out_width == 0 || size == 0 {
        return Err(FjError::InvalidImage);
    }
    // The buffer-size assertion (size + 3·ori_size <= 256·500) always holds for
    // width <= 256, height <= 400, so it is not repeated here.
    let mut out = vec![0u8; size];
    imresize23(&mut out, out_width, &img[in_offset..], in_width);
    Ok(Resized {
        img: out,
        width: out_width,
        height: out_height,
        x_offs,
        y_offs,
        resolution: resolution as u16,
    })
}

/// `imresize23_block` (imresize.h): one pair of output rows from three input rows. Each 3×3
/// input block gives 2×2 outputs; an output pixel weighs its corner input by 4, the two
/// adjacent edge inputs by 2 and the centre by 1 (total 9), then scales by
/// `mul / div = 28 / 256` (`div` = 256, a power of 2; `mul` = 256 / 9 = 28, so the result is
/// ≈ 0.97 × the weighted mean and never exceeds 2295·28/256 = 251).
fn imresize23_block(po: &mut [u8], o_w: usize, pi: &[u8], i_w: usize) {
    const DIV: u32 = 256;
    const MUL: u32 = DIV / 9; // 28
    for ox in (0..o_w).step_by(2) {
        let ix = ox / 2 * 3;
        let p = |r: usize, c: usize| u32::from(pi[r * i_w + ix + c]);
        let (i00, i01, i02) = (p(0, 0), p(0, 1), p(0, 2));
        let (i10, i11, i12) = (p(1, 0), p(1, 1), p(1, 2));
        let (i20, i21, i22) = (p(2, 0), p(2, 1), p(2, 2));
        let o00 = i00 * 4 + i01 * 2 + i10 * 2 + i11;
        let o01 = i02 * 4 + i01 * 2 + i12 * 2 + i11;
        let o10 = i20 * 4 + i21 * 2 + i10 * 2 + i11;
        let o11 = i22 * 4 + i21 * 2 + i12 * 2 + i11;
        po[ox] = (o00 * MUL / DIV) as u8;
        po[ox + 1] = (o01 * MUL / DIV) as u8;
        po[o_w + ox] = (o10 * MUL / DIV) as u8;
        po[o_w + ox + 1] = (o11 * MUL / DIV) as u8;
    }
}

/// `imresize23<out_stride>` (imresize.h): 3:2 downscaling of `in_img` (row stride `in_width`)
/// into `out_img` (`out_width` columns, `out_img.len()` bytes, both even). The C++ first block
/// goes through a stack buffer only to allow in-place operation; writing directly is identical.
fn imresize23(out_img: &mut [u8], out_width: usize, in_img: &[u8], in_width: usize) {
    for (k, rows) in out_img.chunks_exact_mut(out_width * 2).enumerate() {
        imresize23_block(rows, out_width, &in_img[k * 3 * in_width..], in_width);
    }
}

/// `FeatureExtractionBase::SetOriSize` (FeatureExtraction.h): columns of the orientation map,
/// `(width - 1) / 4 + 1` (0 for width 0).
pub fn ori_width(width: usize) -> usize {
    if width == 0 {
        return 0;
    }
    (width - 1) / ORI_SCALE + 1
}

/// `FeatureExtractionBase::SetOriSize` (FeatureExtraction.h): cells of the orientation map,
/// `((height - 1) / 4 + 1) * ori_width` (0 for an empty image).
pub fn ori_size(width: usize, height: usize) -> usize {
    if width == 0 || height == 0 {
        return 0;
    }
    ((height - 1) / ORI_SCALE + 1) * ori_width(width)
}

/// `raw_orimap<256, 4>` (orimap.h): per 4×4 block, the sum of a second-order steerable-filter
/// response `Z2 = G20 · (G21 + i·G22)` with `G20 = Ixx + Iyy`, `G21 = Ixx − Iyy`,
/// `G22 = 2·Ixy` (x = column, y = row, derivatives from separable box sums/differences), i.e.
/// |∇²I|·|k|²·e^{2iφ}: a doubled-angle vector along the local ridge normal. It is scaled to
/// `complex<int8>` by `oct_sign(·, 50000)` (blocks whose larger component is below
/// 50001·127 become 0). The block sums pass through a one-cell delay (`dom`, which carries over
/// from one row to the next), and the image pointer starts `2·(width+1)+4` pixels in, both to
/// align the map with the image. The last row of the map is 0.
///
/// The first-order (`Z1`) and third-order (`Z3`) responses of the C++ are multiplied by zero
/// weights (`k1 = k3 = 0`) and are left out, with the delay lines only they use.
/// `int16` intermediates wrap (i16 wrapping ops); the `int32` products and sums wrap too.
fn raw_orimap(
    width: usize,
    in_image: &[u8],
    compute_footprint: bool,
    mut ori: Option<&mut [Ori]>,
    footprint: &mut [u8],
) {
    let ori_width = width / ORI_SCALE;
    let ori_size = in_image.len() / (ORI_SCALE * ORI_SCALE);
    // Typical background value (white), used to pre-load the delay lines: each is filled with
    // the steady-state value it would hold on a uniform 255 image.
    const FILLER: i16 = 255;

    // The C++ delay lines `x10c`, `x101`, `x201`, `x221` are rings of exactly `width` samples
    // pushed once per pixel of a raster scan of `width`-pixel lines, so their position is
    // always the column x: they are row buffers indexed by x. `x100` and `x102` delay by
    // `width + 1` samples: a row buffer followed by a one-sample delay (`c100`, `c102`).
    // `x103` delays by `width - 1`: at column x it returns what column x + 1 stored one line
    // earlier (for the last column: what column 0 stored on this line), read before column x
    // is overwritten. Every slot starts at the C++ delay's initial value, so the first
    // outputs are that value exactly as long as in the C++.
    // Per column: [x100, x102, x10c, x101, x201, x221].
    let mut cols = vec![[FILLER * 2, FILLER * 5, FILLER * 5, FILLER * 25, 0, 0]; width];
    let mut x103 = vec![FILLER * 10; width];
    let mut c100: i16 = FILLER * 2;
    let mut c102: i16 = FILLER * 5;
    // offset to put in sync with orientation map
    let p0 = (width + 1) * 2 + 4;
    let mut line = 0usize;

    let mut x0: i16 = 0;
    let mut x10: i16 = FILLER * 50;
    let mut x11: i16 = 0;
    let mut x20: i16 = 0;
    let mut x21: i16 = 0;
    let mut x22: i16 = 0;
    let mut dom = Complex32::default();

    let mut ori_mag = vec![Complex32::default(); ori_width];
    let mut y = 0;
    while y + ori_width < ori_size {
        ori_mag.fill(Complex32::default());
        for _ in 0..ORI_SCALE {
            // The C++ pointers p0 and p1 = p0 + width - 1 advance one pixel at a time.
            let start = p0 + line * width;
            line += 1;
            let a_line = &in_image[start..start + width];
            let b_line = &in_image[start + width - 1..start + 2 * width - 1];
            let mut x = 0usize;
            for (((mag, a4), b4), cols4) in ori_mag
                .iter_mut()
                .zip(a_line.chunks_exact(ORI_SCALE))
                .zip(b_line.chunks_exact(ORI_SCALE))
                .zip(cols.chunks_exact_mut(ORI_SCALE))
            {
                let mut z = Complex32::default();
                for ((&a, &b), col) in a4.iter().zip(b4).zip(cols4.iter_mut()) {
                    let a = i16::from(a);
                    let b = i16::from(b);
                    // smoothing: 5-point cross, then diagonal/vertical box sums
                    let cur = a.wrapping_add(b);
                    let d100 = delay1(&mut c100, std::mem::replace(&mut col[0], cur));
                    let mut v1 = d100.wrapping_add(cur).wrapping_add(delay1(&mut x0, a));
                    let d102 = delay1(&mut c102, std::mem::replace(&mut col[1], v1));
                    let v2 = d102.wrapping_add(v1);
                    let d103 = x103.get(x + 1).copied().unwrap_or(x103[0]);
                    x103[x] = v2;
                    x += 1;
                    let d10c = std::mem::replace(&mut col[2], v1);
                    v1 = d103.wrapping_add(v2).wrapping_add(d10c);
                    // first derivatives: v10 ~ -Ix, v11 ~ -Iy
                    let v1x = std::mem::replace(&mut col[3], v1);
                    let mut v10 = v1x.wrapping_add(v1);
                    v10 = delay1(&mut x10, v10).wrapping_sub(v10);
                    let mut v11 = v1x.wrapping_sub(v1);
                    v11 = delay1(&mut x11, v11).wrapping_add(v11);
                    // second derivatives: v20 ~ Ixx, v21 ~ Ixy, v22 ~ Iyy
                    let v10x = std::mem::replace(&mut col[4], v10);
                    let mut v20 = v10x.wrapping_add(v10);
                    v20 = delay1(&mut x20, v20).wrapping_sub(v20);
                    let mut v21 = v10x.wrapping_sub(v10);
                    v21 = delay1(&mut x21, v21).wrapping_add(v21);
                    let mut v22 = std::mem::replace(&mut col[5], v11).wrapping_sub(v11);
                    v22 = delay1(&mut x22, v22).wrapping_add(v22);

                    let g20 = i32::from(v20) + i32::from(v22);
                    let g21 = i32::from(v20) - i32::from(v22);
                    let g22 = 2 * i32::from(v21);
                    let z2 = Complex32::new(g20.wrapping_mul(g21), g20.wrapping_mul(g22));
                    // Z = k1*Z1 + k2*Z2 + k3*Z3 with k1 = 0, k2 = 1, k3 = 0
                    z = z.wrapping_add(z2);
                }
                *mag = mag.wrapping_add(z);
            }
        }
        for (x, mag) in ori_mag.iter().enumerate() {
            // 50000: noise threshold on max(|re|, |im|) / 127
            let o = oct_sign_tr(delay1(&mut dom, *mag), 50000);
            if compute_footprint {
                footprint[x + y] = u8::from(o != Ori::default());
            }
            if let Some(ori) = ori.as_deref_mut() {
                ori[x + y] = o;
            }
        }
        y += ori_width;
    }
    for x in ori_size.saturating_sub(ori_width)..ori_size {
        if compute_footprint {
            footprint[x] = 0;
        }
        if let Some(ori) = ori.as_deref_mut() {
            ori[x] = Ori::default();
        }
    }
}

/// `smooth_orimap<64, 5>` (orimap.h): in-place smoothing of the orientation map with a 9×9
/// triangular kernel (a 5-box convolved with a 5-box, weights 1,2,3,4,5,4,3,2,1 per axis,
/// total 625), centred on the cell; cells outside the map count as 0. Each result becomes
/// `postproc(sum)` where the footprint is set and 0 elsewhere.
///
/// The vertical running sums are `complex<int16>` and wrap (the wrap cancels: each 9-tap sum is
/// at most 25·127 per axis); the horizontal ones are `complex<int32>`.
fn smooth_orimap(
    width: usize,
    ori: &mut [Ori],
    footprint: &[u8],
    postproc: impl Fn(Complex32) -> Ori,
) {
    const N: usize = 5;
    const N1: usize = N - 1;
    let size = ori.len();
    let mut o1 = vec![Complex16::default(); width];
    let mut o2 = vec![Complex16::default(); width];
    let mut od1 = Delay::new(N * width, Complex16::default());
    let mut od2 = Delay::new(N * width, Complex16::default());
    let mut y = 0;
    while y < size + N1 * width {
        let mut od3 = Delay::new(N, Complex32::default());
        let mut od4 = Delay::new(N, Complex32::default());
        let mut o3 = Complex32::default();
        let mut o4 = Complex32::default();
        for x in 0..width + N1 {
            let mut o2t = Complex32::default();
            if x < width {
                let v = if y < size { ori[y + x] } else { Ori::default() };
                o1[x] = o1[x].add_ori(v);
                o2[x] = o2[x].wrapping_add(o1[x].wrapping_sub(od1.push(o1[x])));
                o2t = Complex32::from(o2[x].wrapping_sub(od2.push(o2[x])));
            }
            if y >= N1 * width {
                o3 = o3.wrapping_add(o2t);
                o4 = o4.wrapping_add(o3.wrapping_sub(od3.push(o3)));
                if x < N1 {
                    od4.push(o4);
                } else {
                    o2t = o4.wrapping_sub(od4.push(o4));
                    let pos = y + x - (width + 1) * N1;
                    ori[pos] = if footprint[pos] != 0 {
                        postproc(o2t)
                    } else {
                        Ori::default()
                    };
                }
            }
        }
        y += width;
    }
}

/// `boxfilt<64, BOXSIZE, uint8>` (orimap.h): in-place BOXSIZE×BOXSIZE box sum of a byte map
/// (`width` columns, cells outside count as 0), centred, followed by `f`. The running sums are
/// `uint8` and wrap as in C++ (harmless for the 0/1 footprint: sums ≤ 25).
fn boxfilt<const BOXSIZE: usize>(width: usize, inout: &mut [u8], f: impl Fn(u8) -> u8) {
    let n = BOXSIZE;
    let n2 = BOXSIZE / 2;
    let size = inout.len();
    let mut s1 = vec![0u8; width];
    let mut d1 = Delay::new(n * width, 0u8);
    let mut y = 0;
    while y < size + n2 * width {
        let mut d2 = Delay::new(n, 0u8);
        let mut s2: u8 = 0;
        for x in 0..width + n2 {
            let mut t: u8 = 0;
            if x < width {
                let v = if y < size { inout[y + x] } else { 0 };
                s1[x] = s1[x].wrapping_add(v);
                s1[x] = s1[x].wrapping_sub(d1.push(v));
                t = s1[x];
            }
            if y >= n2 * width {
                s2 = s2.wrapping_add(t);
                if x < n2 {
                    d2.push(t);
                } else {
                    s2 = s2.wrapping_sub(d2.push(t));
                    inout[y + x - (width + 1) * n2] = f(s2);
                }
            }
        }
        y += width;
    }
}

/// `g<N>` (orimap.h): threshold a box sum, `x > N ? 1 : 0`.
fn g<const N: u8>(x: u8) -> u8 {
    u8::from(x > N)
}

/// `fill_holes` (orimap.h): along each line (horizontal: `fill_holes(1, w, w, size, fp)`,
/// vertical: `fill_holes(w, size, 1, w, fp)`), set every cell strictly between the first and the
/// last set cell.
fn fill_holes(
    stride_x: usize,
    size_x: usize,
    stride_y: usize,
    size_y: usize,
    footprint: &mut [u8],
) {
    let Some(last_x) = size_x.checked_sub(stride_x) else {
        return;
    };
    let mut y = 0;
    while y < size_y {
        let p = &mut footprint[y..];
        let mut x1 = 0;
        while x1 < size_x {
            if p[x1] != 0 {
                break;
            }
            x1 += stride_x;
        }
        let mut x2 = last_x;
        while x2 > x1 {
            if p[x2] != 0 {
                break;
            }
            x2 -= stride_x;
        }
        let mut x = x1 + stride_x;
        while x < x2 {
            p[x] = 1;
            x += stride_x;
        }
        y += stride_y;
    }
}

/// `oct_sign_tr<128>` (orimap.h): `oct_sign(x, 128)`; a 9×9-smoothed doubled-angle vector
/// whose larger component is below 129·127 becomes 0.
fn oct_sign_tr128(x: Complex32) -> Ori {
    oct_sign_tr(x, 128)
}

/// `div2` (orimap.h): the unit vector (scale 127) at half the angle of `x`, i.e. from the
/// doubled-angle representation back to an orientation in [0, π).
fn div2(x: Complex32) -> Ori {
    let a = atan2(x.re, x.im) / 2;
    Ori {
        re: cos(a),
        im: sin(a),
    }
}

/// `orientation_map_and_footprint<256, 4>` (orimap.h), with `size = img.len()`.
///
/// * `compute_footprint`: the footprint (1 = fingerprint area) is rebuilt from the raw map:
///   3×3 box > 3, twice 5×5 box > 11, horizontal then vertical hole filling, twice 5×5 box > 14.
///   Otherwise `footprint` is only read (the C++ second call uses the first call's footprint).
/// * `ori`: when given, receives the raw map smoothed twice (9×9 triangular kernel):
///   first back to `oct_sign(·, 128)` doubled-angle vectors, then to the halved angle
///   (`div2`), masked by the footprint. `None` computes only the footprint (the first call in
///   `From333DpiImg`).
///
/// Every footprint cell the first call reads is written by `raw_orimap` first, so the previous
/// content of `footprint` does not matter when `compute_footprint` is true.
///
/// Preconditions (as produced by [`resize_to_333`]): `width` a multiple of 4 and ≥ 8,
/// `img.len()` a multiple of `4 * width`, `footprint` (and `ori`) at least
/// `img.len() / 16` cells. If they do not hold the function returns without doing anything.
pub fn orientation_map_and_footprint(
    width: usize,
    img: &[u8],
    compute_footprint: bool,
    ori: Option<&mut [Ori]>,
    footprint: &mut [u8],
) {
    let size = img.len();
    if width < 2 * ORI_SCALE || width % ORI_SCALE != 0 || size % (ORI_SCALE * width) != 0 {
        return;
    }
    let ori_width = width / ORI_SCALE;
    let ori_size = size / ORI_SCALE / ORI_SCALE;
    if ori_size == 0 || footprint.len() < ori_size {
        return;
    }
    let footprint = &mut footprint[..ori_size];
    let mut ori = match ori {
        Some(o) if o.len() < ori_size => return,
        Some(o) => Some(&mut o[..ori_size]),
        None => None,
    };

    raw_orimap(width, img, compute_footprint, ori.as_deref_mut(), footprint);
    if compute_footprint {
        boxfilt::<3>(ori_width, footprint, g::<3>);
        boxfilt::<5>(ori_width, footprint, g::<11>);
        boxfilt::<5>(ori_width, footprint, g::<11>);
        fill_holes(1, ori_width, ori_width, ori_size, footprint);
        fill_holes(ori_width, ori_size, 1, ori_width, footprint);
        boxfilt::<5>(ori_width, footprint, g::<14>);
        boxfilt::<5>(ori_width, footprint, g::<14>);
    }
    if let Some(ori) = ori {
        smooth_orimap(ori_width, ori, footprint, oct_sign_tr128);
        smooth_orimap(ori_width, ori, footprint, div2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_uniform_and_crop() {
        // 600×900 at 500 ppi → 400×600 at 333 ppi → centred crop to 256×400.
        let img = vec![255u8; 600 * 900];
        let r = resize_to_333(&img, 600, 900, 500).expect("a valid test image");
        assert_eq!((r.width, r.height), (256, 400));
        // x: (400 - 256) / 2 = 72 extra; y: (600 - 400) / 2 = 100 extra.
        assert_eq!((r.x_offs, r.y_offs, r.resolution), (1 + 72, 6 + 100, 500));
        // 9 · 255 · 28 / 256 = 251: the 3:2 filter's gain is 9·28/256.
        assert!(r.img.iter().all(|&v| v == 251));
        assert_eq!(ori_width(r.width), 64);
        assert_eq!(ori_size(r.width, r.height), 6400);
        // Resolutions outside 450..=550 are not handled by this path.
        assert_eq!(
            resize_to_333(&img, 600, 900, 400),
            Err(FjError::InvalidImage)
        );
        // Too small an image, too small a buffer.
        assert_eq!(
            resize_to_333(&img, 100, 100, 500),
            Err(FjError::InvalidImage)
        );
        assert_eq!(
            resize_to_333(&img[..1000], 600, 900, 500),
            Err(FjError::InvalidImage)
        );
    }

    #[test]
    fn uniform_image_has_no_footprint() {
        let (w, h) = (128, 160);
        for v in [255u8, 128, 0] {
            let img = vec![v; w * h];
            let n = ori_size(w, h);
            let mut fp = vec![0xAAu8; n];
            orientation_map_and_footprint(w, &img, true, None, &mut fp);
            assert!(fp.iter().all(|&f| f == 0), "value {v}");
            let mut ori = vec![Ori { re: 5, im: 5 }; n];
            orientation_map_and_footprint(w, &img, false, Some(&mut ori), &mut fp);
            assert!(ori.iter().all(|&o| o == Ori::default()), "value {v}");
        }
    }

    /// Sinusoidal ridges whose wave vector (ridge normal) points at `theta` radians
    /// (x = column, y = row downwards); period `t` pixels.
    fn sinusoid(w: usize, h: usize, theta: f64, t: f64) -> Vec<u8> {
        let (c, s) = (theta.cos(), theta.sin());
        let mut img = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let phase = 2.0 * std::f64::consts::PI * (c * x as f64 + s * y as f64) / t;
                img[y * w + x] = (128.0 + 100.0 * phase.cos()).round() as u8;
            }
        }
        img
    }

    #[test]
    fn sinusoid_orientation_is_ridge_normal() {
        let (w, h) = (128, 128);
        let n = ori_size(w, h);
        let ow = ori_width(w);
        // theta in binary angle units (64 = 90°); the map holds 127·(cos, sin) of the ridge
        // normal, modulo 180°.
        for theta_u8 in [0u8, 16, 32, 64, 96, 112] {
            let theta = f64::from(theta_u8) * std::f64::consts::PI / 128.0;
            let img = sinusoid(w, h, theta, 8.0);
            let mut fp = vec![0u8; n];
            orientation_map_and_footprint(w, &img, true, None, &mut fp);
            let mut ori = vec![Ori::default(); n];
            orientation_map_and_footprint(w, &img, false, Some(&mut ori), &mut fp);
            let (ec, es) = (f64::from(cos(theta_u8)), f64::from(sin(theta_u8)));
            let mut checked = 0;
            for cy in 8..n / ow - 8 {
                for cx in 8..ow - 8 {
                    let i = cy * ow + cx;
                    assert_eq!(
                        fp[i], 1,
                        "theta {theta_u8}: interior cell ({cx},{cy}) not in footprint"
                    );
                    let o = ori[i];
                    // |cos| of the angle between the map vector and the expected axis.
                    let dot = (f64::from(o.re) * ec + f64::from(o.im) * es).abs() / (127.0 * 127.0);
                    assert!(dot > 0.97, "theta {theta_u8}: ({cx},{cy}) = {o:?}");
                    checked += 1;
                }
            }
            assert!(checked > 100);
        }
    }
}
