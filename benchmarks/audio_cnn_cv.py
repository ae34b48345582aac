"""A small CNN over each second's log-mel frames, against the shipped MLP, cross-validated on
the training clips only (issue 23, session 14).

    PYTHONPATH=/work/trainlib:src OMP_NUM_THREADS=1 .venv/bin/python benchmarks/audio_cnn_cv.py \
        [--seeds 0,1,2] [--epochs 30] [--data ../shared/data/dd/audio]

Never reads a test clip. Folds, conditions (``clip``, ``s10``, ``s5``) and the smoother (the
shipped HMM filter, ``h0.03:1``) are those of ``audio_cv_variants.py``, so the numbers compare
with its ``hmm0.03`` row. Why a CNN: the MLP sees 175 summaries of the window; a quiet,
line-free source may differ from a site's background in how its spectrum moves from frame
to frame (rotor modulation across bands), which per-band means, spreads and fluxes blur. The
net sees the 62 x 40 log-mel frames, each window's median level removed (as the MLP's band
means are: a far and a near source look alike). Training needs torch (the ``/work/trainlib``
extra); this is exploration: nothing here ships unless it beats the MLP.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from audio_robustness import Data, mix, smoother

from skywarden.nodes.acoustic import CLASSES
from skywarden.nodes.acoustic_train import macro_f1, stratified_folds
from skywarden.nodes.audio_features import SAMPLE_RATE, log_mel

Arr = np.ndarray[Any, Any]


def frames(x: Arr, hop: float | None) -> Arr:
    """(windows, 1, frames, mels) log-mel patches of 1 s windows ``hop`` s apart, each less
    its median."""
    size, step = SAMPLE_RATE, round((hop or 1.0) * SAMPLE_RATE)
    out = []
    for s in range(0, x.size - size + 1, step):
        m = log_mel(x[s : s + size].astype(np.float32))
        out.append(m - np.median(m))
    return np.stack(out)[:, None].astype(np.float32)


def net(seed: int) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(
        nn.AvgPool2d(2),  # 30 frames of 64 ms x 20 mel bands: one core trains it in minutes
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 5)),  # mean over time, 5 frequency regions kept
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(80, 3),
    )


def train(x: Arr, y: Arr, seed: int, epochs: int) -> Any:
    import torch

    torch.set_num_threads(1)
    model = net(seed)
    opt = torch.optim.Adam(model.parameters(), 1e-3, weight_decay=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for b in torch.randperm(len(xt), generator=g).split(64):
            xb = xt[b]
            shift = int(torch.randint(0, xb.shape[2], (1,), generator=g))
            xb = torch.roll(xb, shift, dims=2)  # where in the second a sound falls is arbitrary
            loss = torch.nn.functional.cross_entropy(model(xb), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model


def proba(model: Any, x: Arr) -> Arr:
    import torch

    with torch.no_grad():
        return np.asarray(torch.softmax(model(torch.from_numpy(x)), 1).numpy())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/dd/audio")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=30)
    a = ap.parse_args()
    from pathlib import Path

    d = Data(a.data, Path("/tmp/audio_cnn_cv_unused"))
    fitf = [frames(x, 0.5) for x in d.mono]
    score = [frames(x, None) for x in d.mono]
    conds = ["clip", "s10", "s5"]
    conf = {c: np.zeros((3, 3), np.int64) for c in conds}
    wrong: dict[str, int] = {}
    seeds = [int(s) for s in a.seeds.split(",")]
    for seed in seeds:
        for va in stratified_folds(d.labels, seed):
            tr = [i for i in range(len(d.mono)) if i not in va]
            x = np.concatenate([fitf[i] for i in tr])
            y = np.array([CLASSES.index(d.labels[i]) for i in tr for _ in fitf[i]])
            model = train(x, y, seed, a.epochs)

            def add(cond: str, f: Arr, label: str, name: str = "", model: Any = model) -> None:
                pred = smoother(proba(model, f), "h0.03:1").argmax(axis=1)
                for k in pred:
                    conf[cond][CLASSES.index(label), int(k)] += 1
                n = int(sum(CLASSES[int(k)] != label for k in pred))
                if name and n:
                    wrong[name] = wrong.get(name, 0) + n

            vb = [i for i in va if d.labels[i] == "background"]
            vt = [i for i in va if d.labels[i] != "background"]
            for i in va:
                add("clip", score[i], d.labels[i], d.names[i])
            for s in (10, 5):
                for j in vb:
                    add(f"s{s}", score[j], "background")
                    for i in vt:
                        add(f"s{s}", frames(mix(d.mono[i], d.mono[j], s), None), d.labels[i])
        print(f"  seed {seed} done", flush=True)
    cells = " ".join(f"{c} {macro_f1(conf[c]):.3f}" for c in conds)
    top = sorted(wrong.items(), key=lambda kv: -kv[1])[:6]
    print(
        f"cnn e{a.epochs} seeds {a.seeds}: {cells} | wrong: "
        + ", ".join(f"{k} {n}" for k, n in top)
    )


if __name__ == "__main__":
    main()
