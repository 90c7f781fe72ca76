"""The worker: the contract's environment, the dataset, events, the candidate, SIGTERM, exit."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from types import FrameType, TracebackType
from typing import Any, Dict, Mapping, Optional, Type

from .checkpoints import Checkpoints, handler_http_url
from .contract import Contract
from .events import EventSender, finite_or_none
from .http import Gateway, GatewayError
from .rows import Dataset

MAX_LOG_LINES = 200  # per log event (the platform's limit)
MAX_LOG_CHARS = 4000  # per line
MAX_REASON = 1000


class Worker:
    """One session's worker. Use it as a context manager: entering reports `session.started`,
    leaving reports `worker.exiting` with the exit code (and, for an exception, its message
    as the failed session's reason).

    >>> with Worker() as w:
    ...     for epoch in range(1, epochs + 1):
    ...         train_one_epoch()
    ...         w.epoch(epoch, epochs, loss=loss, valAccuracy=acc, macroF1=f1)
    ...         if w.stop_requested:
    ...             break
    ...     w.upload_candidate(onnx_bytes, {"valAccuracy": acc})

    With `save_checkpoint` / `load_checkpoint` a session survives losing its worker: the
    platform queues it again and the next worker resumes from the last checkpoint.
    """

    def __init__(
        self,
        contract: Optional[Contract] = None,
        handle_sigterm: bool = True,
        gateway: Optional[Gateway] = None,
    ) -> None:
        self.contract = contract or Contract.from_env()
        c = self.contract
        self.gateway = gateway or Gateway(c.gateway_url, c.token)
        self._t0 = time.monotonic()
        deadline = None if c.time_budget_s is None else self._t0 + c.time_budget_s
        self.events = EventSender(self.gateway, c.session, deadline=deadline)
        self.dataset = Dataset(self.gateway, c.dataset, c.version)
        self.checkpoints: Optional[Checkpoints] = (
            Checkpoints(Gateway(handler_http_url(c.handler_url), c.token), c.session)
            if c.handler_url
            else None
        )
        self._stop = threading.Event()
        self._exit_reported = False
        if handle_sigterm and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_sigterm)

    # -- the session's settings ------------------------------------------------------------
    @property
    def params(self) -> Mapping[str, Any]:
        """The trainer parameters (`SWARMML_PARAMS`, e.g. from `swarmml train --param k=v`)."""
        return self.contract.params

    def param(self, name: str, default: Any) -> Any:
        """One parameter, converted to the default's type (params from the CLI may be strings)."""
        v = self.contract.params.get(name, default)
        if default is None or isinstance(v, type(default)):
            return v
        if isinstance(default, bool):
            return str(v).lower() in ("1", "true", "yes")
        return type(default)(v)

    # -- SIGTERM -----------------------------------------------------------------------------
    @property
    def stop_requested(self) -> bool:
        """True once the platform asked the session to stop (SIGTERM): finish the step in hand,
        then stop. The platform kills the process after its grace period."""
        return self._stop.is_set()

    def _on_sigterm(self, _sig: int, _frame: Optional[FrameType]) -> None:
        self._stop.set()

    # -- events ------------------------------------------------------------------------------
    def started(self, **info: Any) -> None:
        """Reports `session.started` (done on entering the context manager)."""
        self.events.send(
            "session.started",
            {"pid": os.getpid(), "sdk": "swarmml_worker (python)", **info},
        )

    def epoch(self, epoch: int, epochs: int, loss: float, **metrics: Any) -> None:
        """Reports an epoch: its loss and any other numeric metrics (valAccuracy, valLoss,
        trainAccuracy, samplesPerSec, elapsedMs, or your own: macroF1, epochTimeS ...).
        A NaN or infinite figure is sent as null."""
        payload: Dict[str, Any] = {"epoch": int(epoch), "epochs": int(epochs), "loss": finite_or_none(loss)}
        for k, v in metrics.items():
            if v is not None:
                payload[k] = finite_or_none(v)
        self.events.send("epoch", payload)

    def log(self, *lines: str) -> None:
        """Archives log lines as `log` events (the session page shows them)."""
        cut = [str(l)[:MAX_LOG_CHARS] for l in lines]
        for i in range(0, len(cut), MAX_LOG_LINES):
            self.events.send("log", {"lines": cut[i : i + MAX_LOG_LINES]})

    def progress(self, done: int, total: int, rows_per_sec: float) -> None:
        """Reports progress (batch jobs)."""
        self.events.send("progress", {"done": int(done), "total": int(total), "rowsPerSec": float(rows_per_sec)})

    # -- the candidate -----------------------------------------------------------------------
    def upload_candidate(self, onnx: bytes, metrics: Mapping[str, float]) -> Dict[str, Any]:
        """Uploads the ONNX model as a candidate generation of the session's model, with the
        validation figures it reports; answers the generation. The platform measures the
        candidate itself on the held-out rows; a reported figure that overstates the measured
        one gets the candidate rejected and the worker flagged."""
        reported = {k: finite_or_none(v) for k, v in metrics.items()}
        body = self.gateway.json(
            "POST",
            f"/api/v1/models/{self.contract.model}/generations",
            body=bytes(onnx),
            query={"metrics": json.dumps({k: v for k, v in reported.items() if v is not None})},
            content_type="application/octet-stream",
        )
        return body if isinstance(body, dict) else {"answer": body}

    # -- checkpoints -------------------------------------------------------------------------
    def _checkpoints(self) -> Checkpoints:
        if self.checkpoints is None:
            raise RuntimeError("SWARMML_HANDLER_URL is not set: this session keeps no checkpoint")
        return self.checkpoints

    def save_checkpoint(self, obj: Any) -> int:
        """Saves the session's checkpoint (bytes, or any picklable object: weights, optimizer
        state, the epoch ...), replacing the last one; answers its size in bytes. If the worker
        is lost or moved, the session resumes in a new worker, whose `load_checkpoint()`
        answers it. Raises GatewayError (status 413) past the platform's size limit."""
        return self._checkpoints().save(obj)

    def load_checkpoint(self) -> Any:
        """The last checkpoint this session saved (None on a first start): resume from it."""
        return self._checkpoints().load()

    def clear_checkpoint(self) -> None:
        """Drops the checkpoint (done on a clean exit that was not a stop request)."""
        self._checkpoints().clear()

    # -- exit --------------------------------------------------------------------------------
    def exiting(self, exit_code: int, reason: Optional[str] = None) -> None:
        """Reports `worker.exiting` (done on leaving the context manager): sent last, once."""
        if self._exit_reported:
            return
        self._exit_reported = True
        payload: Dict[str, Any] = {"exitCode": int(exit_code)}
        if reason:
            payload["reason"] = reason[:MAX_REASON]
        self.events.send("worker.exiting", payload)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._t0

    def __enter__(self) -> "Worker":
        self.started()
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        _tb: Optional[TracebackType],
    ) -> None:
        if exc is None:
            code, reason = 0, None
        elif isinstance(exc, SystemExit):
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            reason = None if code == 0 else str(exc.code)
        elif isinstance(exc, KeyboardInterrupt):
            code, reason = 130, "interrupted"
        else:
            code, reason = 1, f"{type(exc).__name__}: {exc}"
        # Done: a checkpoint left behind would have the platform resume the session. A worker
        # asked to stop keeps it (a move or a drained node: it resumes elsewhere).
        if code == 0 and self.checkpoints is not None and not self.stop_requested:
            try:
                self.checkpoints.clear()
            except (GatewayError, OSError) as err:
                print(f"swarmml_worker: could not clear the checkpoint: {err}", file=sys.stderr, flush=True)
        try:
            self.exiting(code, reason)
        except (GatewayError, OSError, RuntimeError) as err:
            # The exit code still reaches the platform through the process's own exit.
            print(f"swarmml_worker: could not report the exit: {err}", file=sys.stderr, flush=True)
