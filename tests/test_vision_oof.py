"""Session 18 (voof): the out-of-fold CNN outputs of ``benchmarks/vision_oof.py`` hold out the
motion CV's fold K, and ``vision_motion_cv.py --oof`` reads them instead of the shipped net's."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from vision_motion_cv import cache_file
from vision_oof import shift_fold

from skywarden.nodes.vision_train import VAL_EVERY


def test_shift_fold_holds_out_exactly_fold_k() -> None:
    groups = np.arange(23, dtype=np.int32)
    d = {"groups": groups, "y": np.zeros(23, dtype=np.int64)}
    for k in range(VAL_EVERY):
        held = shift_fold(d, k)["groups"] % VAL_EVERY == 0  # what fit and calibrate_box hold out
        np.testing.assert_array_equal(held, groups % VAL_EVERY == k)
    np.testing.assert_array_equal(shift_fold(d, 0)["groups"] % VAL_EVERY, groups % VAL_EVERY)
    assert d["groups"] is groups  # the chips themselves untouched


def test_oof_cache_is_read_for_every_part() -> None:
    shipped = cache_file("/c", None, "ir", "fit", "IR_BIRD_003")
    assert shipped == Path("/c/ir_fit/IR_BIRD_003.npz")
    for part in ("val", "fit"):
        oof = cache_file("/c", "/o", "ir", part, "IR_BIRD_003")
        assert oof == Path("/o/ir_oof/IR_BIRD_003.npz")
