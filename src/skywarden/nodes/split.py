"""The fixed train/test split of the drone-detection dataset clips (by clip, never by frame).

A clip is named ``[IR_|V_]CLASS_NNN``. Clip NNN is a test clip when ``(NNN // 2) % 3 == 0``
(001, 007, 013, 019, ...): about a third of the odd-numbered clips in every class and sensor.
The rule was written down before any model was trained and is never changed to suit a result;
models are chosen by cross-validation inside the training clips only.
"""

from __future__ import annotations

import re
from pathlib import Path

_NAME = re.compile(r"^(?:(IR|V)_)?([A-Z]+)_(\d+)")


def clip_parts(path: str | Path) -> tuple[str, str, int]:
    """(sensor 'IR' | 'V' | '', class name, clip number) from a dataset file name."""
    m = _NAME.match(Path(path).name)
    if m is None:
        raise ValueError(f"not a dataset clip name: {Path(path).name}")
    return m.group(1) or "", m.group(2), int(m.group(3))


def is_test_clip(path: str | Path) -> bool:
    """True when the clip belongs to the held-out test part of the split."""
    return (clip_parts(path)[2] // 2) % 3 == 0
