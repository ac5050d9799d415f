#!/usr/bin/env python3
"""Writes a botocore model to internal/awsapi/model/data, keeping the
input and output shapes of the named operations only.

EC2's model is half a megabyte of shapes berth never serves; every other
operation stays in the model without shapes, so the gateway still knows
it and answers it as not supported.

usage: scripts/trim-model.py <botocore service-2.json.gz> <out name> Op...
"""
import gzip, json, sys

src, name, ops = sys.argv[1], sys.argv[2], set(sys.argv[3:])
api = json.load(gzip.open(src))
missing = ops - set(api["operations"])
if missing:
    sys.exit("not in the model: " + ", ".join(sorted(missing)))

keep = set()
def walk(shape):
    if shape in keep:
        return
    keep.add(shape)
    s = api["shapes"][shape]
    for ref in list(s.get("members", {}).values()) + [s.get("member"), s.get("key"), s.get("value")]:
        if ref:
            walk(ref["shape"])

for op_name, op in api["operations"].items():
    if op_name in ops:
        for part in ("input", "output"):
            if part in op:
                walk(op[part]["shape"])
        for err in op.get("errors", []):
            walk(err["shape"])
    else:
        for part in ("input", "output", "errors", "documentation"):
            op.pop(part, None)
api["shapes"] = {k: v for k, v in api["shapes"].items() if k in keep}
for s in api["shapes"].values():
    s.pop("documentation", None)
    for m in s.get("members", {}).values():
        m.pop("documentation", None)
api.pop("documentation", None)
with gzip.open(f"internal/awsapi/model/data/{name}.json.gz", "wt", compresslevel=9) as f:
    json.dump(api, f, separators=(",", ":"), sort_keys=True)
