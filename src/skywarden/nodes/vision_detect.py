"""The camera node's detector: small flying objects in thermal and visible frames.

Per frame (grayscale):

1. **Candidates.** The residual ``frame - GaussianBlur(frame, sigma)`` is thresholded at
   ``k`` robust standard deviations (median absolute deviation); connected components of the
   mask are candidate objects, the ``MAX_CANDIDATES`` of highest contrast kept. Sky is smooth,
   a drone, bird or aircraft is a compact blob of contrast in it. Thermal frames add the
   larger blobs of a coarser high-pass (``coarse_sigma``), for objects over about 24 px.
2. **Appearance and box.** ``vision_cnn``: two chips per candidate (the object at working
   scale and its neighbourhood shrunk) through a small CNN (onnxruntime, one thread) scoring
   background / aeroplane / bird / drone / helicopter and regressing the box (centre offset,
   log width, log height); the size lines of ``vision_box`` (per class for visible video)
   and, for thermal blobs wider than the chip, the blob's extent (``blob_floor``) size it.
3. **Thresholding and NMS.** A candidate is an object when 1 - P(background) >= ``MIN_SCORE``;
   overlapping boxes (IoU >= 0.3) keep the best scored.
4. **Motion.** ``TrackSmoother`` links detections frame to frame (nearest centre within a
   gate) and averages class probabilities along the link, so a class decided from many frames
   (and from the steadiness of the motion: a bird's wingbeat flickers its appearance, a drone's
   does not) outweighs one frame's look.

Boxes are ``(x, y, w, h)`` in pixels with a top-left origin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.vision_box import Coef, refine
from skywarden.nodes.vision_cnn import CnnModel, chips, decode_box, load_cnn
from skywarden.nodes.vision_coarse import SecondLook, look_again
from skywarden.nodes.vision_evidence import Evidence, accumulate
from skywarden.nodes.vision_motion import WINDOW, HistEntry, MotionModel, decide, load

MAX_CANDIDATES = 48
COARSE_MAX = 8  # coarse-scale proposals added per frame at most
SMOOTH_DECAY = 0.9
MIN_HITS = 1
MAX_DETS = 48
MIN_SCORE = 0.7


@dataclass(frozen=True)
class SensorParams:
    sigma: float
    k: float
    scale: float  # frames are processed at this scale (visible frames are halved)
    min_score: float = MIN_SCORE  # object probability 1 - P(background) to report
    decay: float = SMOOTH_DECAY  # TrackSmoother's memory per frame
    size_memory: float = 0.0  # TrackSmoother's box size memory per match
    min_hits: int = MIN_HITS  # detections before a link is reported
    box: Coef | None = None  # box size lines (``vision_box``), fitted on the fit clips
    # ... per class named by the CNN (``vision_box.fit(by_class=True)``); others use ``box``
    class_box: tuple[tuple[str, Coef], ...] = ()
    coarse_sigma: float | None = None  # a second, coarser proposal scale (``candidates``)
    coarse_min: float = 12.0  # ... whose blobs count only from this size (px, working scale)
    pyramid: tuple[float, ...] = ()  # extra levels: the working frame shrunk by these factors
    pyramid_min: float = 8.0  # ... whose blobs count only from this size (px, at that level)
    nest: float | None = None  # NMS: a box this much inside another is the same object (``nms``)
    blob_floor: float | None = None  # a blob this wide (level px) floors the box (``detections``)
    blob_cap: float = 1.5  # ... raising each side by at most this factor
    evidence: Evidence | None = None  # weak proposals linked, reported on evidence (session 14)
    motion: MotionModel | None = None  # the link's motion weighed into its class (session 16)
    second: SecondLook | None = None  # large proposals looked at again, shrunk (session 19)


def _motion(sensor: str) -> MotionModel:
    """The shipped motion model of a sensor (``weights/vision_motion_SENSOR.json``; the file
    says the command that made it)."""
    return load(Path(__file__).parent / "weights" / f"vision_motion_{sensor}.json")


# min_score, decay, size_memory, min_hits: chosen on the validation clips (the held-out fifth
# of the training clips; ``skywarden vision choose``: best macro F1), never on test clips;
# box: ``skywarden vision fit-box --sensor ir|visible`` (the fit clips, every 3rd frame).
PARAMS = {
    "ir": SensorParams(
        sigma=4.0,
        k=4.0,
        scale=1.0,
        min_score=0.85,
        decay=0.98,
        size_memory=0.95,
        min_hits=1,  # session 14: re-chosen for the three-seed ensemble
        box=(
            (0.4639, 0.4174, 0.4561, 0.0755, 0.0697, -0.0797),
            (0.2835, -0.5003, 1.4668, -0.0497, 0.1142, -0.0473),
        ),
        coarse_sigma=12.0,
        coarse_min=16.0,
        blob_floor=32.0,  # session 13: CHIP; the cap 1.5 chosen on the validation fifth
        # session 16: the link's motion weighed into its class, weight 0.25, chosen by
        # cross-validation over five fifths of the training clips (docs/vision.md)
        motion=_motion("ir"),
        # session 19: a second look at blobs of 24 px or more (``second=SecondLook(...)``,
        # ``nodes/vision_coarse.py``) not shipped: validation macro a tie (0.5777 ->
        # 0.5778), test 0.618 -> 0.611 pooled, 0.557 -> 0.545 macro (docs/vision.md)
    ),
    "visible": SensorParams(
        sigma=4.0,
        k=4.0,
        scale=0.5,
        min_score=0.99,  # session 14: re-chosen for the net run on the chip and its mirror
        decay=1.0,
        size_memory=0.8,
        min_hits=2,
        box=(
            (0.2261, 1.1553, -0.3289, 0.069, -0.0146, 0.0171),
            (0.1132, 0.0328, 0.8729, -0.0729, 0.0821, 0.025),
        ),
        # session 13: ``skywarden vision fit-box --sensor visible --by-class`` (labels are
        # padded by class: the object fills 0.41 of a helicopter's label, 0.03 of a bird's)
        class_box=(
            (
                "aeroplane",
                (
                    (0.0827, 1.2892, -0.4191, 0.2807, -0.1813, -0.035),
                    (-0.2473, -0.4006, 1.5175, -0.1848, 0.152, 0.03),
                ),
            ),
            (
                "bird",
                (
                    (1.9889, 1.0949, -0.8381, 0.0818, 0.0166, -0.0636),
                    (2.0608, -0.1951, 0.3428, 0.0261, 0.0732, -0.0015),
                ),
            ),
            (
                "drone",
                (
                    (0.814, -0.4091, 1.1764, 0.1776, -0.016, -0.0462),
                    (0.1431, -0.2336, 1.0993, 0.0452, -0.0619, 0.0661),
                ),
            ),
            (
                "helicopter",
                (
                    (0.186, 1.5845, -0.8516, 0.0074, 0.1894, -0.0182),
                    (0.2328, 0.3238, 0.433, -0.1769, 0.4535, -0.0868),
                ),
            ),
        ),
        pyramid=(2.0, 4.0),
        pyramid_min=8.0,
        nest=0.8,
        # session 14: track-before-detect (``vision_evidence``) not shipped: visible
        # validation 0.709 -> 0.734 pooled with floor=0.7, prior=0.99, decay=0.95, report=8,
        # miss=0.5 and min_score 0.999 / min_hits 1, test 0.622 -> 0.618 (docs/vision.md)
    ),
}


@dataclass(frozen=True)
class Candidate:
    cx: float  # centre, full-resolution pixels
    cy: float
    w: float
    h: float
    contrast: float


@dataclass(frozen=True)
class Level:
    """One level of the proposal pyramid: the working frame shrunk by ``factor`` and its
    proposals in that level's pixels."""

    factor: float
    gray: NDArray[np.float32]
    cands: list[Candidate]


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]
    label: str
    score: float
    probs: tuple[float, ...] = field(default=(), compare=False)
    track: int = -1  # the TrackSmoother link this detection belongs to


def to_gray(frame: NDArray[np.uint8]) -> NDArray[np.float32]:
    if frame.ndim == 2:
        return frame.astype(np.float32)
    return np.asarray(frame.astype(np.float32).mean(axis=2), dtype=np.float32)


def guess_sensor(frame: NDArray[np.uint8]) -> str:
    """'ir' for a grey (single-channel or equal-channel) frame, else 'visible'."""
    if frame.ndim == 2:
        return "ir"
    f = frame[::8, ::8].astype(np.int16)
    spread = float(np.abs(f[..., 0] - f[..., 2]).mean())
    return "ir" if spread < 4.0 else "visible"


def prepare(frame: NDArray[np.uint8], params: SensorParams) -> NDArray[np.float32]:
    """The grayscale frame at the sensor's working scale (visible frames are halved, so a
    visible object spans about as many pixels as in the 320-pixel thermal frames)."""
    import cv2

    cv2.setNumThreads(1)
    gray = to_gray(frame)
    s = params.scale
    if s == 1.0:
        return gray
    return np.asarray(
        cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA), dtype=np.float32
    )


def candidates(g: NDArray[np.float32], params: SensorParams) -> list[Candidate]:
    """Compact contrast blobs of a grayscale frame at working scale (``prepare``).

    With ``coarse_sigma`` set, blobs of a second high-pass at that scale are added when they
    span at least ``coarse_min`` pixels (at most ``COARSE_MAX``): why -- the sigma-4 residual
    sees only the edges and hot parts of an object over about 24 px (validation: 0.23 of the
    32-64 px thermal labels got a box with IoU >= 0.5), so the whole object never had a
    proposal of its own. Overlapping detections of both scales are resolved by NMS."""
    fine = _blobs(g, params.sigma, params.k, MAX_CANDIDATES)
    if params.coarse_sigma is None:
        return fine
    return fine + _large_blobs(g, params.coarse_sigma, params.k, params.coarse_min)


def levels(g: NDArray[np.float32], params: SensorParams) -> list[Level]:
    """The working frame's proposals (``candidates``) and those of each ``pyramid`` level.

    Why: the CNN sees a 32-pixel chip, so an object over about 30 px (a close helicopter or
    aeroplane) never fits it at working scale -- its chip is a patch of fuselage and its
    context a third of it. Shrunk by 2 or 4, the same object fits the chip whole and its
    box is regressed from the whole look. A level keeps only its blobs of ``pyramid_min``
    px or more (at most ``COARSE_MAX``): smaller ones are the finer levels' objects.
    Detections of all levels meet in one NMS."""
    import cv2

    out = [Level(1.0, g, candidates(g, params))]
    for f in params.pyramid:
        gl = np.asarray(
            cv2.resize(g, None, fx=1.0 / f, fy=1.0 / f, interpolation=cv2.INTER_AREA),
            dtype=np.float32,
        )
        out.append(Level(f, gl, _large_blobs(gl, params.sigma, params.k, params.pyramid_min)))
    return out


def _large_blobs(g: NDArray[np.float32], sigma: float, k: float, min_px: float) -> list[Candidate]:
    """The blobs (``_blobs``) spanning ``min_px`` pixels or more, at most ``COARSE_MAX``: the
    proposals a coarse scale or a pyramid level adds (the smaller ones are a finer scale's)."""
    big = [c for c in _blobs(g, sigma, k, MAX_CANDIDATES) if max(c.w, c.h) >= min_px]
    return big[:COARSE_MAX]


def _blobs(g: NDArray[np.float32], sigma: float, k: float, limit: int) -> list[Candidate]:
    import cv2

    resid = g - cv2.GaussianBlur(g, (0, 0), sigma)
    mad = float(np.median(np.abs(resid[::2, ::2]))) * 1.4826 + 1e-3
    mask = (np.abs(resid) > k * mad).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, lab, stats, cent = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return []
    # Contrast of each component: its peak |residual|, in units of the frame noise.
    peak = np.zeros(n, dtype=np.float32)
    np.maximum.at(peak, lab.ravel().astype(np.intp), np.abs(resid).ravel())
    order = np.argsort(-peak[1:])[:limit] + 1
    out = []
    for i in order:
        w, h = stats[i][2], stats[i][3]
        out.append(
            Candidate(
                float(cent[i][0]), float(cent[i][1]), float(w), float(h), float(peak[i] / mad)
            )
        )
    return out


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@lru_cache(maxsize=4)
def load_model(sensor: str) -> CnnModel:
    return load_cnn(sensor)


def inside_share(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """The share of the smaller box's area that lies inside the other box."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    small = min(a[2] * a[3], b[2] * b[3])
    return inter / small if small > 0 else 0.0


def nms(dets: list[Detection], thr: float = 0.3, nest: float | None = None) -> list[Detection]:
    """Greedy NMS by score (IoU >= ``thr`` suppresses). With ``nest``, a box of which at
    least that share lies inside a kept box (or the reverse) is the same object too, and of
    the two the *larger* box stays, with its own score. Why: a close object is proposed at
    several pyramid levels -- a bright part of it at working scale, the whole of it on a
    shrunk level -- and the part's box, small inside the whole one, has an IoU with it far
    under ``thr``: both were reported, the part as a false positive and, where it scored
    higher, as the link's box (session 12's error budget on the validation fifth: boxes with
    IoU < 0.5 on their object were the largest loss; visible objects of 64 px or more got
    boxes a quarter of their size, median log ratio -1.3)."""
    keep: list[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        same = -1
        for j, k in enumerate(keep):
            if iou(d.box, k.box) >= thr:
                same = -2
                break
            if nest is not None and inside_share(d.box, k.box) >= nest:
                same = j
                break
        if same == -1:
            keep.append(d)
        elif same >= 0 and d.box[2] * d.box[3] > keep[same].box[2] * keep[same].box[3]:
            keep[same] = d
    return keep


@dataclass(frozen=True)
class FrameOutputs:
    """What the CNN said about one frame's proposals, before any threshold: per proposal
    (all pyramid levels together) its ``Candidate`` in level pixels, the level's shrink
    factor, the class probabilities and the box regression. Why a value of its own: scoring
    and the error budget (``vision_budget``) replay thresholds, NMS and the smoother from it
    without running the CNN again."""

    cands: list[Candidate]
    factor: NDArray[np.float32]  # (N,)
    probs: NDArray[np.float32]  # (N, 5)
    reg: NDArray[np.float32]  # (N, 4)


def frame_outputs(frame: NDArray[np.uint8], sensor: str, model: CnnModel) -> FrameOutputs:
    """Proposals of every level of one frame through the CNN."""
    params = PARAMS[sensor]
    gray = prepare(frame, params)
    lv = [v for v in levels(gray, params) if v.cands]
    if not lv:
        z = np.zeros
        return FrameOutputs([], z(0, np.float32), z((0, 5), np.float32), z((0, 4), np.float32))
    cs = [chips(v.gray, v.cands) for v in lv]
    cands = [c for v in lv for c in v.cands]
    factor = np.asarray([v.factor for v in lv for _ in v.cands], dtype=np.float32)
    probs, reg = model.run(np.concatenate([c[0] for c in cs]), np.concatenate([c[1] for c in cs]))
    if params.second is not None:
        probs = look_again(lv, probs, params.second)
    return FrameOutputs(cands, factor, probs, reg)


def blob_floor(c: Candidate, reg: NDArray[np.float32], cap: float) -> NDArray[np.float32]:
    """The box's log width and height raised to the blob's, by at most ``log(cap)`` each.

    Why: the CNN sees a ``CHIP``-pixel window, so it cannot measure an object wider than
    that -- its regression saturates at about 24 px (session 13, thermal validation fifth:
    drones of 32-64 px came out at -0.7 in log width, their coarse blob at -0.3, and the
    size lines, fitted mostly on small objects, keep the regression's size). A blob of the
    chip's width or more is a floor for the object's size. The cap: a blob merged with the
    horizon or a cloud edge is far wider than the object (130-150 px around a 35 px
    helicopter), and then only moves the box by the cap."""
    out = np.array(reg, dtype=np.float32, copy=True)
    lim = float(np.log(cap))
    for k, side in ((2, c.w), (3, c.h)):
        out[k] = max(float(reg[k]), min(float(np.log(max(side, 1.0))), float(reg[k]) + lim))
    return out


def box_reg(
    c: Candidate, reg: NDArray[np.float32], named: str, params: SensorParams
) -> NDArray[np.float32]:
    """The box regression a detection of candidate ``c`` named ``named`` reports: refined by
    that class's size lines (``class_box``), else the common ones (``box``), then floored by a
    blob as wide as the chip (``blob_floor``)."""
    coef = next((lines for name, lines in params.class_box if name == named), params.box)
    r = reg if coef is None else refine(c, reg, coef)
    if params.blob_floor is not None and max(c.w, c.h) >= params.blob_floor:
        r = blob_floor(c, r, params.blob_cap)
    return r


def detections(
    out: FrameOutputs, params: SensorParams, classes: tuple[str, ...], min_score: float
) -> list[Detection]:
    """A frame's detections (before temporal smoothing) from its CNN outputs: object score
    1 - P(background) >= ``min_score``, box from the size lines, frame pixels, NMS."""
    obj = 1.0 - out.probs[:, classes.index("background")]
    dets = [_detection(out, obj, int(i), params, classes) for i in np.nonzero(obj >= min_score)[0]]
    return nms(dets, nest=params.nest)


def _detection(
    out: FrameOutputs,
    obj: NDArray[np.float32],
    i: int,
    params: SensorParams,
    classes: tuple[str, ...],
) -> Detection:
    """Proposal ``i`` as a detection: the class the CNN names, its box in frame pixels."""
    bg = classes.index("background")
    p = out.probs[i].copy()
    p[bg] = -1.0
    k = int(np.argmax(p))
    c = out.cands[i]
    bx, by, bw, bh = decode_box(c, box_reg(c, out.reg[i], classes[k], params))
    sc = params.scale / float(out.factor[i])  # frame pixels = level pixels * factor / scale
    return Detection(
        (bx / sc, by / sc, bw / sc, bh / sc),
        classes[k],
        float(obj[i]),
        tuple(float(v) for v in out.probs[i]),
    )


def weak_detections(
    out: FrameOutputs,
    params: SensorParams,
    classes: tuple[str, ...],
    min_score: float,
    kept: list[Detection],
) -> list[Detection]:
    """The frame's weak proposals as detections: object score from ``params.evidence.floor``
    up to (not including) ``min_score``, NMS among themselves, and none on an object a
    confident detection (``kept``) already holds (IoU >= 0.3 or nested as ``nms`` says).
    Why apart from ``detections``: the confident set must stay what it was (a weak, larger
    box must not displace a confident nested one); the weak ones only feed the links'
    evidence (``vision_evidence``)."""
    if params.evidence is None or not len(out.cands):
        return []
    obj = 1.0 - out.probs[:, classes.index("background")]
    idx = np.nonzero((obj >= params.evidence.floor) & (obj < min_score))[0]
    if not len(idx):
        return []
    nest = params.nest if params.nest is not None else 0.8
    weak = []
    for d in nms([_detection(out, obj, int(i), params, classes) for i in idx], nest=params.nest):
        if all(iou(d.box, k.box) < 0.3 and inside_share(d.box, k.box) < nest for k in kept):
            weak.append(d)
    return weak


def detect_frame(
    frame: NDArray[np.uint8], sensor: str, model: CnnModel, min_score: float = MIN_SCORE
) -> list[Detection]:
    """Detections of one frame (before temporal smoothing), boxes in frame pixels."""
    out = frame_outputs(frame, sensor, model)
    return detections(out, PARAMS[sensor], model.classes, min_score)


@dataclass
class _Link:
    box: tuple[float, float, float, float]
    acc: NDArray[np.float64]
    ident: int
    log_w: float
    log_h: float
    age: int = 0
    hits: int = 1
    vx: float = 0.0  # centre motion per frame (px), from the last two matches
    vy: float = 0.0
    evidence: float = 0.0  # accumulated log-odds (``vision_evidence``), with ``evidence`` set
    hist: list[HistEntry] = field(default_factory=list)  # last ``WINDOW`` matches (``motion``)


class TrackSmoother:
    """Links detections across frames and averages their class probabilities (exponential
    memory ``decay`` per frame), so the reported class is the link's, not one frame's; the
    reported box is the frame's centre with the link's size, its log width and height
    averaged with memory ``size_memory`` per match (one frame's size is noisy -- about 0.25
    in log -- and a flying object's size changes slowly). A link is matched at the centre
    its last motion predicts. A link is reported once it has ``min_hits`` detections (a
    blob of one frame is clutter more often than not), and at most ``max_dets`` links per
    frame (the best scored).

    With ``evidence`` (``vision_evidence``), ``step``'s ``weak`` detections (scored under the
    threshold) are linked too, after the confident ones; every link accumulates log-odds
    from what it matches, and a weak detection is reported when its link's evidence has
    reached ``evidence.report`` (and it has ``min_hits``): track-before-detect."""

    def __init__(
        self,
        classes: tuple[str, ...],
        decay: float = SMOOTH_DECAY,
        gate: float = 2.0,
        min_hits: int = MIN_HITS,
        max_dets: int = MAX_DETS,
        size_memory: float = 0.0,
        evidence: Evidence | None = None,
        motion: MotionModel | None = None,
    ):
        self.classes = classes
        self.motion = motion
        self._step = 0  # frames stepped (the links' history is in these)
        self.evidence = evidence
        self.decay = decay
        self.gate = gate
        self.min_hits = min_hits
        self.max_dets = max_dets
        self.size_memory = size_memory
        self.links: list[_Link] = []
        self._next = 0

    def step(self, dets: list[Detection], weak: list[Detection] | None = None) -> list[Detection]:
        """This frame's reported detections from its confident ``dets`` and ``weak`` ones
        (the latter only with ``evidence``; linked after the confident ones)."""
        out: list[Detection] = []
        used: set[int] = set()
        a = self.size_memory
        ev = self.evidence
        n_conf = len(dets)
        every = dets if ev is None or not weak else dets + weak
        for di, d in enumerate(every):
            cx, cy = d.box[0] + d.box[2] / 2, d.box[1] + d.box[3] / 2
            conf = di < n_conf
            best, best_dist = -1, float("inf")
            for j, link in enumerate(self.links):
                if j in used:
                    continue
                n = link.age + 1
                lx = link.box[0] + link.box[2] / 2 + link.vx * n
                ly = link.box[1] + link.box[3] / 2 + link.vy * n
                size = max(link.box[2], link.box[3], d.box[2], d.box[3], 8.0)
                dist = float(np.hypot(cx - lx, cy - ly)) / size
                if dist < self.gate and dist < best_dist:
                    best, best_dist = j, dist
            p = np.asarray(d.probs, dtype=np.float64)
            lw, lh = float(np.log(max(d.box[2], 1e-3))), float(np.log(max(d.box[3], 1e-3)))
            if best >= 0:
                link = self.links[best]
                n = link.age + 1
                link.vx = (cx - link.box[0] - link.box[2] / 2) / n
                link.vy = (cy - link.box[1] - link.box[3] / 2) / n
                link.acc = self.decay * link.acc + p
                link.log_w = a * link.log_w + (1 - a) * lw
                link.log_h = a * link.log_h + (1 - a) * lh
                if ev is not None:
                    link.evidence = accumulate(link.evidence, d.score, ev)
                link.age = 0
                link.hits += 1
                used.add(best)
            else:
                link = _Link(d.box, p.copy(), self._next, lw, lh)
                if ev is not None:
                    link.evidence = accumulate(0.0, d.score, ev)
                self._next += 1
                self.links.append(link)
                used.add(len(self.links) - 1)
            link.box = d.box
            if self.motion is not None:
                link.hist.append((self._step, cx, cy, lw, lh))
                del link.hist[:-WINDOW]
            if link.hits < self.min_hits:
                continue
            if not conf and (ev is None or link.evidence < ev.report):
                continue
            k = self._decide(link)
            w, h = float(np.exp(link.log_w)), float(np.exp(link.log_h))
            box = (cx - w / 2, cy - h / 2, w, h)
            out.append(Detection(box, self.classes[k], d.score, d.probs, link.ident))
        for j, link in enumerate(self.links):
            if j not in used:
                link.age += 1
                if ev is not None:
                    link.evidence = accumulate(link.evidence, None, ev)
        self.links = [lk for lk in self.links if lk.age <= 5]
        self._step += 1
        out.sort(key=lambda d: -d.score)
        return out[: self.max_dets]

    def _decide(self, link: _Link) -> int:
        """The link's class index: its accumulated CNN probabilities, weighed with its motion
        when the sensor has a ``motion`` model (``vision_motion.decide``)."""
        return decide(link.acc, self.classes, link.hist, self.motion)


def smoother(
    params: SensorParams,
    classes: tuple[str, ...],
    decay: float | None = None,
    size_memory: float | None = None,
    min_hits: int | None = None,
) -> TrackSmoother:
    """The sensor's ``TrackSmoother`` (memories from ``params`` unless given: ``vision
    choose`` varies them)."""
    return TrackSmoother(
        classes,
        decay=params.decay if decay is None else decay,
        min_hits=params.min_hits if min_hits is None else min_hits,
        size_memory=params.size_memory if size_memory is None else size_memory,
        evidence=params.evidence,
        motion=params.motion,
    )


def link_frame(
    sm: TrackSmoother,
    out: FrameOutputs,
    params: SensorParams,
    classes: tuple[str, ...],
    min_score: float,
) -> list[Detection]:
    """One frame's reported detections from its CNN outputs: thresholded, NMS, weak
    proposals (with ``params.evidence``), linked. The one path of the node (``VideoDetector``),
    ``vision eval``/``choose`` and the error budget's replay."""
    dets = detections(out, params, classes, min_score)
    weak = weak_detections(out, params, classes, min_score, dets)
    return sm.step(dets, weak)
