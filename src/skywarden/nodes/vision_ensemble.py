"""Several chip CNNs, or one CNN and its mirror image, as ONE ONNX graph (session 14).

Why: the shipped thermal recipe's validation F1 depends on its training seed more than on
any recipe change tried (pooled 0.562-0.639 over seeds 0-2, session 13), and the detector
runs at about 95 frames/s against a bar of 25 (thermal) / 10 (visible): there is CPU for
2-4 nets a chip. Averaging the class probabilities of nets trained with different seeds
(a seed ensemble), or of one net on a chip and on its horizontal mirror (test-time flip,
the augmentation the nets were trained with), averages out part of that per-net noise.

The combination is built as a graph, not as code in the detector: ``vision_cnn.CnnModel``
runs whatever ONNX file it is given (inputs ``chips`` and ``extra``, outputs ``logits`` and
``box``), so the node, the evaluation and the benchmarks need no new path, and a single net
still runs as before. For members ``k`` and views ``v`` (the chip; with ``flip`` also the
chip mirrored left-right, its scalars unchanged: width, height, contrast and spread do not
change under a mirror):

    p_kv   = softmax(logits_kv)                       class probabilities of one look
    p      = mean over k, v of p_kv                   (the ensemble's probabilities)
    logits = log(max(p, 1e-30))                       so CnnModel's softmax gives back p
    box    = mean over k, v of box_kv, with dx of a mirrored view negated

``softmax(log p) = p / sum(p) = p`` because the mean of distributions sums to one, so the
detector's object score and class are those of the averaged probabilities (averaging
probabilities, not logits: the usual ensemble rule, and the one that keeps a confident
member from drowning the others). The box regression (centre offset in units of the chip,
log width, log height; each member's own calibration ``vision_cnn_train.calibrate_box``
already inside its graph) is averaged as it is; a mirrored view's centre offset is mirrored
back by negating it -- the mirror axis lies half a pixel left of the proposal's rounded
centre, an error of at most 1/64 of the chip (0.5 px) that the training flips make too.

Needs the ``onnx`` package (the ``train`` extra); run time needs onnxruntime only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

INPUTS = ("chips", "extra")
MEMBERS_KEY = "ensemble_members"  # metadata: how many nets, and whether mirrored views run
FLIP_KEY = "ensemble_flip"


def _copy_nodes(g: Any, init_prefix: str, view_prefix: str, chips_name: str) -> list[Any]:
    """The nodes of graph ``g`` with their names made unique: initializers get
    ``init_prefix`` (shared by the views of one member), every other value ``view_prefix``;
    the graph input ``chips`` reads ``chips_name`` (the chip or its mirror)."""

    inits = {i.name for i in g.initializer}

    def rename(name: str) -> str:
        if name == "":
            return name
        if name == "chips":
            return chips_name
        if name == "extra":
            return name
        return (init_prefix if name in inits else view_prefix) + name

    return [
        _renamed(node, rename, f"{view_prefix}{i}_{node.name}") for i, node in enumerate(g.node)
    ]


def _renamed(node: Any, rename: Callable[[str], str], name: str) -> Any:
    """A copy of an ONNX node with every input and output name passed through ``rename``."""
    from onnx import NodeProto

    n = NodeProto()
    n.CopyFrom(node)
    del n.input[:]
    n.input.extend(rename(v) for v in node.input)
    del n.output[:]
    n.output.extend(rename(v) for v in node.output)
    n.name = name
    return n


def combine(paths: Sequence[str | Path], out: str | Path, flip: bool = False) -> None:
    """Write one ONNX graph that runs every net of ``paths`` (and, with ``flip``, each one
    on the mirrored chip too) and averages them (module docstring)."""
    import onnx
    from onnx import helper, numpy_helper

    if not paths:
        raise ValueError("an ensemble needs at least one net")
    models = [onnx.load(str(p)) for p in paths]
    first = models[0]
    for p, m in zip(paths, models, strict=True):
        names = ([i.name for i in m.graph.input], [o.name for o in m.graph.output])
        if names != (list(INPUTS), ["logits", "box"]):
            raise ValueError(f"{p}: inputs/outputs {names}, not a chip CNN")
    nodes: list[Any] = []
    inits: list[Any] = []
    probs: list[str] = []
    boxes: list[str] = []
    views = [("chips", False)] + ([("chips_flip", True)] if flip else [])
    if flip:
        inits += [
            numpy_helper.from_array(np.array([-1], np.int64), "flip_starts"),
            numpy_helper.from_array(np.array([np.iinfo(np.int64).min], np.int64), "flip_ends"),
            numpy_helper.from_array(np.array([3], np.int64), "flip_axes"),
            numpy_helper.from_array(np.array([-1], np.int64), "flip_steps"),
            numpy_helper.from_array(np.array([[-1.0, 1.0, 1.0, 1.0]], np.float32), "flip_box"),
        ]
        nodes.append(
            helper.make_node(
                "Slice",
                ["chips", "flip_starts", "flip_ends", "flip_axes", "flip_steps"],
                ["chips_flip"],
                name="mirror",
            )
        )
    for k, m in enumerate(models):
        ip = f"n{k}_"
        for init in m.graph.initializer:
            t = onnx.TensorProto()
            t.CopyFrom(init)
            t.name = ip + init.name
            inits.append(t)
        for v, (chips_name, mirrored) in enumerate(views):
            vp = f"n{k}v{v}_"
            nodes += _copy_nodes(m.graph, ip, vp, chips_name)
            nodes.append(helper.make_node("Softmax", [vp + "logits"], [vp + "p"], axis=1))
            probs.append(vp + "p")
            if mirrored:
                nodes.append(helper.make_node("Mul", [vp + "box", "flip_box"], [vp + "box_m"]))
                boxes.append(vp + "box_m")
            else:
                boxes.append(vp + "box")
    inits.append(numpy_helper.from_array(np.array(1e-30, np.float32), "p_floor"))
    nodes += [
        helper.make_node("Mean", probs, ["p_mean"]),
        helper.make_node("Max", ["p_mean", "p_floor"], ["p_floored"]),
        helper.make_node("Log", ["p_floored"], ["logits"]),
        helper.make_node("Mean", boxes, ["box"]),
    ]
    graph = helper.make_graph(
        nodes,
        "chip_cnn_ensemble",
        list(first.graph.input),
        list(first.graph.output),
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=list(first.opset_import))
    model.ir_version = first.ir_version
    meta = {p.key: p.value for p in first.metadata_props}
    meta |= {MEMBERS_KEY: str(len(models)), FLIP_KEY: "1" if flip else "0"}
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def members(path: str | Path) -> tuple[int, bool]:
    """(nets, mirrored views) of an exported graph: (1, False) for a single net."""
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return int(meta.get(MEMBERS_KEY, "1")), meta.get(FLIP_KEY, "0") == "1"


def member(path: str | Path, k: int, out: str | Path) -> None:
    """Write net ``k`` of an ensemble graph (``combine``) as the single net it was (its
    unmirrored view, its own weights and names; a single net's graph is itself): a shipped
    ensemble's members can be run, scored or combined again without their original files."""
    import onnx
    from onnx import helper

    m = onnx.load(str(path))
    n_members, _ = members(path)
    if not 0 <= k < n_members:
        raise ValueError(f"{path}: member {k} of {n_members}")
    ip, vp = f"n{k}_", f"n{k}v0_"
    if not any(node.name.startswith(vp) for node in m.graph.node):
        onnx.save(m, str(out))  # a single net: itself
        return

    def strip(name: str) -> str:
        for prefix in (vp, ip):
            if name.startswith(prefix):
                return name[len(prefix) :]
        return name

    nodes = []
    for node in m.graph.node:
        if not node.name.startswith(vp) or node.output[0] in (vp + "p",):
            continue
        nodes.append(_renamed(node, strip, node.name[len(vp) :].split("_", 1)[1]))
    inits = []
    for init in m.graph.initializer:
        if init.name.startswith(ip):
            t = onnx.TensorProto()
            t.CopyFrom(init)
            t.name = init.name[len(ip) :]
            inits.append(t)
    graph = helper.make_graph(
        nodes, "chip_cnn", list(m.graph.input), list(m.graph.output), initializer=inits
    )
    single = helper.make_model(graph, opset_imports=list(m.opset_import))
    single.ir_version = m.ir_version
    for p in m.metadata_props:
        if p.key not in (MEMBERS_KEY, FLIP_KEY):
            entry = single.metadata_props.add()
            entry.key, entry.value = p.key, p.value
    onnx.checker.check_model(single)
    onnx.save(single, str(out))
