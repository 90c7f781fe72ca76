"""A softmax-regression trainer in numpy that writes its ONNX with onnx.helper: no
scikit-learn, no skl2onnx, no deep-learning framework. It shows that the worker contract is
framework-agnostic: any code that can write an ONNX graph can train for swarmml.

    swarmml train --model digits-linear --dataset digits --trainer external \\
      --command "python3 examples/linear/train.py" --param epochs=30 --param lr=0.5

Params: epochs (30), lr (0.5), l2 (1e-4), seed (0). Reports loss, valAccuracy, valLoss and
macroF1 per epoch; stops after the epoch in hand on SIGTERM (without uploading).
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

try:
    from swarmml_worker import Worker
except ImportError:  # run from the source tree without installing the SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))
    from swarmml_worker import Worker


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def macro_f1(pred: np.ndarray, truth: np.ndarray, classes: int) -> float:
    f1s = []
    for c in range(classes):
        tp = np.sum((pred == c) & (truth == c))
        fp = np.sum((pred == c) & (truth != c))
        fn = np.sum((pred != c) & (truth == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def to_onnx(mean: np.ndarray, std: np.ndarray, w: np.ndarray, b: np.ndarray) -> bytes:
    """input [N, D] raw features -> (x - mean) / std -> x·W + b = logits -> softmax."""
    d, k = w.shape
    nodes = [
        helper.make_node("Sub", ["input", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "std"], ["scaled"]),
        helper.make_node("Gemm", ["scaled", "W", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    inits = [
        numpy_helper.from_array(mean.astype(np.float32), "mean"),
        numpy_helper.from_array(std.astype(np.float32), "std"),
        numpy_helper.from_array(w.astype(np.float32), "W"),
        numpy_helper.from_array(b.astype(np.float32), "b"),
    ]
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", d])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", k]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", k]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="examples/linear")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main() -> None:
    with Worker() as w:
        epochs, lr, l2 = w.param("epochs", 30), w.param("lr", 0.5), w.param("l2", 1e-4)
        rng = np.random.default_rng(w.param("seed", 0))
        train, val = w.dataset.arrays("train"), w.dataset.arrays("validation")
        x, y = train.x.reshape(len(train), -1), train.labels
        vx, vy = val.x.reshape(len(val), -1).astype(np.float32), val.labels
        classes = max(w.dataset.classes, int(y.max()) + 1)
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
        xs, vxs = (x - mean) / std, (vx - mean) / std
        W = rng.normal(0, 0.01, (x.shape[1], classes))
        b = np.zeros(classes)
        onehot = np.eye(classes)[y]
        acc = f1 = 0.0
        for epoch in range(1, epochs + 1):
            t0 = time.monotonic()
            p = softmax(xs @ W + b)
            loss = float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))
            g = (p - onehot) / len(y)
            W -= lr * (xs.T @ g + l2 * W)
            b -= lr * g.sum(axis=0)
            vp = softmax(vxs @ W + b)
            pred = vp.argmax(axis=1)
            acc = float(np.mean(pred == vy))
            f1 = macro_f1(pred, vy, classes)
            val_loss = float(-np.mean(np.log(vp[np.arange(len(vy)), vy] + 1e-12)))
            w.epoch(epoch, epochs, loss=loss, valLoss=val_loss, valAccuracy=acc, macroF1=f1,
                    epochTimeS=time.monotonic() - t0)
            if w.stop_requested:
                w.log(f"stop requested: stopped after epoch {epoch}")
                return
        gen = w.upload_candidate(to_onnx(mean, std, W, b), {"valAccuracy": acc, "macroF1": f1})
        print(f"uploaded {w.contract.model} gen {gen.get('gen')}: valAccuracy {acc:.4f} macroF1 {f1:.4f}", flush=True)


if __name__ == "__main__":
    main()
