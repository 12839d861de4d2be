"""Runs being trained: what their partial folders say so far, for a page that watches them.

A run in training lives in `<store>/.partial/<run>/` (see `run_store.RunWriter`): its
run.json says what it trains, its history.csv grows by a row per finished epoch.
Nothing here is ever ranked with complete runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trainers.store import run_store


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
