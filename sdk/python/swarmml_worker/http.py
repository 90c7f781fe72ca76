"""A small HTTP client for the gateway (standard library only), with the session's token."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Mapping, Optional, Tuple, Union

# Answers that say "not now" rather than "no": the request can be sent again as it is.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class GatewayError(RuntimeError):
    """The gateway answered with an error status."""

    def __init__(self, status: int, method: str, path: str, body: bytes) -> None:
        self.status = status
        self.body = body
        try:
            detail: Any = json.loads(body)
            msg = detail.get("message", body.decode(errors="replace")) if isinstance(detail, dict) else detail
        except ValueError:
            msg = body.decode(errors="replace")
        super().__init__(f"{method} {path}: HTTP {status}: {str(msg)[:500]}")

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUS


class Gateway:
    """Requests to `SWARMML_GATEWAY_URL` with `Authorization: Bearer SWARMML_TOKEN`."""

    def __init__(self, url: str, token: str, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    def request(
        self,
        method: str,
        path: str,
        body: Union[None, bytes, Mapping[str, Any]] = None,
        query: Optional[Mapping[str, Any]] = None,
        content_type: str = "application/json",
    ) -> Tuple[int, bytes]:
        """Sends one request; answers (status, body) for 2xx, raises GatewayError otherwise.

        Connection failures raise OSError (urllib.error.URLError is one)."""
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as res:
                return res.status, res.read()
        except urllib.error.HTTPError as err:
            raise GatewayError(err.code, method, path, err.read()) from None

    def json(self, method: str, path: str, **kw: Any) -> Any:
        return json.loads(self.request(method, path, **kw)[1])
