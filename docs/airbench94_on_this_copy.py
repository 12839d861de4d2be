"""How much the JPEG copy of CIFAR-10 costs a recipe whose figure on the original is known.

Trains the reference airbench94 (Keller Jordan; the PyPI package `airbench`,
94.01% mean test accuracy over 1,000 runs on the original CIFAR-10) on the
copy this project's shipped runs were trained on, and prints its test
accuracy (the last table row's tta_val_acc: mirror and 1-px shift TTA).
Not part of the project: it needs PyTorch, which nothing else here uses.

    pip install torch airbench==0.1.8 --no-deps   # airbench's own torchvision is not needed
    mkdir scratch && cd scratch                    # it writes ./cifar10/, where airbench looks
    python ../docs/airbench94_on_this_copy.py path/to/cifar10-jpeg [EPOCHS]

On a 2-vCPU AMD EPYC VM, two runs of 9.9 epochs took 37 and 39 minutes and scored 0.9060 and 0.9095.

airbench's code runs unchanged except for what a GPU-less machine needs: the
CPU instead of CUDA, float32 where it computes in float16, wall-clock timing
instead of CUDA events, and the data: its CifarLoader reads `train.pt` and
`test.pt` from its folder, which this script writes from the copy (decoded
by the project's own loader) before airbench would download the original.
"""

import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
from torch import nn


class _Normalize:  # the one torchvision piece airbench uses (torchvision need not install beside torch)
    def __init__(self, mean, std):
        self.mean, self.std = mean.view(1, 3, 1, 1), std.view(1, 3, 1, 1)

    def __call__(self, images):
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)


def _run_on_cpu() -> None:
    torchvision = types.ModuleType("torchvision")
    torchvision.transforms = types.ModuleType("torchvision.transforms")
    torchvision.transforms.Normalize = _Normalize
    sys.modules.update({"torchvision": torchvision, "torchvision.transforms": torchvision.transforms})

    class WallClockEvent:
        def record(self):
            self.time = time.perf_counter()

        def elapsed_time(self, end):
            return 1e3 * (end.time - self.time)

    torch.cuda.Event = lambda **_: WallClockEvent()
    torch.cuda.synchronize = lambda *_, **__: None
    nn.Module.cuda = lambda self, *_, **__: self
    nn.Module.half = lambda self: self.float()
    torch.Tensor.half = lambda self, *_, **__: self.float()


def _write_airbench_data(dataset_folder: Path, airbench_folder: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from trainers.training.data import load_dataset

    # All 50,000 training images: airbench holds none out (this split keeps 10 per class apart; add them back).
    data = load_dataset(f"folder:{dataset_folder}", validation_fraction=0.0002)
    splits = {
        "train": (np.concatenate([data.train.images, data.validation.images]),
                  np.concatenate([data.train.labels, data.validation.labels])),
        "test": (data.test.images, data.test.labels),
    }
    airbench_folder.mkdir(exist_ok=True)
    for name, (images, labels) in splits.items():
        torch.save({"images": torch.from_numpy(images), "labels": torch.from_numpy(labels),
                    "classes": data.class_names}, airbench_folder / f"{name}.pt")


def main() -> None:
    dataset_folder = Path(sys.argv[1])
    epochs = float(sys.argv[2]) if len(sys.argv) > 2 else 9.9
    _run_on_cpu()
    _write_airbench_data(dataset_folder, Path("cifar10"))  # airbench's loader reads ./cifar10/

    from airbench import utils
    from airbench.lib_airbench94 import train94

    load = torch.load
    torch.load = lambda path, map_location=None, **kwargs: load(path, map_location="cpu", **kwargs)
    loader_init = utils.CifarLoader.__init__
    utils.CifarLoader.__init__ = lambda self, *args, **kwargs: loader_init(self, *args, **{**kwargs, "gpu": "cpu"})
    start = time.perf_counter()
    train94(epochs=epochs)
    print(f"{time.perf_counter() - start:.0f} s wall clock", flush=True)


if __name__ == "__main__":
    main()
