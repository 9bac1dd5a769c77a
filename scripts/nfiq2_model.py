#!/usr/bin/env python3
"""Converts NIST's NFIQ 2.3 random forest (OpenCV FileStorage YAML, `nist_plain_tir-ink.yaml`,
21,365,510 bytes, MD5 b4a1e7586b3be906f9770e4b77768038, from usnistgov/NFIQ2 `NFIQ2/` or the
nbis-py wheel that embeds it) into the compact table the station compiles in:
`core/models/nfiq2_plain_tir_ink.bin`.

Format, little-endian: b"NFIQ2RF1", u32 tree count, u32 node count, u32 root index per tree,
then per node (pre-order, a split's left child is the next node): u8 feature (255: a leaf),
f32 threshold (a leaf: its class, 0.0 or 1.0), u32 right child (a leaf: 0).

OpenCV rebuilds each tree from its pre-order node list (DTreesImpl::readTree): a new node is its
parent's left child if that has none, else its right; a split becomes the parent; after a leaf
the parent pointer climbs while the parent already has its right child.

    python3 scripts/nfiq2_model.py nist_plain_tir-ink.yaml core/models/nfiq2_plain_tir_ink.bin
"""
import hashlib
import re
import struct
import sys

EXPECTED_MD5 = "b4a1e7586b3be906f9770e4b77768038"


def main(source, target):
    raw = open(source, "rb").read()
    digest = hashlib.md5(raw).hexdigest()
    if digest != EXPECTED_MD5:
        sys.exit(f"{source}: MD5 {digest}, not NIST's {EXPECTED_MD5}")
    text = raw.decode()
    body = text[text.index("   trees:"):]
    roots, table = [], []
    for chunk in body.split("\n      -\n         nodes:")[1:]:
        start = len(table)
        roots.append(start)
        nodes = []
        for node in chunk.split("\n            -\n")[1:]:
            value = float(re.search(r"value: ([-0-9.e+]+)", node).group(1))
            split = re.search(r"var:(\d+), quality:[^,]+,\s*le:([-0-9.e+]+)", node)
            nodes.append({
                "var": int(split.group(1)) if split else None,
                "le": float(split.group(2)) if split else value,
                "left": -1, "right": -1, "parent": -1,
            })
        parent = -1
        for i, n in enumerate(nodes):
            n["parent"] = parent
            if parent >= 0:
                p = nodes[parent]
                if p["left"] < 0:
                    p["left"] = i
                else:
                    p["right"] = i
            if n["var"] is not None:
                parent = i
            else:
                while parent >= 0 and nodes[parent]["right"] >= 0:
                    parent = nodes[parent]["parent"]
        for i, n in enumerate(nodes):
            if n["var"] is not None:
                if n["left"] != i + 1 or n["right"] <= i:
                    sys.exit(f"tree {len(roots) - 1}: node {i} is not in pre-order")
                table.append((n["var"], n["le"], start + n["right"]))
            else:
                if n["le"] not in (0.0, 1.0):
                    sys.exit(f"tree {len(roots) - 1}: a leaf of class {n['le']}")
                table.append((255, n["le"], 0))
    out = bytearray(b"NFIQ2RF1")
    out += struct.pack("<II", len(roots), len(table))
    out += b"".join(struct.pack("<I", r) for r in roots)
    for var, threshold, right in table:
        out += struct.pack("<BfI", var, threshold, right)
    open(target, "wb").write(out)
    print(f"{len(roots)} trees, {len(table)} nodes -> {target} ({len(out)} bytes, "
          f"SHA-256 {hashlib.sha256(out).hexdigest()})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
