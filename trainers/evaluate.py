"""The command line over stored runs: evaluates each run again (its test predictions and metrics) or does the job a
flag chooses instead, or makes a run of a model or of predictions made elsewhere.

    python -m trainers.evaluate artifacts/cnn_v3-cifar10
    python -m trainers.evaluate artifacts/cnn_v3-cifar10 --dataset folder:path/to/images
    python -m trainers.evaluate artifacts/* --upgrade
    python -m trainers.evaluate artifacts/my-cifar100-run --class-groups examples/cifar100_superclasses.csv
    python -m trainers.evaluate --import model.onnx --dataset folder:path/to/images --name mine --input-scale 0-1
    python -m trainers.evaluate --import-predictions preds.csv --dataset folder:path/to/images --name mine
    python -m trainers.evaluate artifacts/* --eval-set folder:path/to/new/photos
    python -m trainers.evaluate --import-predictions photos.csv --eval-set folder:path/to/new/photos --name mine
    python -m trainers.evaluate artifacts/* --cost  # latency, throughput, size and multiply-adds on this machine
    python -m trainers.evaluate artifacts/* --corruptions --images 1000 --shard 1/4
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from trainers.inference.preprocessing import INPUT_SCALES, LAYOUTS
from trainers.store import evaluable, remote_store, run_store


def _split(run) -> tuple[float, int]:
    """The validation share and the seed a run's split was made with: a trained run's own; runs not trained here
    (imported models, ensembles) record none, and get the trainer's defaults."""
    from trainers.presets import CONFIG_FIELDS

    config = run.config if run.kind == run_store.KIND_TRAINED else {}
    return tuple(config.get(name, CONFIG_FIELDS[name].default) for name in ("validation_fraction", "seed"))


def evaluate_run(run_path: Path, dataset_spec: str | None = None, cache_dir: Path | None = None) -> dict:
    """Predicts the test split with the run's model and rewrites its predictions and metrics.

    The validation split's predictions are written too, when it is the split the run held out (same data
    set name and split sizes); another data set's validation images may be ones the run was trained on.

    Returns:
        The new metrics.
    """
    from trainers.inference.predict import load_model
    from trainers.inference.projection import add_test_map
    from trainers.training.data import DatasetError, load_dataset
    from trainers.training.evaluation import evaluate_into, record_hparams

    # Only the model and run.json are needed: this also repairs lost predictions or metrics.
    run = run_store.load_run(run_path, required=(run_store.RUN_FILE,))
    spec = dataset_spec or run.dataset["spec"]
    limit = run.dataset.get("limit") if dataset_spec is None else None
    validation_fraction, seed = _split(run)
    dataset = load_dataset(spec, image_size=run.image_size, limit=limit, validation_fraction=validation_fraction,
                           seed=seed, cache_dir=cache_dir)
    if dataset.class_names != run.class_names:
        raise DatasetError(f"Data set classes {dataset.class_names} differ from the model's {run.class_names}")
    run_store.save_test_images(run.store, dataset.test_key, dataset.test.ids, dataset.test.labels,
                               dataset.test.images)
    summary = dataset.summary()
    held_out = all(run.dataset.get(key) == summary[key] for key in ("name", "sizes"))
    if not held_out:
        print(f"{run_path}: validation predictions not written: the validation split of {dataset.name} "
              f"({len(dataset.validation)} images) is not the one the run held out", file=sys.stderr)
    model = load_model(run)
    test_metrics = evaluate_into(run.path, model, dataset, validation=held_out)
    add_test_map(run.path, model, dataset.test.ids, dataset.test.images, seed=seed)
    info = run_store.evaluated_again({**run.info, "dataset": {**summary, "limit": limit}}, test_metrics["accuracy"])
    run_store.write_info(run.path, info)
    record_hparams(run.path, info, test_metrics)
    return test_metrics


def upgrade_run(run_path: Path) -> bool:
    """Rewrites a run in the current schema and records its HParams; False if its files already were current."""
    from trainers.training.evaluation import record_hparams

    upgraded = run_store.upgrade_run(run_path)
    run = run_store.load_run(run_path)
    record_hparams(run.path, run.info, run.metrics)
    return upgraded


def map_test_set(run_path: Path) -> dict:
    """Adds (or recomputes) a run's test-set map from the test images stored beside it; returns its method.

    ValueError when the model has no features to map.
    """
    from trainers.inference.predict import load_model
    from trainers.inference.projection import add_test_map

    run = run_store.load_run(run_path)
    ids = run.predictions.ids
    images = run_store.load_test_images(run.store, run.test_key).select(ids.tolist())
    return add_test_map(run.path, load_model(run), ids, images, seed=_split(run)[1], optional=False)


def fit_temperature(run_path: Path) -> dict:
    """The temperature fitted on a run's stored validation predictions, and its test calibration before and
    at it (`trainers.analysis.calibration.temperature_fit`, as the Calibration page shows it); changes nothing.

    ValueError when the run stores no validation predictions, naming the command that adds them.
    """
    from trainers.analysis import calibration

    fit = calibration.temperature_fit(run_store.load_run(run_path))
    if fit is None:
        raise ValueError(f"no validation predictions to fit a temperature on; `python -m trainers.evaluate "
                         f"{run_path}` adds them")
    scores = {when: {"ece": calibration.expected_calibration_error(predictions.labels, predictions.probabilities),
                     "brier": calibration.brier_score_loss(predictions.labels, predictions.probabilities)}
              for when, predictions in (("before", fit.stored), ("after", fit.scaled))}
    return {"temperature": fit.temperature, "validation_images": fit.validation_images, "bins": calibration.BINS,
            **scores}


def accuracy_on_corrected_labels(run_path: Path, labels_file: Path) -> str:
    """The run's test accuracy on the given and on the corrected labels of `labels_file`, in one line; ValueError
    naming what in the file does not fit the run's test set."""
    from trainers.analysis.label_review import corrected_accuracy, corrected_labels, read_verdicts_csv

    run = run_store.load_run(run_path)
    predictions = run.predictions
    corrected = corrected_labels(predictions.ids, predictions.labels, run.class_names, read_verdicts_csv(labels_file))
    given = float((predictions.predicted == predictions.labels).mean())
    on_corrected = corrected_accuracy(predictions.predicted, corrected)
    return (f"test accuracy {given:.4f} on the given labels, {on_corrected:.4f} on the corrected ones "
            f"({corrected.changed} labels changed, {corrected.left_out} ambiguous images left out)")


def store_class_groups(run_path: Path, groups_file: Path) -> str:
    """Stores the groups of `groups_file` for the run's test set (every run of it shares them); what was stored, in
    one line. ValueError naming what in the file does not fit the run's classes."""
    from trainers.analysis.class_groups import group_names, read_class_groups

    run = run_store.load_run(run_path)
    groups = read_class_groups(groups_file, run.class_names)
    path = run_store.save_class_groups(run.store, run.test_key, groups)
    return f"{len(groups)} classes in {len(group_names(groups))} groups, for every run of its test set ({path})"


# The test-time augmentations compared by --compare-tta (mirror, shift in pixels), besides the run's own.
TTA_VARIANTS = ((False, 0), (True, 0), (True, 1), (True, 2))


def compare_tta(run_path: Path) -> list[tuple[str, float]]:
    """Test accuracy of a run's trained network under each test-time augmentation (TTA_VARIANTS and the run's own).

    A model saved with test-time augmentation wraps the trained network; it is
    unwrapped and re-wrapped with each variant, on the test images stored in
    the run store. The run is not changed.
    """
    from trainers.inference.network import trained_network, with_tta
    from trainers.inference.predict import load_model, predict
    from trainers.presets import tta_label

    run = run_store.load_run(run_path)
    images = run_store.load_test_images(run.store, run.test_key).select(run.predictions.ids.tolist())
    model = load_model(run)
    network = trained_network(model)
    shipped = (bool(run.config["flip_tta"]), int(run.config["shift_tta"]))
    accuracies = []
    for flip, shift in TTA_VARIANTS + ((shipped,) if shipped not in TTA_VARIANTS else ()):
        label = tta_label(flip, shift) + (" (shipped)" if (flip, shift) == shipped else "")
        predicted = predict(with_tta(network, flip=flip, shift=shift), images).argmax(axis=1)
        accuracies.append((label, float((predicted == run.predictions.labels).mean())))
    return accuracies


def evaluate_on_set(run_path: Path, spec: str, name: str | None = None) -> str:
    """Predicts an evaluation set (`trainers.store.evaluation_sets`) with the run's model and stores the predictions
    beside the run; the set's images are read once for the runs of its test set, and again when its folder changed.
    Returns what the run got right on it, in one line.

    Args:
        spec: "folder:PATH": a class-per-folder tree (labelled by the runs' classes; a folder of no class is kept as
            "none of these") or a flat folder of images (unlabelled); or the name of a set stored for its test set.
        name: the name of a set read from a folder (default: the folder's name).
    """
    from trainers.inference.predict import load_model, predict
    from trainers.store import evaluation_sets
    from trainers.training.data import stored_evaluation_set

    run = run_store.load_run(run_path)
    if run.model_path is None:
        raise ValueError(f"{run.no_model}: predict the set where the model is, and record the predictions "
                         "(record_run(..., eval_set=...), or --import-predictions FILE --eval-set)")
    evaluation_set, read_again = stored_evaluation_set(run, spec, name)
    probabilities = predict(load_model(run), evaluation_set.images)
    evaluation_sets.write_evaluation(run.path, evaluation_set, probabilities, evaluated_at=run_store.now())
    predictions, _ = evaluation_sets.read_evaluation(run.path, evaluation_set.name)
    return evaluation_sets.evaluation_summary(evaluation_set, predictions, run.class_names, read_again=read_again)


def evaluate_corruptions(run_paths: list[Path], images: int, shard: str | None = None) -> int:
    """Predicts the runs' models on the 15 corruptions at 5 severities of a class-balanced subset of their test
    images (`trainers.training.corruption_units`), the units of `shard` ("K/N") not done yet, then says per run how
    many units it has and its mean accuracy over them. Returns the exit status: 0, or 2 when no run could be
    predicted."""
    from trainers.analysis.robustness import run_robustness
    from trainers.training.corruption_units import Shard, evaluate_corruptions as predict_units

    runs = [run_store.load_run(_mirrored_run(path)) for path in run_paths]
    outcome = predict_units(runs, images=images, shard=Shard.parse(shard) if shard else Shard())
    print(f"{len(outcome.predicted)} units predicted here" + (
        f"; {outcome.held_elsewhere} left to the processes predicting them" if outcome.held_elsewhere else "")
          + (" (" + ", ".join(f"{what} {seconds:.1f} s" for what, seconds in outcome.seconds.items()) + ")"
             if outcome.predicted else ""))
    for run in runs:
        if run.run_id in outcome.skipped:
            continue
        robustness = run_robustness(run)
        if robustness is not None:
            table = robustness.accuracy
            print(f"{run.path}: {int(table.notna().sum().sum())} of {table.size} units on {robustness.images} "
                  f"images; accuracy {robustness.clean:.4f} clean, {table.mean(axis=None):.4f} corrupted (the mean "
                  "over its units)")
    return 2 if len(outcome.skipped) == len(runs) else 0


def _mirrored_run(run: str | Path) -> Path:
    """A run's folder: `run` itself, or for a run of a remote store (s3://bucket/prefix/run) its folder in the
    store's mirror, brought up to date first."""
    if not remote_store.is_remote(str(run)):
        return Path(run)
    store, _, name = str(run).rstrip("/").rpartition("/")
    return remote_store.mirror(store) / name


def _run_argument(text: str) -> Path | str:
    """A RUN_DIR argument: a folder or a run's name (`run_store.run_path`), or kept as written for a run of a
    remote store."""
    return text if remote_store.is_remote(text) else run_store.run_path(text)


# A job of the command line: it does its work for one RUN_DIR (or, for an import, the file its flag names) and prints
# the outcome; the known errors it raises are reported by `_run_each`.
Job = Callable[[Path, argparse.Namespace], None]


def _evaluate_command(run_dir: Path, args: argparse.Namespace) -> None:
    test_metrics = evaluate_run(run_dir, args.dataset, args.cache_dir)
    print(f"{run_dir}: test accuracy {test_metrics['accuracy']:.4f}, log loss {test_metrics['log_loss']:.4f}, "
          f"macro F1 {test_metrics['macro_f1']:.4f} on {test_metrics['num_images']} images")


def _compare_tta_command(run_dir: Path, args: argparse.Namespace) -> None:
    print(f"{run_dir}: test accuracy by test-time augmentation")
    for label, accuracy in compare_tta(run_dir):
        print(f"  {label:<32} {accuracy:.4f}")


def _test_map_command(run_dir: Path, args: argparse.Namespace) -> None:
    method = map_test_set(run_dir)
    print(f"{run_dir}: test-set map written ({method['method']} of the {method['features']})")


def _temperature_command(run_dir: Path, args: argparse.Namespace) -> None:
    fit = fit_temperature(run_dir)
    before, after = fit["before"], fit["after"]
    print(f"{run_dir}: T = {fit['temperature']:.3f}, fitted on {fit['validation_images']} validation images; "
          f"test ECE ({fit['bins']} bins) {before['ece']:.4f} -> {after['ece']:.4f}, Brier score "
          f"{before['brier']:.4f} -> {after['brier']:.4f}")


def _upgrade_command(run_dir: Path, args: argparse.Namespace) -> None:
    print(f"{run_dir}: " + ("upgraded to the current schema" if upgrade_run(run_dir) else "already current")
          + ", HParams recorded")


def _class_groups_command(run_dir: Path, args: argparse.Namespace) -> None:
    print(f"{run_dir}: {store_class_groups(run_dir, args.class_groups)}")


def _labels_command(run_dir: Path, args: argparse.Namespace) -> None:
    print(f"{run_dir}: {accuracy_on_corrected_labels(run_dir, args.labels)}")


def _eval_set_command(run_dir: Path, args: argparse.Namespace) -> None:
    print(f"{run_dir}: {evaluate_on_set(run_dir, args.eval_set, args.eval_name)}")


def _cost_command(run_dir: Path, args: argparse.Namespace) -> None:
    """Measures what the run's model costs to run here and stores it (cost.json); a run without a model is skipped,
    said in one line, and the next run goes on."""
    from trainers.inference.cost import measure_cost
    from trainers.store import costs

    run = run_store.load_run(run_dir, required=(run_store.RUN_FILE,))
    if run.model_path is None:
        print(f"{run_dir}: skipped: {run.no_model}")
        return
    cost = measure_cost(run)
    costs.write_cost(run.path, cost)
    print(f"{run_dir}: {cost.summary()}")


def _import_model_command(model_file: Path, args: argparse.Namespace) -> None:
    from trainers.inference.preprocessing import channels
    from trainers.training.model_import import import_model, import_onnx

    common = {"input_scale": args.input_scale, "cache_dir": args.cache_dir, "author": args.author or "",
              "class_names": args.class_names.split(",") if args.class_names else None, "command": args.command}
    store, suffix = run_store.resolve_store(args.artifacts), model_file.suffix
    if suffix == ".onnx":
        normalisation = {**({"mean": channels(args.mean, "--mean")} if args.mean else {}),
                         **({"std": channels(args.std, "--std")} if args.std else {})}
        path = import_onnx(model_file, args.dataset, store, args.name, layout=args.layout,
                           image_size=args.image_size, **normalisation, **common)
    elif suffix != ".keras":
        raise ValueError(f"--import takes a .keras or .onnx file, not {suffix or 'one without a suffix'}")
    elif args.layout or args.mean or args.std:
        raise ValueError("--layout, --mean and --std are for an ONNX model: a Keras model preprocesses "
                         "inside (but for --input-scale)")
    else:
        path = import_model(model_file, args.dataset, store, args.name, **common)
    run = run_store.load_run(path)
    print(f"Imported {model_file} as {path}: test accuracy {run.metrics['accuracy']:.4f}")
    overlap = evaluable.split_overlap_warning(run)
    if overlap:
        print(f"note: {overlap}", file=sys.stderr)


def _import_predictions_command(predictions_file: Path, args: argparse.Namespace) -> None:
    from trainers.record import import_predictions

    path = import_predictions(predictions_file, args.dataset, args.name, store=args.artifacts, history=args.history,
                              image_size=args.image_size or 32, author=args.author, cache_dir=args.cache_dir,
                              command=args.command)
    run = run_store.load_run(path)
    print(f"Recorded {predictions_file} as {path}: test accuracy {run.metrics['accuracy']:.4f}"
          + (f". {run.no_probabilities}: Calibration, Suspect labels and ensembles leave it out"
             if run.no_probabilities else ""))


def _import_predictions_on_set_command(predictions_file: Path, args: argparse.Namespace) -> None:
    from trainers.record import import_predictions_on_set

    said = import_predictions_on_set(predictions_file, args.eval_set, args.name, store=args.artifacts,
                                     eval_name=args.eval_name)
    print(f"{run_store.resolve_store(args.artifacts) / args.name}: {said}")


# The job of each flag that acts on the RUN_DIRs, by the flag's argparse dest; with none of them, each run is evaluated
# again (`_evaluate_command`).
RUN_JOBS: dict[str, Job] = {
    "compare_tta": _compare_tta_command,
    "test_map": _test_map_command,
    "temperature": _temperature_command,
    "upgrade": _upgrade_command,
    "class_groups": _class_groups_command,
    "labels": _labels_command,
    "eval_set": _eval_set_command,
    "cost": _cost_command,
}
# The job of each flag that makes a new run from the file it names.
IMPORT_JOBS: dict[str, Job] = {"import_model": _import_model_command, "import_predictions": _import_predictions_command}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainers.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="*", type=_run_argument, metavar="RUN_DIR",
                        help="runs: their folders, or their names in the store in use ($ARTIFACTS_DIR, else "
                             "artifacts/); with --corruptions, also runs of a remote store (s3://bucket/prefix/run)")
    parser.add_argument("--dataset", help="'cifar10' or 'folder:PATH' (default: the run's own)")
    parser.add_argument("--cache-dir", type=Path, help="where decoded folder data sets are cached")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--compare-tta", action="store_true",
                        help="print the test accuracy with each test-time augmentation; change nothing")
    action.add_argument("--test-map", action="store_true",
                        help="add the test-set map (penultimate features, PCA then t-SNE) from the stored test "
                             "images; nothing else is recomputed")
    action.add_argument("--temperature", action="store_true",
                        help="print the temperature fitted on the stored validation predictions and the test "
                             "ECE and Brier score before and at it; change nothing")
    action.add_argument("--upgrade", action="store_true",
                        help="rewrite runs of an older version in the current schema and record their HParams; "
                             "recompute nothing")
    action.add_argument("--class-groups", type=Path, metavar="GROUPS.csv|.json",
                        help="store each class's group (superclass) for the run's test set: a CSV of class,group "
                             "rows or a JSON object; nothing is recomputed")
    action.add_argument("--labels", type=Path, metavar="CORRECTED.csv",
                        help="print the test accuracy on the labels a review corrected (the Suspect labels page's "
                             "export); change nothing")
    action.add_argument("--cost", action="store_true",
                        help="measure what each run's model costs to run on this machine (latency of one image, "
                             "throughput at a batch of 64, file size, parameters, multiply-adds) into its cost.json; "
                             "runs without a model are skipped")
    action.add_argument("--import", dest="import_model", type=Path, metavar="MODEL.keras|.onnx",
                        help="turn any Keras or ONNX image classifier into a run of the store, tested on --dataset")
    action.add_argument("--import-predictions", type=Path, metavar="PREDICTIONS.csv|.npz",
                        help="a run from predictions made elsewhere (any framework): a CSV of an id column and one "
                             "column per class (probabilities or logits) or a 'predicted' column (the labels alone), "
                             "or an npz of ids with probabilities (or logits) and class_names, or predicted; "
                             "matched to --dataset's test images by id")
    # Not among the jobs' exclusive flags: with --import-predictions, it names the set the predictions are of.
    parser.add_argument("--eval-set", metavar="folder:PATH|NAME",
                        help="predict a folder of new images with each run's model and store the predictions beside "
                             "it: class folders (named as the runs' classes; another folder is 'none of these') or "
                             "a flat folder of unlabelled images; or the name of a set stored for the runs' test set. "
                             "With --import-predictions: the set the file's predictions are of, for the run --name")
    action.add_argument("--corruptions", action="store_true",
                        help="predict each run's model on the 15 corruptions of CIFAR-10-C / ImageNet-C at 5 "
                             "severities of a class-balanced subset of its test images (--images); goes on from "
                             "what is done; runs without a model are skipped")
    parser.add_argument("--images", type=int, default=None, metavar="N",
                        help="--corruptions: the subset's size, the same share of each class (default 1000: "
                             "accuracy to within about 3 points, in minutes per run on a 2-core CPU)")
    parser.add_argument("--shard", metavar="K/N",
                        help="--corruptions: predict only the K-th of N shares of the units, as task K of a job array "
                             "of N (Slurm, Kubernetes); processes sharing a store never predict a unit twice")
    parser.add_argument("--eval-name", help="--eval-set folder:PATH: the set's name (default: the folder's name)")
    parser.add_argument("--history", type=Path, metavar="HISTORY.csv|LOGDIR",
                        help="--import-predictions: the run's per-epoch metrics (loss, accuracy, val_loss, ...), "
                             "as a CSV or a TensorBoard log folder (Keras' or PyTorch's SummaryWriter's)")
    parser.add_argument("--image-size", type=int,
                        help="--import-predictions: the side of the images the model took (default 32); "
                             "--import of an ONNX model whose input size is dynamic: the side it was trained on")
    parser.add_argument("--author", help="--import, --import-predictions: who trained it (default: you)")
    parser.add_argument("--name", help="--import, --import-predictions: the new run's folder name (with --eval-set: "
                                       "the run the predictions on the set are of)")
    parser.add_argument("--artifacts", type=Path, help="--import, --import-predictions: the run store (default: "
                                                       "$ARTIFACTS_DIR, else artifacts/)")
    parser.add_argument("--input-scale", default="0-255", choices=tuple(INPUT_SCALES),
                        help="--import: the pixel range the model was trained on (default 0-255)")
    parser.add_argument("--class-names", help="--import: the classes of the model's outputs, in order, comma-separated "
                                              "(default: the data set's, sorted)")
    parser.add_argument("--layout", choices=sorted(LAYOUTS),
                        help="--import of an ONNX model: where its input has the colour channels (default: read from "
                             "its input shape)")
    parser.add_argument("--mean", metavar="R,G,B",
                        help="--import of an ONNX model: subtracted per channel after --input-scale, as torchvision's "
                             "Normalize does (such as 0.485,0.456,0.406; default 0,0,0)")
    parser.add_argument("--std", metavar="R,G,B",
                        help="--import of an ONNX model: what the result is divided by, per channel (such as "
                             "0.229,0.224,0.225; default 1,1,1)")
    return parser


def _check_combination(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exits through `parser.error` when the arguments do not fit the chosen job."""
    others = [{"import_model": "--import"}.get(dest, f"--{dest.replace('_', '-')}")
              for dest in (*RUN_JOBS, "import_model") if dest != "eval_set" and getattr(args, dest)]
    if args.eval_set and others:
        parser.error(f"--eval-set goes with RUN_DIRs, or with --import-predictions; not with {others[0]}")
    if (args.images is not None or args.shard) and not args.corruptions:
        parser.error("--images and --shard go with --corruptions")
    if args.corruptions and (args.dataset or args.eval_set or not args.run_dirs):
        parser.error("--corruptions takes RUN_DIRs and corrupts their stored test images; --dataset and --eval-set "
                     "do not apply")
    remote = next((run for run in args.run_dirs if remote_store.is_remote(run)), None)
    if remote and not args.corruptions:
        parser.error(f"{remote}: a run of a remote store is named by URL with --corruptions only; other jobs take "
                     "its folder in the store's mirror")
    if args.images is not None and args.images < 1:
        parser.error(f"--images {args.images}: give at least 1")
    if args.eval_name and not args.eval_set:
        parser.error("--eval-name names the set of --eval-set")
    if args.import_predictions and args.eval_set:
        if args.run_dirs or args.dataset or not args.name:
            parser.error("--import-predictions with --eval-set takes no RUN_DIR and no --dataset; it needs --name (the "
                         "run the predictions on the set are of)")
        if args.history or args.image_size or args.author:
            parser.error("--history, --image-size and --author are the run's own: predictions on a set add none")
        return
    if args.dataset and any(getattr(args, dest) for dest in RUN_JOBS):
        parser.error("--compare-tta, --test-map, --temperature, --upgrade, --class-groups, --labels, --eval-set and "
                     "--cost use what is stored with the run or the folder they name; --dataset does not apply")
    if args.import_model and (args.run_dirs or not args.dataset or not args.name):
        parser.error("--import takes no RUN_DIR; it needs --dataset and --name")
    if args.import_predictions and (args.run_dirs or not args.dataset or not args.name):
        parser.error("--import-predictions takes no RUN_DIR; it needs --dataset and --name")
    if not (args.import_model or args.import_predictions) and not args.run_dirs:
        parser.error("name at least one RUN_DIR (or --import a model)")


def _chosen_job(args: argparse.Namespace) -> tuple[Job, list[Path]]:
    """The job the flags choose, and what it runs on: the file an import flag names, else each RUN_DIR."""
    if args.import_predictions and args.eval_set:
        return _import_predictions_on_set_command, [args.import_predictions]
    for dest, job in IMPORT_JOBS.items():
        if getattr(args, dest):
            return job, [getattr(args, dest)]
    return next((job for dest, job in RUN_JOBS.items() if getattr(args, dest)), _evaluate_command), args.run_dirs


def _loads_keras_model(args: argparse.Namespace) -> bool:
    """Whether the job loads a Keras model, so that TensorFlow is started quietly first: every job does but the import
    of predictions or of an ONNX model, and --eval-set, --corruptions and --cost on runs none of which has a Keras
    model (an ONNX one, or none), which need no TensorFlow."""
    if args.import_predictions:
        return False
    if args.import_model:
        return args.import_model.suffix != ".onnx"
    if args.eval_set or args.corruptions or args.cost:
        return any(remote_store.is_remote(path) or _has_keras_model(path) for path in args.run_dirs)
    return True


def _has_keras_model(run_dir: Path) -> bool:
    """Whether the run's model is a Keras model; False for one that cannot be read, which its job then reports."""
    try:
        model_path = run_store.load_run(run_dir, required=(run_store.RUN_FILE,)).model_path
    except run_store.RunError:
        return False
    return model_path is not None and model_path.name == run_store.MODEL_FILE


def _run_each(job: Job, subjects: list[Path], args: argparse.Namespace) -> int:
    """Runs `job` on each subject in turn: 0, or 2 at the first known error, reported in one line naming its subject."""
    from trainers.training.data import DatasetError

    for subject in subjects:
        try:
            job(subject, args)
        except (run_store.RunError, DatasetError, ValueError, FileExistsError) as error:
            print(f"error: {subject}: {error}", file=sys.stderr)
            return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _check_combination(parser, args)
    # What an import records in run.json as the command that made the run.
    args.command = "python -m trainers.evaluate " + shlex.join(map(str, sys.argv[1:] if argv is None else argv))
    if _loads_keras_model(args):
        from trainers.inference import machine

        machine.start_tensorflow_quietly()
    if args.corruptions:
        from trainers.analysis.robustness import DEFAULT_IMAGES
        from trainers.training.data import DatasetError

        try:
            return evaluate_corruptions(args.run_dirs, args.images or DEFAULT_IMAGES, args.shard)
        except (run_store.RunError, remote_store.StoreError, DatasetError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    return _run_each(*_chosen_job(args), args)


if __name__ == "__main__":
    sys.exit(main())
