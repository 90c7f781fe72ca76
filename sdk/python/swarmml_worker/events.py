"""Session events over HTTP, in seq order, each retried until the gateway takes it.

The gateway archives an event once per (session, seq): a resend of a seq already archived is
answered `duplicate: true`. So an event whose answer was lost (a dropped connection, a 503
while Redis is away) is simply sent again, and events go one at a time from the first unacked,
never past a failed one (an event archived past it would make its resend a dropped duplicate).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional

from .http import Gateway, GatewayError


class EventsUndelivered(RuntimeError):
    """Events could not be delivered before the session's time budget ran out."""


@dataclass
class Pending:
    seq: int
    kind: str
    payload: Dict[str, Any]


def finite_or_none(v: Any) -> Any:
    """JSON has no NaN: a non-finite figure is sent as null (the platform's 'NaN')."""
    f = float(v)
    return f if math.isfinite(f) else None


def _is_duplicate(body: bytes) -> bool:
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and answer.get("duplicate") is True


class EventSender:
    """Numbers events 1, 2, 3 ... and delivers them in order, with retries and backoff."""

    def __init__(
        self,
        gateway: Gateway,
        session: str,
        deadline: Optional[float] = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.gateway = gateway
        self.session = session
        self.deadline = deadline
        self.clock = clock
        self.sleep = sleep
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.seq = 0
        self.pending: List[Pending] = []
        self.attempts = 0
        self.duplicates = 0

    def send(self, kind: str, payload: Mapping[str, Any]) -> int:
        """Queues an event and delivers everything queued; answers its seq."""
        self.seq += 1
        self.pending.append(Pending(self.seq, kind, dict(payload)))
        self.flush()
        return self.seq

    def flush(self) -> None:
        """Delivers the queued events from the first unacked one, retrying transient failures
        (connection errors, 408/429/5xx) until the deadline; a 4xx is raised at once."""
        wait = self.backoff_s
        while self.pending:
            ev = self.pending[0]
            try:
                self.attempts += 1
                _, body = self.gateway.request(
                    "POST",
                    f"/api/v1/sessions/{self.session}/events",
                    body={"seq": ev.seq, "event": {"kind": ev.kind, "payload": ev.payload}},
                )
            except GatewayError as err:
                if not err.retryable:
                    raise
                wait = self._backoff(wait, err)
                continue
            except OSError as err:  # refused, reset, timed out: the answer may be lost
                wait = self._backoff(wait, err)
                continue
            if _is_duplicate(body):
                self.duplicates += 1
            self.pending.pop(0)
            wait = self.backoff_s

    def _backoff(self, wait: float, err: BaseException) -> float:
        if self.deadline is not None and self.clock() + wait > self.deadline:
            raise EventsUndelivered(
                f"{len(self.pending)} event(s) from seq {self.pending[0].seq} undelivered "
                f"within the time budget: {err}"
            ) from err
        self.sleep(wait)
        return min(wait * 2, self.max_backoff_s)
