"""Run as a session's worker on a real platform (test/sdk/python-sdk.test.ts starts it). The
first worker runs an epoch, saves a checkpoint and dies; the next `false_starts` workers die
before saying hello (as a relaunch that its node refuses would); the last one finishes. Only
the first loss may count against the session's MAX_RESUMES."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from swarmml_worker import Worker  # noqa: E402

w = Worker()
state = w.load_checkpoint()
if state is not None and state["false_starts"] < w.param("false_starts", 4):
    w.save_checkpoint({**state, "false_starts": state["false_starts"] + 1})
    os._exit(1)  # no hello, no worker.exiting: lost while starting
with w:
    if state is None:
        w.epoch(1, 2, loss=1.0)
        w.save_checkpoint({"epoch": 1, "false_starts": 0})
        os._exit(1)  # lost after it ran
    w.log(f"resumed after {state['false_starts']} false starts")
    w.epoch(2, 2, loss=0.5)
    w.clear_checkpoint()
