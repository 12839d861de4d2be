"""Seed groups and configuration differences: what runs share, what sets them apart, and how much seeds move them.

Runs whose configurations differ only in their seed (or in other fields the
user counts as noise) are one recipe trained several times: their spread is
what a gap between two single runs must beat. Reads only each run's run.json
and metrics: no model is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from trainers.presets import CONFIG_FIELDS, TrainConfig
from trainers.store import run_store
from trainers.store.run_store import Run

# Not a setting: the preset's one-line description, whose wording changes between versions of this tool.
IGNORED_FIELDS = ("description",)
# metrics.json keys a group summarises: the higher-is-better scores, then the loss.
SUMMARISED = ("accuracy", "macro_f1", "log_loss")


def train_config(run) -> TrainConfig | None:
    """The run's whole training configuration, fields it predates at their defaults; None for a run that has
    none (an ensemble, an imported model)."""
    if run.kind != run_store.KIND_TRAINED:
        return None
    try:
        return TrainConfig.from_dict(run.config)
    except (TypeError, ValueError):  # a trained run's record missing a field no default fills: none to show
        return None


def _settings(config: TrainConfig, left_out: Sequence[str]) -> dict:
    return {name: value for name, value in config.to_dict().items() if name not in (*IGNORED_FIELDS, *left_out)}


@dataclass(frozen=True, eq=False)
class SeedGroup:
    """Two runs or more of one test set whose configurations are equal but in `noise_fields`."""

    runs: tuple[Run, ...]
    noise_fields: tuple[str, ...] = ("seed",)

    @property
    def label(self) -> str:
        """Its preset, its size and its runs, e.g. 'cnn_v3 × 3: v3-a, v3-b, v3-c'."""
        return f"{self.runs[0].preset or 'runs'} × {len(self.runs)}: {', '.join(run.run_id for run in self.runs)}"

    @cached_property
    def summary(self) -> pd.DataFrame:
        return group_summary(self.runs)


def seed_groups(runs: Sequence[Run], noise_fields: Sequence[str] = ("seed",)) -> list[SeedGroup]:
    """The groups of runs whose configurations are equal on every field but `noise_fields`, on one test set.

    Runs without a whole configuration (`train_config` is None) join no group; a run alone is no group.

    Args:
        runs: the runs to group, in the order the groups and their runs keep.
        noise_fields: `TrainConfig` fields whose values may differ within a group (default: the seed).

    Raises:
        ValueError: a noise field that `TrainConfig` does not have.

    Example:
        >>> [group.label for group in seed_groups(runs)]
        ['cnn_air × 3: cnn_air-cifar10, cnn_air-seed7, cnn_air-seed8']
    """
    unknown = [name for name in noise_fields if name not in CONFIG_FIELDS]
    if unknown:
        raise ValueError(f"Unknown config field(s) {', '.join(unknown)}. Known: {', '.join(CONFIG_FIELDS)}")
    members: dict[tuple, list[Run]] = {}
    for run in runs:
        config = train_config(run)
        if config is not None:
            shared = tuple(sorted(_settings(config, noise_fields).items()))
            members.setdefault((run.test_key, shared), []).append(run)
    return [SeedGroup(tuple(group), tuple(noise_fields)) for group in members.values() if len(group) > 1]


def group_summary(runs: Sequence[Run]) -> pd.DataFrame:
    """Mean, standard deviation and count of each run's test accuracy, macro F1 and log loss.

    The standard deviation is the sample one (ddof=1, pandas' default): the runs are a sample of the seeds
    a recipe could have been trained with.

    Returns:
        Indexed by metric (`SUMMARISED`), columns mean, std and n.

    Example:
        >>> group_summary(runs_scoring_080_082_084).loc["accuracy"].tolist()
        [0.82, 0.02, 3]
    """
    scores = pd.DataFrame([{name: run.metrics[name] for name in SUMMARISED} for run in runs], columns=SUMMARISED)
    summary = scores.agg(["mean", "std", "count"]).T.rename(columns={"count": "n"})
    return summary.astype({"n": int})


def config_differences(runs: Sequence[Run]) -> pd.DataFrame:
    """The configuration fields whose values differ across the runs: one row per run, indexed by its label.

    Runs without a whole configuration (`train_config` is None) are left out. Fields a run predates count at
    their defaults, as it was trained with them; the preset's description is not a setting and never shows.

    Example:
        >>> config_differences([cnn_v3_run, cnn_v4_run])[["optimizer", "epochs"]]
                optimizer  epochs
        cnn_v3      adamw      15
        cnn_v4        sgd      40
    """
    configured = [(run, train_config(run)) for run in runs]
    configured = [(run, config) for run, config in configured if config is not None]
    table = pd.DataFrame([_settings(config, ()) for _, config in configured],
                         index=pd.Index([run.label for run, _ in configured], name="run"),
                         columns=[name for name in CONFIG_FIELDS if name not in IGNORED_FIELDS])
    differing = [name for name in table if table[name].map(repr).nunique() > 1]
    return table[differing]
