"""The PyTorch example's CNN (examples/pytorch/train.py) on the full Fashion-MNIST, outside
the platform: trains on the 60,000 training images, scores the 10,000 test images after every
epoch, and stops at the target accuracy. main.ts --torch runs it beside the built-in MLP and
reads the JSON line it prints last.

    /usr/bin/python3 scripts/bench/trainer/torch_cnn.py [--target 0.90] [--max-epochs 10]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples", "pytorch"))
from train import SmallCNN  # noqa: E402

FASHION = "/usr/share/datasets/fashion-mnist"


def idx(name: str, offset: int) -> np.ndarray:
    with gzip.open(os.path.join(FASHION, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=float, default=0.90)
    ap.add_argument("--max-epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.from_numpy(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32))
    y = torch.from_numpy(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    tx = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32))
    ty = idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    model = SmallCNN(28, 28, 1, 10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.monotonic()
    reached, acc, history = None, 0.0, []
    for epoch in range(1, a.max_epochs + 1):
        model.train()
        order = torch.randperm(len(y))
        for i in range(0, len(y), a.batch):
            idx_ = order[i : i + a.batch]
            loss = F.cross_entropy(model.logits(x[idx_]), y[idx_])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model.logits(tx[i : i + 1000]).argmax(1) for i in range(0, len(tx), 1000)])
        acc = float((pred.numpy() == ty).mean())
        minutes = (time.monotonic() - t0) / 60
        history.append({"epoch": epoch, "testAccuracy": acc, "minutes": round(minutes, 2)})
        print(f"    torch epoch {epoch}: test acc {acc:.4f} at {minutes:.1f} min", flush=True)
        if acc >= a.target:
            reached = epoch
            break
    print(json.dumps({"reachedAtEpoch": reached, "testAccuracy": acc, "minutes": round((time.monotonic() - t0) / 60, 2),
                      "threads": torch.get_num_threads(), "history": history}), flush=True)


if __name__ == "__main__":
    main()
