"""A person's verdicts on test images' labels, kept once per test set beside its images:
`<store>/datasets/<test_key>/label_verdicts.jsonl`; and on an evaluation set's images, beside them:
`<store>/datasets/<test_key>/sets/<name>/label_verdicts.jsonl` (`evaluation=` names the set; there a verdict is the
image's label: `trainers.analysis.on_set`).

One JSON line per verdict (id, verdict, corrected class, reviewer, time), appended with a single write under an
exclusive lock: two sessions reviewing at once (two browsers, two people) lose none, and a crash can leave at
most a last line cut short, which is skipped. An image's last line is the one that counts, so a review goes
on where it stopped and a verdict can be changed, or withdrawn: an UNDONE line leaves the image unjudged. The file
is never rewritten, so a withdrawn verdict stays in it, with who withdrew it and when.

Readers from before UNDONE refuse a file holding one ("line N is not a verdict: Unknown verdict 'undone'"), so
their pages say the verdicts cannot be read; a marker they would skip (an extra key) would have them count the
withdrawn verdict as standing, a wrong accuracy said without a word. Nothing here imports TensorFlow or reads
pickles.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from trainers.store.evaluation_sets import set_folder
from trainers.store.run_store import now, test_images_path

VERDICTS_FILE = "label_verdicts.jsonl"
# What a person can say of an image's label.
RIGHT = "right"  # the given label is right
WRONG = "wrong"  # the label is wrong: the image is of `corrected`
AMBIGUOUS = "ambiguous"  # the image fits no class, or more than one
VERDICTS = (RIGHT, WRONG, AMBIGUOUS)
# What a line of the file can also say: the image's verdict is withdrawn (it has none, as before its first).
UNDONE = "undone"
KINDS = (*VERDICTS, UNDONE)


class VerdictsError(Exception):
    """Verdicts that cannot be kept or read; the message says why, in one line."""


@dataclass(frozen=True)
class Verdict:
    """One person's verdict on one test image's label; `corrected` names the right class of a WRONG one. An UNDONE
    one withdraws the image's verdict: it is a line of the file, never a verdict that `read_verdicts` returns."""

    id: str
    verdict: str
    corrected: str = ""
    reviewer: str = ""
    at: str = ""

    def __post_init__(self):
        if self.verdict not in KINDS:
            raise ValueError(f"Unknown verdict '{self.verdict}'. Known: {', '.join(KINDS)}")
        if (self.verdict == WRONG) != bool(self.corrected):
            raise ValueError("a label judged wrong needs the class it should be, and only such a label has one")


def verdicts_path(store: str | os.PathLike, test_key: str, evaluation: str = "") -> Path:
    """Where the verdicts on the test set's images are kept, or on those of its evaluation set `evaluation`."""
    if evaluation:
        return set_folder(store, test_key, evaluation) / VERDICTS_FILE
    return test_images_path(store, test_key).with_name(VERDICTS_FILE)


def review_begun(store: str | os.PathLike, test_key: str, evaluation: str = "") -> bool:
    """Whether a review of the test set has begun: a file of verdicts exists, however many it holds and even if
    every one was withdrawn (`read_verdicts` says which stand; none standing corrects no label)."""
    return verdicts_path(store, test_key, evaluation).exists()


def cannot_keep(store: str | os.PathLike, test_key: str, evaluation: str = "") -> str | None:
    """Why verdicts on this test set cannot be kept (a read-only store), in one line; None when they can."""
    path = verdicts_path(store, test_key, evaluation)
    existing = next((folder for folder in (path.parent, *path.parent.parents) if folder.exists()), None)
    if existing is None or not os.access(existing, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"the run store '{store}' cannot be written here, so verdicts cannot be kept"
    return None


def record_verdict(store: str | os.PathLike, test_key: str, verdict: Verdict, evaluation: str = "") -> Verdict:
    """Appends `verdict` (stamped with the time if it has none) to the test set's verdicts; returns it as kept.
    VerdictsError when the store cannot be written."""
    kept = verdict if verdict.at else Verdict(**{**asdict(verdict), "at": now()})
    line = (json.dumps(asdict(kept), ensure_ascii=False) + "\n").encode()
    path = verdicts_path(store, test_key, evaluation)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as error:
        raise VerdictsError(f"verdicts cannot be kept in '{path.parent}': {error.strerror or error}") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # one writer at a time; the append itself is one write
        os.write(descriptor, line)
        os.fsync(descriptor)
    except OSError as error:
        raise VerdictsError(f"the verdict could not be written to '{path}': {error.strerror or error}") from None
    finally:
        os.close(descriptor)
    return kept


def undo_verdict(store: str | os.PathLike, test_key: str, image_id: str, reviewer: str = "",
                 evaluation: str = "") -> Verdict:
    """Withdraws the image's verdict (an UNDONE line, by `reviewer`): `read_verdicts` no longer has it, and the
    image counts with its given label again. Returns the line as kept; VerdictsError as `record_verdict`."""
    return record_verdict(store, test_key, Verdict(image_id, UNDONE, reviewer=reviewer), evaluation)


def read_verdicts(store: str | os.PathLike, test_key: str, evaluation: str = "") -> dict[str, Verdict]:
    """Each reviewed image's last verdict, by id, in the order first reviewed; {} when none was given. An image
    whose last line is UNDONE has none (judged again, it is placed as first reviewed then).
    VerdictsError naming a line that is not a verdict (other than a last one cut short by a crash)."""
    path = verdicts_path(store, test_key, evaluation)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise VerdictsError(f"unreadable {VERDICTS_FILE}: {error}") from None
    verdicts: dict[str, Verdict] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            values = json.loads(line)
            verdict = Verdict(**{key: str(values.get(key, "")) for key in ("id", "verdict", "corrected", "reviewer",
                                                                          "at")})
        except (ValueError, TypeError, AttributeError) as error:
            if number == len(lines):  # no newline after it: the write that ended there did not finish
                break
            raise VerdictsError(f"{VERDICTS_FILE} line {number} is not a verdict: {error}") from None
        if verdict.verdict == UNDONE:
            verdicts.pop(verdict.id, None)
        else:
            verdicts[verdict.id] = verdict  # a later verdict replaces an earlier one, in its place
    return verdicts
