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

/// NIST's region of interest: the print eroded (5×5), blurred (41 taps), split by Otsu, that
/// blurred again (91 taps) and split again, its holes filled and its largest blob kept; with the
/// mean grey level of the print inside. Every step is exact (integers, or OpenCV's own f64
/// arithmetic for Otsu), so the mask is OpenCV's to the pixel.
pub(super) fn region_of_interest(image: &Grey) -> Roi {
    let (w, h) = (image.width, image.height);
    let eroded = erode(image);
    let blurred = gaussian_blur(&eroded, w, h, 41);
    let once = otsu_binarise(&blurred);
    let blurred = gaussian_blur_binary(&once, w, h, 91);
    let mut binary = otsu_binarise(&blurred);
    fill_holes(&mut binary, w, h);
    keep_largest_blob(&mut binary, w, h);
    let mask: Vec<bool> = binary.iter().map(|&v| v == 0).collect();
    // Whole grey levels: the sum is exact in a u64 and, below 2⁵³, in the f64 it becomes.
    let (mut n, mut sum) = (0usize, 0u64);
    for (&inside, &p) in mask.iter().zip(&image.pixels) {
        n += usize::from(inside);
        sum += u64::from(p) * u64::from(inside);
    }
    Roi {
        mean: if n == 0 { 255.0 } else { sum as f64 / n as f64 },
        area: n,
        mask,
    }
}

/// `erode` with a 5×5 square: the minimum over the neighbours inside the image. The square is
/// separable (a minimum of minima), so a 5-wide minimum along each row, padded with 255 (which
/// never wins), then a 5-high one down each column of that: the same minimum, exactly.
fn erode(image: &Grey) -> Vec<u8> {
    let (w, h) = (image.width, image.height);
    let mut rows = vec![0u8; w * h];
    let mut line = vec![255u8; w + 4];
    for (source, out) in image
        .pixels
        .chunks_exact(w.max(1))
        .zip(rows.chunks_exact_mut(w.max(1)))
    {
        line[2..w + 2].copy_from_slice(source);
        let shifted = |k: usize| &line[k..k + w];
        for (((((o, a), b), c), d), e) in out
            .iter_mut()
            .zip(shifted(0))
            .zip(shifted(1))
            .zip(shifted(2))
            .zip(shifted(3))
            .zip(shifted(4))
        {
            *o = (*a).min(*b).min(*c).min(*d).min(*e);
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let (a, b) = (y.saturating_sub(2), (y + 2).min(h - 1));
        let target = &mut out[y * w..(y + 1) * w];
        target.copy_from_slice(&rows[a * w..(a + 1) * w]);
        for yy in a + 1..=b {
            for (o, v) in target.iter_mut().zip(&rows[yy * w..(yy + 1) * w]) {
                *o = (*o).min(*v);
            }
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
/// the integer sum Σᵢ Σⱼ kᵢ kⱼ p over the window (borders reflected, 101), rounded back to 8 bits
/// as `(s + 2¹⁵) >> 16`. The sum is an integer, so any exact way to form it gives the same pixel:
/// here columns first, then rows, each as box sums over prefix sums ([`BoxSums`]). The column
/// sums are at most 256 × 255 and fit a `u16`; the whole at most 256 × that and fits a `u32`.
fn gaussian_blur(pixels: &[u8], w: usize, h: usize, n: usize) -> Vec<u8> {
    let kernel = fixed_point_kernel(n);
    let Some(boxes) = BoxSums::new(&kernel) else {
        return gaussian_blur_direct(pixels, w, h, n);
    };
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let columns = column_sums(pixels, w, h, &boxes, u16::from);
    let border = reflected_indices(w, n);
    let mut prefix = vec![0u32; border.len() + 1];
    let mut sums = vec![0u32; w];
    let mut out = vec![0u8; w * h];
    for (row, target) in columns.chunks_exact(w).zip(out.chunks_exact_mut(w)) {
        let mut running = 0u32;
        for (p, &i) in prefix[1..].iter_mut().zip(&border) {
            running = running.wrapping_add(u32::from(row[i]));
            *p = running;
        }
        boxes.apply_u32(&prefix, 1, &mut sums);
        for (o, &s) in target.iter_mut().zip(&sums) {
            *o = ((s + (1 << 15)) >> 16).min(255) as u8;
        }
    }
    out
}

/// [`gaussian_blur`] of a binary image (every pixel 0 or 255), bit-exact too: the column pass
/// sums the weights of the 255s, c = Σ kᵢ [pᵢ = 255] ≤ 256 (a `u16`), and the row pass
/// s = Σ kⱼ cⱼ ≤ 65536 in `u16` arithmetic, that is modulo 65536. Only 0 and 65536 share a
/// residue, and they differ at the centre: 65536 needs every cⱼ under a nonzero tap at 256, the
/// centre's included, and 0 needs the centre's at 0. The whole sum is then 255 s, rounded.
fn gaussian_blur_binary(pixels: &[u8], w: usize, h: usize, n: usize) -> Vec<u8> {
    debug_assert!(pixels.iter().all(|&p| p == 0 || p == 255));
    let kernel = fixed_point_kernel(n);
    let centre = kernel.get(n / 2).copied().unwrap_or(0);
    let Some(boxes) = BoxSums::new(&kernel).filter(|_| centre > 0) else {
        return gaussian_blur_direct(pixels, w, h, n);
    };
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let columns = column_sums(pixels, w, h, &boxes, |p| u16::from(p != 0));
    let border = reflected_indices(w, n);
    let mut prefix = vec![0u16; border.len() + 1];
    let mut sums = vec![0u16; w];
    let mut out = vec![0u8; w * h];
    for (row, target) in columns.chunks_exact(w).zip(out.chunks_exact_mut(w)) {
        let mut running = 0u16;
        for (p, &i) in prefix[1..].iter_mut().zip(&border) {
            running = running.wrapping_add(row[i]);
            *p = running;
        }
        boxes.apply_u16(&prefix, 1, &mut sums);
        for ((o, &s), &c) in target.iter_mut().zip(&sums).zip(row) {
            let s = if s == 0 && c != 0 {
                1 << 16
            } else {
                u32::from(s)
            };
            *o = ((255 * s + (1 << 15)) >> 16).min(255) as u8;
        }
    }
    out
}

/// The vertical pass of the blurs: for each pixel Σᵢ kᵢ v(row y + i − n/2, reflected), with
/// v = `value` of the pixel, in `u16` arithmetic (exact when the true sums stay below 65536).
/// Running sums down the (reflected) columns, then box sums between rows of them.
fn column_sums(
    pixels: &[u8],
    w: usize,
    h: usize,
    boxes: &BoxSums,
    value: impl Fn(u8) -> u16,
) -> Vec<u16> {
    let n = boxes.taps;
    let mut prefix = vec![0u16; (h + n) * w];
    for t in 0..h + n - 1 {
        let source = reflect(t as i64 - (n / 2) as i64, h);
        let (done, next) = prefix.split_at_mut((t + 1) * w);
        let above = &done[t * w..];
        for ((p, &a), &v) in next[..w]
            .iter_mut()
            .zip(above)
            .zip(&pixels[source * w..(source + 1) * w])
        {
            *p = a.wrapping_add(value(v));
        }
    }
    let mut out = vec![0u16; w * h];
    for (y, target) in out.chunks_exact_mut(w).enumerate() {
        boxes.apply_u16(&prefix[y * w..], w, target);
    }
    out
}

/// For each of `n + w − 1` positions of a row padded by `n / 2` on each side, the column it
/// reflects (101) to.
fn reflected_indices(w: usize, n: usize) -> Vec<usize> {
    (0..w + n - 1)
        .map(|i| reflect(i as i64 - (n / 2) as i64, w))
        .collect()
}

/// A nonnegative kernel k as box sums: with P the running sum of a line (P₀ = 0,
/// Pₜ₊₁ = Pₜ + vₜ), Σⱼ kⱼ vₓ₊ⱼ = Σₜ (kₜ₋₁ − kₜ) Pₓ₊ₜ (k₋₁ = kₙ = 0). Each unit step up or
/// down of the kernel is one term; as many steps go up as down, so the terms pair into boxes
/// `(a, b)` adding Pₓ₊ₐ − Pₓ₊ᵦ. Integer sums in wrapping arithmetic are exact modulo 2¹⁶ or 2³²,
/// and so exact outright when the true sum fits.
struct BoxSums {
    taps: usize,
    boxes: Vec<(usize, usize)>,
}

impl BoxSums {
    /// `None` when the kernel has negative taps, does not sum to 256 (the bounds above rest on
    /// both) or has more boxes than pairs of taps (the direct sum is then cheaper).
    fn new(kernel: &[i64]) -> Option<Self> {
        let n = kernel.len();
        if n == 0 || kernel.iter().any(|&k| k < 0) || kernel.iter().sum::<i64>() != 256 {
            return None;
        }
        let (mut up, mut down) = (Vec::new(), Vec::new());
        for t in 0..=n {
            let before = if t == 0 { 0 } else { kernel[t - 1] };
            let here = kernel.get(t).copied().unwrap_or(0);
            let steps = (before - here).unsigned_abs() as usize;
            let side = if before > here { &mut up } else { &mut down };
            side.extend(std::iter::repeat_n(t, steps));
        }
        if up.len() != down.len() || up.len() > n / 2 + 1 {
            return None;
        }
        Some(BoxSums {
            taps: n,
            boxes: up.into_iter().zip(down).collect(),
        })
    }
}

/// `apply_u16` and `apply_u32`: `out[x] = Σ (P[x + a·stride] − P[x + b·stride])` over the
/// boxes, where a step of the kernel is `stride` elements. Blocks of `LANES` outputs are summed
/// in registers over all the boxes before being stored; the last block overlaps the one before
/// rather than leaving a tail (its outputs are recomputed to the same values).
macro_rules! apply_boxes {
    ($name:ident, $t:ty, $lanes:expr) => {
        impl BoxSums {
            fn $name(&self, prefix: &[$t], stride: usize, out: &mut [$t]) {
                const LANES: usize = $lanes;
                let w = out.len();
                let offsets: Vec<(usize, usize)> = self
                    .boxes
                    .iter()
                    .map(|&(a, b)| (a * stride, b * stride))
                    .collect();
                if w < LANES {
                    for (i, o) in out.iter_mut().enumerate() {
                        *o = offsets.iter().fold(0, |s: $t, &(a, b)| {
                            s.wrapping_add(prefix[i + a].wrapping_sub(prefix[i + b]))
                        });
                    }
                    return;
                }
                let mut x = 0;
                loop {
                    let mut acc = [0 as $t; LANES];
                    for &(a, b) in &offsets {
                        let plus = &prefix[x + a..x + a + LANES];
                        let minus = &prefix[x + b..x + b + LANES];
                        for ((s, &p), &m) in acc.iter_mut().zip(plus).zip(minus) {
                            *s = s.wrapping_add(p.wrapping_sub(m));
                        }
                    }
                    out[x..x + LANES].copy_from_slice(&acc);
                    if x + LANES == w {
                        break;
                    }
                    x = (x + LANES).min(w - LANES);
                }
            }
        }
    };
}
apply_boxes!(apply_u16, u16, 64);
apply_boxes!(apply_u32, u32, 32);

/// [`gaussian_blur`] tap by tap, for kernels too bumpy for box sums (few taps, large weights):
/// rows first (integer sums), then columns, rounded back to 8 bits; borders reflected (101).
/// Both passes run tap by tap over whole rows, which the compiler turns into vector code.
fn gaussian_blur_direct(pixels: &[u8], w: usize, h: usize, n: usize) -> Vec<u8> {
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
/// The histogram is counted in four interleaved tables (neighbouring pixels, often equal, then
/// do not wait on each other's counts) and added up: the same counts.
fn otsu_binarise(pixels: &[u8]) -> Vec<u8> {
    let mut tables = [[0u32; 256]; 4];
    let mut quads = pixels.chunks_exact(4);
    for quad in &mut quads {
        for (table, &p) in tables.iter_mut().zip(quad) {
            table[usize::from(p)] += 1;
        }
    }
    for &p in quads.remainder() {
        tables[0][usize::from(p)] += 1;
    }
    let mut histogram = [0u64; 256];
    for (i, count) in histogram.iter_mut().enumerate() {
        *count = tables.iter().map(|t| u64::from(t[i])).sum();
    }
    let scale = 1.0 / pixels.len().max(1) as f64;
    let mu: f64 = histogram
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum::<f64>()
        * scale;
    let (mut mu1, mut q1) = (0f64, 0f64);
    let (mut best_sigma, mut best) = (0f64, 0u8);
    for (i, &count) in (0u8..=255).zip(&histogram) {
        let p_i = count as f64 * scale;
        mu1 *= q1;
        q1 += p_i;
        let q2 = 1.0 - q1;
        if q1.min(q2) < f64::from(f32::EPSILON) || q1.max(q2) > 1.0 - f64::from(f32::EPSILON) {
            continue;
        }
        mu1 = (mu1 + f64::from(i) * p_i) / q1;
        let mu2 = (mu - q1 * mu1) / q2;
        let sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
        if sigma > best_sigma {
            best_sigma = sigma;
            best = i;
        }
    }
    pixels
        .iter()
        .map(|&p| if p > best { 255 } else { 0 })
        .collect()
}

/// The runs of pixels equal to `value`, row by row in raster order, as (row, first, end) with
/// `end` exclusive, and where each row's runs begin in that list (one more entry: the end).
fn runs(binary: &[u8], w: usize, value: u8) -> (Vec<(usize, usize, usize)>, Vec<usize>) {
    let mut list = Vec::new();
    let mut starts = Vec::new();
    for (y, row) in binary.chunks_exact(w.max(1)).enumerate() {
        starts.push(list.len());
        let mut x = 0;
        while x < row.len() {
            match row[x..].iter().position(|&v| v == value) {
                None => break,
                Some(skip) => {
                    let first = x + skip;
                    let length = row[first..]
                        .iter()
                        .position(|&v| v != value)
                        .unwrap_or(row.len() - first);
                    list.push((y, first, first + length));
                    x = first + length;
                }
            }
        }
    }
    starts.push(list.len());
    (list, starts)
}

/// The 4-connected components of runs ([`runs`]): for each run, the index of the first run (in
/// raster order) of its component. Runs on neighbouring rows touch when they share a column;
/// union-find keeps the smaller index as the root, so a root is its component's first run, and
/// components in root order are in the raster order of their first pixels.
fn run_components(list: &[(usize, usize, usize)], starts: &[usize]) -> Vec<usize> {
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..list.len()).collect();
    for rows in starts.windows(3) {
        let (mut i, mut j) = (rows[0], rows[1]);
        while i < rows[1] && j < rows[2] {
            let ((_, a0, a1), (_, b0, b1)) = (list[i], list[j]);
            if a0 < b1 && b0 < a1 {
                let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
                parent[ra.max(rb)] = ra.min(rb);
            }
            if a1 <= b1 {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    (0..list.len()).map(|i| root(&mut parent, i)).collect()
}

/// Fills the holes of the finger (0): every 255-region not 4-connected to the image's frame
/// becomes 0. The frame's own pixels count as outside (OpenCV's `findContours` clears them).
/// Found on runs: a 255-run is outside when it lies on the frame or next to it (a frame pixel
/// of any value is outside and reaches its 255 neighbours), and so is all of its component.
fn fill_holes(binary: &mut [u8], w: usize, h: usize) {
    let (list, starts) = runs(binary, w, 255);
    let roots = run_components(&list, &starts);
    let mut outside = vec![false; list.len()];
    for (&(y, first, end), &r) in list.iter().zip(&roots) {
        if y <= 1 || y + 2 >= h || first <= 1 || end + 1 >= w {
            outside[r] = true;
        }
    }
    for (&(y, first, end), &r) in list.iter().zip(&roots) {
        if !outside[r] {
            binary[y * w + first..y * w + end].fill(0);
        }
    }
}

/// Keeps the 4-connected 0-region whose bounding box is largest (the first found in raster
/// order on a tie); the others become 255. Components of runs ([`run_components`]), their
/// boxes from their runs' rows and ends.
fn keep_largest_blob(binary: &mut [u8], w: usize, h: usize) {
    let (list, starts) = runs(binary, w, 0);
    let roots = run_components(&list, &starts);
    let mut boxes = vec![(w, h, 0, 0); list.len()];
    for (&(y, first, end), &r) in list.iter().zip(&roots) {
        let (x0, y0, x1, y1) = boxes[r];
        boxes[r] = (x0.min(first), y0.min(y), x1.max(end - 1), y1.max(y));
    }
    let (mut keep, mut largest) = (0usize, 0usize);
    for (id, &(x0, y0, x1, y1)) in boxes.iter().enumerate() {
        if roots[id] == id {
            let area = (x1 - x0 + 1) * (y1 - y0 + 1);
            if area > largest {
                (keep, largest) = (id, area);
            }
        }
    }
    for (&(y, first, end), &r) in list.iter().zip(&roots) {
        if r != keep {
            binary[y * w + first..y * w + end].fill(255);
        }
    }
}

/// `OrientationMap_ROIFilter_CoherenceSum` and `_CoherenceRel`: the orientation coherence of
/// each 32×32 tile (edge tiles partial) holding any of the region of interest, summed, and that
/// sum over the number of such tiles.
///
/// NIST sums, over the tile's gradients (p, q) (Matlab's `gradient`: halves of whole
/// differences), 2pq, p² − q² and √((2pq)² + (p² − q²)²) in f64. Each of these is a multiple of
/// ¼ below 2¹⁸, computed exactly, and the square root is of the exact square of p² + q², so it
/// is p² + q² exactly (IEEE square roots are correctly rounded); over at most 1024 pixels every
/// partial sum stays a multiple of ¼ below 2²⁸, exact in f64 in any order. So the three sums
/// are formed here in integers from the doubled gradients X = 2p, Y = 2q (|X|, |Y| ≤ 510):
/// Σ(X² − Y²), Σ 2XY and Σ(X² + Y²), each at most 1024 · 2 · 510² < 2³¹ in size, then divided
/// by 4: the very f64 values an f64 loop over these terms reaches (the port's earlier one did,
/// on 961 of 961 prints). NIST's figures still differ by up to 0.001 on about 1 % of prints,
/// from a cause elsewhere not traced yet (`docs/benchmarks.md`).
pub(super) fn coherence(image: &Grey, roi: &Roi) -> (f64, f64) {
    let (w, h) = (image.width, image.height);
    let (mut sum, mut tiles) = (0f64, 0usize);
    let mut gx = [0i32; BLOCK];
    let mut gy = [0i32; BLOCK];
    for y in (0..h).step_by(BLOCK) {
        for x in (0..w).step_by(BLOCK) {
            let (bw, bh) = ((w - x).min(BLOCK), (h - y).min(BLOCK));
            let inside =
                (y..y + bh).any(|yy| roi.mask[yy * w + x..yy * w + x + bw].contains(&true));
            if !inside {
                continue;
            }
            tiles += 1;
            let row = |r: usize| &image.pixels[(y + r) * w + x..(y + r) * w + x + bw];
            let (mut along, mut across, mut magnitude) = (0i32, 0i32, 0i32);
            for r in 0..bh {
                doubled_gradient_row(row(r), &mut gx[..bw]);
                let (gy, line) = (&mut gy[..bw], row(r));
                if bh < 2 {
                    gy.fill(0);
                } else {
                    let (above, below, twice) = match r {
                        0 => (line, row(1), 2),
                        r if r == bh - 1 => (row(r - 1), line, 2),
                        r => (row(r - 1), row(r + 1), 1),
                    };
                    for ((g, &a), &b) in gy.iter_mut().zip(above).zip(below) {
                        *g = twice * (i32::from(b) - i32::from(a));
                    }
                }
                for (&p, &q) in gx[..bw].iter().zip(gy.iter()) {
                    along += p * p - q * q;
                    across += 2 * p * q;
                    magnitude += p * p + q * q;
                }
            }
            let (sx, sy) = (f64::from(along) / 4.0, f64::from(across) / 4.0);
            let magnitude = f64::from(magnitude) / 4.0;
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

/// Twice Matlab's `gradient` along a line of grey levels: twice the forward differences at the
/// ends, the central differences inside (0 for a single pixel).
fn doubled_gradient_row(line: &[u8], out: &mut [i32]) {
    let n = line.len();
    if n < 2 {
        out.fill(0);
        return;
    }
    let v = |i: usize| i32::from(line[i]);
    out[0] = 2 * (v(1) - v(0));
    out[n - 1] = 2 * (v(n - 1) - v(n - 2));
    for ((o, &a), &b) in out[1..n - 1].iter_mut().zip(line).zip(&line[2..]) {
        *o = i32::from(b) - i32::from(a);
    }
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

    /// `blur` gives the tap-by-tap blur's pixels for 3, 41 and 91 taps on every size in `sizes`
    /// (images narrower and shorter than the kernel among them), the image at (x, y) `pixel`.
    fn assert_like_naive(
        blur: fn(&[u8], usize, usize, usize) -> Vec<u8>,
        sizes: &[(usize, usize)],
        pixel: impl Fn(usize, usize, usize) -> u8,
    ) {
        for n in [3usize, 41, 91] {
            for &(w, h) in sizes {
                let pixels: Vec<u8> = (0..w * h).map(|i| pixel(i % w, i / w, w)).collect();
                assert_eq!(
                    blur(&pixels, w, h, n),
                    naive_blur(&pixels, w, h, n),
                    "{n} taps on {w}×{h}"
                );
            }
        }
    }

    const SIZES: [(usize, usize); 6] = [(1, 1), (2, 3), (7, 5), (12, 40), (45, 9), (100, 64)];

    #[test]
    fn the_paired_blur_equals_the_tap_by_tap_one_even_on_images_narrower_than_the_kernel() {
        assert_like_naive(gaussian_blur, &SIZES, |x, y, w| {
            let i = y * w + x;
            ((i * 37 + y * 11) % 256) as u8
        });
    }

    #[test]
    fn the_binary_blur_equals_the_tap_by_tap_one_on_zeros_and_255s() {
        let mut sizes = SIZES.to_vec();
        sizes.push((130, 120));
        // Blobs, stripes, and all-set and all-clear stretches (sums of 0 and 65536).
        assert_like_naive(gaussian_blur_binary, &sizes, |x, y, _| {
            let set = (x / 17 + y / 23) % 3 != 0 || (x * 7 + y * 3) % 11 == 0;
            if set {
                255
            } else {
                0
            }
        });
    }

    #[test]
    fn the_separable_erosion_is_the_minimum_over_the_square() {
        let (w, h) = (37usize, 29usize);
        let image = Grey {
            width: w,
            height: h,
            pixels: (0..w * h)
                .map(|i| ((i * 97 + i / w * 13) % 251) as u8)
                .collect(),
        };
        let eroded = erode(&image);
        for y in 0..h {
            for x in 0..w {
                let mut least = 255;
                for yy in y.saturating_sub(2)..=(y + 2).min(h - 1) {
                    for xx in x.saturating_sub(2)..=(x + 2).min(w - 1) {
                        least = least.min(image.at(xx, yy));
                    }
                }
                assert_eq!(eroded[y * w + x], least, "({x}, {y})");
            }
        }
    }

    #[test]
    fn the_integer_coherence_equals_nist_s_floating_point_loop() {
        let (w, h) = (150usize, 97usize);
        let image = Grey {
            width: w,
            height: h,
            pixels: (0..w * h)
                .map(|i| {
                    let (x, y) = ((i % w) as f64, (i / w) as f64);
                    (128.0 + 90.0 * (x * 0.7 + y * 0.3).sin() + (i % 7) as f64) as u8
                })
                .collect(),
        };
        // Everything but the first tile column: partial tiles at the right and bottom edges.
        let mask: Vec<bool> = (0..w * h).map(|i| i % w >= BLOCK).collect();
        let roi = Roi {
            area: mask.iter().filter(|&&m| m).count(),
            mean: 0.0,
            mask,
        };
        let (mut sum, mut tiles) = (0f64, 0usize);
        for y in (0..h).step_by(BLOCK) {
            for x in (BLOCK..w).step_by(BLOCK) {
                let (bw, bh) = ((w - x).min(BLOCK), (h - y).min(BLOCK));
                tiles += 1;
                let (gx, gy) = super::super::blocks::block_gradients(&image, x, y, bw, bh);
                let (mut sx, mut sy, mut magnitude) = (0f64, 0f64, 0f64);
                for (p, q) in gx.iter().zip(&gy) {
                    let across = 2.0 * p * q;
                    let along = p * p - q * q;
                    sy += across;
                    sx += along;
                    magnitude += (across * across + along * along).sqrt();
                }
                let c = (sx * sx + sy * sy).sqrt() / magnitude;
                sum += if c.is_nan() { 0.0 } else { c };
            }
        }
        let (s, r) = coherence(&image, &roi);
        assert_eq!(s.to_bits(), sum.to_bits());
        assert_eq!(r.to_bits(), (sum / tiles as f64).to_bits());
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
