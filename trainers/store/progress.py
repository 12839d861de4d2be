"""Runs being trained: what their partial folders say so far, for a page that watches them.

A run in training lives in `<store>/.partial/<run>/` (see `run_store.RunWriter`): its
run.json says what it trains, its history.csv grows by a row per finished epoch, and its heartbeat (`beat`) says
which process writes it and when it last did. A run whose process has ended, or that has given no sign for
STALE_AFTER_SECONDS, stopped without finishing (a crash, a kill, a notebook's stop button): it is shown as
interrupted, as experiment trackers mark crashed runs. Nothing here is ever ranked with complete runs.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trainers.store import run_store


# A run that has given no sign for this long has stopped: longer than anything a training process does between two
# beats (`beat` is called at least every epoch, and every few seconds within one).
STALE_AFTER_SECONDS = 600


def beat(run_path: str | os.PathLike) -> None:
    """Says that the process writing the run at `run_path` (a partial folder) is alive: its id, host and the time."""
    path = Path(run_path) / run_store.HEARTBEAT_FILE
    partial = path.with_name("partial-" + run_store.HEARTBEAT_FILE)
    partial.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "at": time.time()}))
    os.replace(partial, path)  # whole or not at all: a page may be reading it


def _process_ended(pid) -> bool:
    """Whether the process `pid` of this machine has ended (POSIX: signal 0 asks without sending anything)."""
    if os.name != "posix" or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's: alive
        return False
    return False


def stopped_reason(run_path: str | os.PathLike, now: float | None = None) -> str | None:
    """Why the run being written at `run_path` has stopped without finishing, in a few words; None while its
    process gives signs of life, or for a run written before heartbeats (nothing says)."""
    try:
        heartbeat = json.loads((Path(run_path) / run_store.HEARTBEAT_FILE).read_text())
        at, pid, host = float(heartbeat["at"]), heartbeat.get("pid"), heartbeat.get("host")
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if host == socket.gethostname() and _process_ended(pid):
        return f"interrupted: its process ({pid}) has ended"
    silent = (time.time() if now is None else now) - at
    if silent > STALE_AFTER_SECONDS:
        return f"interrupted: no sign of life for {silent / 60:.0f} minutes"
    return None


@dataclass(frozen=True)
class RunInProgress:
    """A run being trained (or interrupted and not resumed yet): its folder, run.json and history so far."""

    path: Path
    info: dict
    history: pd.DataFrame

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        return f"{self.info.get('preset', '')} / {self.run_id} (in progress)".lstrip(" /")

    @property
    def planned_epochs(self) -> int:
        config = self.info.get("config", {})
        return int(config.get("epochs", 0)) + int(config.get("finetune_epochs", 0))

    @property
    def stopped(self) -> str | None:
        """Why it stopped without finishing (`stopped_reason`), or None while it trains."""
        return stopped_reason(self.path)

    @property
    def last_change(self) -> float:
        """When the run last wrote its history (or started), in seconds since the epoch."""
        written = self.path / run_store.HISTORY_FILE
        return (written if written.exists() else self.path / run_store.RUN_FILE).stat().st_mtime


def runs_in_progress(store: str | os.PathLike) -> list[RunInProgress]:
    """The partial runs of a store whose run.json says they are training, oldest first; unreadable ones are skipped.

    Their history holds one row per finished epoch (a resumed epoch logged twice counts once).
    """
    partial = Path(store) / run_store.PARTIAL_DIR
    found = []
    for path in sorted(partial.iterdir()) if partial.is_dir() else []:
        try:
            info = run_store.RunWriter(store, path.name).read_info()
        except (run_store.RunError, ValueError):
            continue
        if not isinstance(info, dict) or info.get("status") != run_store.STATUS_TRAINING:
            continue
        try:
            history = pd.read_csv(path / run_store.HISTORY_FILE).drop_duplicates("epoch", keep="last")
        except (OSError, ValueError, KeyError):
            history = pd.DataFrame(columns=run_store.HISTORY_COLUMNS)
        found.append(RunInProgress(path, info, history))
    return sorted(found, key=lambda run: (run.info.get("started_at", ""), run.run_id))


def progress_table(runs: list[RunInProgress]) -> pd.DataFrame:
    """One row per run in progress: its preset, epochs finished of those planned, last accuracies, and when."""
    rows = []
    for run in runs:
        last = run.history.iloc[-1] if len(run.history) else None
        rows.append({
            "run": run.run_id, "preset": run.info.get("preset", ""),
            "epochs done": len(run.history), "of": run.planned_epochs,
            "validation accuracy": None if last is None else float(last["val_accuracy"]),
            "train accuracy": None if last is None else float(last["accuracy"]),
            "started": run.info.get("started_at", ""),
            "last written": pd.Timestamp(run.last_change, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M:%S UTC"),
        })
    return pd.DataFrame(rows, columns=["run", "preset", "epochs done", "of", "validation accuracy", "train accuracy",
                                       "started", "last written"])


def stopped_line(run: RunInProgress) -> str:
    """One line on a run that stopped without finishing: how far it got, why, and what to do with it."""
    kind = run.info.get("config", {}).get("kind", run_store.KIND_TRAINED)  # before schema 3, every run was trained
    then = (f"resume it with `python -m trainers.train --resume {run.path}`" if kind == run_store.KIND_TRAINED
            else f"run it again (overwrite=True), or delete {run.path}")
    planned = f" of {run.planned_epochs}" if run.planned_epochs else ""
    return f"{run.run_id} stopped after {len(run.history)}{planned} epochs ({run.stopped}): {then}."
