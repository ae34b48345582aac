"""Readers for the drone-detection dataset's labels and clip description (training and scoring).

Labels: ``X_NNN_LABELS.mat`` holds a MATLAB ``groundTruth`` MCOS object. Its
``__function_workspace__`` is walked with ``mcos_decoder.stream.MatStream`` (the ``train``
extra) and the ``LabelData`` struct array is taken: one element per video frame with fields
``Time`` and one per class name, each an n x 4 double array of ``[x y w h]`` boxes (MATLAB
1-based pixels, stored column-major). The package's ``load_groundtruth`` is not used: it
mishandles frames with two or more boxes.

Description: ``Video_dataset_description.xlsx`` (one row per clip: sensor, class, number,
distance bin) is read from its sheet XML with the standard library.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CLASS_NAMES = ("AIRPLANE", "BIRD", "DRONE", "HELICOPTER")
OUT_NAMES = {"AIRPLANE": "aeroplane", "BIRD": "bird", "DRONE": "drone", "HELICOPTER": "helicopter"}


@dataclass(frozen=True)
class Box:
    x: float  # top-left, 0-based pixels
    y: float
    w: float
    h: float
    label: str  # output class name: drone, bird, aeroplane, helicopter


def _hdr(e: Any) -> tuple[int, tuple[int, ...]]:
    return int(e.children[0].as_array()[0]) & 0xFF, tuple(int(v) for v in e.children[1].as_array())


def _names(e: Any) -> list[str]:
    raw = e.children[4].payload
    width = int(e.children[3].as_array()[0])
    return [raw[i : i + width].split(b"\0")[0].decode() for i in range(0, len(raw), width)]


def _find_label_data(e: Any) -> Any:
    """Depth-first search for the struct array whose fields are Time + the class names."""
    if e.type_id != 14 or len(e.children) < 5:
        return None
    cls, _ = _hdr(e)
    if cls == 2 and e.children[3].type_id == 5:
        names = _names(e)
        if names and names[0] == "Time" and set(names[1:]) <= set(CLASS_NAMES):
            return e
    for c in e.children:
        found = _find_label_data(c)
        if found is not None:
            return found
    return None


def read_labels(path: str | Path) -> list[list[Box]]:
    """Per video frame, the labelled boxes (0-based pixels)."""
    import scipy.io
    from mcos_decoder.stream import MatStream

    fw = scipy.io.loadmat(str(path))["__function_workspace__"].tobytes()
    table = None
    for top in MatStream(fw).walk():
        table = _find_label_data(top)
        if table is not None:
            break
    if table is None:
        raise ValueError(f"{path}: no LabelData table")
    names = _names(table)
    _, dims = _hdr(table)
    n_frames, n_fields = dims[0] * dims[1], len(names)
    values = [c for c in table.children[5:] if c.type_id == 14]
    if len(values) != n_frames * n_fields:
        raise ValueError(f"{path}: {len(values)} cells for {n_frames} x {n_fields}")
    frames: list[list[Box]] = []
    for i in range(n_frames):
        boxes = []
        for j, name in enumerate(names[1:], start=1):
            cell = values[i * n_fields + j]
            _, cd = _hdr(cell)
            if cd[0] == 0 or len(cell.children) < 4:
                continue
            arr = cell.children[3].as_array()
            if arr is None:
                continue
            a = np.asarray(arr, dtype=np.float64).reshape(cd[1], cd[0]).T
            for x, y, w, h in a:
                boxes.append(
                    Box(float(x) - 1.0, float(y) - 1.0, float(w), float(h), OUT_NAMES[name])
                )
        frames.append(boxes)
    return frames


def read_description(path: str | Path) -> dict[str, str]:
    """Clip stem (``IR_DRONE_001``) -> distance bin (CLOSE, MEDIUM, DISTANT)."""
    z = zipfile.ZipFile(str(path))
    strings = re.findall(r"<t[^>]*>([^<]*)</t>", z.read("xl/sharedStrings.xml").decode())
    sheet = z.read("xl/worksheets/sheet1.xml").decode()
    out: dict[str, str] = {}
    for row in re.findall(r"<row[^>]*>(.*?)</row>", sheet, flags=re.S):
        cells: dict[str, str] = {}
        for col, attrs, value in re.findall(
            r'<c r="([A-Z]+)\d+"([^>]*?)(?:/>|>(?:<v>([^<]*)</v>)?)', row
        ):
            cells[col] = strings[int(value)] if 't="s"' in attrs and value else value
        sensor, cls, num, dist = (cells.get(k, "") for k in "ABCD")
        if sensor in ("IR", "V") and num.strip().isdigit():
            out[f"{sensor}_{cls.strip()}_{int(num):03d}"] = dist.strip()
    return out
