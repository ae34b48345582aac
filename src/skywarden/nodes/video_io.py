"""Video in (file, RTSP, MJPEG over HTTP, through OpenCV's FFmpeg backend) and the per-stream
detector state, plus the offline ``vision detect`` output format.

``VideoDetector.step(frame)`` runs ``vision_detect.frame_outputs`` and ``link_frame`` (threshold,
NMS, weak proposals, the ``TrackSmoother``);
``format_line`` writes ``{"frame": i, "t": s, "detections": [{"box": [x, y, w, h],
"class": ..., "score": p}]}`` (pixels, top-left origin).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skywarden.core.errors import InputRejected
from skywarden.nodes.vision_cnn import CnnModel
from skywarden.nodes.vision_detect import (
    PARAMS,
    Detection,
    TrackSmoother,
    frame_outputs,
    guess_sensor,
    link_frame,
    load_model,
    smoother,
)


def open_video(source: str | Path) -> object:
    import cv2

    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise InputRejected("video.open", f"cannot open {source}")
    return cap


def frames(source: str | Path) -> Iterator[tuple[int, NDArray[np.uint8]]]:
    """(index, BGR frame) until the stream ends."""
    cap = open_video(source)
    i = 0
    try:
        while True:
            ok, frame = cap.read()  # type: ignore[attr-defined]
            if not ok:
                return
            yield i, frame
            i += 1
    finally:
        cap.release()  # type: ignore[attr-defined]


def frame_rate(source: str | Path) -> float:
    import cv2

    cap = open_video(source)
    fps = float(cap.get(cv2.CAP_PROP_FPS))  # type: ignore[attr-defined]
    cap.release()  # type: ignore[attr-defined]
    return fps if fps > 0 else 30.0


class VideoDetector:
    """Detections of one stream, frame after frame (sensor 'ir', 'visible' or 'auto')."""

    def __init__(
        self,
        sensor: str = "auto",
        model: CnnModel | None = None,
        min_score: float | None = None,
        decay: float | None = None,
    ) -> None:
        """``min_score`` and ``decay`` default to the sensor's ``PARAMS``."""
        if sensor not in ("ir", "visible", "auto"):
            raise ValueError(f"sensor {sensor!r}: expected ir, visible or auto")
        self.sensor = sensor
        self.model = model
        self.min_score = min_score
        self.decay = decay
        self.smoother: TrackSmoother | None = None

    def step(self, frame: NDArray[np.uint8]) -> list[Detection]:
        if self.sensor == "auto":
            self.sensor = guess_sensor(frame)
        if self.model is None:
            self.model = load_model(self.sensor)
        if self.smoother is None:
            self.smoother = smoother(PARAMS[self.sensor], self.model.classes, decay=self.decay)
        p = PARAMS[self.sensor]
        ms = p.min_score if self.min_score is None else self.min_score
        out = frame_outputs(frame, self.sensor, self.model)
        return link_frame(self.smoother, out, p, self.model.classes, ms)


def format_line(i: int, t: float, dets: list[Detection]) -> str:
    return json.dumps(
        {
            "frame": i,
            "t": round(t, 4),
            "detections": [
                {
                    "box": [round(v, 1) for v in d.box],
                    "class": d.label,
                    "score": round(d.score, 4),
                }
                for d in dets
            ],
        }
    )


def detect_video(source: str | Path, out: str | Path, sensor: str = "auto") -> int:
    """Write one line per frame to ``out``; returns the number of frames."""
    det = VideoDetector(sensor)
    fps = frame_rate(source)
    n = 0
    with open(out, "w") as fh:
        for i, frame in frames(source):
            fh.write(format_line(i, i / fps, det.step(frame)) + "\n")
            n = i + 1
    return n
