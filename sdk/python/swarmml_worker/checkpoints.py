"""A session's checkpoint, kept by the platform so that a resumed worker finds it.

The event handler keeps one checkpoint per session (`/sessions/{id}/checkpoint` on its HTTP
address, with the session's token), in Redis under the session, up to its size limit
(`CHECKPOINT_MAX_BYTES`, 64 MiB by default: a larger save is refused with HTTP 413). When a
session's worker is lost (killed, its node drained or down) or moved (past 5 hours) and a
checkpoint is left, the session is queued again and its next worker resumes from it. A worker
that finishes its work clears it: a checkpoint left behind means "not done, resume me".
"""
from __future__ import annotations

import pickle
import time
import urllib.parse
from typing import Any, Optional

from .http import Gateway, GatewayError

# Objects other than bytes are pickled, behind this tag, so that loading knows which it got.
PICKLED = b"SWMLPKL1"


def handler_http_url(handler_ws_url: str) -> str:
    """The handler's HTTP address from the WebSocket URL workers are given (ws://host:port/ws)."""
    u = urllib.parse.urlsplit(handler_ws_url)
    scheme = "https" if u.scheme == "wss" else "http"
    path = u.path[: -len("/ws")] if u.path.endswith("/ws") else u.path.rstrip("/")
    return urllib.parse.urlunsplit((scheme, u.netloc, path, "", ""))


class Checkpoints:
    """Save, load and clear the session's checkpoint: bytes as they are, anything else pickled
    (a dict of numpy arrays, a torch `state_dict`, the epoch and the optimizer's state ...).
    Unpickling runs code: only this session's own worker writes what it loads."""

    def __init__(self, handler: Gateway, session: str, attempts: int = 3) -> None:
        self.handler = handler
        self.path = f"/sessions/{urllib.parse.quote(session, safe='')}/checkpoint"
        self.attempts = attempts

    def _send(self, method: str, body: Optional[bytes] = None) -> Any:
        for i in range(self.attempts):
            try:
                return self.handler.request(
                    method, self.path, body=body, content_type="application/octet-stream"
                )
            except GatewayError as err:
                if not err.retryable or i + 1 == self.attempts:
                    raise
            except OSError:
                if i + 1 == self.attempts:
                    raise
            time.sleep(0.2 * 2**i)
        raise AssertionError("unreachable")

    def save(self, obj: Any) -> int:
        """Stores `obj` as the session's checkpoint, replacing the last; answers its size."""
        data = bytes(obj) if isinstance(obj, (bytes, bytearray, memoryview)) else PICKLED + pickle.dumps(obj, protocol=4)
        self._send("PUT", data)
        return len(data)

    def load(self) -> Any:
        """The last checkpoint saved (bytes, or the object saved), or None when there is none."""
        try:
            _, data = self._send("GET")
        except GatewayError as err:
            if err.status == 404:
                return None
            raise
        return pickle.loads(data[len(PICKLED) :]) if data.startswith(PICKLED) else data

    def clear(self) -> None:
        """Nothing left to resume: the work is done."""
        self._send("DELETE")
