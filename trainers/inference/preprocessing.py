"""What a model was trained on, from the raw 0-255 RGB pixels the store's contract passes: the input scale, a
per-channel normalisation and the memory layout.

A Keras model takes the scaling inside its graph (`trainers.training.model_import`); an ONNX model is stored as it
came, its preprocessing recorded in run.json's config and applied here, by `trainers.inference.onnx_model`, at
evaluation and on the Live page alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --input-scale -> (scale, offset) that turn raw 0-255 pixels into what the model was trained on.
INPUT_SCALES = {"0-255": (1.0, 0.0), "0-1": (1 / 255, 0.0), "-1-1": (1 / 127.5, -1.0)}
# Where the colour channels are: after the pixels (Keras, TensorFlow) or before them (PyTorch).
NHWC, NCHW = "NHWC", "NCHW"
LAYOUTS = (NHWC, NCHW)


def channels(text: str, flag: str) -> tuple[float, float, float]:
    """Three per-channel numbers (R, G, B) from a command line's "0.485,0.456,0.406"; ValueError naming `flag`."""
    try:
        values = tuple(float(value) for value in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(np.isfinite(values)):
        raise ValueError(f"{flag} wants three numbers R,G,B (such as 0.485,0.456,0.406), got '{text}'")
    return values


@dataclass(frozen=True)
class Preprocessing:
    """Raw 0-255 pixels to a model's input: scaled by `input_scale`, then normalised per channel as torchvision's
    Normalize does ((x - mean) / std), then laid out as `layout` says.

    Example:
        >>> imagenet = Preprocessing("0-1", NCHW, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
        >>> imagenet(np.full((1, 8, 8, 3), 255.0)).shape
        (1, 3, 8, 8)
    """

    input_scale: str = "0-255"
    layout: str = NHWC
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self):
        if self.input_scale not in INPUT_SCALES:
            raise ValueError(f"--input-scale must be one of {', '.join(INPUT_SCALES)}, got '{self.input_scale}'")
        if self.layout not in LAYOUTS:
            raise ValueError(f"--layout must be one of {', '.join(LAYOUTS)}, got '{self.layout}'")
        object.__setattr__(self, "mean", tuple(float(value) for value in self.mean))
        object.__setattr__(self, "std", tuple(float(value) for value in self.std))
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError(f"--mean and --std want one number per channel (R,G,B), got {self.mean} and {self.std}")
        if not all(value > 0 for value in self.std):
            raise ValueError(f"--std must be positive for every channel, got {','.join(map(str, self.std))}")

    @classmethod
    def from_config(cls, config: dict) -> Preprocessing:
        """The preprocessing a run's config records (see `config`)."""
        return cls(config["input_scale"], config["layout"], mean=config["mean"], std=config["std"])

    def config(self) -> dict:
        """The fields run.json's config records, so that every reader of the run preprocesses as its import did."""
        return {"input_scale": self.input_scale, "layout": self.layout, "mean": list(self.mean), "std": list(self.std)}

    def __call__(self, pixels: np.ndarray, dtype=np.float32) -> np.ndarray:
        """The model's input for raw 0-255 pixels (N, H, W, 3): (N, H, W, 3) or (N, 3, H, W), of `dtype`."""
        scale, offset = INPUT_SCALES[self.input_scale]
        # In float32 (a float16 model's input is rounded once, at the end): float64 would double the memory of a
        # batch of large images.
        mean, std = np.array(self.mean, np.float32), np.array(self.std, np.float32)
        values = (np.asarray(pixels, np.float32) * np.float32(scale) + np.float32(offset) - mean) / std
        if self.layout == NCHW:
            values = values.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(values, dtype=dtype)
