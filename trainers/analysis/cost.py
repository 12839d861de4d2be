"""Accuracy against what a model costs to run: the costs a run can be placed by, the Pareto frontier of runs on
one, and the figures of a timing harness (median and 90th percentile, throughput). No TensorFlow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CostAxis:
    """A cost runs are placed by: its name as a page shows it, the `trainers.store.costs.Cost` field it reads,
    which way is better, and the word a sentence says a better one is ("smaller", "faster")."""

    name: str
    field: str
    higher_is_better: bool
    better: str


# The costs a page offers, in its order.
COST_AXES = {axis.name: axis for axis in (
    CostAxis("parameters", "parameters", False, "smaller"),
    CostAxis("multiply-adds", "macs", False, "cheaper"),
    CostAxis("latency (ms)", "latency_median_ms", False, "faster"),
    CostAxis("throughput (images/s)", "images_per_second", True, "faster"),
    CostAxis("file size (bytes)", "file_bytes", False, "smaller"),
)}


def pareto_frontier(costs: Mapping[str, float], accuracies: Mapping[str, float], *,
                    higher_is_better: bool = False) -> list[str]:
    """The names on the Pareto frontier of accuracy against cost, cheapest first: those no other is at least as
    good on both and better on one of. Two of equal cost and accuracy are both on it, or neither.

    Args:
        costs: each name's cost (finite).
        accuracies: each name's accuracy (finite); the names of `costs`.
        higher_is_better: the cost is one where more is better (throughput); else less is.

    Example:
        >>> pareto_frontier({"a": 1, "b": 2, "c": 3}, {"a": 0.5, "b": 0.4, "c": 0.9})
        ['a', 'c']
    """
    sign = -1 if higher_is_better else 1
    # Cheapest first, and of one cost the most accurate first: a name is on the frontier when it is more accurate
    # than every name before it, or ties the one that set the best accuracy so far.
    ordered = sorted(costs, key=lambda name: (sign * costs[name], -accuracies[name]))
    frontier, best = [], None
    for name in ordered:
        point = (sign * costs[name], accuracies[name])
        if best is None or point[1] > best[1] or point == best:
            frontier.append(name)
            best = point
    return frontier


def latency_ms(seconds: Sequence[float]) -> tuple[float, float]:
    """The median and the 90th percentile (numpy's linear interpolation) of timed calls, in milliseconds."""
    values = 1000 * np.asarray(seconds, float)
    return float(np.median(values)), float(np.percentile(values, 90))


def images_per_second(batch_size: int, seconds: Sequence[float]) -> float:
    """Throughput: `batch_size` images over the median call's seconds (the median, not the mean: a call that the
    machine's other work delayed says nothing of the model)."""
    return batch_size / float(np.median(np.asarray(seconds, float)))
