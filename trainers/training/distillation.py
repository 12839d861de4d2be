"""Distillation: trained runs teach a new model through the targets of its training images.

Each teacher's saved model (its test-time augmentation included) predicts every
training image once, before training; their average, mixed with the one-hot
label, is the image's target. The student sees augmented views of an image
whose target the teachers formed over the same mirrors and shifts, and
training costs no teacher passes.
"""

from __future__ import annotations

import numpy as np

from trainers.store import run_store
from trainers.presets import TrainConfig


def load_teachers(paths: tuple[str, ...], class_names: list[str], test_key: str, image_size: int) -> list[run_store.Run]:
    """The teacher runs, checked against the data set to train on; raises ValueError saying what does not fit.

    A teacher must know the same classes, take the same image size and have
    been tested on the same test images: those images are not trained on, and
    the student's figures stay comparable with its teachers'.
    """
    teachers = []
    for path in paths:
        try:
            run = run_store.load_run(path)
            run_store.check_comparable(run, class_names, test_key, image_size=image_size)
        except run_store.RunError as error:
            raise ValueError(f"teacher '{path}' is not a usable run: {error}") from None
        except ValueError as error:
            raise ValueError(f"teacher {error}") from None
        teachers.append(run)
    return teachers


def training_targets(teacher_probabilities: list[np.ndarray], labels: np.ndarray, num_classes: int,
                     teacher_weight: float) -> np.ndarray:
    """Per training image: teacher_weight x the teachers' mean probabilities + the rest x its one-hot label."""
    one_hot = np.eye(num_classes, dtype=np.float32)[labels]
    taught = np.mean(teacher_probabilities, axis=0, dtype=np.float32)
    return (teacher_weight * taught + (1 - teacher_weight) * one_hot).astype(np.float32)


def provenance(teachers: list[run_store.Run]) -> list[dict]:
    """What the student's run records of each teacher: enough to retrain it when its folder is gone.

    The whole configuration, as today's code reads it, beside the command: a
    preset may have changed since the teacher was trained.
    """
    return [{"run_id": run.run_id, "path": str(run.path), "preset": run.preset, "command": run.info.get("command", ""),
             "config": TrainConfig.from_dict(run.config).to_dict(), "test_accuracy": run.metrics.get("accuracy")}
            for run in teachers]
