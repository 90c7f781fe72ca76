"""An in-process stand-in for the gateway's worker routes, for the SDK's unit tests.

It archives events once per seq (as the real one does), can drop a connection after reading
and archiving a request (the answer is lost), or answer a status before archiving."""
from __future__ import annotations

import json
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlparse

import numpy as np


def rows_answer(x: np.ndarray, y: np.ndarray) -> bytes:
    """Encodes rows in the binary layout (tabular float32 or image uint8 HWC)."""
    n = len(y)
    if x.dtype == np.uint8:
        _, h, w, c = x.shape
        head = struct.pack("<4sBBxxIIII8x", b"SWS1", 2, 1, n, h, w, c)
        px = x.tobytes()
        body = px + b"\0" * ((-len(px)) % 4)
    else:
        head = struct.pack("<4sBBxxIIII8x", b"SWS1", 1, 1, n, x.shape[1], 0, 0)
        body = x.astype("<f4").tobytes()
    return head + body + y.astype("<f4").tobytes()


class FakeGateway:
    def __init__(self, token: str = "tok", x: Optional[np.ndarray] = None, y: Optional[np.ndarray] = None) -> None:
        self.token = token
        self.archive: Dict[int, Dict[str, Any]] = {}
        self.posts: List[int] = []
        self.uploads: List[Tuple[bytes, Dict[str, Any]]] = []
        self.drop: int = 0  # connections to drop after archiving
        self.fail: List[int] = []  # statuses to answer before archiving
        self.x = x if x is not None else np.zeros((0, 1), np.float32)
        self.y = y if y is not None else np.zeros(0, np.float32)
        self.lock = threading.Lock()
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {gw.token}":
                    self._send(401, b'{"error":"UNAUTHORIZED","message":"bad token"}')
                    return False
                return True

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                u = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                if u.path.endswith("/rows"):
                    start, count = int(q.get("start", 0)), int(q.get("count", 1000))
                    idx = np.arange(start, min(start + count, len(gw.y)))
                    split = q.get("split", "all")
                    # the fake's split: every 5th row is validation
                    if split == "train":
                        idx = idx[idx % 5 != 0]
                    elif split == "validation":
                        idx = idx[idx % 5 == 0]
                    self._send(200, rows_answer(gw.x[idx], gw.y[idx]), "application/octet-stream")
                else:
                    meta = {"name": "d", "version": 1, "count": int(len(gw.y)), "labelNames": ["a", "b"]}
                    self._send(200, json.dumps(meta).encode())

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                u = urlparse(self.path)
                with gw.lock:
                    if gw.fail:
                        status = gw.fail.pop(0)
                        self._send(status, json.dumps({"error": "X", "message": f"status {status}"}).encode())
                        return
                if u.path.endswith("/events"):
                    msg = json.loads(body)
                    with gw.lock:
                        gw.posts.append(msg["seq"])
                        dup = msg["seq"] in gw.archive
                        if not dup:
                            gw.archive[msg["seq"]] = msg["event"]
                        drop = gw.drop > 0
                        if drop:
                            gw.drop -= 1
                    if drop:
                        self.close_connection = True
                        self.connection.shutdown(2)  # archived, but the answer is lost
                        return
                    self._send(200 if dup else 201, json.dumps({"seq": msg["seq"], "duplicate": dup}).encode())
                elif "/generations" in u.path:
                    metrics = json.loads(parse_qs(u.query)["metrics"][0])
                    gw.uploads.append((body, metrics))
                    self._send(201, json.dumps({"gen": len(gw.uploads), "status": "candidate"}).encode())
                else:
                    self._send(404, b'{"error":"NOT_FOUND"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def kinds(self) -> List[str]:
        return [self.archive[s]["kind"] for s in sorted(self.archive)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def env(self, **over: str) -> Dict[str, str]:
        e = {
            "SWARMML_SESSION": "s1",
            "SWARMML_MODEL": "m",
            "SWARMML_DATASET": "d@1",
            "SWARMML_GATEWAY_URL": self.url,
            "SWARMML_TOKEN": self.token,
            "SWARMML_PARAMS": '{"epochs": "3", "lr": 0.1}',
            "SWARMML_TIME_BUDGET_S": "30",
        }
        e.update(over)
        return e
