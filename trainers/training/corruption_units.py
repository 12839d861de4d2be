"""Predicting corrupted test images with each run's model, one unit (run, corruption, severity) at a time, so that
a kill loses at most the units being predicted, and processes or machines sharing a store split the units between
them (`--shard K/N`, claims) with nothing to coordinate them. What is stored: `trainers.store.corruption_results`.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trainers.analysis.robustness import balanced_subset, image_index, subset_digest
from trainers.inference import corruptions
from trainers.store import corruption_results, remote_store, run_store
from trainers.store.corruption_results import CORRUPTIONS, SEVERITIES
from trainers.store.run_store import Predictions, Run


@dataclass(frozen=True)
class Shard:
    """The K-th of N shares of the units (1-based), as a job array numbers its tasks: every N-th unit of the
    whole list, in a fixed order, from the K-th."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Shard.parse("2/4"); ValueError in one line for anything else than K/N with 1 <= K <= N."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard takes K/N, such as 1/4 (the first of four shares), not '{text}'") from None
        if not 1 <= index <= count:
            raise ValueError(f"--shard {text}: K goes from 1 to N")
        return cls(index, count)

    def takes(self, position: int) -> bool:
        return position % self.count == self.index - 1


@dataclass(frozen=True)
class Outcome:
    """What a call did: the units it predicted, those it found done or held by another process, and the runs it
    skipped with why."""

    predicted: list[tuple[str, str, int]]
    already_done: int
    held_elsewhere: int
    skipped: dict[str, str]
    seconds: dict[str, float]  # where the time went: "generating" the images, "predicting", "writing" the units


def libraries() -> dict:
    """The versions of the libraries that draw the corrupted pixels."""
    import PIL
    import scipy

    return {"numpy": np.__version__, "scipy": scipy.__version__, "pillow": PIL.__version__}


def _done(run: Run, corruption: str, severity: int, subset: str) -> bool:
    try:
        record = corruption_results.unit_record(run.path, corruption, severity)
    except run_store.RunError:  # a damaged record is predicted again
        return False
    return record is not None and record["subset"] == subset


def evaluate_corruptions(runs: list[Run], *, images: int, shard: Shard = Shard(),
                         say: Callable[[str], None] = print, progress: bool = True) -> Outcome:
    """Predicts each run's model on the 15 corruptions at 5 severities of a class-balanced subset of `images` test
    images (`balanced_subset`), the units of `shard` that no run has yet on this subset: each corruption and
    severity's images are generated once for all the runs of a test set. Runs without a model, or whose test
    images are not stored, are skipped with why, in one line each through `say`.
    """
    from trainers.inference.predict import load_model, predict

    skipped, models, by_test_set = {}, {}, {}
    for run in runs:
        if run.model_path is None:
            skipped[run.run_id] = f"{run.no_model}: its corrupted images cannot be predicted here"
            continue
        try:
            models[run.run_id] = load_model(run)
        except run_store.RunError as error:
            skipped[run.run_id] = str(error)
            continue
        by_test_set.setdefault((str(run.store), run.test_key), []).append(run)
    for run_id, why in skipped.items():
        say(f"{run_id}: skipped: {why}")

    # The whole list of units, in a fixed order that every process computes alike (by test key, not by the store's
    # folder, which is another mirror on each machine); this shard's share of it.
    plan = []  # (test set, corruption, severity, run)
    for test_set, test_runs in sorted(by_test_set.items(), key=lambda item: item[0][::-1]):
        for corruption in CORRUPTIONS:
            for severity in SEVERITIES:
                plan += [(test_set, corruption, severity, run) for run in sorted(test_runs, key=lambda r: r.run_id)]
    mine = [unit for position, unit in enumerate(plan) if shard.takes(position)]

    subsets = {}
    for (store, test_key), test_runs in by_test_set.items():
        try:
            stored = run_store.load_test_images(store, test_key)
        except (OSError, run_store.RunError) as error:
            for run in test_runs:
                say(f"{run.run_id}: skipped: its test images are not stored ({error}); `python -m "
                    f"trainers.evaluate {run.path}` stores them")
                skipped[run.run_id] = "test images not stored"
            continue
        chosen = balanced_subset(stored.ids, stored.labels, images)
        subsets[(store, test_key)] = (stored.ids[chosen], stored.labels[chosen], stored.images[chosen])
    mine = [unit for unit in mine if unit[0] in subsets]

    digests = {test_set: subset_digest(ids) for test_set, (ids, _, _) in subsets.items()}
    pending = [unit for unit in mine if not _done(unit[3], unit[1], unit[2], digests[unit[0]])]
    already_done = len(mine) - len(pending)
    if subsets:
        share = f" (shard {shard.index}/{shard.count}: {len(mine)} of {len(plan)} units)" if shard.count > 1 else ""
        sizes = sorted({len(ids) for ids, _, _ in subsets.values()})
        say(f"{len(pending)} units to predict{share}, {already_done} done already; {'/'.join(map(str, sizes))} "
            f"class-balanced test images per unit")
    predicted, held_elsewhere = [], 0
    seconds = dict.fromkeys(("generating", "predicting", "writing"), 0.0)
    generated: dict = {}  # the current corruption and severity's images, for each test set
    from tqdm import tqdm

    bar = tqdm(pending, unit="unit", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for test_set, corruption, severity, run in bar:
        bar.set_description(f"{run.run_id} {corruption} {severity}")
        url = remote_store.mirrored_url(run.store)  # a remote store's: the claim and the unit go to its bucket too
        if not corruption_results.claim(run.path, corruption, severity):
            held_elsewhere += 1
            continue
        in_bucket = url is not None and corruption_results.claim_in_bucket(url, run.path, corruption, severity)
        try:
            if url is not None and not in_bucket:
                held_elsewhere += 1
                continue
            if _done(run, corruption, severity, digests[test_set]) or (
                    url is not None and (corruption_results.bucket_record(url, run.path, corruption, severity)
                                         or {}).get("subset") == digests[test_set]):
                continue  # finished by another process meanwhile
            key = (test_set, corruption, severity)
            started = time.perf_counter()
            if key not in generated:
                generated.clear()
                ids, _, clean = subsets[test_set]
                generated[key] = corruptions.corrupt(clean, corruption, severity,
                                                     indices=[image_index(image_id) for image_id in ids])
            ids, labels, _ = subsets[test_set]
            corrupted = generated[key]
            seconds["generating"] += time.perf_counter() - started
            started = time.perf_counter()
            probabilities = predict(models[run.run_id], corrupted)
            seconds["predicting"] += time.perf_counter() - started
            started = time.perf_counter()
            profile = corruptions.profile_for(*corrupted.shape[1:3])
            parameters = corruptions.params(corruption, severity, profile)
            corruption_results.write_unit(run.path, corruption, severity, Predictions(ids, labels, probabilities), {
                "parameters": np.asarray(parameters).round(6).tolist(), "profile": profile, "images": len(ids),
                "subset": digests[test_set], "pixels": hashlib.sha256(corrupted.tobytes()).hexdigest()[:16],
                "libraries": libraries(), "evaluated_at": run_store.now(),
                "evaluated_by": corruption_results.this_process()})
            if url is not None:
                corruption_results.publish_unit(url, run.path, corruption, severity)
            seconds["writing"] += time.perf_counter() - started
            predicted.append((run.run_id, corruption, severity))
        finally:
            if in_bucket:
                corruption_results.release_in_bucket(url, run.path, corruption, severity)
            corruption_results.release(run.path, corruption, severity)
    bar.close()
    return Outcome(predicted, already_done, held_elsewhere, skipped, seconds)
