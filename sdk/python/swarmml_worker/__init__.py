"""swarmml_worker: write swarmml training workers in Python (docs/workers.md).

A worker reads its session from the environment (`Contract`), streams its dataset version's
rows as numpy arrays (`Dataset`, `Rows`), reports events with sequence numbers and retries
(`EventSender`), uploads its ONNX candidate, keeps a checkpoint to resume from
(`Checkpoints`), and turns SIGTERM into `stop_requested`
(`Worker` does all of it).
"""
from .checkpoints import Checkpoints
from .contract import Contract, ContractError
from .events import EventSender, EventsUndelivered
from .http import Gateway, GatewayError
from .rows import Dataset, Rows, decode_rows
from .worker import Worker

__all__ = [
    "Checkpoints",
    "Contract",
    "ContractError",
    "Dataset",
    "EventSender",
    "EventsUndelivered",
    "Gateway",
    "GatewayError",
    "Rows",
    "Worker",
    "decode_rows",
]
__version__ = "0.1.0"
