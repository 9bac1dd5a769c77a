#!/usr/bin/env python3
"""Scores the simulator's synthetic prints with NIST NFIQ 2 (via PyPI's nbis-py 0.1.3, in a
private virtualenv under target/) and prints the mean NFIQ 2 score per simulated quality level.

    python3 scripts/nfiq2_synthetic.py [SEEDS]

NFIQ 2 is only a yardstick here: the product never calls it.
"""
import os
import statistics
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
venv = os.path.join(root, "target", "nfiq2-venv")
python = os.path.join(venv, "bin", "python")
seeds = sys.argv[1] if len(sys.argv) > 1 else "12"

if not os.path.exists(python):
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "nbis-py==0.1.3"], check=True)

with tempfile.TemporaryDirectory() as out:
    subprocess.run(
        ["cargo", "run", "-q", "--release", "-p", "station-hardware", "--example",
         "export_prints", "--", out, seeds],
        check=True, cwd=root,
    )
    code = r'''
import glob, json, sys, nbis
settings = nbis.NbisExtractorSettings(min_quality=0.0, get_center=False,
    check_fingerprint=False, compute_nfiq2=True, ppi=None)
extractor = nbis.new_nbis_extractor(settings)
scores = {}
for path in sorted(glob.glob(sys.argv[1] + "/*.png")):
    level = path.rsplit("_q", 1)[1][:-4]
    try:
        scores.setdefault(level, []).append(extractor.extract_minutiae_from_image_file(path).quality().score)
    except Exception:
        scores.setdefault(level, []).append(None)
print(json.dumps(scores))
'''
    result = subprocess.run([python, "-c", code, out], check=True, capture_output=True, text=True)

import json
scores = json.loads(result.stdout)
print("simulated score | NFIQ 2 mean | NFIQ 2 per print (None = NFIQ 2 could not score it)")
for level in sorted(scores, key=int, reverse=True):
    values = [v for v in scores[level] if v is not None]
    mean = statistics.mean(values) if values else float("nan")
    print(f"{level:>15} | {mean:11.1f} | {scores[level]}")
