"""The study's models, and ours, as data: one `TrainConfig` per named preset.

A user adds a model by adding one entry to `PRESETS` (and, for a new
architecture, one builder in `trainers.training.models`). Each field's metadata says
what it is (`help`), the values it takes (`choices`) and, where users type
another name for it, its short `flag`: the command line is generated from it.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Callable
from dataclasses import dataclass

ARCHITECTURES = ("vgg_cnn", "fast_cnn", "airbench_cnn", "vgg16", "resnet50")
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
SCHEDULES = ("constant", "cosine", "onecycle")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "bfloat16_matmuls", "mixed_float16")
SHIFT_INTERPOLATIONS = ("bilinear", "nearest")


def tta_label(flip: bool, shift: int) -> str:
    """The views a model's test-time augmentation averages besides the image, as every table names them.

    Example:
        >>> tta_label(True, 1), tta_label(False, 0)
        ('mirror + 1-px shifts', 'none')
    """
    views = (["mirror"] if flip else []) + ([f"{shift}-px shifts"] if shift else [])
    return " + ".join(views) or "none"


def option(default=dataclasses.MISSING, help: str = "", **extra):
    """A TrainConfig field: its default, and metadata saying what it is (`help`) plus `choices`, `flag`, `metavar`."""
    return dataclasses.field(default=default, metadata={"help": help, **extra})


class ConfigError(ValueError):
    """A configuration that cannot work, whose message names its fields as the reader knows them.

    The message is a `str.format` template: `{field}` placeholders stand for the
    fields it is about, keyword `values` fill the others. `str(error)` names the
    fields as they are; `render(name_of)` as a front end calls them.

    Example:
        >>> error = ConfigError("{cutout} must be 0 to {top} pixels, got {got}", top=31, got=32)
        >>> str(error), error.fields
        ('cutout must be 0 to 31 pixels, got 32', ('cutout',))
        >>> error.render(lambda field: "-" + field.upper())
        '-CUTOUT must be 0 to 31 pixels, got 32'
    """

    def __init__(self, template: str, **values):
        self.template, self.values = template, values
        self.fields = tuple(name for _, name, _, _ in string.Formatter().parse(template)
                            if name and name not in values)
        super().__init__(self.render(str))

    def render(self, name_of: Callable[[str], str]) -> str:
        """The message, with each field it is about called `name_of(field)`."""
        return self.template.format(**self.values, **{field: name_of(field) for field in self.fields})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how a model is built and trained.

    Saved whole with every run, by field name, so a run can be reproduced from it.
    """

    architecture: str = option(help="the model builder, one of trainers.training.models.ARCHITECTURES", choices=ARCHITECTURES)
    description: str = option("", "one line saying what the configuration is, shown by the preset listing")
    image_size: int = option(32, "pixels: side of the square image the saved model takes; the data is resized to it")
    base_size: int = option(0, "transfer bases: pixels, side of the image the base sees, resized inside the model "
                               "(0 = image_size)")
    weights: str = option("imagenet", "transfer bases: 'imagenet', 'none' (random), or the path of a weights file")
    optimizer: str = option("adam", "how the weights move; sgd uses Nesterov momentum", choices=OPTIMIZERS)
    learning_rate: float = option(1e-3, "peak learning rate, per step on the mean loss of a batch", flag="lr")
    schedule: str = option("constant", "learning rate over the steps: constant; cosine decay to 0; onecycle, a "
                                       "linear warm-up from peak/10, then cosine decay to 0", choices=SCHEDULES)
    warmup_fraction: float = option(0.2, "onecycle: share of the steps spent warming up, in [0, 1)")
    weight_decay: float = option(0.0, "decoupled weight decay: each step shrinks every weight by learning rate x "
                                      "this, outside the gradient and momentum (adamw takes 1e-4 for 0)")
    momentum: float = option(0.9, "sgd: Nesterov momentum, in [0, 1)")
    bias_lr_scale: float = option(1.0, "sgd: BatchNorm offsets (beta) learn this many times faster than the other "
                                       "weights; their decay is not scaled. airbench uses 64: with BatchNorm without "
                                       "scale, the offsets alone set where each GELU bends")
    lookahead: bool = option(False, "Lookahead (Zhang et al., 2019) as airbench uses it: every 5 steps the weights, "
                                    "BatchNorm statistics included, move back to a running average of themselves, "
                                    "which weighs the past more as training ends")
    label_smoothing: float = option(0.0, "share of each target spread evenly over the classes; applies to the "
                                         "distillation targets too")
    teachers: tuple[str, ...] = option((), "distillation (trainers.training.distillation): trained run folders whose models' "
                                           "mean probabilities on each training image, mixed with its one-hot "
                                           "label, become its target", flag="teacher", metavar="RUN_DIR")
    teacher_weight: float = option(1.0, "distillation: the teachers' share of each target, in [0, 1]; the one-hot "
                                        "label has the rest")
    batch_size: int = option(64, "images per step")
    epochs: int = option(15, "passes over the training images, before any fine-tuning")
    augmentation: bool = option(False, "random horizontal flip and shift of the training images, inside the model "
                                       "(test images pass unchanged)")
    shift: float = option(0.125, "augmentation: largest shift, as a fraction of the side")
    shift_interpolation: str = option("nearest", "augmentation: 'nearest' shifts by whole pixels (as pad-and-crop "
                                                 "does); 'bilinear' by fractions, which also blurs the training "
                                                 "images, never the test images", choices=SHIFT_INTERPOLATIONS)
    cutout: int = option(0, "augmentation: pixels, side of a mid-grey square hiding part of each training image "
                            "(0 = none)")
    batch_norm: bool = option(False, "vgg_cnn: BatchNorm after each conv (fast_cnn and airbench_cnn always have it)")
    widths: tuple[int, ...] = option((64, 256, 256), "fast_cnn, airbench_cnn: channels of their three stages")
    stage_convs: int = option(2, "fast_cnn, airbench_cnn: convs per stage, 2 or 3; 3 adds airbench96's third conv, "
                                 "with a residual over the last two")
    dropout: float = option(0.0, "rate of the dropout before the last Dense layer, in [0, 1) (0 = none)")
    flip_tta: bool = option(False, "test-time augmentation: the saved model averages its predictions on the image "
                                   "and its mirror")
    shift_tta: int = option(0, "test-time augmentation: pixels, the saved model also averages views shifted up-left "
                               "and down-right by this much (0 = none)")
    finetune_epochs: int = option(0, "transfer bases: epochs after unfreezing the base's last layers "
                                     "(0 = transfer only)")
    finetune_layers: int = option(0, "transfer bases: how many of the base's last layers to unfreeze (its BatchNorm "
                                     "layers stay frozen)")
    finetune_learning_rate: float = option(1e-5, "transfer bases: peak learning rate of the fine-tuning epochs, "
                                                 "small so the base's features are adjusted, not overwritten",
                                           flag="finetune-lr")
    validation_fraction: float = option(0.1, "share of the training images held out for validation, in (0, 1); "
                                             "never taken from the test images")
    keep_best: bool = option(False, "ship the weights of the epoch with the best validation accuracy, not the last")
    seed: int = option(42, "random seed of the validation split, the initial weights, the shuffling and the "
                           "augmentation")
    precision: str = option("auto", "what training computes in (the saved model computes in float32): a Keras "
                                    "dtype policy, or bfloat16_matmuls (convolutions and Dense layers in "
                                    "bfloat16, the rest float32); auto times float32, mixed_bfloat16 and "
                                    "bfloat16_matmuls on a few batches and keeps the fastest (run.json records "
                                    "the choice and the speeds)", choices=PRECISIONS)
    time_budget: float = option(0.0, "minutes from the start of training (its speed trial included) to the end of "
                                     "its last epoch: as many epochs as fit, at the speed measured on a few "
                                     "batches, and the schedule decays over them; the test evaluation comes after "
                                     "(0 = the preset's epochs)", metavar="MINUTES")

    def with_overrides(self, **overrides) -> TrainConfig:
        """Returns a validated copy with the given fields replaced (None values are ignored)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"Unknown config field(s): {', '.join(sorted(unknown))}")
        changes = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **changes).validated()

    def validated(self) -> TrainConfig:
        """Checks every field; raises ConfigError naming the field(s) and the bad value."""
        for f in dataclasses.fields(self):
            choices, value = f.metadata.get("choices"), getattr(self, f.name)
            if choices and value not in choices:
                raise ConfigError("Unknown {" + f.name + "} {got!r}. Known: {known}", got=value,
                                  known=", ".join(choices))
        if not 0 <= self.shift_tta < self.image_size // 2:
            raise ConfigError("{shift_tta} must be 0 to {top} pixels, got {got}", top=self.image_size // 2 - 1,
                              got=self.shift_tta)
        if not 0 <= self.cutout < self.image_size:
            raise ConfigError("{cutout} must be 0 to {top} pixels, got {got}", top=self.image_size - 1, got=self.cutout)
        if self.cutout and not self.augmentation:
            raise ConfigError("{cutout} is a training augmentation: it needs {augmentation}")
        for name in ("epochs", "batch_size", "image_size"):
            if getattr(self, name) < 1:
                raise ConfigError("{" + name + "} must be at least 1, got {got}", got=getattr(self, name))
        stages = ("fast_cnn", "airbench_cnn")
        if self.widths != (64, 256, 256) and self.architecture not in stages:
            raise ConfigError("{widths} sizes the stages of fast_cnn and airbench_cnn, not {got}",
                              got=self.architecture)
        if self.stage_convs != 2 and self.architecture not in stages:
            raise ConfigError("{stage_convs} shapes the stages of fast_cnn and airbench_cnn, not {got}",
                              got=self.architecture)
        if self.stage_convs not in (2, 3):
            raise ConfigError("{stage_convs} must be 2 or 3, got {got}", got=self.stage_convs)
        if len(self.widths) != 3 or min(self.widths) < 1:
            raise ConfigError("{widths} must be three positive channel counts, got {got}",
                              got=",".join(map(str, self.widths)))
        if not 0 <= self.teacher_weight <= 1:
            raise ConfigError("{teacher_weight} must be in [0, 1], got {got}", got=self.teacher_weight)
        if self.teacher_weight != 1 and not self.teachers:
            raise ConfigError("{teacher_weight} mixes the targets of teachers: it needs {teachers}")
        for name in ("learning_rate", "bias_lr_scale"):
            if getattr(self, name) <= 0:
                raise ConfigError("{" + name + "} must be positive, got {got}", got=getattr(self, name))
        if self.bias_lr_scale != 1 and self.optimizer != "sgd":
            raise ConfigError("{bias_lr_scale} works with {optimizer} sgd only, got {got!r}", got=self.optimizer)
        for name in ("warmup_fraction", "momentum", "dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError("{" + name + "} must be in [0, 1), got {got}", got=getattr(self, name))
        if self.time_budget < 0:
            raise ConfigError("{time_budget} must be 0 (off) or positive minutes, got {got}", got=self.time_budget)
        if self.time_budget and self.finetune_epochs:
            raise ConfigError("{time_budget} sizes the epochs of one phase: it cannot share them with "
                              "{finetune_epochs}")
        if not 0 < self.validation_fraction < 1:
            raise ConfigError("{validation_fraction} must be in (0, 1), got {got}", got=self.validation_fraction)
        return self

    def to_dict(self) -> dict:
        """The fields by name, as a run's record stores them."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """The configuration a record stores; fields this code no longer knows are dropped."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        for name in ("widths", "teachers"):  # JSON stores tuples as lists
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)


_STUDY_CNN = TrainConfig(
    architecture="vgg_cnn",
    description="The study's homemade VGG-style CNN with its own recipe: constant-rate Adam, "
                "last epoch, no augmentation at all (study: 0.81)",
    optimizer="adam",
    learning_rate=1e-3,
    batch_size=64,
    epochs=15,
)

# The same model and data, trained better. Constant-rate Adam over-fits this CNN without augmentation, so
# decoupled weight decay, cosine decay and label smoothing hold it back, the best epoch ships, and flip
# test-time augmentation (not training augmentation: the model never sees a mirror) averages two views.
_STUDY_CNN_TUNED = dataclasses.replace(
    _STUDY_CNN,
    description="The study's homemade VGG-style CNN, no augmentation; AdamW, cosine decay, label smoothing, "
                "best epoch, flip TTA (study: 0.81)",
    optimizer="adamw",
    # Keras shrinks each weight by lr * weight_decay per step: 0.1 sums to ~0.5 over 15 cosine epochs
    # of 45,000 images.
    weight_decay=0.1,
    schedule="cosine",
    label_smoothing=0.1,
    keep_best=True,
    flip_tta=True,
)

_TRANSFER = dict(
    weights="imagenet",
    image_size=32,
    optimizer="adam",
    learning_rate=1e-3,
    batch_size=64,
    epochs=10,
    augmentation=True,
    dropout=0.3,
    finetune_learning_rate=1e-5,
)

_CNN_FAST = TrainConfig(
    architecture="fast_cnn",
    description="Ours: airbench-style 2.0M-parameter CNN, one-cycle SGD, label smoothing, flip TTA",
    optimizer="sgd",
    learning_rate=0.3,
    schedule="onecycle",
    warmup_fraction=0.25,
    # Keras decays decoupled (w -= lr * wd * w, outside momentum): 5e-3 here is about
    # PyTorch's coupled 5e-4 with momentum 0.9.
    weight_decay=5e-3,
    label_smoothing=0.2,
    batch_size=512,
    epochs=12,
    augmentation=True,
    shift=0.125,
    batch_norm=True,
    flip_tta=True,
)

_CNN_AIR = dataclasses.replace(
    _CNN_FAST,
    architecture="airbench_cnn",
    description="Ours, closer to airbench: whitening stem fitted to the data, identity-initialised convs, "
                "three convs per stage with a residual (64/192/224 channels), 64x learning rate on BatchNorm "
                "offsets, lookahead, 2-px shifts, 8-px cutout, flip and shift TTA",
    # airbench94's optimiser at batch 512: its lr, 11.5 / (1,024 x 7.67, the Nesterov gain at momentum 0.85)
    # = 0.0015 per image of a summed loss, is 0.75 on the mean loss of 512 images.
    # airbench96's stage (a third conv, a residual over the last two), at widths that keep the model
    # within the 2.2M-parameter budget.
    widths=(64, 192, 224),
    stage_convs=3,
    learning_rate=0.75,
    momentum=0.85,
    bias_lr_scale=64,
    lookahead=True,
    warmup_fraction=0.2,
    # airbench decays ~0.0067 of each weight per step at batch 512 (coupled, through momentum);
    # Keras decays lr * weight_decay per step, outside momentum: 0.75 * 0.0089 at the peak.
    weight_decay=0.0089,
    epochs=30,
    shift=0.0625,
    cutout=8,  # without it this recipe fits the training images far ahead of validation
    shift_tta=1,
)

# cnn_air's recipe sized to a quarter-hour of whatever machine runs it: the speed trial sets the epochs, the
# schedule decays over them. A minute of the 15 is left for the trial's estimate to be off.
_CNN_AIR_15MIN = dataclasses.replace(
    _CNN_AIR,
    description="cnn_air for as many epochs as fit in 14 minutes of the machine it trains on (one-cycle over "
                "them), without cutout, which pays in long schedules only; 2% of the images for validation",
    time_budget=14.0,
    cutout=0,
    validation_fraction=0.02,
)

PRESETS: dict[str, TrainConfig] = {
    "cnn_v3": _STUDY_CNN_TUNED,
    "cnn_v3_study": _STUDY_CNN,
    "cnn_v4": dataclasses.replace(
        _STUDY_CNN,
        description="The study's CNN with BatchNorm, Dropout and flip/shift augmentation; one-cycle Nesterov SGD, "
                    "weight decay, label smoothing, flip and shift TTA (study: 0.91)",
        batch_norm=True,
        dropout=0.5,
        augmentation=True,
        # Whole-pixel shifts, as pad-and-crop: bilinear (sub-pixel) ones would blur every training image
        # and no test image.
        shift_interpolation="nearest",
        # The classic CIFAR recipe: one-cycle Nesterov SGD with weight decay.
        optimizer="sgd",
        learning_rate=0.1,
        weight_decay=5e-3,  # Keras decays decoupled: ~PyTorch's coupled 5e-4 with momentum 0.9
        label_smoothing=0.1,
        schedule="onecycle",
        epochs=40,
        batch_size=128,
        flip_tta=True,
        shift_tta=1,
    ),
    "vgg16_transfer": TrainConfig(
        architecture="vgg16",
        description="VGG16 ImageNet base, frozen, with a small head (study: 0.78)",
        base_size=64,
        **_TRANSFER,
    ),
    "vgg16_finetune": TrainConfig(
        architecture="vgg16",
        description="VGG16 transfer, then its last block unfrozen at a small learning rate (study: 0.88)",
        base_size=64,
        finetune_epochs=10,
        finetune_layers=4,
        **_TRANSFER,
    ),
    "resnet50_transfer": TrainConfig(
        architecture="resnet50",
        description="ResNet50 ImageNet base, frozen, RMSprop (study: 0.95)",
        base_size=224,
        **{**_TRANSFER, "optimizer": "rmsprop", "learning_rate": 1e-4, "epochs": 5},
    ),
    "resnet50_finetune": TrainConfig(
        architecture="resnet50",
        description="ResNet50 transfer, then its last stage unfrozen at a small learning rate (study: 0.96)",
        base_size=224,
        finetune_epochs=5,
        finetune_layers=33,
        **{**_TRANSFER, "optimizer": "rmsprop", "learning_rate": 1e-4, "epochs": 5},
    ),
    "cnn_fast": _CNN_FAST,
    "cnn_air": _CNN_AIR,
    "cnn_air_15min": _CNN_AIR_15MIN,
}


# Every configuration field by name: the command line's flags, seed groups and defaults of older records read it.
CONFIG_FIELDS = {field.name: field for field in dataclasses.fields(TrainConfig)}


def get_preset(name: str) -> TrainConfig:
    """Returns the named preset; raises ValueError listing the known ones."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset '{name}'. Known presets: {', '.join(PRESETS)}")
    return PRESETS[name]
