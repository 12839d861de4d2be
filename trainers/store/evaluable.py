"""Whether `python -m trainers.evaluate RUN` can predict a stored run again, how a command names the run, and
where its validation predictions come from: what a page checks before it suggests the command (no TensorFlow:
only the run's folder and run.json are looked at).

`trainers.evaluate.evaluate_run` reloads the run's model and its data set (`cifar10`, or `folder:PATH` that
exists) and writes the validation predictions only when the data set holds out the split the run held out.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from trainers.presets import CONFIG_FIELDS
from trainers.store import run_store

CIFAR10_SPEC = "cifar10"
FOLDER_PREFIX = "folder:"


def evaluation_refusal(run) -> str | None:
    """Why `python -m trainers.evaluate RUN` cannot predict the run's validation and test images again, in one line
    (a page adds it after "no command adds them: "); None when it can.

    Args:
        run: a `run_store.Run`, or anything with the attributes pages read of one (an ensemble of the sidebar).

    Example:
        >>> evaluation_refusal(recorded_run)
        'it was recorded from predictions alone: no model to predict validation images with'
    """
    if getattr(run, "path", None) is None:
        return "it is no run folder (an ensemble of the runs chosen): save it as a run to give it one"
    if getattr(run, "model_path", None) is None:
        if run.kind == run_store.KIND_RECORDED:
            return "it was recorded from predictions alone: no model to predict validation images with"
        return f"it has no model to predict validation images with ({run.info.get('no_model') or 'none recorded'})"
    if not run.model_path.is_file():
        return f"its model file {run.model_path.name} is missing"
    spec = str(run.dataset.get("spec") or "")
    if spec != CIFAR10_SPEC and not (spec.startswith(FOLDER_PREFIX) and len(spec) > len(FOLDER_PREFIX)):
        return "its run.json names no data set to reload (cifar10 or folder:PATH)"
    if spec.startswith(FOLDER_PREFIX) and not Path(spec[len(FOLDER_PREFIX):]).expanduser().is_dir():
        return f"its data set folder {spec[len(FOLDER_PREFIX):]} is not there to reload"
    if (run.dataset.get("sizes") or {}).get("validation") == 0:
        return "its data set held out no validation images"
    return None


def command_path(run) -> str:
    """How a command run from the working folder names the run: by its folder, relative to the working folder when
    inside it, else absolute. (Its name alone finds it only in a shell whose $ARTIFACTS_DIR is the dashboard's.)"""
    path = Path(run.path).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def split_overlap_warning(run) -> str | None:
    """One line warning that the run's validation predictions come from this tool's own validation split, which
    may hold images the model was trained on: for a model imported (trained elsewhere), whose validation images
    `trainers.evaluate` takes as the trainer would; None for a run trained here or recorded with its own."""
    if run.kind != run_store.KIND_IMPORTED or getattr(run, "validation_predictions", None) is None:
        return None
    share = CONFIG_FIELDS["validation_fraction"].default
    return (f"{run.label} was not trained by this tool: its validation images are this tool's own {share:.0%} split "
            "of the training images, which may overlap the images its model was trained on (a temperature fitted "
            "on them is then too confident).")



def evaluate_command(run, *options: str) -> str:
    """`python -m trainers.evaluate RUN OPTIONS...`, the run named as `command_path` names it (RUN for an ensemble of
    the sidebar, which has no folder), quoted for a shell.

    Example:
        >>> evaluate_command(run, "--class-groups", "FILE")  # from the repository's folder
        'python -m trainers.evaluate artifacts/cnn_v3-cifar10 --class-groups FILE'
    """
    name = command_path(run) if getattr(run, "path", None) is not None else "RUN"
    return shlex.join(["python", "-m", "trainers.evaluate", name, *options])
