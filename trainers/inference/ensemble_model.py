"""An ensemble's model: its members' models averaged, to predict new images or to be saved as a run folder.

`mean_model` averages the members' loaded models in NumPy (the Live page); `save_ensemble` writes the ensemble
into the store with a `model.keras` that averages them inside one Keras model, so it loads like any run's.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from trainers.analysis.ensemble import PRESET, Ensemble
from trainers.inference.predict import load_model, predict
from trainers.store import run_store
from trainers.store.run_store import Run

# Stored test images the saved model predicts again before its run is committed: enough to catch a model that
# does not average its members, few enough to save in seconds.
CHECKED_IMAGES = 64
# Largest difference from the stored mean probabilities the saved model may show (as the shipped models' test).
TOLERANCE = 1e-3


def mean_model(ensemble: Ensemble, model_of: Callable[[Run], object] = load_model) -> MeanModel:
    """Something `predict` takes as a model: the mean of the ensemble's members' models' outputs.

    Args:
        ensemble: the ensemble whose members' models are averaged.
        model_of: how a member's model is had (the dashboard passes its cached loader).
    """
    return MeanModel([model_of(member) for member in ensemble.members])


class MeanModel:
    """Models of the same images behind the calls `predict` makes: their mean probabilities."""

    def __init__(self, models: Sequence):
        self.models = tuple(models)

    @property
    def output_shape(self) -> tuple:
        return self.models[0].output_shape

    def predict_on_batch(self, images: np.ndarray) -> np.ndarray:
        return np.mean([np.asarray(model.predict_on_batch(images)) for model in self.models], axis=0)


def averaged_model(models: Sequence, names: Sequence[str]):
    """One Keras model that gives the mean of `models`' probabilities; each member is renamed `names[i]`.

    Keras refuses two layers of one name in a model, and two runs of one preset build models of one name: the
    members are loaded for this model alone, so renaming them changes nothing shared.
    """
    import keras  # deferred: TensorFlow takes seconds to import

    inputs = keras.Input(shape=models[0].input_shape[1:], name="pixels")
    for model, name in zip(models, names):
        model.name = name
    return keras.Model(inputs, keras.layers.Average(name="mean")([model(inputs) for model in models]),
                       name=PRESET)


def save_ensemble(ensemble: Ensemble, store: str | Path, name: str) -> Run:
    """Writes the ensemble into `store` as the run folder `name`, and returns the run.

    The folder holds what a trained run's does: run.json (its members' run ids and paths under "members"), the
    predictions and metrics of the mean probabilities, an empty history, the architecture, and a `model.keras`
    that averages the members' models (none when a member has no Keras model: run.json says so). Before the run is committed, that model is loaded again in safe mode
    and must reproduce the stored probabilities of the first `CHECKED_IMAGES` test images.

    Raises:
        ValueError: `name` is not a folder name the store takes.
        FileExistsError: a run named `name` is in the store already.
        run_store.RunError: a member's model cannot be loaded, the test images cannot be read, or the saved
            model does not reproduce the stored probabilities; nothing is left in the store.
    """
    from trainers.inference import architecture, machine

    store = Path(store)
    members = ensemble.members
    run_store.claimed_writer(store, name, start_over=None)  # before the models load: the name is all it takes
    predictions = ensemble.predictions
    # Only Keras models average into one model; an ensemble with any other member keeps its predictions alone,
    # and the test images if there are any (runs recorded from arrays may have none).
    not_keras = [member for member in members if member.model_path is None
                 or member.model_path.name != run_store.MODEL_FILE]
    has_images = not not_keras or run_store.test_images_path(ensemble.store, ensemble.test_key).is_file()
    images = run_store.load_test_images(ensemble.store, ensemble.test_key) if has_images else None
    model = None if not_keras else averaged_model([load_model(member) for member in members],
                                                  [member.run_id for member in members])
    info = {**run_store.new_run_info(ensemble.config, ensemble.dataset, kind=run_store.KIND_ENSEMBLE, preset=PRESET,
                                     author=getpass.getuser(), command="", comment=ensemble.info["comment"],
                                     hardware=machine.hardware(), versions=machine.library_versions()),
            "members": ensemble.info["members"]}
    if not_keras:
        info = run_store.without_model(info, f"its member {not_keras[0].label} has no Keras model to average")
    with run_store.written_run(store, name, info, start_over=None) as writer:
        if images is not None:
            run_store.save_test_images(store, ensemble.test_key, images.ids, images.labels, images.images)
        run_store.write_predictions(writer.path, predictions.ids, predictions.labels, predictions.probabilities)
        run_store.write_metrics(writer.path, ensemble.metrics)
        ensemble.history.to_csv(writer.history_path, index=False)
        if model is None:
            writer.write_architecture(run_store.without_layers(members=len(members)))
        else:
            writer.write_architecture(architecture.describe(model, None, epochs_run=None))
            model.save(writer.model_path)
            reloaded = load_model(Run(writer.path, info))
            checked = images.select(predictions.ids[:CHECKED_IMAGES].tolist())
            difference = float(np.abs(predict(reloaded, checked) - predictions.probabilities[:CHECKED_IMAGES]).max())
            if difference > TOLERANCE:
                raise run_store.RunError(f"the saved model of '{name}' does not reproduce the mean probabilities of "
                                         f"its members (off by {difference:.2g} on the first test images)")
        writer.finish(**ensemble.finished)  # its members' training figures (`Ensemble.finished`)
    return run_store.load_run(writer.final_path)
