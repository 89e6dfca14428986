"""A check, run in Triton's init step, that an ONNX model's external data files are all there.

MLflow saves ONNX models with `save_as_external_data=True` by default: the weights go to a data
file beside `model.onnx`, which names it by a relative path. A graph whose data files were not
logged loads nowhere, and Triton would only say so after the pod is scheduled and started; this
check fails the init step first, naming every missing file.

The init container runs the MLflow image, which has Python but not the `onnx` package, so the
check reads the protobuf wire format itself (`python3 -S`: the standard library only) through
`mmap`, copying nothing but names: a 2 GB graph with inline weights costs no memory. Field
numbers are those of onnx/onnx.proto3 (ModelProto, GraphProto, NodeProto, AttributeProto,
TensorProto, SparseTensorProto, FunctionProto, TrainingInfoProto).
"""

from __future__ import annotations

SCRIPT = r'''
import mmap, os, sys

path = sys.argv[1]
folder = os.path.dirname(path)
TENSOR, GRAPH, NODE, ATTRIBUTE, SPARSE, FUNCTION, TRAINING, MODEL = range(8)
# message -> {field number: message it holds}, for every field that can lead to a tensor
CHILDREN = {
    MODEL: {7: GRAPH, 20: TRAINING, 25: FUNCTION},
    GRAPH: {1: NODE, 5: TENSOR, 15: SPARSE},
    NODE: {5: ATTRIBUTE},
    ATTRIBUTE: {5: TENSOR, 6: GRAPH, 10: TENSOR, 11: GRAPH, 22: SPARSE, 23: SPARSE},
    SPARSE: {1: TENSOR, 2: TENSOR},
    FUNCTION: {7: NODE},
    TRAINING: {1: GRAPH, 2: GRAPH},
}


def varint(data, i):
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def fields(data, start, end):
    """(field number, wire type, value or (start, end) of a length-delimited field)."""
    i = start
    while i < end:
        key, i = varint(data, i)
        wire = key & 7
        if wire == 0:
            value, i = varint(data, i)
        elif wire == 1:
            value, i = None, i + 8
        elif wire == 5:
            value, i = None, i + 4
        elif wire == 2:
            size, i = varint(data, i)
            value, i = (i, i + size), i + size
        else:
            sys.exit(f"{path} is not an ONNX model (protobuf wire type {wire} at byte {i})")
        yield key >> 3, wire, value


def tensors(data, start, end, kind):
    """Every TensorProto below one message, as (start, end)."""
    for number, wire, value in fields(data, start, end):
        child = CHILDREN[kind].get(number)
        if child is None or wire != 2:
            continue
        if child == TENSOR:
            yield value
        else:
            yield from tensors(data, value[0], value[1], child)


def external(data, start, end):
    """(tensor name, {location, offset, length}) of a tensor stored outside the graph file."""
    name, entries, location = "", {}, 0
    for number, wire, value in fields(data, start, end):
        if number == 8 and wire == 2:
            name = bytes(data[value[0]:value[1]]).decode("utf-8", "replace")
        elif number == 14 and wire == 0:
            location = value
        elif number == 13 and wire == 2:
            pair = {n: bytes(data[v[0]:v[1]]).decode() for n, w, v in fields(data, *value) if w == 2}
            entries[pair.get(1, "")] = pair.get(2, "")
    return (name, entries) if location == 1 else None


with open(path, "rb") as handle:
    size = os.fstat(handle.fileno()).st_size
    data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    needed = {}
    for start, end in tensors(data, 0, size, MODEL):
        found = external(data, start, end)
        if found:
            name, entry = found
            needed.setdefault(entry.get("location", ""), []).append((name, entry))

problems = []
for location, users in sorted(needed.items()):
    names = ", ".join(sorted(name for name, _ in users)[:5]) + (", ..." if len(users) > 5 else "")
    target = os.path.normpath(os.path.join(folder, location))
    if not location or os.path.isabs(location) or not target.startswith(folder + os.sep):
        problems.append(f"`{location}` is not a path inside the model's folder (tensors {names})")
    elif not os.path.isfile(target):
        problems.append(f"{location} is missing (tensors {names})")
    else:
        have = os.path.getsize(target)
        want = max(int(e.get("offset") or 0) + int(e.get("length") or 0) for _, e in users)
        if have < want:
            problems.append(f"{location} has {have} bytes, the graph reads up to {want} ({names})")
if problems:
    print(f"{os.path.basename(path)} keeps its weights in external data files that did not "
          "come with the model:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    print("Log the model again with its data files beside model.onnx (mlflow.onnx.log_model "
          "uploads them), or with save_as_external_data=False for a model under 2 GB.",
          file=sys.stderr)
    sys.exit(1)
count = sum(len(users) for users in needed.values())
print(f"{os.path.basename(path)}: {count} tensors in {len(needed)} external data files, all there",
      file=sys.stderr)
'''
"""Run as `python3 -S - <model.onnx> <<'PY' ... PY`; exits 1 naming every missing data file."""
