#!/usr/bin/env python3
"""Compares the station's fingerprint quality with NIST NFIQ 2 on the same prints.

    python3 scripts/finger_quality_calibration.py [--seeds N] [--fit] [--keep DIR]

The evaluation set is `core/examples/quality_corpus.rs`'s prints for seeds 1-30: synthetic
prints under good, middling and poor placement, and good prints spoilt by blur, noise, low
contrast, partial contact and smudge at five strengths (0.2 to 1.0) -- 840 prints. NFIQ 2 comes
from PyPI's nbis-py 0.1.3 (NFIQ 2.3), in a private virtualenv under target/; the product never
calls it.

Prints the Spearman rank correlation between the station's score (as the station computes it)
and NFIQ 2 over the whole set and per variant. None of these prints were used in fitting.

--fit refits the station's model first: the same kinds of prints for seeds 31-120 (other
fingers, 2,520 prints) rows by NFIQ 2, an ensemble of extremely randomised regression trees
fitted to them (scikit-learn, in the same virtualenv), written to
core/src/quality/finger_model.rs; the evaluation then runs on the rebuilt station. It also prints
the model's correlation on each third of the training seeds when fitted on the other two (how
much the figure moves from one set of fingers to another).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "nfiq2-venv")
PYTHON = os.path.join(VENV, "bin", "python")
MODEL = os.path.join(ROOT, "core", "src", "quality", "finger_model.rs")
PACKAGES = ["nbis-py==0.1.3", "scikit-learn==1.9.1"]
EVALUATION_SEEDS = 30
TRAINING_SEEDS = 90
# The ensemble: small trees (at most depth 8, at least 20 prints per leaf) so the model stays a
# few thousand nodes; the figure barely moves with these (docs/benchmarks.md).
ENSEMBLE = dict(n_estimators=50, min_samples_leaf=20, max_depth=8, random_state=0)

NFIQ2 = r'''
import json, sys, nbis
settings = nbis.NbisExtractorSettings(min_quality=0.0, get_center=False,
    check_fingerprint=False, compute_nfiq2=True, ppi=None)
extractor = nbis.new_nbis_extractor(settings)
scores = {}
for path in sys.argv[2:]:
    try:
        scores[path] = extractor.extract_minutiae_from_image_file(path).quality().score
    except Exception as error:
        scores[path] = None
json.dump(scores, open(sys.argv[1], "w"))
'''


def ranks(values):
    """Ranks from 1, ties given their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def spearman(xs, ys):
    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / (vx * vy) ** 0.5 if vx and vy else float("nan")


FIT = r'''
import json, sys
import numpy as np
import sklearn
from scipy.stats import spearmanr
from sklearn.ensemble import ExtraTreesRegressor
data = json.load(open(sys.argv[1]))
settings, x, y, seeds = data["ensemble"], np.array(data["x"]), np.array(data["y"]), np.array(data["seeds"])
folds = []
for part in np.array_split(np.unique(seeds), 3):
    held = np.isin(seeds, part)
    model = ExtraTreesRegressor(**settings).fit(x[~held], y[~held])
    folds.append(spearmanr(model.predict(x[held]), y[held])[0])
model = ExtraTreesRegressor(**settings).fit(x, y)
trees = []
for estimator in model.estimators_:
    t = estimator.tree_
    trees.append({"feature": t.feature.tolist(), "threshold": t.threshold.tolist(),
                  "left": t.children_left.tolist(), "right": t.children_right.tolist(),
                  "value": t.value[:, 0, 0].tolist()})
json.dump({"trees": trees, "folds": folds, "sklearn": sklearn.__version__}, open(sys.argv[2], "w"))
'''


def corpus(out, seeds, first):
    """Writes the prints of seeds first..first+seeds-1 and returns their rows, NFIQ 2 added."""
    subprocess.run(["cargo", "run", "-q", "--release", "-p", "station-core", "--example",
                    "quality_corpus", "--", out, str(seeds), str(first)], check=True, cwd=ROOT)
    with open(os.path.join(out, "corpus.csv")) as handle:
        reader = csv.DictReader(handle)
        inputs = reader.fieldnames[reader.fieldnames.index("score") + 1:]
        rows = list(reader)
    paths = [os.path.join(out, row["file"]) for row in rows]
    result = os.path.join(out, "nfiq2.json")
    subprocess.run([PYTHON, "-c", NFIQ2, result] + paths, check=True)
    with open(result) as handle:
        nfiq2 = json.load(handle)
    # NFIQ 2 gives up on some prints (nbis-py raises Nfiq2ComputeFailed): too blurred or too
    # little finger for its minutiae extractor. That is NFIQ 2 calling them unusable, so they
    # rank as 0, its lowest score; the figures without them are printed too.
    for row, path in zip(rows, paths):
        row["failed"] = nfiq2[path] is None
        row["nfiq2"] = nfiq2[path] if nfiq2[path] is not None else 0
    return rows, inputs


def write_model(trees, about):
    """Writes the fitted trees as core/src/quality/finger_model.rs."""
    roots, nodes = [], []
    for tree in trees:
        base = len(nodes)
        roots.append(base)
        for i, feature in enumerate(tree["feature"]):
            if tree["left"][i] < 0:
                nodes.append(f"l({tree['value'][i]!r})")
            else:
                nodes.append(f"s({feature}, {tree['threshold'][i]!r}, "
                             f"{base + tree['left'][i]}, {base + tree['right'][i]})")
    if len(nodes) > 65535:
        sys.exit(f"the model has {len(nodes)} nodes, more than a u16 index reaches")
    lines = ["//! The fingerprint quality model. Generated by",
             "//! `python3 scripts/finger_quality_calibration.py --fit`: do not edit.",
             "//!"] + [f"//! {line}" for line in textwrap.wrap(" ".join(about), 92)] + [
             "",
             "use super::finger::{leaf as l, split as s, Node};",
             "",
             "/// Each tree's root in [`NODES`].",
             "#[rustfmt::skip]",
             f"pub(super) const TREES: [u16; {len(roots)}] = [{', '.join(map(str, roots))}];",
             "",
             "/// The trees' nodes; a split's children are indices into this table.",
             "#[rustfmt::skip]",
             f"pub(super) static NODES: [Node; {len(nodes)}] = ["]
    lines += ["    " + " ".join(n + "," for n in nodes[i:i + 4]) for i in range(0, len(nodes), 4)]
    lines += ["];", ""]
    with open(MODEL, "w") as handle:
        handle.write("\n".join(lines))
    return len(nodes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=EVALUATION_SEEDS)
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--keep", help="write the prints here instead of a temporary directory")
    args = parser.parse_args()

    if not os.path.exists(PYTHON):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([PYTHON, "-m", "pip", "install", "-q"] + PACKAGES, check=True)

    if args.fit:
        with tempfile.TemporaryDirectory() as scratch:
            rows, inputs = corpus(scratch, TRAINING_SEEDS, args.seeds + 1)
            data = os.path.join(scratch, "fit.json")
            fitted = os.path.join(scratch, "model.json")
            with open(data, "w") as handle:
                json.dump({"ensemble": ENSEMBLE, "seeds": [int(r["seed"]) for r in rows],
                           "x": [[float(r[name]) for name in inputs] for r in rows],
                           "y": [r["nfiq2"] for r in rows]}, handle)
            subprocess.run([PYTHON, "-c", FIT, data, fitted], check=True)
            with open(fitted) as handle:
                model = json.load(handle)
        first, last = args.seeds + 1, args.seeds + TRAINING_SEEDS
        count = write_model(model["trees"], [
            f"scikit-learn {model['sklearn']} ExtraTreesRegressor("
            + ", ".join(f"{k}={v}" for k, v in ENSEMBLE.items()) + "),",
            f"fitted to NFIQ 2.3's scores (nbis-py 0.1.3) of the {len(rows)} calibration prints of",
            f"seeds {first}-{last}, over the inputs {', '.join(inputs)}."])
        print(f"fitted {len(model['trees'])} trees ({count} nodes) on {len(rows)} prints of seeds "
              f"{first}-{last}; wrote {os.path.relpath(MODEL, ROOT)}")
        print("Spearman rho on each third of those seeds, fitted on the other two: "
              + ", ".join(f"{rho:.3f}" for rho in model["folds"]))

    with tempfile.TemporaryDirectory() as scratch:
        rows, _ = corpus(args.keep or scratch, args.seeds, 1)
    failed = [row for row in rows if row["failed"]]

    def rho(subset):
        return spearman([float(r["score"]) for r in subset], [float(r["nfiq2"]) for r in subset])

    unfailed = [row for row in rows if not row["failed"]]
    print(f"prints: {len(rows)}, of which NFIQ 2 could not score {len(failed)} (ranked as 0)")
    print(f"Spearman rho, all prints:                     {rho(rows):.3f}")
    print(f"Spearman rho, prints NFIQ 2 scored only:      {rho(unfailed):.3f}")
    groups = {}
    for row in rows:
        groups.setdefault((row["variant"], row["strength"]), []).append(row)
    means = {key: sum(r["nfiq2"] for r in group) / len(group) for key, group in groups.items()}
    oracle = spearman([means[(r["variant"], r["strength"])] for r in rows],
                      [r["nfiq2"] for r in rows])
    print(f"(bound: each print given its group's mean NFIQ 2: {oracle:.3f})")
    print("variant      | strength | prints | NFIQ 2 failed | mean ours | mean NFIQ 2 | rho within")
    for (variant, strength), group in sorted(groups.items()):
        ours = sum(float(r["score"]) for r in group) / len(group)
        theirs = means[(variant, strength)]
        lost = sum(1 for r in group if r["failed"])
        print(f"{variant:<12} | {float(strength):8.1f} | {len(group):6} | {lost:13} | {ours:9.1f} "
              f"| {theirs:11.1f} | {rho(group):10.2f}")


if __name__ == "__main__":
    main()
