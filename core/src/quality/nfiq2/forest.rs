//! NIST's NFIQ 2.3 random forest (100 trees, OpenCV `RTrees`), evaluated as OpenCV's
//! `predict` does for a two-class forest with raw output: each tree is walked with the features
//! as `f32` (left when `x <= threshold`; NaN goes right), and the score is the number of trees
//! whose leaf is class 1.

use std::sync::OnceLock;

/// The model, converted from `nist_plain_tir-ink.yaml` by `scripts/nfiq2_model.py`.
static MODEL_BYTES: &[u8] = include_bytes!("../../../models/nfiq2_plain_tir_ink.bin");

/// Why a model file did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the NFIQ 2 model is damaged: {0}")]
pub struct ModelError(String);

#[derive(Debug, Clone, Copy)]
struct Node {
    /// 255: a leaf.
    feature: u8,
    /// A split's threshold, or a leaf's class.
    threshold: f32,
    right: u32,
}

/// The forest.
#[derive(Debug)]
pub struct Forest {
    roots: Vec<u32>,
    nodes: Vec<Node>,
}

/// The shipped model, parsed once (None: a damaged build).
pub(super) fn shipped() -> Option<&'static Forest> {
    static MODEL: OnceLock<Option<Forest>> = OnceLock::new();
    MODEL
        .get_or_init(|| Forest::parse(MODEL_BYTES).ok())
        .as_ref()
}

impl Forest {
    /// Parses the converted model, checking every index.
    ///
    /// # Errors
    /// [`ModelError`] naming what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, ModelError> {
        let rest = bytes
            .strip_prefix(b"NFIQ2RF1")
            .ok_or_else(|| ModelError("not an NFIQ 2 forest".into()))?;
        let u32_at = |at: usize| -> Result<u32, ModelError> {
            rest.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
                .ok_or_else(|| ModelError("it ends too soon".into()))
        };
        let (trees, count) = (u32_at(0)? as usize, u32_at(4)? as usize);
        if trees == 0 || trees > 10_000 || count > 10_000_000 {
            return Err(ModelError(format!("{trees} trees of {count} nodes")));
        }
        let roots = (0..trees)
            .map(|t| u32_at(8 + 4 * t))
            .collect::<Result<Vec<_>, _>>()?;
        let start = 8 + 4 * trees;
        if rest.len() != start + 9 * count {
            return Err(ModelError(format!(
                "{} bytes where {count} nodes need {}",
                rest.len(),
                start + 9 * count
            )));
        }
        let nodes: Vec<Node> = rest[start..]
            .chunks_exact(9)
            .map(|b| Node {
                feature: b[0],
                threshold: f32::from_le_bytes([b[1], b[2], b[3], b[4]]),
                right: u32::from_le_bytes([b[5], b[6], b[7], b[8]]),
            })
            .collect();
        for (i, node) in nodes.iter().enumerate() {
            let split = node.feature != u8::MAX;
            if split
                && (usize::from(node.feature) >= super::FEATURE_NAMES.len()
                    || node.right as usize >= nodes.len()
                    || node.right as usize <= i + 1)
            {
                return Err(ModelError(format!("node {i} points outside its tree")));
            }
            if !split && node.threshold != 0.0 && node.threshold != 1.0 {
                return Err(ModelError(format!("leaf {i} has class {}", node.threshold)));
            }
        }
        if roots.iter().any(|&r| r as usize >= nodes.len()) {
            return Err(ModelError("a tree starts outside the nodes".into()));
        }
        Ok(Forest { roots, nodes })
    }

    /// Trees voting "good" out of 100: the NFIQ 2 score.
    pub fn score(&self, features: &[f64; 69]) -> u8 {
        let x: Vec<f32> = features.iter().map(|&v| v as f32).collect();
        let mut votes = 0f32;
        for &root in &self.roots {
            let mut i = root as usize;
            // Children always lie after their parent, so this ends.
            while let Some(node) = self.nodes.get(i).filter(|n| n.feature != u8::MAX) {
                i = if x[usize::from(node.feature)] <= node.threshold {
                    i + 1
                } else {
                    node.right as usize
                };
            }
            votes += self.nodes.get(i).map_or(0.0, |n| n.threshold);
        }
        let trees = self.roots.len() as f32;
        (votes / trees * 100.0 + 0.5).floor().clamp(0.0, 100.0) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nists_forest_parses_as_100_trees_over_69_features() {
        let forest = shipped().expect("the shipped model parses");
        assert_eq!(forest.roots.len(), 100);
        assert_eq!(forest.nodes.len(), 138_428);
    }

    #[test]
    fn a_cut_or_altered_model_is_refused() {
        assert!(Forest::parse(&MODEL_BYTES[..MODEL_BYTES.len() - 1]).is_err());
        assert!(Forest::parse(b"NFIQ2RF0").is_err());
        let mut bent = MODEL_BYTES.to_vec();
        // The first node of the first tree points its right child at itself.
        let first = 8 + 8 + 4 * 100;
        bent[first + 5..first + 9].copy_from_slice(&0u32.to_le_bytes());
        assert!(Forest::parse(&bent).is_err());
    }
}
