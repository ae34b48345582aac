"""``skywarden vision node``: a camera node that reports what it sees to skywarden over SAPIENT.

Frames come from a file, an RTSP URL or an MJPEG-over-HTTP URL (``video_io.frames``). Each
frame goes through ``VideoDetector``; each detection (one per linked object, at most one
report per ``report_every_s`` per object) becomes a SAPIENT DetectionReport: the box centre
turned into azimuth/elevation by ``camera_geometry`` from the camera's calibration and its
current pan/tilt, a 1-sigma of half the box's angular size (at least one pixel), the class
and confidence, and a JPEG chip of the object. Background detections are not reported.

Time: a file's frame i is at ``start_t + i / fps``; a live stream's frames take the clock's
time. Nothing here tasks anything; a camera node only reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.nodes.camera_geometry import CameraCalib, pixel_to_az_el
from skywarden.nodes.sapient_node import Report, ulid
from skywarden.nodes.vision_detect import Detection

CHIP_PX = 64


@dataclass(frozen=True)
class Pointing:
    """Where the optical axis points: azimuth from true north and elevation, radians."""

    pan_rad: float
    tilt_rad: float


def chip_jpeg(frame: NDArray[np.uint8], box: tuple[float, float, float, float]) -> bytes:
    """A square JPEG crop around ``box`` (twice its size, at least 16 px), CHIP_PX wide."""
    import cv2

    x, y, w, h = box
    side = max(16.0, 2.0 * max(w, h))
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
    x1, y1 = min(frame.shape[1], int(cx + side / 2)), min(frame.shape[0], int(cy + side / 2))
    if x1 <= x0 or y1 <= y0:
        return b""
    crop = cv2.resize(frame[y0:y1, x0:x1], (CHIP_PX, CHIP_PX), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return bytes(buf) if ok else b""


class ReportMaker:
    """Turns one frame's detections into SAPIENT reports (rate-limited per object)."""

    def __init__(self, calib: CameraCalib, salt: str, report_every_s: float = 0.2) -> None:
        self.calib = calib
        self.salt = salt
        self.report_every_s = report_every_s
        self._last: dict[int, float] = {}
        self._objects: dict[int, str] = {}
        self._seq = 0

    def reports(
        self,
        frame: NDArray[np.uint8],
        dets: Iterable[Detection],
        t: float,
        pointing: Pointing,
    ) -> list[Report]:
        out = []
        for d in dets:
            if d.label == "background":
                continue
            last = self._last.get(d.track)
            if last is not None and t - last < self.report_every_s:
                continue
            self._last[d.track] = t
            x, y, w, h = d.box
            az, el = pixel_to_az_el(
                self.calib, pointing.pan_rad, pointing.tilt_rad, x + w / 2, y + h / 2
            )
            sigma = max(self.calib.pixel_sigma_rad(1.0), self.calib.pixel_sigma_rad(max(w, h) / 2))
            self._seq += 1
            obj = self._objects.setdefault(d.track, ulid(t, -1 - d.track, self.salt))
            out.append(
                Report(
                    t,
                    obj,
                    ulid(t, self._seq, self.salt),
                    az,
                    el,
                    sigma,
                    d.label,
                    d.score,
                    chip_jpeg(frame, d.box),
                )
            )
        return out


def run(
    frames: Iterable[tuple[int, NDArray[np.uint8]]],
    detect: Callable[[NDArray[np.uint8]], list[Detection]],
    maker: ReportMaker,
    time_of: Callable[[int], float],
    pointing: Callable[[float], Pointing],
    emit: Callable[[Report], None],
) -> int:
    """The node loop; returns the number of reports emitted."""
    n = 0
    for i, frame in frames:
        t = time_of(i)
        for r in maker.reports(frame, detect(frame), t, pointing(t)):
            emit(r)
            n += 1
    return n


def hfov_default(sensor: str) -> float:
    """Field of view of the dataset's cameras (FLIR Breach PTQ-136 thermal about 24 degrees;
    the visible camera was zoomed to match), used when none is given."""
    return math.radians(24.0 if sensor == "ir" else 20.0)
