"""A model from another framework, recorded for the dashboard from NumPy arrays.

    python examples/predictions_from_arrays.py path/to/images

Here scikit-learn's logistic regression on raw pixels stands in for any framework (PyTorch, JAX...): all the run
needs is each test image's true class and the model's probabilities (or logits), in the order of `class_names`.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression

from trainers.record import record_run

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("data", help="a folder with train/ and test/, one subfolder per class")
parser.add_argument("--name", default="sklearn-logistic", help="the run's name in the store")
parser.add_argument("--store", default="artifacts", help="the run store the dashboard reads")
parser.add_argument("--size", type=int, default=32)
parser.add_argument("--overwrite", action="store_true", help="replace a run of that name")
args = parser.parse_args()

class_names = sorted(path.name for path in Path(args.data, "train").iterdir() if path.is_dir())


def split(name):
    """(file paths, uint8 images (N, size, size, 3), class indices) of one split."""
    files = sorted(Path(args.data, name).glob("*/*"))
    images = np.stack([np.asarray(Image.open(file).convert("RGB").resize((args.size, args.size))) for file in files])
    return [str(file.relative_to(args.data)) for file in files], images, np.array(
        [class_names.index(file.parent.name) for file in files])


_, train_images, train_labels = split("train")
test_ids, test_images, test_labels = split("test")
model = LogisticRegression(max_iter=500).fit(train_images.reshape(len(train_images), -1) / 255, train_labels)
probabilities = model.predict_proba(test_images.reshape(len(test_images), -1) / 255)

path = record_run(args.name, labels=test_labels, probabilities=probabilities, class_names=class_names,
                  ids=test_ids, images=test_images, dataset=Path(args.data).resolve().name, store=args.store, overwrite=args.overwrite,
                  config={"model": "LogisticRegression", "max_iter": 500}, comment="examples/predictions_from_arrays.py")
print(f"Recorded {path}: test accuracy {(probabilities.argmax(axis=1) == test_labels).mean():.4f}")
