"""Recompute the test predictions and metrics of a stored run.

    python -m trainers.evaluate artifacts/cnn_v3-cifar10
    python -m trainers.evaluate artifacts/cnn_v3-cifar10 --dataset folder:path/to/images
    python -m trainers.evaluate artifacts/cnn_v3-cifar10 --compare-tta

By default the run's own data set (as recorded in run.json) is used; with
--dataset, another data set with the same class names. --compare-tta leaves
the run as it is and prints its test accuracy with each test-time
augmentation, on the test images stored beside it (no data set needed).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path


def evaluate_run(run_path: Path, dataset_spec: str | None = None, cache_dir: Path | None = None) -> dict:
    """Predicts the test split with the run's model and rewrites its predictions and metrics.

    Returns:
        The new metrics.
    """
    from trainers import run_store
    from trainers.data import DatasetError, load_dataset
    from trainers.training import evaluate_into

    # Only the model and run.json are needed: this also repairs lost predictions or metrics.
    run = run_store.load_run(run_path, required=(run_store.RUN_FILE, run_store.MODEL_FILE))
    spec = dataset_spec or run.dataset["spec"]
    limit = run.dataset.get("limit") if dataset_spec is None else None
    dataset = load_dataset(spec, image_size=run.image_size, limit=limit,
                           validation_fraction=run.config["validation_fraction"], seed=run.config["seed"],
                           cache_dir=cache_dir)
    if dataset.class_names != run.class_names:
        raise DatasetError(f"Data set classes {dataset.class_names} differ from the model's {run.class_names}")
    run_store.save_test_images(run.path.parent, dataset.test_key, dataset.test.ids, dataset.test.labels,
                               dataset.test.images)
    test_metrics = evaluate_into(run.path, run_store.load_model(run), dataset)
    info = dict(run.info)
    info["dataset"] = {**dataset.summary(), "limit": limit}
    info.update(test_accuracy=test_metrics["accuracy"],
                evaluated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    run_store.write_info(run.path, info)
    return test_metrics


# The test-time augmentations compared by --compare-tta (mirror, shift in pixels), besides the run's own.
TTA_VARIANTS = ((False, 0), (True, 0), (True, 1), (True, 2))


def tta_label(flip: bool, shift: int) -> str:
    views = (["mirror"] if flip else []) + ([f"{shift}-px shifts"] if shift else [])
    return " + ".join(views) or "none"


def compare_tta(run_path: Path) -> list[tuple[str, float]]:
    """Test accuracy of a run's trained network under each test-time augmentation (TTA_VARIANTS and the run's own).

    A model saved with test-time augmentation wraps the trained network; it is
    unwrapped and re-wrapped with each variant, on the test images stored in
    the run store. The run is not changed.
    """
    import keras

    from trainers import run_store
    from trainers.models import with_tta

    run = run_store.load_run(run_path)
    images = run_store.load_test_images(run.path.parent, run.test_key).select(run.predictions.ids.tolist())
    model = run_store.load_model(run)
    network = next((layer for layer in model.layers if isinstance(layer, keras.Model)), model)
    shipped = (bool(run.config.get("flip_tta")), int(run.config.get("shift_tta") or 0))
    accuracies = []
    for flip, shift in TTA_VARIANTS + ((shipped,) if shipped not in TTA_VARIANTS else ()):
        label = tta_label(flip, shift) + (" (shipped)" if (flip, shift) == shipped else "")
        predicted = with_tta(network, flip=flip, shift=shift).predict(images, batch_size=256, verbose=0).argmax(axis=1)
        accuracies.append((label, float((predicted == run.predictions.labels).mean())))
    return accuracies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainers.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="a run folder of the store")
    parser.add_argument("--dataset", help="'cifar10' or 'folder:PATH' (default: the run's own)")
    parser.add_argument("--cache-dir", type=Path, help="where decoded folder data sets are cached")
    parser.add_argument("--compare-tta", action="store_true",
                        help="print the test accuracy with each test-time augmentation; change nothing")
    args = parser.parse_args(argv)
    if args.compare_tta and args.dataset:
        parser.error("--compare-tta uses the test images stored with the run; --dataset does not apply")

    from trainers.data import DatasetError
    from trainers.run_store import RunError

    try:
        if args.compare_tta:
            print(f"{args.run_dir}: test accuracy by test-time augmentation")
            for label, accuracy in compare_tta(args.run_dir):
                print(f"  {label:<32} {accuracy:.4f}")
            return 0
        test_metrics = evaluate_run(args.run_dir, args.dataset, args.cache_dir)
    except (RunError, DatasetError, ValueError) as error:
        print(f"error: {args.run_dir}: {error}", file=sys.stderr)
        return 2
    print(f"{args.run_dir}: test accuracy {test_metrics['accuracy']:.4f}, loss {test_metrics['loss']:.4f}, "
          f"macro F1 {test_metrics['f1']:.4f} on {test_metrics['num_images']} images")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
