"""The configuration and its command line: one flag per TrainConfig field, errors by field, rendered as flags."""

from __future__ import annotations

import dataclasses

import pytest

from trainers import presets
from trainers.presets import PRESETS, ConfigError, TrainConfig, get_preset
from trainers.train import build_parser, config_from_args, flag_name, main

FIELDS = [field.name for field in dataclasses.fields(TrainConfig)]

# (preset, flags, the fields they change): every field at least once, every switch both ways.
FLAG_CASES = [
    ("cnn_v3", ["--architecture", "fast_cnn"], {"architecture": "fast_cnn"}),
    ("cnn_v3", ["--description", "mine"], {"description": "mine"}),
    ("cnn_v3", ["--image-size", "48"], {"image_size": 48}),
    ("cnn_v3", ["--base-size", "64"], {"base_size": 64}),
    ("cnn_v3", ["--weights", "none"], {"weights": "none"}),
    ("cnn_v3", ["--optimizer", "sgd"], {"optimizer": "sgd"}),
    ("cnn_v3", ["--lr", "0.05"], {"learning_rate": 0.05}),
    ("cnn_v3", ["--schedule", "onecycle"], {"schedule": "onecycle"}),
    ("cnn_v3", ["--warmup-fraction", "0.3"], {"warmup_fraction": 0.3}),
    ("cnn_v3", ["--weight-decay", "0.01"], {"weight_decay": 0.01}),
    ("cnn_v3", ["--momentum", "0.8"], {"momentum": 0.8}),
    ("cnn_air", ["--bias-lr-scale", "32"], {"bias_lr_scale": 32.0}),
    ("cnn_v3", ["--lookahead"], {"lookahead": True}),
    ("cnn_air", ["--no-lookahead"], {"lookahead": False}),
    ("cnn_v3", ["--label-smoothing", "0.2"], {"label_smoothing": 0.2}),
    ("cnn_v3", ["--teacher", "runs/a", "--teacher", "runs/b"], {"teachers": ("runs/a", "runs/b")}),
    ("cnn_v3", ["--teacher", "runs/a", "--teacher-weight", "0.7"], {"teachers": ("runs/a",), "teacher_weight": 0.7}),
    ("cnn_v3", ["--batch-size", "32"], {"batch_size": 32}),
    ("cnn_v3", ["--epochs", "3"], {"epochs": 3}),
    ("cnn_v3", ["--augmentation"], {"augmentation": True}),
    ("cnn_v4", ["--no-augmentation"], {"augmentation": False}),
    ("cnn_v3", ["--shift", "0.25"], {"shift": 0.25}),
    ("cnn_v3", ["--shift-interpolation", "bilinear"], {"shift_interpolation": "bilinear"}),
    ("cnn_air", ["--cutout", "12"], {"cutout": 12}),
    ("cnn_v3", ["--batch-norm"], {"batch_norm": True}),
    ("cnn_v4", ["--no-batch-norm"], {"batch_norm": False}),
    ("cnn_fast", ["--widths", "112,256,256"], {"widths": (112, 256, 256)}),
    ("cnn_fast", ["--stage-convs", "3"], {"stage_convs": 3}),
    ("cnn_v3", ["--dropout", "0.5"], {"dropout": 0.5}),
    ("cnn_v3_study", ["--flip-tta"], {"flip_tta": True}),
    ("cnn_v3", ["--no-flip-tta"], {"flip_tta": False}),
    ("cnn_v3", ["--shift-tta", "2"], {"shift_tta": 2}),
    ("vgg16_transfer", ["--finetune-epochs", "3"], {"finetune_epochs": 3}),
    ("vgg16_transfer", ["--finetune-layers", "4"], {"finetune_layers": 4}),
    ("vgg16_transfer", ["--finetune-lr", "1e-4"], {"finetune_learning_rate": 1e-4}),
    ("cnn_v3", ["--validation-fraction", "0.2"], {"validation_fraction": 0.2}),
    ("cnn_v3_study", ["--keep-best"], {"keep_best": True}),
    ("cnn_v3", ["--no-keep-best"], {"keep_best": False}),
    ("cnn_v3", ["--seed", "7"], {"seed": 7}),
    ("cnn_v3", ["--precision", "mixed_bfloat16"], {"precision": "mixed_bfloat16"}),
    ("cnn_v4", ["--precision", "bfloat16_matmuls"], {"precision": "bfloat16_matmuls"}),
    ("cnn_air_15min", ["--precision", "float32"], {"precision": "float32"}),
    ("cnn_v3", ["--time-budget", "15"], {"time_budget": 15.0}),
    ("cnn_air_15min", ["--time-budget", "0"], {"time_budget": 0.0}),
]


def parse(argv):
    return config_from_args(build_parser().parse_args(argv))


def test_every_field_has_a_flag_and_a_sample_value():
    flags = {action.dest: action.option_strings for action in build_parser()._actions}
    assert [name for name in FIELDS if not flags.get(name)] == []
    assert {name for _, _, changes in FLAG_CASES for name in changes} == set(FIELDS)


def test_every_field_says_what_it_is():
    assert [f.name for f in dataclasses.fields(TrainConfig) if not f.metadata.get("help")] == []


@pytest.mark.parametrize("preset, argv, changes", FLAG_CASES)
def test_a_flag_sets_its_field_and_nothing_else(preset, argv, changes):
    assert all(getattr(get_preset(preset), name) != value for name, value in changes.items())
    assert parse([preset, *argv]) == dataclasses.replace(get_preset(preset), **changes)


@pytest.mark.parametrize("field, flag", [
    ("learning_rate", "--lr"), ("finetune_learning_rate", "--finetune-lr"), ("teachers", "--teacher"),
    ("batch_size", "--batch-size"), ("warmup_fraction", "--warmup-fraction"),
])
def test_flag_names_are_the_field_or_its_alias(field, flag):
    assert flag_name(field) == flag


@pytest.mark.parametrize("preset", PRESETS)
def test_omitted_flags_leave_the_preset_untouched(preset):
    assert parse([preset]) == get_preset(preset)


@pytest.mark.parametrize("argv, message", [
    (["cnn_v3", "--learning-rate", "0.1"], "unrecognized arguments: --learning-rate"),
    (["cnn_v3", "--no-epochs"], "unrecognized arguments: --no-epochs"),
    (["cnn_v3", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
    (["cnn_v3", "--epochs", "1.5"], "argument --epochs: invalid int value: '1.5'"),
    (["cnn_fast", "--widths", "64,x,256"], "expected comma-separated integers like 64,256,256, got '64,x,256'"),
])
def test_unknown_flags_and_untyped_values_fail(argv, message, capsys):
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("preset, changes, fields, by_field, by_flag", [
    ("cnn_air", {"cutout": 32}, ("cutout",),
     "cutout must be 0 to 31 pixels, got 32", "--cutout must be 0 to 31 pixels, got 32"),
    ("cnn_v3", {"cutout": 8}, ("cutout", "augmentation"),
     "cutout is a training augmentation: it needs augmentation",
     "--cutout is a training augmentation: it needs --augmentation"),
    ("cnn_v3", {"learning_rate": 0}, ("learning_rate",),
     "learning_rate must be positive, got 0", "--lr must be positive, got 0"),
    ("cnn_fast", {"warmup_fraction": 1.0}, ("warmup_fraction",),
     "warmup_fraction must be in [0, 1), got 1.0", "--warmup-fraction must be in [0, 1), got 1.0"),
    ("cnn_air", {"teacher_weight": 0.5}, ("teacher_weight", "teachers"),
     "teacher_weight mixes the targets of teachers: it needs teachers",
     "--teacher-weight mixes the targets of teachers: it needs --teacher"),
    ("cnn_v3", {"bias_lr_scale": 64}, ("bias_lr_scale", "optimizer"),
     "bias_lr_scale works with optimizer sgd only, got 'adamw'",
     "--bias-lr-scale works with --optimizer sgd only, got 'adamw'"),
    ("cnn_v4", {"widths": (8, 16, 16)}, ("widths",),
     "widths sizes the stages of fast_cnn and airbench_cnn, not vgg_cnn",
     "--widths sizes the stages of fast_cnn and airbench_cnn, not vgg_cnn"),
    ("cnn_fast", {"epochs": 0}, ("epochs",), "epochs must be at least 1, got 0", "--epochs must be at least 1, got 0"),
    ("cnn_v3", {"validation_fraction": 1.0}, ("validation_fraction",),
     "validation_fraction must be in (0, 1), got 1.0", "--validation-fraction must be in (0, 1), got 1.0"),
    ("cnn_v3", {"optimizer": "lbfgs"}, ("optimizer",),
     "Unknown optimizer 'lbfgs'. Known: adam, adamw, rmsprop, sgd",
     "Unknown --optimizer 'lbfgs'. Known: adam, adamw, rmsprop, sgd"),
    ("cnn_v4", {"shift_interpolation": "cubic"}, ("shift_interpolation",),
     "Unknown shift_interpolation 'cubic'. Known: bilinear, nearest",
     "Unknown --shift-interpolation 'cubic'. Known: bilinear, nearest"),
    ("cnn_v3", {"time_budget": -1.0}, ("time_budget",),
     "time_budget must be 0 (off) or positive minutes, got -1.0",
     "--time-budget must be 0 (off) or positive minutes, got -1.0"),
    ("vgg16_finetune", {"time_budget": 15.0}, ("time_budget", "finetune_epochs"),
     "time_budget sizes the epochs of one phase: it cannot share them with finetune_epochs",
     "--time-budget sizes the epochs of one phase: it cannot share them with --finetune-epochs"),
    ("cnn_v3", {"architecture": "{vgg}"}, ("architecture",),  # braces in a value are text, not placeholders
     "Unknown architecture '{vgg}'. Known: vgg_cnn, fast_cnn, airbench_cnn, vgg16, resnet50",
     "Unknown --architecture '{vgg}'. Known: vgg_cnn, fast_cnn, airbench_cnn, vgg16, resnet50"),
])
def test_errors_name_the_field_and_render_as_its_flag(preset, changes, fields, by_field, by_flag):
    with pytest.raises(ConfigError) as caught:
        get_preset(preset).with_overrides(**changes)
    assert (caught.value.fields, str(caught.value), caught.value.render(flag_name)) == (fields, by_field, by_flag)


def test_overrides_replace_fields_and_reject_bad_values():
    config = get_preset("cnn_v3").with_overrides(epochs=3, learning_rate=0.01, optimizer=None)
    preset = get_preset("cnn_v3")
    assert (config.epochs, config.learning_rate) == (3, 0.01)
    assert config.optimizer == preset.optimizer  # None leaves a field as it is
    assert dataclasses.replace(config, epochs=preset.epochs, learning_rate=preset.learning_rate) == preset
    with pytest.raises(ValueError, match="Unknown optimizer 'lbfgs'"):
        get_preset("cnn_v3").with_overrides(optimizer="lbfgs")
    with pytest.raises(ValueError, match="Unknown shift_interpolation 'cubic'"):
        get_preset("cnn_v4").with_overrides(shift_interpolation="cubic")
    with pytest.raises(ValueError, match="Unknown preset 'vgg99'"):
        get_preset("vgg99")


@pytest.mark.parametrize("argv, message", [
    (["cnn_v3", "--warmup-fraction", "1"], "error: --warmup-fraction must be in [0, 1), got 1.0"),
    (["cnn_v3", "--cutout", "8"], "error: --cutout is a training augmentation: it needs --augmentation"),
    (["cnn_v3", "--lr", "0"], "error: --lr must be positive, got 0.0"),
    (["cnn_air", "--teacher-weight", "0.5"],
     "error: --teacher-weight mixes the targets of teachers: it needs --teacher"),
])
def test_the_command_line_gives_one_line_naming_the_flag(argv, message, tmp_path, capsys):
    assert main([*argv, "--artifacts", str(tmp_path / "store")]) == 2
    assert capsys.readouterr().err.splitlines() == [message]
    assert not (tmp_path / "store").exists()


def test_list_names_every_preset(capsys):
    assert main(["--list"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == list(PRESETS)


def test_choices_of_architecture_are_the_builders():
    from trainers.training import models  # imports TensorFlow

    assert set(models.ARCHITECTURES) == set(presets.ARCHITECTURES)
