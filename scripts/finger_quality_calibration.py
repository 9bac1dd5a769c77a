#!/usr/bin/env python3
"""Compares the station's fingerprint quality with NIST NFIQ 2 on the same prints.

    python3 scripts/finger_quality_calibration.py [--seeds N] [--fit] [--keep DIR]

The prints are the calibration set of `core/examples/quality_corpus.rs`: synthetic prints under
good, middling and poor placement, and good prints spoilt by blur, noise, low contrast, partial
contact and smudge at five strengths (0.2 to 1.0). NFIQ 2 comes from PyPI's nbis-py 0.1.3 (NFIQ 2.3), in a
private virtualenv under target/; the product never calls it.

Prints the Spearman rank correlation between the two scores over the whole set, over the
held-out half (even seeds: the weights are fitted on odd seeds only), and per variant.
--fit refits the linear model's weights on the odd seeds (least squares against NFIQ 2) and
prints them for `WEIGHTS` in core/src/quality/finger.rs.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "nfiq2-venv")
PYTHON = os.path.join(VENV, "bin", "python")
FEATURES = ["foreground", "orientation_certainty", "local_clarity", "frequency",
            "ridge_valley_uniformity", "orientation_flow", "clear_area", "minutiae",
            "foreground_mean", "minutiae_foreground", "clarity_spread", "frequency_spread",
            "unclear"]

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


def model_inputs(row):
    """The same inputs as `model_inputs` in core/src/quality/finger.rs."""
    values = [float(row[name]) for name in FEATURES]
    values[7] = min(values[7], 80.0)
    values[8] = values[8] / 255.0
    values[9] = min(values[9], 80.0)
    return [1.0] + values + [values[7] ** 0.5, values[9] ** 0.5]


def least_squares(xs, ys, ridge=1e-3):
    """Solves (XᵀX + ridge·I) w = Xᵀy by Gaussian elimination."""
    n = len(xs[0])
    a = [[sum(x[i] * x[j] for x in xs) + (ridge if i == j and i else 0.0) for j in range(n)]
         for i in range(n)]
    b = [sum(x[i] * y for x, y in zip(xs, ys)) for i in range(n)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        b[col], b[pivot] = b[pivot], b[col]
        for r in range(n):
            if r != col and a[col][col]:
                f = a[r][col] / a[col][col]
                a[r] = [v - f * w for v, w in zip(a[r], a[col])]
                b[r] -= f * b[col]
    return [b[i] / a[i][i] for i in range(n)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--keep", help="write the prints here instead of a temporary directory")
    args = parser.parse_args()

    if not os.path.exists(PYTHON):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([PYTHON, "-m", "pip", "install", "-q", "nbis-py==0.1.3"], check=True)

    with tempfile.TemporaryDirectory() as scratch:
        out = args.keep or scratch
        subprocess.run(["cargo", "run", "-q", "--release", "-p", "station-core", "--example",
                        "quality_corpus", "--", out, str(args.seeds)], check=True, cwd=ROOT)
        with open(os.path.join(out, "corpus.csv")) as handle:
            rows = list(csv.DictReader(handle))
        paths = [os.path.join(out, row["file"]) for row in rows]
        result = os.path.join(out, "nfiq2.json")
        subprocess.run([PYTHON, "-c", NFIQ2, result] + paths, check=True)
        with open(result) as handle:
            nfiq2 = json.load(handle)

    # NFIQ 2 gives up on some prints (nbis-py raises Nfiq2ComputeFailed): too blurred or too
    # little finger for its minutiae extractor. That is NFIQ 2 calling them unusable, so they rank
    # as 0, its lowest score; the figures without them are printed too.
    failed = [row for row, path in zip(rows, paths) if nfiq2[path] is None]
    for row, path in zip(rows, paths):
        row["nfiq2"] = nfiq2[path] if nfiq2[path] is not None else 0
    scored = rows

    if args.fit:
        train = [row for row in scored if int(row["seed"]) % 2 == 1]
        weights = least_squares([model_inputs(r) for r in train],
                                [float(r["nfiq2"]) for r in train])
        names = ["intercept"] + FEATURES + ["sqrt minutiae", "sqrt minutiae_foreground"]
        print("const WEIGHTS: [f64; INPUTS] = [")
        for name, weight in zip(names, weights):
            print(f"    {weight:.4f}, // {name}")
        print("];")
        for row in scored:
            row["score"] = max(0.0, min(100.0, sum(w * x for w, x in zip(weights, model_inputs(row)))))

    def rho(subset):
        return spearman([float(r["score"]) for r in subset], [float(r["nfiq2"]) for r in subset])

    held_out = [row for row in scored if int(row["seed"]) % 2 == 0]
    unfailed = [row for row in scored if row not in failed]
    print(f"prints: {len(rows)}, of which NFIQ 2 could not score {len(failed)} (ranked as 0)")
    print(f"Spearman rho, all prints:                     {rho(scored):.3f}")
    print(f"Spearman rho, held-out (even seeds):          {rho(held_out):.3f}")
    print(f"Spearman rho, prints NFIQ 2 scored only:      {rho(unfailed):.3f}")
    groups = {}
    for row in scored:
        groups.setdefault((row["variant"], row["strength"]), []).append(row)
    means = {key: sum(r["nfiq2"] for r in group) / len(group) for key, group in groups.items()}
    oracle = spearman([means[(r["variant"], r["strength"])] for r in scored],
                      [r["nfiq2"] for r in scored])
    print(f"(bound: each print given its group's mean NFIQ 2: {oracle:.3f})")
    print("variant      | strength | prints | NFIQ 2 failed | mean ours | mean NFIQ 2 | rho within")
    for (variant, strength), group in sorted(groups.items()):
        ours = sum(float(r["score"]) for r in group) / len(group)
        theirs = means[(variant, strength)]
        lost = sum(1 for r in group if r in failed)
        print(f"{variant:<12} | {float(strength):8.1f} | {len(group):6} | {lost:13} | {ours:9.1f} "
              f"| {theirs:11.1f} | {rho(group):10.2f}")


if __name__ == "__main__":
    main()
