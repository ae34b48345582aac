"""The camera node: dataset label reader, `vision detect` output, detection quality on test
clips, and the node reporting over a real SAPIENT link on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import math
from pathlib import Path

import numpy as np
import pytest

from skywarden.cli.main import main
from skywarden.nodes.split import clip_parts, is_test_clip

DD = Path(__file__).resolve().parents[2] / "shared" / "data" / "dd"
if not DD.is_dir():  # a worktree under /work/wt/
    DD = Path("/work/shared/data/dd")
needs_data = pytest.mark.skipif(not DD.is_dir(), reason=f"{DD} absent (shared dataset)")


def test_split_is_by_clip_number() -> None:
    assert clip_parts("IR_DRONE_013_LABELS.mat") == ("IR", "DRONE", 13)
    assert clip_parts("BACKGROUND_007.wav") == ("", "BACKGROUND", 7)
    tests = [n for n in range(1, 300, 2) if is_test_clip(f"V_BIRD_{n:03d}.mp4")]
    assert tests[:5] == [1, 7, 13, 19, 25]
    assert 0.3 < len(tests) / 150 < 0.36
    with pytest.raises(ValueError):
        clip_parts("notaclip.mp4")


@needs_data
def test_label_reader_keeps_multi_object_frames() -> None:
    from skywarden.nodes.dd_labels import read_description, read_labels

    frames = read_labels(DD / "video_ir" / "IR_BIRD_001_LABELS.mat")
    assert len(frames) == 310  # one row per video frame
    two = [i for i, f in enumerate(frames) if len(f) == 2]
    assert two[0] == 178 and two[-1] == 251  # frames 179-252 (1-based) hold two birds
    assert all(b.label == "bird" for f in frames for b in f)
    first = frames[0][0]
    assert (first.x, first.y, first.w, first.h) == (2.0, 152.0, 8.0, 9.0)  # 0-based
    desc = read_description(DD / "Video_dataset_description.xlsx")
    assert len(desc) == 650 and desc["IR_DRONE_001"] == "CLOSE"


@needs_data
def test_vision_detect_format_and_hits_on_a_test_clip(tmp_path: Path) -> None:
    from skywarden.nodes.dd_labels import read_labels
    from skywarden.nodes.vision_detect import Detection
    from skywarden.nodes.vision_train import match

    clip = DD / "video_ir" / "IR_DRONE_001.mp4"  # a test clip (never trained on)
    assert is_test_clip(clip)
    out = tmp_path / "dets.jsonl"
    assert main(["vision", "detect", str(clip), "-o", str(out)]) == 0
    lines = [json.loads(s) for s in out.read_text().splitlines()]
    labels = read_labels(clip.with_name("IR_DRONE_001_LABELS.mat"))
    assert len(lines) == len(labels) == 301
    assert [d["frame"] for d in lines] == list(range(301))
    assert lines[30]["t"] == pytest.approx(1.0, abs=0.01)
    tp = fn = 0
    for d, boxes in zip(lines, labels, strict=True):
        assert set(d) == {"frame", "t", "detections"}
        dets = []
        for x in d["detections"]:
            assert set(x) == {"box", "class", "score"} and len(x["box"]) == 4
            assert 0.0 <= x["score"] <= 1.0
            dets.append(Detection(tuple(x["box"]), x["class"], x["score"]))
        t, _, n = match(dets, boxes)
        tp, fn = tp + t, fn + n
    assert tp / (tp + fn) > 0.6  # recall on this clip (class and IoU >= 0.5)


def test_unreadable_video_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video")
    assert main(["vision", "detect", str(bad), "-o", str(tmp_path / "o.jsonl")]) == 2


@needs_data
def test_camera_node_reports_over_a_real_sapient_link() -> None:
    from adapters_helpers import MemoryIngest, wait_for
    from skywarden.core.clock import ManualClock
    from skywarden.core.geo import GeoOrigin
    from skywarden.nodes import sapient_node as sn
    from skywarden.nodes.camera_geometry import CameraCalib
    from skywarden.nodes.video_io import VideoDetector, frames
    from skywarden.nodes.vision_node import Pointing, ReportMaker, run
    from skywarden.sensors.links.sapient_server import SapientServer
    from skywarden.sensors.sapient import SapientMessage, SapientSessions

    sky = "6b1c3f0e-8d2a-4c55-9e0f-2a7b3c4d5e6f"
    cam = "c0ffee00-1111-4222-8333-444455556666"
    clip = DD / "video_ir" / "IR_DRONE_001.mp4"
    calib = CameraCalib.from_fov(320, 256, math.radians(24.0))
    pointing = Pointing(math.radians(90.0), math.radians(5.0))

    def node(port: int) -> int:
        client = sn.NodeClient("127.0.0.1", port)
        client.register(sn.registration(cam, sky, 100.0, "camera", "test cam"), 100.0)
        client.send(sn.status(cam, sky, 100.0, 51.0, -1.0, 50.0, sn.ulid(100.0, 0, cam)))
        few = ((i, f) for i, f in frames(clip) if i < 45)
        n = run(
            few,
            VideoDetector("ir").step,
            ReportMaker(calib, cam, 0.5),
            lambda i: 100.0 + i / 30.0,
            lambda t: pointing,
            lambda r: client.send(sn.detection(cam, sky, r)),
        )
        client.close()
        return n

    async def scenario() -> None:
        ingest = MemoryIngest()
        server = SapientServer(
            SapientSessions(GeoOrigin(51.0, -1.0), sky), ingest, ManualClock(100.0)
        )
        port = await server.start()
        try:
            sent = await asyncio.to_thread(node, port)
            assert sent >= 2  # 1.5 s of a drone in view, one report per 0.5 s per object
            await wait_for(lambda: len(ingest.detections) >= sent)
            dets = ingest.detections
            assert server.stats().get("accepted.detection_report") == sent
            drones = [d for d in dets if d.class_hint == "drone"]  # type: ignore[attr-defined]
            assert len(drones) >= 2
            d = drones[0]
            assert d.kind == "az_el"  # type: ignore[attr-defined]
            az, el = np.asarray(d.z)  # type: ignore[attr-defined]
            # the drone is in the left half of the frame, near the middle row
            assert math.radians(78.0) < az < math.radians(90.0)
            assert abs(el - math.radians(5.0)) < math.radians(6.0)
            raw = SapientMessage()
            raw.ParseFromString(ingest.messages[-1].payload)
            (f,) = raw.detection_report.associated_file
            assert f.type == "image/jpeg" and f.url.startswith("data:image/jpeg;base64,")
            chip = base64.b64decode(f.url.split(",", 1)[1])
            assert chip[:2] == b"\xff\xd8"  # a JPEG, journaled with the report
        finally:
            await server.stop()

    asyncio.run(scenario())


def test_chips_are_centred_and_normalised() -> None:
    from skywarden.nodes.vision_cnn import CHIP, N_EXTRA, ChipCandidate, chips

    g = np.full((120, 160), 100.0, dtype=np.float32)
    g[58:63, 78:83] = 200.0  # a 5x5 bright object at (80, 60)
    x, e = chips(g, [ChipCandidate(80.0, 60.0, 5.0, 5.0, 30.0), ChipCandidate(2, 3, 1, 1, 1)])
    assert x.shape == (2, 2, CHIP, CHIP) and e.shape == (2, N_EXTRA)
    c = CHIP // 2
    assert x[0, 0, c, c] > 3.0 and abs(float(x[0, 0, 0, 0])) < 0.1  # object bright, sky ~0
    assert x[0, 0, c - 2 : c + 3, c - 2 : c + 3].min() == x[0, 0, c, c]  # all of it in the chip
    assert np.isfinite(x).all()  # a corner candidate gets a reflected, whole chip
    assert e[0, 0] == pytest.approx(np.log1p(5.0))


def test_shipped_onnx_models_run_and_name_their_classes() -> None:
    from skywarden.nodes.vision_cnn import CHIP, CLASSES, N_EXTRA, load_cnn

    rng = np.random.default_rng(0)
    for sensor in ("ir", "visible"):
        m = load_cnn(sensor)
        assert m.classes == CLASSES
        x = rng.normal(size=(5, 2, CHIP, CHIP)).astype(np.float32)
        p, box = m.run(x, rng.normal(size=(5, N_EXTRA)).astype(np.float32))
        assert p.shape == (5, len(CLASSES)) and box.shape == (5, 4)
        assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
        empty_p, empty_b = m.run(x[:0], np.zeros((0, N_EXTRA), np.float32))
        assert empty_p.shape == (0, len(CLASSES)) and empty_b.shape == (0, 4)
        assert m.path.stat().st_size < 2_000_000  # small weights ship in the repository


def test_training_exports_an_onnx_graph_that_onnxruntime_reproduces(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch is the train extra")
    from skywarden.nodes.vision_cnn import CHIP, N_EXTRA, CnnModel
    from skywarden.nodes.vision_cnn_train import export_onnx, fit

    rng = np.random.default_rng(1)
    n = 200
    y = rng.integers(0, 5, size=n)
    x = rng.normal(size=(n, 2, CHIP, CHIP)).astype(np.float32)
    x[:, 0, 14:18, 14:18] += y[:, None, None] * 2.0  # class is the blob's brightness
    d = {
        "x": x.astype(np.float16),
        "e": rng.normal(size=(n, N_EXTRA)).astype(np.float32),
        "y": y.astype(np.int64),
        "rt": rng.normal(size=(n, 4)).astype(np.float32) * 0.1,
        "groups": np.arange(n, dtype=np.int32) % 10,
    }
    net, history = fit(d, epochs=3, seed=0, log=lambda r: None)
    assert len(history) == 3 and history[-1]["loss"] < history[0]["loss"]
    export_onnx(net, tmp_path / "m.onnx")
    m = CnnModel(tmp_path / "m.onnx")
    p, box = m.run(x[:7], d["e"][:7])
    with torch.no_grad():
        logits, tbox = net(torch.from_numpy(x[:7]), torch.from_numpy(d["e"][:7]))
    tp = torch.softmax(logits, dim=1).numpy()
    assert np.allclose(p, tp, atol=1e-4) and np.allclose(box, tbox.numpy(), atol=1e-4)


def test_the_default_width_is_the_shipped_nets_shape() -> None:
    """The shipped graphs are read back as 16/32/48 channels and 96 hidden units, the default
    of ``build_net``; its modules keep the names (and so the seeded order) they had before
    the width became a parameter, which is what keeps ``vision train`` reproducing them."""
    pytest.importorskip("onnx", reason="onnx is the train extra")
    from skywarden.nodes.vision_cnn import weights_path
    from skywarden.nodes.vision_cnn_train import CHANNELS, HIDDEN, multiply_adds, net_shape

    for sensor in ("ir", "visible"):
        assert net_shape(weights_path(sensor)) == (CHANNELS, HIDDEN) == ((16, 32, 48), 96)
    assert 2.3e6 < multiply_adds() < 2.5e6  # the documented "about 2.4 M" per chip
    assert multiply_adds((32, 64, 96)) > 3.5 * multiply_adds()
    pytest.importorskip("torch", reason="torch is the train extra")
    from skywarden.nodes.vision_cnn_train import build_net

    keys = [k for k in build_net().state_dict() if k.endswith("weight")]
    assert keys[:3] == ["features.0.weight", "features.1.weight", "features.4.weight"]
    assert keys[-3:] == ["hidden.0.weight", "cls.weight", "box.weight"]
    with pytest.raises(ValueError):
        build_net((8, 8, 8, 8, 8, 8))  # six halvings do not fit a 32 px chip


def _noise_chips(rng: np.random.Generator, n: int, clips: int) -> dict[str, np.ndarray]:
    """A chip cache of noise with random labels, ``n`` chips dealt round ``clips`` clips: what
    a training run needs to run, not to learn."""
    from skywarden.nodes.vision_cnn import CHIP, N_EXTRA

    return {
        "x": rng.normal(size=(n, 2, CHIP, CHIP)).astype(np.float16),
        "e": rng.normal(size=(n, N_EXTRA)).astype(np.float32),
        "y": rng.integers(0, 5, size=n).astype(np.int64),
        "rt": np.zeros((n, 4), np.float32),
        "groups": np.arange(n, dtype=np.int32) % clips,
    }


def test_a_wider_net_trains_exports_and_runs_in_the_detector(tmp_path: Path) -> None:
    """A net of another width and depth (four stages, 40 hidden units) trains, exports a graph
    that says its shape, and runs in the detector unchanged (``frame_outputs``)."""
    torch = pytest.importorskip("torch", reason="torch is the train extra")
    from skywarden.nodes.vision_cnn import CnnModel
    from skywarden.nodes.vision_cnn_train import build_net, export_onnx, fit, net_shape
    from skywarden.nodes.vision_detect import frame_outputs

    n = 120
    d = _noise_chips(np.random.default_rng(3), n, clips=10)
    wide = (8, 16, 24, 32)
    net, history = fit(d, epochs=1, seed=0, log=lambda r: None, channels=wide, hidden=40)
    assert len(history) == 1
    n_par = sum(p.numel() for p in net.parameters())
    assert n_par != sum(p.numel() for p in build_net().parameters())
    export_onnx(net, tmp_path / "wide.onnx")
    assert net_shape(tmp_path / "wide.onnx") == (wide, 40)
    m = CnnModel(tmp_path / "wide.onnx")
    x = d["x"][:5].astype(np.float32)
    p, box = m.run(x, d["e"][:5])
    with torch.no_grad():
        logits, tbox = net(torch.from_numpy(x), torch.from_numpy(d["e"][:5]))
    assert np.allclose(p, torch.softmax(logits, dim=1).numpy(), atol=1e-4)
    assert np.allclose(box, tbox.numpy(), atol=1e-4)
    frame = np.full((120, 160), 40, dtype=np.uint8)
    frame[58:64, 78:86] = 220  # one warm object: one proposal at least
    out = frame_outputs(frame, "ir", m)
    assert len(out.cands) >= 1 and out.probs.shape == (len(out.cands), 5)


def test_balanced_sampling_gives_each_object_class_an_equal_share() -> None:
    """``fit(balanced=True)`` draws chips with these weights: background keeps its share of
    the chips, the positives' share is split equally whatever the class counts."""
    pytest.importorskip("torch", reason="torch is the train extra")
    from skywarden.nodes.vision_cnn_train import _balance_weights

    y = np.array([0] * 60 + [1] * 30 + [2] * 6 + [3] * 3 + [4] * 1, dtype=np.int64)
    w = _balance_weights(y).numpy()
    assert w.sum() == pytest.approx(1.0)
    assert w[y == 0].sum() == pytest.approx(0.6)
    for c in (1, 2, 3, 4):
        assert w[y == c].sum() == pytest.approx(0.1)
    assert w[y == 4][0] == pytest.approx(30 * w[y == 1][0])  # the rare class drawn 30x as often


def test_per_clip_sampling_gives_each_clip_an_equal_share_and_the_cap_bounds_a_clip() -> None:
    """``fit(per_clip=True)`` draws with ``clip_shares``: background keeps its share of the
    chips, every clip with object chips gets an equal share of the positives however many it
    has. ``fit(clip_cap=k)`` takes ``capped_indices`` each epoch: every background chip, at
    most k object chips of a clip, a fresh subset each epoch (session 13, sampling by clip)."""
    from skywarden.nodes.vision_cnn_train import capped_indices, clip_shares

    # clip 0: 40 drone chips, clip 1: 8 bird chips, clip 2: 2 helicopter chips; 50 background
    y = np.array([3] * 40 + [2] * 8 + [4] * 2 + [0] * 50, dtype=np.int64)
    g = np.array([0] * 40 + [1] * 8 + [2] * 2 + [0, 1, 2, 3, 4] * 10, dtype=np.int32)
    w = clip_shares(y, g)
    assert w.sum() == pytest.approx(1.0)
    assert w[y == 0].sum() == pytest.approx(0.5)
    for clip in (0, 1, 2):
        assert w[(y > 0) & (g == clip)].sum() == pytest.approx(0.5 / 3)
    assert w[y == 4][0] == pytest.approx(20 * w[y == 3][0])  # the short clip's chips drawn 20x

    rng = np.random.default_rng(0)
    a, b = capped_indices(y, g, 5, rng), capped_indices(y, g, 5, rng)
    for idx in (a, b):
        assert (y[idx] == 0).sum() == 50  # background as without the cap
        assert [int(((y[idx] > 0) & (g[idx] == c)).sum()) for c in (0, 1, 2)] == [5, 5, 2]
        assert len(set(idx.tolist())) == len(idx)  # without replacement
    assert set(a.tolist()) != set(b.tolist())  # a fresh subset of the long clip each epoch
    with pytest.raises(ValueError):
        capped_indices(y, g, 0, rng)


def test_fit_samples_by_clip_and_refuses_two_sampling_rules_at_once() -> None:
    """Per-clip sampling and the clip cap change the chips an epoch sees (so the fitted net);
    combining sampling rules is refused."""
    torch = pytest.importorskip("torch", reason="torch is the train extra")
    from skywarden.nodes.vision_cnn_train import fit

    n = 150
    d = _noise_chips(np.random.default_rng(4), n, clips=7)
    nets = {}
    for key, kw in {"chips": {}, "per_clip": {"per_clip": True}, "cap": {"clip_cap": 3}}.items():
        net, hist = fit(d, epochs=1, seed=0, log=lambda r: None, holdout=False, **kw)
        nets[key] = net.state_dict()["cls.weight"]
        assert len(hist) == 1
    assert not torch.equal(nets["chips"], nets["per_clip"])
    assert not torch.equal(nets["chips"], nets["cap"])
    with pytest.raises(ValueError):
        fit(d, epochs=1, log=lambda r: None, balanced=True, per_clip=True)
    with pytest.raises(ValueError):
        fit(d, epochs=1, log=lambda r: None, per_clip=True, clip_cap=3)


def test_coarse_proposal_scale_finds_a_large_smooth_object() -> None:
    """A 56 x 36 px soft object: the sigma-4 high-pass sees only noise-sized parts of it; the
    coarse scale (``coarse_sigma``, shipped for thermal) proposes the whole object."""
    import dataclasses

    from skywarden.nodes.vision_detect import PARAMS, SensorParams, candidates, iou

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:256, 0:320]
    blob = 40 * np.exp(-(((xx - 160) / 14.0) ** 2 + ((yy - 128) / 9.0) ** 2) / 2)
    g = (100 + rng.normal(0, 2, size=(256, 320)) + blob).astype(np.float32)
    truth = (132.0, 110.0, 56.0, 36.0)

    def best(p: SensorParams) -> float:
        cs = candidates(g, p)
        return max(iou((c.cx - c.w / 2, c.cy - c.h / 2, c.w, c.h), truth) for c in cs)

    assert PARAMS["ir"].coarse_sigma is not None
    assert best(dataclasses.replace(PARAMS["ir"], coarse_sigma=None)) < 0.1
    assert best(PARAMS["ir"]) > 0.3


def test_box_size_lines_replace_the_regressed_size() -> None:
    """``vision_box.refine``: the fitted lines set log width and height from the regression
    and the blob; the centre offset is left alone."""
    from skywarden.nodes.vision_box import refine
    from skywarden.nodes.vision_cnn import decode_box
    from skywarden.nodes.vision_detect import PARAMS, Candidate

    c = Candidate(40.0, 30.0, 20.0, 8.0, 12.0)
    reg = np.array([0.1, -0.1, 2.0, 1.5], dtype=np.float32)
    same = ((0.0, 1.0, 0.0, 0.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0, 0.0, 0.0))
    assert np.allclose(refine(c, reg, same), reg)
    blob = ((0.0, 0.0, 0.0, 1.0, 0.0, 0.0), (0.1, 0.0, 0.0, 0.0, 1.0, 0.0))
    x, y, w, h = decode_box(c, refine(c, reg, blob))
    assert (w, h) == pytest.approx((20.0, 8.0 * math.exp(0.1)), rel=1e-5)
    assert (x + w / 2, y + h / 2) == pytest.approx((40.0 + 3.2, 30.0 - 3.2), rel=1e-5)
    for p in PARAMS.values():  # both sensors ship fitted lines, six numbers per axis
        assert p.box is not None and all(len(a) == 6 for a in p.box)


def test_class_lines_size_the_box_of_the_class_the_cnn_names() -> None:
    """``SensorParams.class_box``: a proposal the CNN names drone is sized by the drone's
    lines, one named bird (no lines of its own) by the common ``box``; the centre is the
    regression's either way."""
    import dataclasses

    from skywarden.nodes.vision_cnn import CLASSES
    from skywarden.nodes.vision_detect import PARAMS, Candidate, FrameOutputs, detections

    common = ((math.log(10.0), 0.0, 0.0, 0.0, 0.0, 0.0), (math.log(10.0), 0.0, 0.0, 0.0, 0.0, 0.0))
    drone = ((math.log(30.0), 0.0, 0.0, 0.0, 0.0, 0.0), (math.log(20.0), 0.0, 0.0, 0.0, 0.0, 0.0))
    p = dataclasses.replace(
        PARAMS["ir"], box=common, class_box=(("drone", drone),), nest=None, min_score=0.5
    )
    cands = [Candidate(50.0, 50.0, 6.0, 6.0, 20.0), Candidate(200.0, 50.0, 6.0, 6.0, 20.0)]
    probs = np.array([[0.01, 0, 0, 0.99, 0], [0.01, 0, 0.99, 0, 0]], np.float32)
    reg = np.zeros((2, 4), np.float32)
    out = FrameOutputs(cands, np.ones(2, np.float32), probs, reg)
    by_label = {d.label: d.box for d in detections(out, p, CLASSES, 0.5)}
    assert by_label["drone"] == pytest.approx((35.0, 40.0, 30.0, 20.0), rel=1e-4)
    assert by_label["bird"] == pytest.approx((195.0, 45.0, 10.0, 10.0), rel=1e-4)
    plain = {
        d.label: d.box for d in detections(out, dataclasses.replace(p, class_box=()), CLASSES, 0.5)
    }
    assert plain["drone"] == pytest.approx((45.0, 45.0, 10.0, 10.0), rel=1e-4)


def test_class_lines_are_fitted_on_the_pairs_each_class_would_report() -> None:
    """``vision_box.by_class``: per class the CNN names, least squares on its pairs scored
    at or over the object threshold; a class with fewer than ``MIN_CLASS_PAIRS`` such pairs
    gets no lines of its own (it keeps the common ones)."""
    from skywarden.nodes.vision_box import MIN_CLASS_PAIRS, by_class
    from skywarden.nodes.vision_cnn import CLASSES

    rng = np.random.default_rng(0)
    n = 3 * MIN_CLASS_PAIRS
    x = np.column_stack([np.ones(n), rng.normal(2.5, 0.5, (n, 5))])
    named = np.repeat([3, 4, 2], MIN_CLASS_PAIRS)  # drone, helicopter, bird
    probs = np.zeros((n, len(CLASSES)), np.float32)
    probs[np.arange(n), named] = 0.995
    probs[:, 0] = 0.005
    probs[2 * MIN_CLASS_PAIRS + 1 :, 0] = 0.5  # all birds but one under the threshold
    probs[2 * MIN_CLASS_PAIRS + 1 :, 2] = 0.5
    gain = np.where(named == 3, 1.0, 0.5)  # drones' labels: the regression; helicopters' half
    y = np.column_stack([gain * x[:, 1], 0.2 + gain * x[:, 2]])
    lines, counts = by_class(x, y, probs, CLASSES, 0.99)
    assert counts["drone"] == counts["helicopter"] == MIN_CLASS_PAIRS and counts["bird"] == 1
    got = dict(lines)
    assert set(got) == {"drone", "helicopter"}
    assert got["drone"][0][1] == pytest.approx(1.0, abs=1e-3)
    assert got["helicopter"][0][1] == pytest.approx(0.5, abs=1e-3)
    assert got["helicopter"][1][0] == pytest.approx(0.2, abs=1e-3)


def test_a_blob_wider_than_the_chip_floors_the_box_by_at_most_the_cap() -> None:
    """``SensorParams.blob_floor``: a 34 x 20 px blob (wider than the 32-px chip) raises a
    regressed 24 x 14 box to its own size; a 150 x 36 blob (merged with the horizon) raises
    it by the cap (1.5) only; a 20 px blob, which the chip sees whole, leaves it; a box
    already larger than its blob keeps its size. Thermal ships it, visible (whose pyramid
    shows large objects shrunk) does not."""
    import dataclasses

    from skywarden.nodes.vision_cnn import CLASSES
    from skywarden.nodes.vision_detect import PARAMS, Candidate, FrameOutputs, detections

    p = dataclasses.replace(PARAMS["ir"], box=None, nest=None, min_score=0.5)
    assert p.blob_floor == 32.0 and p.blob_cap == 1.5 and PARAMS["visible"].blob_floor is None
    xs = (50.0, 250.0, 450.0, 650.0)
    cands = [
        Candidate(xs[0], 50.0, 34.0, 20.0, 20.0),
        Candidate(xs[1], 50.0, 150.0, 36.0, 20.0),
        Candidate(xs[2], 50.0, 20.0, 12.0, 20.0),
        Candidate(xs[3], 50.0, 34.0, 10.0, 20.0),
    ]
    probs = np.tile(np.array([0.01, 0, 0, 0.99, 0], np.float32), (4, 1))
    reg = np.tile(np.array([0, 0, math.log(24.0), math.log(14.0)], np.float32), (4, 1))
    reg[3, 2:] = (math.log(48.0), math.log(20.0))
    out = FrameOutputs(cands, np.ones(4, np.float32), probs, reg)
    size = {round(d.box[0] + d.box[2] / 2): d.box[2:] for d in detections(out, p, CLASSES, 0.5)}
    assert size[50] == pytest.approx((34.0, 20.0), rel=1e-4)
    assert size[250] == pytest.approx((36.0, 21.0), rel=1e-4)
    assert size[450] == pytest.approx((24.0, 14.0), rel=1e-4)
    assert size[650] == pytest.approx((48.0, 20.0), rel=1e-4)
    off = {
        round(d.box[0] + d.box[2] / 2): d.box[2:]
        for d in detections(out, dataclasses.replace(p, blob_floor=None), CLASSES, 0.5)
    }
    assert off[50] == pytest.approx((24.0, 14.0), rel=1e-4)


def test_visible_ships_lines_per_class_and_thermal_does_not() -> None:
    """Session 13: per-class lines paid on the visible validation fifth (macro F1 0.676 ->
    0.698) and not on thermal (0.549 -> 0.538), whose labels' padding differs less by class."""
    from skywarden.nodes.vision_detect import PARAMS

    vis = dict(PARAMS["visible"].class_box)
    assert set(vis) == {"aeroplane", "bird", "drone", "helicopter"}
    assert all(len(a) == 6 for c in vis.values() for a in c)
    assert vis["bird"] != vis["helicopter"] and PARAMS["ir"].class_box == ()


def test_pyramid_level_proposes_an_object_too_large_for_the_chip() -> None:
    """A 110 x 70 px soft object is over three chips wide at working scale; the levels of
    ``pyramid`` (the frame shrunk by 2 and 4) propose it whole, and their proposals, scaled
    back by the level's factor, cover it; without a pyramid only the working level exists."""
    import dataclasses

    from skywarden.nodes.vision_detect import PARAMS, Level, candidates, iou, levels

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:256, 0:320]
    blob = 40 * np.exp(-(((xx - 160) / 27.0) ** 2 + ((yy - 128) / 17.0) ** 2) / 2)
    g = (100 + rng.normal(0, 2, size=(256, 320)) + blob).astype(np.float32)
    truth = (105.0, 93.0, 110.0, 70.0)
    flat = dataclasses.replace(PARAMS["ir"], pyramid=(), coarse_sigma=None)
    (only,) = levels(g, flat)
    assert only.factor == 1.0 and only.cands == candidates(g, flat)
    lv = levels(g, dataclasses.replace(flat, pyramid=(2.0, 4.0)))
    assert [v.factor for v in lv] == [1.0, 2.0, 4.0]
    assert lv[2].gray.shape == (64, 80)

    def best(v: Level) -> float:
        f = v.factor
        return max(
            (
                iou(((c.cx - c.w / 2) * f, (c.cy - c.h / 2) * f, c.w * f, c.h * f), truth)
                for c in v.cands
            ),
            default=0.0,
        )

    assert best(lv[0]) < 0.1
    assert max(best(lv[1]), best(lv[2])) > 0.3


def test_class_weight_moves_ambiguous_chips_to_the_weighted_class() -> None:
    """Aeroplane and drone chips drawn alike (nothing tells them apart): unweighted, the
    net splits them by prior; ``class_weight={"aeroplane": 8}`` makes a wrong aeroplane
    eight times as costly, so more of them are called aeroplane."""
    torch = pytest.importorskip("torch", reason="torch is the train extra")
    from skywarden.nodes.vision_cnn import CHIP, CLASSES, N_EXTRA
    from skywarden.nodes.vision_cnn_train import fit

    rng = np.random.default_rng(2)
    n = 160
    y = np.where(rng.random(n) < 0.3, CLASSES.index("aeroplane"), CLASSES.index("drone"))
    x = rng.normal(size=(n, 2, CHIP, CHIP)).astype(np.float32)
    d = {
        "x": x.astype(np.float16),
        "e": rng.normal(size=(n, N_EXTRA)).astype(np.float32),
        "y": y.astype(np.int64),
        "rt": np.zeros((n, 4), np.float32),
        "groups": np.ones(n, dtype=np.int32),
    }
    share = []
    for cw in (None, {"aeroplane": 8.0}):
        net, _ = fit(d, epochs=3, seed=0, log=lambda r: None, class_weight=cw)
        with torch.no_grad():
            logits, _ = net(torch.from_numpy(x), torch.from_numpy(d["e"]))
        share.append(float((logits.argmax(1).numpy() == CLASSES.index("aeroplane")).mean()))
    assert share[1] > share[0] + 0.2


def test_mining_keeps_confident_background_and_wrong_class_chips_only() -> None:
    """``vision_mine.frame_examples``: a proposal in a drone's box that the net calls a bird
    is kept with the drone label and its box target; background proposals scored as objects
    are kept, the most confident first, at most ``per_frame``; one scored below ``min_obj``
    and a drone called drone are not."""
    import dataclasses

    from skywarden.nodes.dd_labels import Box
    from skywarden.nodes.vision_cnn import CHIP, CLASSES, chips
    from skywarden.nodes.vision_detect import PARAMS, Candidate, candidates
    from skywarden.nodes.vision_mine import frame_examples

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:256, 0:320]
    g = 100 + rng.normal(0, 2, size=(256, 320))
    spots = [(60, 60), (200, 60), (200, 180), (60, 180)]
    for sx, sy in spots:
        g += 40 * np.exp(-(((xx - sx) / 2.5) ** 2 + ((yy - sy) / 2.5) ** 2) / 2)
    g = g.astype(np.float32)
    flat = dataclasses.replace(PARAMS["ir"], pyramid=(), coarse_sigma=None)
    label = Box(48.0, 50.0, 20.0, 16.0, "drone")
    cands = candidates(g, flat)

    def spot(c: Candidate) -> int:
        d = [math.hypot(c.cx - sx, c.cy - sy) for sx, sy in spots]
        return int(np.argmin(d)) if min(d) < 3 else -1

    assert sorted(spot(c) for c in cands if spot(c) >= 0) == [0, 1, 2, 3]

    class Fake:
        classes = CLASSES

        def __init__(self, in_box: str) -> None:
            rows = {0: (0.1, in_box), 1: (0.05, "drone"), 2: (0.2, "bird"), 3: (0.7, "drone")}
            self.p = np.zeros((len(cands), len(CLASSES)), np.float32)
            self.p[:, 0] = 1.0
            for j, c in enumerate(cands):
                if spot(c) in rows:
                    bg, name = rows[spot(c)]
                    self.p[j] = 0.0
                    self.p[j, 0], self.p[j, CLASSES.index(name)] = bg, 1.0 - bg

        def run(self, x: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            assert len(x) == len(cands)
            return self.p, np.zeros((len(x), 4), np.float32)

    got = frame_examples(g, [label], flat, Fake("bird"), min_obj=0.5, per_frame=1)
    assert [ex[2] for ex in got] == [CLASSES.index("drone"), 0]
    pos = next(c for c in cands if spot(c) == 0)
    assert got[0][3][:2] == pytest.approx([(58.0 - pos.cx) / CHIP, (58.0 - pos.cy) / CHIP])
    assert got[0][3][2:] == pytest.approx([math.log(20.0), math.log(16.0)])
    neg = next(j for j, c in enumerate(cands) if spot(c) == 1)  # obj 0.95 beats 0.8
    assert np.allclose(got[1][1], chips(g, cands)[1][neg])
    both = frame_examples(g, [label], flat, Fake("drone"), min_obj=0.5, per_frame=4)
    assert [ex[2] for ex in both] == [0, 0]


def test_error_budget_names_each_missed_label_and_false_box_by_its_cause() -> None:
    """``vision_budget.frame_budget``: one frame with a hit, a box under another class, a box
    too small on its object, an object whose proposal scored under the threshold, one with no
    proposal at all, a duplicate and a box on empty sky; and ``counterfactual``'s F1s."""
    import dataclasses

    from skywarden.nodes.dd_labels import Box
    from skywarden.nodes.vision_budget import counterfactual, frame_budget
    from skywarden.nodes.vision_cnn import CLASSES
    from skywarden.nodes.vision_detect import PARAMS, Candidate, Detection, FrameOutputs

    p = dataclasses.replace(PARAMS["ir"], min_score=0.9)
    boxes = [
        Box(10, 10, 10, 10, "drone"),  # hit
        Box(100, 100, 10, 10, "bird"),  # a drone box on it: class
        Box(200, 200, 20, 20, "drone"),  # a 4-px drone box on it: box
        Box(300, 300, 10, 10, "aeroplane"),  # a proposal scored 0.5: objectness
        Box(400, 300, 10, 10, "helicopter"),  # nothing: no proposal
    ]
    dets = [
        Detection((10, 10, 10, 10), "drone", 0.99),
        Detection((11, 10, 10, 10), "drone", 0.98),  # duplicate of the hit
        Detection((100, 101, 10, 10), "drone", 0.97),
        Detection((208, 208, 4, 4), "drone", 0.96),
        Detection((600, 20, 8, 8), "bird", 0.95),  # background
    ]
    probs = np.array([[0.5, 0.5, 0.0, 0.0, 0.0]], np.float32)
    out = FrameOutputs(
        [Candidate(305.0, 305.0, 5.0, 5.0, 9.0)], np.ones(1, np.float32), probs, np.zeros((1, 4))
    )
    labels, fps = frame_budget(dets, boxes, out, p, CLASSES)
    assert [o for o, _ in labels] == ["tp", "class", "box", "objectness", "no_proposal"]
    assert sorted(fps) == ["background", "box", "class", "duplicate"]
    c = {"tp": 1, "fn_class": 1, "fn_box": 1, "fn_objectness": 1, "fn_no_proposal": 1}
    c |= {"fp_class": 1, "fp_box": 1, "fp_duplicate": 1, "fp_background": 1}
    cf = counterfactual(c)
    assert cf["f1"] == pytest.approx(2 / 10)  # 2TP / (2TP + FP + FN)
    assert cf["fix_class"] == pytest.approx(4 / 10)  # one FP and one FN become a TP
    assert cf["fix_no_proposal"] == pytest.approx(4 / 11)
    assert cf["fix_fp_background"] == pytest.approx(2 / 9)


def test_nms_keeps_the_larger_of_two_nested_boxes_when_asked() -> None:
    """``vision_detect.nms`` with ``nest``: a part's box inside the whole object's box (IoU
    0.06, far under the 0.3 of plain NMS) is the same object, and the whole box stays even
    when the part scored higher; a box beside it, or overlapping by less, is another object."""
    from skywarden.nodes.vision_detect import PARAMS, Detection, inside_share, nms

    whole = Detection((100, 100, 80, 40), "helicopter", 0.991)
    part = Detection((120, 110, 16, 8), "drone", 0.999)
    beside = Detection((300, 100, 16, 8), "bird", 0.995)
    edge = Detection((170, 130, 20, 20), "bird", 0.993)  # a quarter of it inside `whole`
    assert inside_share(part.box, whole.box) == 1.0 and inside_share(edge.box, whole.box) == 0.25
    assert nms([whole, part, beside, edge]) == [part, beside, edge, whole]
    assert nms([whole, part, beside, edge], nest=0.8) == [whole, beside, edge]
    assert PARAMS["visible"].nest == 0.8 and PARAMS["ir"].nest is None


def test_choose_scores_nested_boxes_as_the_node_reports_them() -> None:
    """With ``nest``, a larger box under the threshold must not take the place of a smaller
    one over it: ``vision_train.score`` given the params thresholds the CNN outputs before
    NMS (as ``detect_frame`` does); thresholding detections kept at a lower floor would lose
    the hit."""
    import dataclasses

    from skywarden.nodes.dd_labels import Box
    from skywarden.nodes.vision_cnn import CLASSES
    from skywarden.nodes.vision_detect import PARAMS, Candidate, FrameOutputs, detections
    from skywarden.nodes.vision_train import RawClip, score

    p = dataclasses.replace(PARAMS["visible"], scale=1.0, box=None, pyramid=(), nest=0.8)
    cand = Candidate(50.0, 50.0, 6.0, 6.0, 20.0)
    probs = np.array([[0.005, 0, 0, 0.995, 0], [0.5, 0, 0, 0.5, 0]], np.float32)
    reg = np.array([[0, 0, math.log(10), math.log(10)], [0, 0, math.log(40), math.log(40)]])
    out = FrameOutputs([cand, cand], np.ones(2, np.float32), probs, reg.astype(np.float32))
    floor = [detections(out, p, CLASSES, 0.4)] * 3
    clip = RawClip("V_DRONE_001", floor, [[Box(45, 45, 10, 10, "drone")]] * 3, [out] * 3)
    exact = score([clip], {}, 0.99, 1.0, 0.0, 1, p)[0]["all"]
    assert (exact["tp"], exact["fp"], exact["fn"]) == (3, 0, 0)
    after = score([clip], {}, 0.99, 1.0, 0.0, 1)[0]["all"]  # the floor's NMS, then threshold
    assert (after["tp"], after["fn"]) == (0, 3)


def test_an_ensemble_graph_averages_its_nets_and_the_mirrored_chip(tmp_path: Path) -> None:
    """``vision_ensemble.combine`` writes one graph that ``CnnModel`` runs as it runs one
    net: its class probabilities are the mean of each member's on the chip and on the chip
    mirrored left-right, its box the mean of their regressions with a mirrored view's centre
    offset negated; one net without mirror is itself again; ``member`` gives each net back
    exactly (session 14)."""
    pytest.importorskip("onnx", reason="onnx is the train extra")
    from skywarden.nodes.vision_cnn import CnnModel, weights_path
    from skywarden.nodes.vision_cnn_train import net_shape
    from skywarden.nodes.vision_ensemble import combine, member, members

    # two nets of the chip CNN's shape: the first net of each shipped graph
    nets = []
    for sensor in ("ir", "visible"):
        member(weights_path(sensor), 0, tmp_path / f"{sensor}.onnx")
        nets.append(tmp_path / f"{sensor}.onnx")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(9, 2, 32, 32)).astype(np.float32)
    e = rng.normal(size=(9, 4)).astype(np.float32)
    looks = []
    for net in nets:
        m = CnnModel(net)
        looks.append(m.run(x, e))
        p, box = m.run(np.ascontiguousarray(x[..., ::-1]), e)
        box[:, 0] = -box[:, 0]
        looks.append((p, box))
    args = ["vision", "combine", *map(str, nets), "-o", str(tmp_path / "ens.onnx"), "--flip"]
    assert main(args) == 0
    both = CnnModel(tmp_path / "ens.onnx")
    p, box = both.run(x, e)
    assert both.classes == CnnModel(nets[0]).classes
    assert np.allclose(p, np.mean([q for q, _ in looks], axis=0), atol=1e-5)
    assert np.allclose(box, np.mean([b for _, b in looks], axis=0), atol=1e-5)
    assert not np.allclose(box, looks[0][1], atol=1e-2)  # the members do differ
    assert members(tmp_path / "ens.onnx") == (2, True) and members(nets[0]) == (1, False)
    assert net_shape(tmp_path / "ens.onnx") == ((16, 32, 48), 96)  # the first member's
    for k in range(len(nets)):
        member(tmp_path / "ens.onnx", k, tmp_path / "back.onnx")
        q, b = CnnModel(tmp_path / "back.onnx").run(x, e)
        assert np.array_equal(q, looks[2 * k][0]) and np.array_equal(b, looks[2 * k][1])
    combine(nets[:1], tmp_path / "one.onnx")
    p1, box1 = CnnModel(tmp_path / "one.onnx").run(x, e)
    assert np.allclose(p1, looks[0][0], atol=1e-5) and np.array_equal(box1, looks[0][1])
    with pytest.raises(ValueError):
        combine([], tmp_path / "none.onnx")
    with pytest.raises(ValueError):
        member(tmp_path / "ens.onnx", 2, tmp_path / "none.onnx")


def test_shipped_graphs_are_a_seed_ensemble_thermal_and_a_mirrored_net_visible() -> None:
    """What session 14 shipped, read from the graphs' metadata by onnxruntime alone (no
    ``onnx`` at run time): thermal averages three nets (seeds 0-2 of the shipped recipe),
    visible averages its one net on the chip and on the chip's mirror (``vision_ensemble``);
    both still take chips and return class probabilities and a box per chip."""
    from skywarden.nodes.vision_cnn import CHIP, N_EXTRA, load_cnn
    from skywarden.nodes.vision_ensemble import FLIP_KEY, MEMBERS_KEY

    shipped = {}
    for sensor in ("ir", "visible"):
        m = load_cnn(sensor)
        meta = m.session.get_modelmeta().custom_metadata_map
        shipped[sensor] = (meta.get(MEMBERS_KEY), meta.get(FLIP_KEY))
        x = np.zeros((3, 2, CHIP, CHIP), np.float32)
        p, box = m.run(x, np.zeros((3, N_EXTRA), np.float32))
        assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5) and box.shape == (3, 4)
    assert shipped == {"ir": ("3", "0"), "visible": ("1", "1")}
