"""The worker contract's environment (docs/workers.md), read once into a typed record."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional


class ContractError(RuntimeError):
    """The environment does not describe a swarmml session (a variable missing or malformed)."""


@dataclass(frozen=True)
class Contract:
    """What the event handler tells a worker about its session."""

    session: str
    kind: str
    model: str
    dataset: str
    version: int
    trainer: str
    gateway_url: str
    token: str
    device: str = "cpu"
    params: Mapping[str, Any] = field(default_factory=dict)
    time_budget_s: Optional[float] = None
    # the event handler's WebSocket URL; its HTTP address keeps the session's checkpoint
    handler_url: Optional[str] = None

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Contract":
        """Reads `SWARMML_*` from `env` (the process environment by default)."""
        e = os.environ if env is None else env

        def need(name: str) -> str:
            v = e.get(name, "")
            if not v:
                raise ContractError(f"{name} is not set: is this process a swarmml worker?")
            return v

        dataset = need("SWARMML_DATASET")
        name, sep, ver = dataset.partition("@")
        if not sep or not ver.isdigit():
            raise ContractError(f"SWARMML_DATASET must be name@version, got {dataset!r}")
        try:
            params = json.loads(e.get("SWARMML_PARAMS") or "{}")
        except json.JSONDecodeError as err:
            raise ContractError(f"SWARMML_PARAMS is not JSON: {err}") from err
        if not isinstance(params, dict):
            raise ContractError("SWARMML_PARAMS must be a JSON object")
        budget = e.get("SWARMML_TIME_BUDGET_S")
        return cls(
            session=need("SWARMML_SESSION"),
            kind=e.get("SWARMML_KIND", "train"),
            model=need("SWARMML_MODEL"),
            dataset=name,
            version=int(ver),
            trainer=e.get("SWARMML_TRAINER", "external"),
            gateway_url=need("SWARMML_GATEWAY_URL").rstrip("/"),
            token=need("SWARMML_TOKEN"),
            device=e.get("SWARMML_DEVICE", "cpu"),
            params=params,
            time_budget_s=float(budget) if budget else None,
            handler_url=e.get("SWARMML_HANDLER_URL") or None,
        )
