"""Run as a session's worker on a real platform (test/sdk/python-sdk.test.ts starts it): counts
epochs into its "weights", saving a checkpoint after each, and resumes from the last one when
the platform starts it again. Not a unittest module: it needs a running session's environment."""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from swarmml_worker import Worker  # noqa: E402

with Worker() as w:
    epochs = w.param("epochs", 12)
    state = w.load_checkpoint()
    start, weights = 1, [0.0] * 4
    if state is not None:
        start, weights = state["epoch"] + 1, state["weights"]
        w.log(f"resumed at epoch {start}")
    for epoch in range(start, epochs + 1):
        if w.stop_requested:
            break
        time.sleep(w.param("epoch_s", 0.25))
        weights = [x + 1 for x in weights]
        w.epoch(epoch, epochs, loss=1.0 / epoch)
        w.save_checkpoint({"epoch": epoch, "weights": weights})
    # Each epoch counted once across the workers: the weights equal the epochs done.
    w.log(f"weights {weights[0]:g}")
