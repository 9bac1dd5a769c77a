#!/usr/bin/env python3
"""Compute reference NFIQ 2 scores and native quality features with nbis-py.

Usage: nfiq2_reference.py OUTPUT.tsv PATH [PATH ...]

Each PATH is an image file or a directory (searched recursively for
.png/.bmp/.tif/.tiff/.jpg files, in sorted order).  The output TSV has one
row per image: the path as given, the unified NFIQ 2 score (or
"ERROR:<message>"), then the 69 native quality measures in FEATURES order.
Values are written with repr() so that no precision is lost.
"""
import os
import sys

import nbis

_BINS = [str(i) for i in range(10)] + ["Mean", "StdDev"]


def _bin10(prefix):
    return [f"{prefix}_Bin10_{b}" for b in _BINS]


FEATURES = (
    _bin10("FDA")
    + [
        "FingerJetFX_MinCount_COMMinRect200x200",
        "FingerJetFX_MinutiaeCount",
        "FJFXPos_Mu_MinutiaeQuality_2",
        "FJFXPos_OCL_MinutiaeQuality_80",
        "ImgProcROIArea_Mean",
    ]
    + _bin10("LCS")
    + ["MMB", "Mu"]
    + _bin10("OCL")
    + _bin10("OF")
    + [
        "OrientationMap_ROIFilter_CoherenceRel",
        "OrientationMap_ROIFilter_CoherenceSum",
    ]
    + _bin10("RVUP")
)
assert len(FEATURES) == 69

IMAGE_EXTENSIONS = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg")


def expand(paths):
    for path in paths:
        if os.path.isdir(path):
            found = []
            for root, _, files in os.walk(path):
                found += [os.path.join(root, f) for f in files
                          if f.lower().endswith(IMAGE_EXTENSIONS)]
            yield from sorted(found)
        else:
            yield path


def new_extractor():
    settings = nbis.NbisExtractorSettings(
        min_quality=0.0,
        get_center=False,
        check_fingerprint=False,
        compute_nfiq2=True,
        ppi=None,
    )
    return nbis.new_nbis_extractor(settings)


def measure(extractor, path):
    """Return (score, {feature: value}) or raise."""
    quality = extractor.extract_minutiae_from_image_file(path).quality()
    features = {f.name: f.value for f in quality.features}
    missing = [name for name in FEATURES if name not in features]
    if missing:
        raise RuntimeError("missing features: " + ",".join(missing))
    return quality.score, features


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    out_path, inputs = argv[1], argv[2:]
    extractor = new_extractor()
    failures = 0
    refused = 0
    with open(out_path, "w", encoding="utf-8") as out:
        out.write("\t".join(["file", "score"] + FEATURES) + "\n")
        for path in expand(inputs):
            try:
                score, features = measure(extractor, path)
                cells = [repr(score)] + [repr(features[n]) for n in FEATURES]
            except Exception as exc:  # record and continue
                msg = " ".join(f"{type(exc).__name__}: {exc}".split())
                if "Nfiq2ComputeFailed" in msg:
                    refused += 1  # NFIQ 2 gives this print no score: a result
                else:
                    failures += 1  # unreadable file, missing feature, …: not a result
                cells = ["ERROR:" + msg] + [""] * len(FEATURES)
            out.write("\t".join([path] + cells) + "\n")
    # A print NIST refuses is a result (an ERROR row); anything else that failed is not.
    sys.stderr.write(f"{refused} prints NFIQ 2 refuses to score, {failures} failed "
                     f"(ERROR rows in {out_path})\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
