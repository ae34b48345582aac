"""Frames per second of the camera detector on one core, per stream (issue 23).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_vision_fps.py [--data ../shared/data/dd]

Decodes the first ``--frames`` frames of a few test clips of each sensor into memory, then
times ``VideoDetector.step`` over them ``--runs`` times (process CPU time, so other jobs on
a shared machine do not count) and prints the median frames per second per sensor.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from skywarden.nodes.video_io import VideoDetector, frames
from skywarden.nodes.vision_train import clip_paths


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/dd")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)
    for sensor in ("ir", "visible"):
        clips = clip_paths(Path(a.data), sensor, test=True)[:: max(1, 60 // a.clips)][: a.clips]
        stream = [[f for i, f in frames(c) if i < a.frames] for c in clips]
        rates = []
        for _ in range(a.runs):
            n, busy = 0, 0.0
            for fs in stream:
                det = VideoDetector(sensor)
                t0 = time.process_time()
                for f in fs:
                    det.step(f)
                busy += time.process_time() - t0
                n += len(fs)
            rates.append(n / busy)
        print(
            f"{sensor}: median {statistics.median(rates):.1f} frames/s "
            f"(runs {', '.join(f'{r:.1f}' for r in rates)}; {n} frames of {len(clips)} clips)"
        )


if __name__ == "__main__":
    main()
