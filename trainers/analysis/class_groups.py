"""Class groups (superclasses): each class of a test set in one group, as CIFAR-100's 20 coarse classes group its
100, and what a confusion matrix and an accuracy become when counted by group.

A user's file is a CSV of class,group rows (a header row naming them is optional) or a JSON object, either
{class: group} or {group: [class, ...]} (a WordNet-like grouping flattened to one level). Every class of the test
set must be in exactly one group; a class the test set does not know is refused by name.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

HEADER = ("class", "group")


def read_class_groups(path: str | Path, class_names: list[str]) -> dict[str, str]:
    """{class: group} for every class of `class_names`, in their order, from a CSV or JSON file; ValueError in one
    line saying what does not fit."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"'{path}' cannot be read: {error}") from None
    pairs = _json_pairs(text, path) if path.suffix.lower() == ".json" else _csv_pairs(text, path)
    return checked_groups(pairs, class_names)


def _json_pairs(text: str, path: Path) -> list[tuple[str, str]]:
    try:
        values = json.loads(text)
    except ValueError as error:
        raise ValueError(f"'{path}' is not JSON: {error}") from None
    if isinstance(values, dict) and values and all(isinstance(v, list) for v in values.values()):
        return [(str(name), str(group)) for group, names in values.items() for name in names]
    if isinstance(values, dict) and all(isinstance(v, str) for v in values.values()):
        return [(str(name), group) for name, group in values.items()]
    raise ValueError(f"'{path}' is neither {{class: group}} nor {{group: [classes]}}")


def _csv_pairs(text: str, path: Path) -> list[tuple[str, str]]:
    rows = [row for row in csv.reader(text.splitlines()) if any(cell.strip() for cell in row)]
    if rows and tuple(cell.strip().lower() for cell in rows[0]) == HEADER:
        rows = rows[1:]
    bad = next((number for number, row in enumerate(rows, 1) if len(row) != 2), None)
    if bad is not None:
        raise ValueError(f"'{path}' row {bad} is not class,group: {','.join(rows[bad - 1])!r}")
    return [(name.strip(), group.strip()) for name, group in rows]


def checked_groups(pairs: list[tuple[str, str]], class_names: list[str]) -> dict[str, str]:
    """{class: group} in class order from (class, group) pairs; ValueError naming an unknown, repeated or missing
    class, or an empty group name.

    Example:
        >>> checked_groups([("dog", "mammal"), ("cat", "mammal"), ("owl", "bird")], ["cat", "dog", "owl"])
        {'cat': 'mammal', 'dog': 'mammal', 'owl': 'bird'}
    """
    groups: dict[str, str] = {}
    for name, group in pairs:
        if name not in class_names:
            raise ValueError(f"the class '{name}' is not one of the test set's {len(class_names)} classes")
        if name in groups and groups[name] != group:
            raise ValueError(f"the class '{name}' is in two groups, '{groups[name]}' and '{group}'")
        if not group:
            raise ValueError(f"the class '{name}' has an empty group name")
        groups[name] = group
    missing = [name for name in class_names if name not in groups]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ValueError(f"{len(missing)} classes have no group: {shown}")
    return {name: groups[name] for name in class_names}


def group_names(groups: dict[str, str]) -> list[str]:
    """The groups in order of their first class."""
    return list(dict.fromkeys(groups.values()))


def grouped_matrix(matrix: np.ndarray, class_names: list[str], groups: dict[str, str]) -> np.ndarray:
    """A confusion matrix of counts by group: [g, h] counts the images of a class of group g predicted as a
    class of group h (groups in `group_names` order).

    Example:
        >>> grouped_matrix(np.array([[3, 1, 0], [2, 4, 1], [0, 1, 5]]), ["cat", "dog", "owl"],
        ...                {"cat": "mammal", "dog": "mammal", "owl": "bird"}).tolist()
        [[10, 1], [1, 5]]
    """
    names = group_names(groups)
    index = np.array([names.index(groups[name]) for name in class_names])
    by_row = np.zeros((len(names), len(class_names)), dtype=np.asarray(matrix).dtype)
    np.add.at(by_row, index, np.asarray(matrix))
    grouped = np.zeros((len(names), len(names)), dtype=by_row.dtype)
    np.add.at(grouped.T, index, by_row.T)
    return grouped


def group_accuracy(matrix: np.ndarray, class_names: list[str], groups: dict[str, str]) -> float:
    """The share of images predicted as a class of their own class's group, from the confusion matrix."""
    grouped = grouped_matrix(matrix, class_names, groups)
    return float(np.trace(grouped) / grouped.sum())
