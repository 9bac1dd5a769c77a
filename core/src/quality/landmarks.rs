//! Face landmarks from a trained model: dlib's 5-point shape predictor (Kazemi & Sullivan's
//! ensemble of regression trees, "One Millisecond Face Alignment", CVPR 2014), read from dlib's
//! own model file and evaluated here as dlib's `shape_predictor::operator()` does.
//!
//! The model, `core/models/shape_predictor_5_face_landmarks.dat`, is Davis King's, trained on
//! dlib's own 7,198 annotated faces and released under CC0 (PyPI `face-recognition-models`
//! 0.3.0). It is compiled into the station: nothing is fetched at run time. Its five points are
//! the outer and inner corner of each eye and the base of the nose (below the tip, between the
//! nostrils). It has no mouth corners; dlib's 68-point model has them but was trained on iBUG
//! 300-W, whose licence excludes commercial use, so it cannot ship.
//!
//! The cascade moves a mean shape, placed in the face box, towards the face: at each of its
//! levels, grey values at pixels anchored to the current shape feed a few hundred depth-4
//! trees, whose leaves add to the shape.

use std::sync::OnceLock;

/// dlib's 5-point shape predictor, shipped with the station (CC0).
static MODEL_BYTES: &[u8] = include_bytes!("../../models/shape_predictor_5_face_landmarks.dat");

/// The five points, in the model's order, in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FivePoints {
    /// Outer and inner corner of the eye on the image's right (the person's left eye).
    pub right_eye: [(f64, f64); 2],
    /// Outer and inner corner of the eye on the image's left (the person's right eye).
    pub left_eye: [(f64, f64); 2],
    /// The base of the nose.
    pub nose: (f64, f64),
}

impl FivePoints {
    /// All five, in the model's order.
    pub fn all(&self) -> [(f64, f64); 5] {
        [
            self.right_eye[0],
            self.right_eye[1],
            self.left_eye[0],
            self.left_eye[1],
            self.nose,
        ]
    }
}

/// A greyscale image the predictor reads: row-major, one byte per pixel.
#[derive(Debug, Clone, Copy)]
pub struct GreyView<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height` grey values.
    pub pixels: &'a [u8],
}

struct Split {
    idx1: u32,
    idx2: u32,
    thresh: f32,
}

struct Tree {
    splits: Vec<Split>,
    /// `splits.len() + 1` leaves of `2 × points` values each, back to back.
    leaves: Vec<f32>,
}

/// The parsed model.
pub struct ShapePredictor {
    initial: Vec<f32>,
    forests: Vec<Vec<Tree>>,
    anchors: Vec<Vec<u32>>,
    deltas: Vec<Vec<(f32, f32)>>,
}

impl std::fmt::Debug for ShapePredictor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShapePredictor")
            .field("points", &(self.initial.len() / 2))
            .field("levels", &self.forests.len())
            .finish()
    }
}

/// The shipped model, parsed once.
pub fn shipped() -> Option<&'static ShapePredictor> {
    static MODEL: OnceLock<Option<ShapePredictor>> = OnceLock::new();
    MODEL
        .get_or_init(|| ShapePredictor::parse(MODEL_BYTES).ok())
        .as_ref()
}

/// Why a model file did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the landmark model is damaged: {0}")]
pub struct ParseError(String);

/// dlib's serialization: integers as a length byte (low nibble: bytes that follow, 0x80:
/// negative) and that many little-endian bytes; floats as an integer mantissa and exponent.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn int(&mut self) -> Result<i64, ParseError> {
        let head = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| ParseError("it ends too soon".into()))?;
        let size = usize::from(head & 0x0f);
        if size > 8 {
            return Err(ParseError(format!("an integer of {size} bytes")));
        }
        let body = self
            .bytes
            .get(self.at + 1..self.at + 1 + size)
            .ok_or_else(|| ParseError("it ends too soon".into()))?;
        self.at += 1 + size;
        let magnitude = body
            .iter()
            .rev()
            .fold(0u64, |value, &b| (value << 8) | u64::from(b));
        let magnitude =
            i64::try_from(magnitude).map_err(|_| ParseError("an integer overflows".into()))?;
        Ok(if head & 0x80 != 0 {
            -magnitude
        } else {
            magnitude
        })
    }

    fn count(&mut self, limit: usize) -> Result<usize, ParseError> {
        let n = self.int()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= limit)
            .ok_or_else(|| ParseError(format!("a count of {n}")))
    }

    fn float(&mut self) -> Result<f32, ParseError> {
        let mantissa = self.int()?;
        let exponent = self.int()?;
        match exponent {
            32000..=32002 => Err(ParseError("a value that is not finite".into())),
            _ if exponent.abs() > 2000 => Err(ParseError(format!("an exponent of {exponent}"))),
            _ => Ok((mantissa as f64 * 2f64.powi(exponent as i32)) as f32),
        }
    }

    /// A `matrix<float,0,1>`: its dimensions are written negated.
    fn column(&mut self) -> Result<Vec<f32>, ParseError> {
        let rows = -self.int()?;
        let columns = -self.int()?;
        if columns != 1 || !(0..=10_000).contains(&rows) {
            return Err(ParseError(format!("a {rows}×{columns} matrix")));
        }
        (0..rows).map(|_| self.float()).collect()
    }
}

impl ShapePredictor {
    /// Parses dlib's serialized `shape_predictor`.
    ///
    /// # Errors
    /// [`ParseError`] naming what is wrong when the bytes are not such a model.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader { bytes, at: 0 };
        let version = r.int()?;
        if version != 1 {
            return Err(ParseError(format!("version {version}, not 1")));
        }
        let initial = r.column()?;
        if initial.len() < 4 || initial.len() % 2 != 0 {
            return Err(ParseError(format!("{} shape values", initial.len())));
        }
        let levels = r.count(100)?;
        let mut forests = Vec::with_capacity(levels);
        for _ in 0..levels {
            let trees = r.count(100_000)?;
            let mut forest = Vec::with_capacity(trees);
            for _ in 0..trees {
                let n = r.count(1 << 16)?;
                let mut splits = Vec::with_capacity(n);
                for _ in 0..n {
                    let idx1 = r.count(u32::MAX as usize)? as u32;
                    let idx2 = r.count(u32::MAX as usize)? as u32;
                    let thresh = r.float()?;
                    splits.push(Split { idx1, idx2, thresh });
                }
                let leaf_count = r.count(1 << 17)?;
                if leaf_count != n + 1 {
                    return Err(ParseError(format!("{leaf_count} leaves for {n} splits")));
                }
                let mut leaves = Vec::with_capacity(leaf_count * initial.len());
                for _ in 0..leaf_count {
                    let leaf = r.column()?;
                    if leaf.len() != initial.len() {
                        return Err(ParseError(format!("a leaf of {} values", leaf.len())));
                    }
                    leaves.extend(leaf);
                }
                forest.push(Tree { splits, leaves });
            }
            forests.push(forest);
        }
        let points = initial.len() / 2;
        let mut anchors = Vec::with_capacity(levels);
        for _ in 0..r.count(100)? {
            let n = r.count(100_000)?;
            anchors.push(
                (0..n)
                    .map(|_| {
                        r.count(points - 1)
                            .map(|i| i as u32)
                            .map_err(|_| ParseError("an anchor beyond the shape".into()))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let mut deltas = Vec::with_capacity(levels);
        for _ in 0..r.count(100)? {
            let n = r.count(100_000)?;
            deltas.push(
                (0..n)
                    .map(|_| Ok((r.float()?, r.float()?)))
                    .collect::<Result<Vec<_>, ParseError>>()?,
            );
        }
        if anchors.len() != levels || deltas.len() != levels {
            return Err(ParseError("the levels disagree".into()));
        }
        for ((forest, anchor), delta) in forests.iter().zip(&anchors).zip(&deltas) {
            if anchor.len() != delta.len() {
                return Err(ParseError("anchors and offsets disagree".into()));
            }
            let features = anchor.len() as u32;
            if forest
                .iter()
                .flat_map(|t| &t.splits)
                .any(|s| s.idx1 >= features || s.idx2 >= features)
            {
                return Err(ParseError(
                    "a split reads a pixel that is not sampled".into(),
                ));
            }
        }
        if r.at != bytes.len() {
            return Err(ParseError(format!(
                "{} bytes follow the model",
                bytes.len() - r.at
            )));
        }
        Ok(ShapePredictor {
            initial,
            forests,
            anchors,
            deltas,
        })
    }

    /// Points the model places.
    pub fn points(&self) -> usize {
        self.initial.len() / 2
    }

    /// The shape in `image` for the face in `rect` (left, top, right, bottom: inclusive pixel
    /// edges, as dlib's rectangles), in frame pixels; the 5-point model's points as
    /// [`FivePoints`] order.
    pub fn predict(&self, image: GreyView<'_>, rect: (f64, f64, f64, f64)) -> Vec<(f64, f64)> {
        let (left, top, right, bottom) = rect;
        let to_image = |u: f64, v: f64| (left + u * (right - left), top + v * (bottom - top));
        let mut shape = self.initial.clone();
        let mut features = Vec::new();
        for ((forest, anchors), deltas) in self.forests.iter().zip(&self.anchors).zip(&self.deltas)
        {
            // The similarity that carries the mean shape onto the current one, applied to each
            // sampling offset.
            let (a, b) = similarity(&self.initial, &shape);
            features.clear();
            features.extend(anchors.iter().zip(deltas).map(|(&anchor, &(dx, dy))| {
                let (ax, ay) = (shape[2 * anchor as usize], shape[2 * anchor as usize + 1]);
                let u = a * dx - b * dy + ax;
                let v = b * dx + a * dy + ay;
                let (x, y) = to_image(f64::from(u), f64::from(v));
                let (x, y) = ((x + 0.5).floor(), (y + 0.5).floor());
                if x >= 0.0 && y >= 0.0 && x < f64::from(image.width) && y < f64::from(image.height)
                {
                    f32::from(image.pixels[y as usize * image.width as usize + x as usize])
                } else {
                    0.0
                }
            }));
            for tree in forest {
                let mut i = 0usize;
                while i < tree.splits.len() {
                    let split = &tree.splits[i];
                    i = if features[split.idx1 as usize] - features[split.idx2 as usize]
                        > split.thresh
                    {
                        2 * i + 1
                    } else {
                        2 * i + 2
                    };
                }
                let leaf = i - tree.splits.len();
                let values = &tree.leaves[leaf * shape.len()..(leaf + 1) * shape.len()];
                for (s, v) in shape.iter_mut().zip(values) {
                    *s += v;
                }
            }
        }
        shape
            .chunks_exact(2)
            .map(|p| to_image(f64::from(p[0]), f64::from(p[1])))
            .collect()
    }

    /// The 5-point model's points for the face in `rect`; None for a model of another size.
    pub fn five(&self, image: GreyView<'_>, rect: (f64, f64, f64, f64)) -> Option<FivePoints> {
        let p = self.predict(image, rect);
        let [r0, r1, l0, l1, nose] = p[..] else {
            return None;
        };
        Some(FivePoints {
            right_eye: [r0, r1],
            left_eye: [l0, l1],
            nose,
        })
    }
}

/// The rotation-and-scale part `[[a, -b], [b, a]]` of the least-squares similarity carrying
/// shape `from` onto shape `to` (Umeyama's estimate; in two dimensions it has this closed form).
fn similarity(from: &[f32], to: &[f32]) -> (f32, f32) {
    let n = (from.len() / 2) as f64;
    let mean = |s: &[f32], k: usize| {
        s.iter()
            .skip(k)
            .step_by(2)
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / n
    };
    let (fx, fy, tx, ty) = (mean(from, 0), mean(from, 1), mean(to, 0), mean(to, 1));
    let (mut dot, mut cross, mut norm) = (0.0, 0.0, 0.0);
    for (f, t) in from.chunks_exact(2).zip(to.chunks_exact(2)) {
        let (px, py) = (f64::from(f[0]) - fx, f64::from(f[1]) - fy);
        let (qx, qy) = (f64::from(t[0]) - tx, f64::from(t[1]) - ty);
        dot += px * qx + py * qy;
        cross += px * qy - py * qx;
        norm += px * px + py * py;
    }
    if norm <= 0.0 {
        return (1.0, 0.0);
    }
    ((dot / norm) as f32, (cross / norm) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_parses_as_five_points_in_a_cascade() {
        let model = shipped().expect("the shipped landmark model parses");
        assert_eq!(model.points(), 5);
        assert!(model.forests.len() >= 5, "{model:?}");
    }

    #[test]
    fn a_cut_or_altered_model_is_refused_with_a_reason() {
        let cut = &MODEL_BYTES[..MODEL_BYTES.len() / 2];
        assert!(ShapePredictor::parse(cut).is_err());
        let mut longer = MODEL_BYTES.to_vec();
        longer.push(1);
        let error = ShapePredictor::parse(&longer).expect_err("trailing bytes");
        assert!(error.to_string().contains("bytes follow"), "{error}");
        let mut other_version = MODEL_BYTES.to_vec();
        other_version[1] = 2;
        assert!(ShapePredictor::parse(&other_version).is_err());
    }

    #[test]
    fn the_similarity_of_a_shape_to_itself_is_the_identity_and_a_turn_is_found() {
        let shape = [0.2f32, 0.3, 0.8, 0.3, 0.5, 0.7];
        let (a, b) = similarity(&shape, &shape);
        assert!((a - 1.0).abs() < 1e-6 && b.abs() < 1e-6);
        // Turned by 90° and doubled: x' = -2y, y' = 2x.
        let turned: Vec<f32> = shape
            .chunks_exact(2)
            .flat_map(|p| [-2.0 * p[1], 2.0 * p[0]])
            .collect();
        let (a, b) = similarity(&shape, &turned);
        assert!(a.abs() < 1e-5 && (b - 2.0).abs() < 1e-5, "{a} {b}");
    }
}
