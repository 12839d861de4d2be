"""What a run's model costs to run, on the machine it was measured on: `<run>/cost.json`, as
`python -m trainers.evaluate RUN --cost` (`trainers.inference.cost.measure_cost`) writes it and Home reads it.

One contract for every reader and writer: the fields are those of `Cost` and `Machine`, each checked by its
`metadata` when written and when read, so a damaged file is refused in one line wherever it is read. Written
whole or not at all (`run_store.write_json`); nothing here imports TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from trainers.store import run_store
from trainers.store.run_store import RunError

COST_FILE = "cost.json"
COST_VERSION = 1  # cost.json's own version: a reader refuses a newer one rather than misread it


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# What a field must hold, as `metadata` of its dataclass field: a check and how a refusal names it.
POSITIVE = {"check": lambda value: _is_number(value) and value > 0, "is": "a positive number"}
COUNT = {"check": _is_count, "is": "a whole number >= 0"}
COUNT_OR_NONE = {"check": lambda value: value is None or _is_count(value), "is": "a whole number >= 0 or null"}
TEXT = {"check": lambda value: isinstance(value, str), "is": "a string"}
TEXTS = {"check": lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value),
         "is": "a list of strings"}


@dataclass(frozen=True)
class Machine:
    """Where a cost was measured, and how the model ran there."""

    processor: str = field(metadata=TEXT)  # the CPU's model name (`trainers.inference.machine.processor_name`)
    device: str = field(metadata=TEXT)  # "CPU", or "GPU (<its name>)"
    threads: int = field(metadata=COUNT)  # the threads the runtime runs an operator on
    precision: str = field(metadata=TEXT)  # what the weighted layers compute in ("float32")
    runtime: str = field(metadata=TEXT)  # "TensorFlow" or "ONNX Runtime"
    runtime_version: str = field(metadata=TEXT)


@dataclass(frozen=True)
class Cost:
    """What a run's model costs to run on `machine` (the fields of cost.json, with `version` and `machine`)."""

    latency_median_ms: float = field(metadata=POSITIVE)  # one image per call: the median call
    latency_p90_ms: float = field(metadata=POSITIVE)  # and the 90th percentile
    latency_calls: int = field(metadata=COUNT)  # timed calls of one image, after the warm-up
    images_per_second: float = field(metadata=POSITIVE)  # at `batch_size` images per call
    batch_size: int = field(metadata=COUNT)
    file_bytes: int = field(metadata=COUNT)  # the model file's size
    parameters: int = field(metadata=COUNT)
    macs: int | None = field(metadata=COUNT_OR_NONE)  # multiply-adds per image; None where none can be counted
    macs_not_counted: list[str] = field(metadata=TEXTS)  # types of weighted layers (operators) `macs` leaves out
    measured_at: str = field(metadata=TEXT)  # ISO time (`run_store.now`)
    machine: Machine = field(metadata={"record": Machine})

    def summary(self) -> str:
        """The cost in one line, as the command line prints it."""
        macs = f"{self.macs:,} multiply-adds" if self.macs is not None else "multiply-adds not counted"
        if self.macs is not None and self.macs_not_counted:
            macs += f" (not counting {', '.join(self.macs_not_counted)})"
        machine = self.machine
        return (f"latency {self.latency_median_ms:.2f} ms (median of {self.latency_calls} calls of one image; 90th "
                f"percentile {self.latency_p90_ms:.2f} ms), {self.images_per_second:,.0f} images/s at a batch of "
                f"{self.batch_size}, {self.file_bytes:,} bytes, {self.parameters:,} parameters, {macs}; on "
                f"{machine.processor} ({machine.device}, {machine.threads} threads, {machine.precision}, "
                f"{machine.runtime} {machine.runtime_version})")


def _problem(values, record: type) -> str | None:
    """What in `values` (JSON) does not fit the fields of `record` (Cost or Machine), in a few words; None if all
    do."""
    if not isinstance(values, dict):
        return f"{record.__name__.lower()} is not an object"
    for item in fields(record):
        if item.name not in values:
            return f"{item.name} is missing"
        if "record" in item.metadata:  # the machine: a record of its own
            problem = _problem(values[item.name], item.metadata["record"])
            if problem:
                return f"{item.name}: {problem}"
        elif not item.metadata["check"](values[item.name]):
            return f"{item.name} is {values[item.name]!r}, not {item.metadata['is']}"
    return None


def _checked(values: dict) -> Cost:
    """The Cost that JSON `values` hold; ValueError saying which field is wrong."""
    problem = _problem(values, Cost)
    if problem is None and values["latency_p90_ms"] < values["latency_median_ms"]:
        problem = "its 90th percentile of latency is below its median"
    if problem:
        raise ValueError(problem)
    known = {item.name: values[item.name] for item in fields(Cost)}
    return Cost(**{**known, "machine": Machine(**{item.name: values["machine"][item.name]
                                                  for item in fields(Machine)})})


def cost_path(run_path: str | Path) -> Path:
    return Path(run_path) / COST_FILE


def write_cost(run_path: str | Path, cost: Cost) -> Path:
    """Writes the run's cost.json in place of any it had (whole or not at all); ValueError naming a field that
    does not fit the contract. Returns the file."""
    values = {"version": COST_VERSION, **asdict(cost)}
    _checked(values)
    path = cost_path(run_path)
    run_store.write_json(path, values)
    return path


def read_cost(run_path: str | Path) -> Cost | None:
    """The run's cost as its cost.json says; None when it has none. RunError in one line when the file cannot be
    read or a field does not fit the contract."""
    path = cost_path(run_path)
    if not path.is_file():
        return None
    values = run_store.read_json(path)
    if not isinstance(values, dict):
        raise RunError(f"damaged {COST_FILE}: not a JSON object")
    version = values.get("version")
    if not _is_count(version):
        raise RunError(f"damaged {COST_FILE}: version is {version!r}, not a whole number")
    if version > COST_VERSION:
        raise RunError(f"{COST_FILE} is of version {version}, newer than this tool reads ({COST_VERSION}): update it")
    try:
        return _checked(values)
    except ValueError as error:
        raise RunError(f"damaged {COST_FILE}: {error}") from None
