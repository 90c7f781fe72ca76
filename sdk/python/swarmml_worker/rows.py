"""Dataset rows as numpy arrays, from the gateway's binary rows API (docs/datasets.md)."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Literal, Optional

import numpy as np

from .http import Gateway

Split = Literal["train", "validation", "all"]

MAGIC = b"SWS1"
HEADER = struct.Struct("<4sBBxxIIII8x")  # 32 bytes


@dataclass(frozen=True)
class Rows:
    """A batch of rows: `x` is float32 (rows, dim) for tabular data (NaN: missing) or uint8
    (rows, height, width, channels) for images; `y` is float32 (rows,): class ids or values."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def labels(self) -> np.ndarray:
        """The labels as int64 class ids (classification datasets)."""
        return self.y.astype(np.int64)


def decode_rows(buf: bytes) -> Rows:
    """Decodes one binary rows answer (layout version 1)."""
    if len(buf) < HEADER.size:
        raise ValueError(f"a rows answer is at least {HEADER.size} bytes, got {len(buf)}")
    magic, kind, layout, n, d0, d1, d2 = HEADER.unpack_from(buf, 0)
    if magic != MAGIC or layout != 1:
        raise ValueError(f"not a swarmml rows answer (magic {magic!r}, layout {layout})")
    off = HEADER.size
    if kind == 1:
        x = np.frombuffer(buf, dtype="<f4", count=n * d0, offset=off).reshape(n, d0)
        off += 4 * n * d0
    elif kind == 2:
        size = n * d0 * d1 * d2
        x = np.frombuffer(buf, dtype=np.uint8, count=size, offset=off).reshape(n, d0, d1, d2)
        off += (size + 3) & ~3
    else:
        raise ValueError(f"unknown rows kind {kind}")
    y = np.frombuffer(buf, dtype="<f4", count=n, offset=off)
    # Native float32 copies: frombuffer views are read-only and torch warns on them.
    return Rows(x=x.astype(x.dtype.newbyteorder("=")), y=y.astype(np.float32))


class Dataset:
    """The session's dataset version (`name@version`), read with the session's token."""

    def __init__(self, gateway: Gateway, name: str, version: int) -> None:
        self.gateway = gateway
        self.name = name
        self.version = version
        self._meta: Optional[Dict[str, Any]] = None

    @property
    def meta(self) -> Dict[str, Any]:
        """The version's metadata: kind, count, features or imageShape, labelKind, labelNames..."""
        if self._meta is None:
            self._meta = self.gateway.json("GET", self._path())
        return self._meta

    @property
    def classes(self) -> int:
        """How many classes a classification dataset has (its labelNames)."""
        return len(self.meta.get("labelNames") or [])

    def batches(self, split: Split = "train", rows_per_call: int = 4096) -> Iterator[Rows]:
        """Yields the split's rows in order, a call's worth at a time (each row exactly once)."""
        total = int(self.meta["count"])
        for start in range(0, total, rows_per_call):
            _, body = self.gateway.request(
                "GET",
                self._path() + "/rows",
                query={"start": start, "count": rows_per_call, "split": split, "format": "binary"},
            )
            rows = decode_rows(body)
            if len(rows):
                yield rows

    def arrays(self, split: Split = "train", limit: Optional[int] = None) -> Rows:
        """The whole split in memory (the first `limit` rows of it when given)."""
        parts: List[Rows] = []
        have = 0
        for rows in self.batches(split):
            parts.append(rows)
            have += len(rows)
            if limit is not None and have >= limit:
                break
        if not parts:
            raise ValueError(f"{self.name}@{self.version} has no {split} rows")
        x = np.concatenate([p.x for p in parts])
        y = np.concatenate([p.y for p in parts])
        if limit is not None:
            x, y = x[:limit], y[:limit]
        return Rows(x=x, y=y)

    def _path(self) -> str:
        return f"/api/v1/datasets/{self.name}/versions/{self.version}"
