"""``skywarden vision ...`` and ``skywarden acoustic ...``: the camera and microphone nodes'
commands (issue 23). Every import of ``skywarden.nodes`` is inside a command, so building the
parser costs nothing for the other commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skywarden.nodes.sapient_node import NodeClient


def _connect(a: argparse.Namespace, t0: float, kind: str) -> NodeClient:
    """Connect to skywarden's SAPIENT link (``--link HOST:PORT``) as a ``kind`` node: register,
    then a status report of where it stands (``--lat/--lon/--alt``), as both nodes start."""
    from skywarden.nodes import sapient_node as sn

    host, _, port = a.link.rpartition(":")
    client = sn.NodeClient(host, int(port))
    client.register(sn.registration(a.node_id, a.dest, t0, kind, a.name), t0)
    client.send(sn.status(a.node_id, a.dest, t0, a.lat, a.lon, a.alt, sn.ulid(t0, 0, a.node_id)))
    return client


def _vision_detect(a: argparse.Namespace) -> int:
    from skywarden.core.errors import InputRejected
    from skywarden.nodes.video_io import detect_video

    try:
        n = detect_video(a.video, a.output, a.sensor)
    except InputRejected as exc:
        print(f"rejected.{exc.reason}: {exc.detail}", file=sys.stderr)
        return 2
    print(f"{n} frames -> {a.output}", file=sys.stderr)
    return 0


def _vision_train(a: argparse.Namespace) -> int:
    from skywarden.nodes.vision_cnn import weights_path
    from skywarden.nodes.vision_cnn_train import train

    out = a.output or str(weights_path(a.sensor))
    res = train(
        a.data,
        a.sensor,
        out,
        seed=a.seed,
        cache=a.cache,
        epochs=a.epochs,
        threads=a.threads,
        balanced=a.balanced,
        class_weight=dict(_name_value(v) for v in a.class_weight),
        channels=tuple(int(v) for v in a.channels.split(",")),
        hidden=a.hidden,
        per_clip=a.per_clip,
        clip_cap=a.clip_cap,
    )
    print(json.dumps(res))
    return 0


def _name_value(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    return name, float(value)


def _vision_eval(a: argparse.Namespace) -> int:
    from skywarden.nodes.vision_train import evaluate

    res = evaluate(a.data, a.sensor, part=a.part, min_score=a.min_score, decay=a.decay)
    text = json.dumps(res, indent=1)
    if a.output:
        with open(a.output, "w") as fh:
            fh.write(text + "\n")
    keys = ("sensor", "part", "min_score", "decay", "clips", "frames", "fps", "scores")
    print(json.dumps({k: res[k] for k in keys}))
    return 0


def _vision_choose(a: argparse.Namespace) -> int:
    from skywarden.nodes.vision_train import choose

    grid = choose(a.data, a.sensor)
    best = {k: max(grid, key=lambda r: r[k]) for k in ("macro", "f1")}
    print(json.dumps({"best_macro": best["macro"], "best_pooled": best["f1"]}))
    return 0


def _vision_mine(a: argparse.Namespace) -> int:
    import numpy as np

    from skywarden.nodes.vision_cnn import CLASSES, CnnModel, weights_path
    from skywarden.nodes.vision_cnn_train import load_or_extract
    from skywarden.nodes.vision_mine import merge, mine

    base = load_or_extract(a.data, a.sensor, a.cache, a.seed)
    model = CnnModel(a.weights or weights_path(a.sensor))
    hard = mine(a.data, a.sensor, model, min_obj=a.min_obj, per_frame=a.per_frame)
    np.savez(a.output, **merge(base, hard))
    counts = {c: int((hard["y"] == k).sum()) for k, c in enumerate(CLASSES)}
    print(json.dumps({"base": len(base["y"]), "mined": counts, "output": a.output}))
    return 0


def _vision_combine(a: argparse.Namespace) -> int:
    from skywarden.nodes.vision_ensemble import combine

    combine(a.nets, a.output, flip=a.flip)
    print(json.dumps({"members": len(a.nets), "flip": a.flip, "output": a.output}))
    return 0


def _vision_fit_box(a: argparse.Namespace) -> int:
    from skywarden.nodes.vision_box import by_class, lines, pairs
    from skywarden.nodes.vision_cnn import CLASSES
    from skywarden.nodes.vision_detect import PARAMS

    x, y, probs = pairs(a.data, a.sensor, a.step)
    out: dict[str, object] = {"sensor": a.sensor, "pairs": len(x), "box": lines(x, y)}
    if a.by_class:
        cb, counts = by_class(x, y, probs, CLASSES, PARAMS[a.sensor].min_score)
        out |= {"class_box": cb, "class_pairs": counts}
    print(json.dumps(out))
    return 0


def _vision_node(a: argparse.Namespace) -> int:
    import math

    from skywarden.core.clock import WallClock
    from skywarden.nodes import sapient_node as sn
    from skywarden.nodes.camera_geometry import CameraCalib
    from skywarden.nodes.video_io import VideoDetector, frame_rate, frames
    from skywarden.nodes.vision_node import Pointing, ReportMaker, hfov_default, run

    clock = WallClock()
    t0 = clock.now()
    first = next(frames(a.source))[1]
    det = VideoDetector(a.sensor)
    det.step(first)  # fixes the sensor type when "auto"
    hfov = math.radians(a.hfov_deg) if a.hfov_deg else hfov_default(det.sensor)
    calib = CameraCalib.from_fov(first.shape[1], first.shape[0], hfov)
    live = "://" in a.source
    fps = frame_rate(a.source)
    client = _connect(a, t0, "camera")
    pointing = Pointing(math.radians(a.pan_deg), math.radians(a.tilt_deg))
    n = run(
        frames(a.source),
        det.step,
        ReportMaker(calib, a.node_id, a.report_every),
        (lambda i: clock.now()) if live else (lambda i: t0 + i / fps),
        lambda t: pointing,
        lambda r: client.send(sn.detection(a.node_id, a.dest, r)),
    )
    client.close()
    print(f"{n} detection reports sent", file=sys.stderr)
    return 0


def _acoustic_classify(a: argparse.Namespace) -> int:
    from skywarden.core.errors import InputRejected
    from skywarden.nodes.acoustic import classify_audio, write_jsonl
    from skywarden.nodes.audio_features import read_wav

    try:
        res = classify_audio(read_wav(a.audio))
    except InputRejected as exc:
        print(f"rejected.{exc.reason}: {exc.detail}", file=sys.stderr)
        return 2
    write_jsonl(res, a.output)
    print(f"{len(res)} seconds -> {a.output}", file=sys.stderr)
    return 0


def _acoustic_node(a: argparse.Namespace) -> int:
    from skywarden.core.clock import WallClock
    from skywarden.nodes import sapient_node as sn
    from skywarden.nodes.acoustic import format_line
    from skywarden.nodes.acoustic_node import (
        StreamClassifier,
        bearing_of,
        parse_mics,
        report_for,
        seconds,
        stream_seconds,
    )

    mics = parse_mics(a.mics) if a.mics else None
    clock = WallClock()
    t0 = clock.now()
    client = None
    if a.link:
        client = _connect(a, t0, "acoustic")
    fh = sys.stdin.buffer if a.audio == "-" else open(a.audio, "rb")  # noqa: SIM115
    clf = StreamClassifier()
    obj = sn.ulid(t0, -1, a.node_id)
    n = 0
    with fh:
        for seq, (t, block) in enumerate(seconds(stream_seconds(fh), t0), start=1):
            c = clf.step(t, block.mean(axis=1))
            r = report_for(c, bearing_of(block, mics), a.node_id, seq, obj)
            if r is not None and client is not None:
                client.send(sn.detection(a.node_id, a.dest, r))
                n += 1
            else:
                print(format_line(c), flush=True)
    if client is not None:
        client.close()
    print(f"{n} detection reports sent", file=sys.stderr)
    return 0


def _acoustic_train(a: argparse.Namespace) -> int:
    from skywarden.nodes.acoustic import DEFAULT_WEIGHTS
    from skywarden.nodes.acoustic_train import train

    print(json.dumps(train(a.data, a.output or DEFAULT_WEIGHTS, seed=a.seed)))
    return 0


def _acoustic_eval(a: argparse.Namespace) -> int:
    from skywarden.nodes.acoustic_train import evaluate

    print(json.dumps(evaluate(a.data)))
    return 0


def _cue(a: argparse.Namespace) -> int:
    import math

    from skywarden.runtime.cue.controller import run_cue_loop
    from skywarden.runtime.cue.report import write_evidence
    from skywarden.sim import load_scenario, simulate
    from skywarden.sim.ptz import PtzSpec

    run = simulate(load_scenario(a.scenario), a.seed)
    e, n, u = (float(v) for v in a.camera.split(","))
    spec = PtzSpec("ptz-1", (e, n, u), slew_rad_s=math.radians(a.slew_deg_s))
    log, _ = run_cue_loop(run, [spec], a.until)
    write_evidence(log, f"slew-to-cue: {a.scenario}, seed {a.seed}", a.output)
    print(
        json.dumps(
            {
                "alerts": len(log.alerts),
                "tasked": len(log.first_task),
                "on_target": len(log.on_target),
                "confirmed": len(log.confirmed),
                "tasks": log.tasks,
                "camera_reports": log.camera_reports,
            }
        )
    )
    return 0


def add_node_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    v = sub.add_parser("vision", help="camera node: detect drones in video (issue 23)")
    vs = v.add_subparsers(dest="vision_cmd", required=True)
    d = vs.add_parser("detect", help="detections per frame of a video -> JSON lines")
    d.add_argument("video", help="file path, rtsp:// or http:// (MJPEG) URL")
    d.add_argument("-o", "--output", required=True)
    d.add_argument("--sensor", choices=["auto", "ir", "visible"], default="auto")
    d.set_defaults(func=_vision_detect)
    nd = vs.add_parser("node", help="report detections to skywarden's SAPIENT link")
    nd.add_argument("source", help="file path, rtsp:// or http:// (MJPEG) URL")
    nd.add_argument("--link", required=True, help="HOST:PORT of skywarden's SAPIENT link")
    nd.add_argument("--node-id", required=True, help="this node's UUID")
    nd.add_argument("--dest", required=True, help="skywarden's SAPIENT node UUID")
    nd.add_argument("--name", default="camera node")
    nd.add_argument("--lat", type=float, required=True)
    nd.add_argument("--lon", type=float, required=True)
    nd.add_argument("--alt", type=float, default=0.0, help="metres above the ellipsoid")
    nd.add_argument("--pan-deg", type=float, default=0.0, help="optical axis azimuth")
    nd.add_argument("--tilt-deg", type=float, default=0.0, help="optical axis elevation")
    nd.add_argument("--hfov-deg", type=float, default=0.0, help="horizontal field of view")
    nd.add_argument("--sensor", choices=["auto", "ir", "visible"], default="auto")
    nd.add_argument("--report-every", type=float, default=0.2, help="seconds per object")
    nd.set_defaults(func=_vision_node)
    t = vs.add_parser("train", help="train the detector on the drone-detection dataset")
    t.add_argument("--data", default="../shared/data/dd")
    t.add_argument("--sensor", choices=["ir", "visible"], required=True)
    t.add_argument("-o", "--output", help="weights file (default: the shipped one)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--threads", type=int, default=1, help="torch threads (shared machine)")
    t.add_argument("--cache", help="npz of extracted chips: written once, then reused")
    t.add_argument(
        "--balanced", action="store_true", help="draw object classes in equal shares each epoch"
    )
    t.add_argument(
        "--class-weight",
        action="append",
        default=[],
        metavar="CLASS=W",
        help="cross-entropy weight of a class (repeatable; default 1)",
    )
    t.add_argument(
        "--channels", default="16,32,48", help="conv channels per stage (the net's width)"
    )
    t.add_argument("--hidden", type=int, default=96, help="units of the hidden layer")
    t.add_argument(
        "--per-clip",
        action="store_true",
        help="draw object chips so every training clip has an equal share each epoch",
    )
    t.add_argument(
        "--clip-cap",
        type=int,
        default=0,
        metavar="N",
        help="each epoch at most N object chips of every clip, background as now (0: off)",
    )
    t.set_defaults(func=_vision_train)
    mi = vs.add_parser("mine", help="add the net's confident mistakes on the fit clips to a cache")
    mi.add_argument("--data", default="../shared/data/dd")
    mi.add_argument("--sensor", choices=["ir", "visible"], required=True)
    mi.add_argument("--cache", required=True, help="the training chip cache (extracted if absent)")
    mi.add_argument("-o", "--output", required=True, help="npz: the cache plus the hard examples")
    mi.add_argument("--weights", help="ONNX net that mines (default: the shipped one)")
    mi.add_argument("--seed", type=int, default=0, help="extraction seed (as train's)")
    mi.add_argument("--min-obj", type=float, default=0.5, help="object score of a mistake")
    mi.add_argument("--per-frame", type=int, default=4, help="hard negatives per frame at most")
    mi.set_defaults(func=_vision_mine)
    cb = vs.add_parser(
        "combine", help="several nets and/or the mirrored chip as one averaged ONNX graph"
    )
    cb.add_argument("nets", nargs="+", help="ONNX chip CNNs (vision train's output)")
    cb.add_argument("-o", "--output", required=True, help="the combined ONNX graph")
    cb.add_argument("--flip", action="store_true", help="also run each net on the mirrored chip")
    cb.set_defaults(func=_vision_combine)
    fb = vs.add_parser("fit-box", help="fit the box size lines (PARAMS.box) on the fit clips")
    fb.add_argument("--data", default="../shared/data/dd")
    fb.add_argument("--sensor", choices=["ir", "visible"], required=True)
    fb.add_argument("--step", type=int, default=3, help="every STEP-th frame")
    fb.add_argument(
        "--by-class", action="store_true", help="also lines per class named (PARAMS.class_box)"
    )
    fb.set_defaults(func=_vision_fit_box)
    ch = vs.add_parser("choose", help="thresholds by macro F1 on the validation clips")
    ch.add_argument("--data", default="../shared/data/dd")
    ch.add_argument("--sensor", choices=["ir", "visible"], required=True)
    ch.set_defaults(func=_vision_choose)
    e = vs.add_parser("eval", help="precision/recall/F1 and fps on the test clips")
    e.add_argument("--data", default="../shared/data/dd")
    e.add_argument("--sensor", choices=["ir", "visible"], required=True)
    e.add_argument("-o", "--output", help="full results (per clip) as JSON")
    e.add_argument("--part", choices=["test", "val"], default="test")
    e.add_argument("--min-score", type=float, default=None)
    e.add_argument("--decay", type=float, default=None)
    e.set_defaults(func=_vision_eval)

    cu = sub.add_parser("cue", help="slew-to-cue in simulation -> HTML evidence (issue 23)")
    cu.add_argument("scenario", help="built-in scenario name or YAML path")
    cu.add_argument("--seed", type=int, default=1)
    cu.add_argument("--until", type=float, default=150.0, help="seconds of scenario")
    cu.add_argument("--camera", default="5,-5,12", help="PTZ position e,n,u (m, site ENU)")
    cu.add_argument("--slew-deg-s", type=float, default=60.0)
    cu.add_argument("-o", "--output", required=True, help="HTML evidence page")
    cu.set_defaults(func=_cue)

    ac = sub.add_parser("acoustic", help="microphone node: classify audio (issue 23)")
    acs = ac.add_subparsers(dest="acoustic_cmd", required=True)
    c = acs.add_parser("classify", help="drone/helicopter/background per second -> JSON lines")
    c.add_argument("audio", help="PCM WAV file")
    c.add_argument("-o", "--output", required=True)
    c.set_defaults(func=_acoustic_classify)
    an = acs.add_parser("node", help="classify a WAV file or stream, report to SAPIENT")
    an.add_argument("audio", help="WAV file, or - for a WAV stream on stdin (e.g. arecord)")
    an.add_argument("--mics", help="array geometry 'e1,n1;e2,n2;...' metres (for a bearing)")
    an.add_argument("--link", help="HOST:PORT of skywarden's SAPIENT link")
    an.add_argument("--node-id", default="", help="this node's UUID (with --link)")
    an.add_argument("--dest", default="", help="skywarden's SAPIENT node UUID (with --link)")
    an.add_argument("--name", default="acoustic node")
    an.add_argument("--lat", type=float, default=0.0)
    an.add_argument("--lon", type=float, default=0.0)
    an.add_argument("--alt", type=float, default=0.0)
    an.set_defaults(func=_acoustic_node)
    at = acs.add_parser("train", help="train the classifier on the drone-detection dataset")
    at.add_argument("--data", default="../shared/data/dd/audio")
    at.add_argument("-o", "--output", help="weights file (default: the shipped one)")
    at.add_argument("--seed", type=int, default=0)
    at.set_defaults(func=_acoustic_train)
    ae = acs.add_parser("eval", help="per-class F1 on the test clips' one-second windows")
    ae.add_argument("--data", default="../shared/data/dd/audio")
    ae.set_defaults(func=_acoustic_eval)
