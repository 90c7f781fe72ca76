"""A small CNN in PyTorch on an image dataset from swarmml's store, exported to ONNX.

    swarmml train --model fashion-cnn --dataset fashion-mnist --trainer external \\
      --command "python3 examples/pytorch/train.py" --param epochs=3

It uses Debian's python3-torch (CPU) and python3-onnx. The ONNX graph takes raw pixels, one
row per image ([N, height·width·channels] float, 0..255, the layout the platform feeds rows
in), scales them and reshapes them in-graph, and outputs `logits` and `probabilities`, with a
dynamic batch axis. Each epoch reports loss, trainAccuracy, valLoss, valAccuracy, macroF1,
samplesPerSec and epochTimeS; SIGTERM stops it after the batch in hand (no candidate then).

Params: epochs (3), batchSize (64), lr (0.001), seed (0), limit (train rows, 0: all),
threads (torch threads, 0: torch's default), target (stop early at this valAccuracy, 0: never),
probe (a file path: torch's probabilities for the first 64 validation rows are written there
as JSON with the rows, to check the served model against).
"""
from __future__ import annotations

import io
import json
import os
import sys
import time
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

try:
    from swarmml_worker import Worker
except ImportError:  # run from the source tree without installing the SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))
    from swarmml_worker import Worker


class SmallCNN(nn.Module):
    """conv 32 → pool → conv 64 → pool → dense 128 → classes, over raw HWC pixel rows."""

    def __init__(self, height: int, width: int, channels: int, classes: int) -> None:
        super().__init__()
        self.shape = (height, width, channels)
        self.conv1 = nn.Conv2d(channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.drop = nn.Dropout(0.25)
        self.fc1 = nn.Linear(64 * (height // 4) * (width // 4), 128)
        self.fc2 = nn.Linear(128, classes)

    def logits(self, rows: torch.Tensor) -> torch.Tensor:
        h, w, c = self.shape
        x = (rows / 255.0).reshape(-1, h, w, c).permute(0, 3, 1, 2)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = self.drop(torch.flatten(x, 1))
        return self.fc2(F.relu(self.fc1(x)))

    def forward(self, rows: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        z = self.logits(rows)
        return z, F.softmax(z, dim=1)


def macro_f1(pred: np.ndarray, truth: np.ndarray, classes: int) -> float:
    f1s = []
    for c in range(classes):
        tp = np.sum((pred == c) & (truth == c))
        fp = np.sum((pred == c) & (truth != c))
        fn = np.sum((pred != c) & (truth == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def export_onnx(model: SmallCNN, width: int) -> bytes:
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(
        model,
        torch.zeros(1, width),
        buf,
        input_names=["input"],
        output_names=["logits", "probabilities"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}, "probabilities": {0: "N"}},
        opset_version=13,
    )
    return buf.getvalue()


def main() -> None:
    with Worker() as w:
        if w.dataset.meta.get("kind") != "image":
            raise ValueError(f"{w.contract.dataset} is not an image dataset")
        epochs, batch = w.param("epochs", 3), w.param("batchSize", 64)
        limit, target = w.param("limit", 0), w.param("target", 0.0)
        torch.manual_seed(w.param("seed", 0))
        if w.param("threads", 0) > 0:
            torch.set_num_threads(w.param("threads", 0))
        train = w.dataset.arrays("train", limit=limit or None)
        val = w.dataset.arrays("validation")
        n, h, wd, c = train.x.shape
        classes = max(w.dataset.classes, int(train.labels.max()) + 1)
        x = torch.from_numpy(train.x.reshape(n, -1).astype(np.float32))
        y = torch.from_numpy(train.labels)
        vx = torch.from_numpy(val.x.reshape(len(val), -1).astype(np.float32))
        vy = val.labels
        w.log(f"{n} train and {len(val)} validation images of {h}x{wd}x{c}, {classes} classes")

        model = SmallCNN(h, wd, c, classes)
        opt = torch.optim.Adam(model.parameters(), lr=w.param("lr", 0.001))
        acc = f1 = 0.0
        for epoch in range(1, epochs + 1):
            t0 = time.monotonic()
            model.train()
            order = torch.randperm(n)
            total, correct, seen = 0.0, 0, 0
            for i in range(0, n, batch):
                idx = order[i : i + batch]
                z = model.logits(x[idx])
                loss = F.cross_entropy(z, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss) * len(idx)
                correct += int((z.argmax(1) == y[idx]).sum())
                seen += len(idx)
                if w.stop_requested:
                    w.log(f"stop requested: stopped in epoch {epoch}")
                    return
            train_s = time.monotonic() - t0
            model.eval()
            with torch.no_grad():
                vz = torch.cat([model.logits(vx[i : i + 1024]) for i in range(0, len(vx), 1024)])
            val_loss = float(F.cross_entropy(vz, torch.from_numpy(vy)))
            pred = vz.argmax(1).numpy()
            acc, f1 = float(np.mean(pred == vy)), macro_f1(pred, vy, classes)
            w.epoch(
                epoch, epochs, loss=total / seen, trainAccuracy=correct / seen, valLoss=val_loss,
                valAccuracy=acc, macroF1=f1, samplesPerSec=seen / train_s, epochTimeS=time.monotonic() - t0,
            )
            if target and acc >= target:
                w.log(f"valAccuracy {acc:.4f} reached the target {target} at epoch {epoch}")
                break
        onnx_bytes = export_onnx(model, h * wd * c)  # eval mode: dropout off, as served
        probe = w.param("probe", "")
        if probe:
            with torch.no_grad():
                probs = model(vx[:64])[1]
            with open(probe, "w") as f:
                json.dump({"rows": vx[:64].int().tolist(), "probabilities": probs.tolist()}, f)
        gen = w.upload_candidate(onnx_bytes, {"valAccuracy": acc, "macroF1": f1})
        print(f"uploaded {w.contract.model} gen {gen.get('gen')}: valAccuracy {acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
