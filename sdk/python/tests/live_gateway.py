"""Run as a session's worker against a real platform (test/sdk/python-sdk.test.ts starts it):
streams the dataset's rows, and sends its events through a proxy that loses the answer to one
of them, so the SDK's resend must be archived once. Not a unittest module (its name does not
start with test): it needs a running session's environment."""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
from urllib.parse import urlparse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from swarmml_worker import Contract, Gateway, Worker  # noqa: E402


class LossyProxy:
    """Forwards each HTTP/1.1 request (one per connection, as urllib sends them) to the
    gateway; while `drop` > 0 it closes the connection instead of relaying an events answer."""

    def __init__(self, upstream: str) -> None:
        u = urlparse(upstream)
        self.target = (u.hostname or "127.0.0.1", u.port or 80)
        self.drop = 0
        self.dropped = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            client, _ = self.sock.accept()
            threading.Thread(target=self._one, args=(client,), daemon=True).start()

    def _one(self, client: socket.socket) -> None:
        with client, socket.create_connection(self.target) as up:
            head = b""
            while b"\r\n\r\n" not in head:
                head += client.recv(65536)
            header, _, body = head.partition(b"\r\n\r\n")
            length = 0
            for line in header.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            while len(body) < length:
                body += client.recv(65536)
            up.sendall(header + b"\r\n\r\n" + body)
            answer = b""
            while True:
                chunk = up.recv(65536)
                if not chunk:
                    break
                answer += chunk
            if b"/events" in header.split(b"\r\n")[0] and self.drop > 0:
                self.drop -= 1
                self.dropped += 1
                return  # the gateway archived it; the worker never hears so
            client.sendall(answer)


def main() -> None:
    c = Contract.from_env()
    proxy = LossyProxy(c.gateway_url)
    with Worker(c, gateway=Gateway(proxy.url, c.token, timeout_s=30)) as w:
        meta = w.dataset.meta
        train = w.dataset.arrays("train")
        val = w.dataset.arrays("validation")
        small = list(w.dataset.batches("train", rows_per_call=500))
        proxy.drop = 1
        w.epoch(1, 2, loss=0.5, valAccuracy=0.7, macroF1=0.65)
        w.epoch(2, 2, loss=0.4, valAccuracy=0.8, macroF1=0.75)
        summary = {
            "count": meta["count"],
            "split": meta.get("split"),
            "train": list(train.x.shape),
            "validation": list(val.x.shape),
            "trainDtype": str(train.x.dtype),
            "labels": sorted(set(int(v) for v in train.labels)),
            "batches": [len(b) for b in small],
            "dropped": proxy.dropped,
            "duplicates": w.events.duplicates,
            "attempts": w.events.attempts,
            "firstRow": [float(v) for v in train.x[0][:8]],
        }
        w.log("live " + json.dumps(summary))


if __name__ == "__main__":
    main()
