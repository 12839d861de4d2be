"""Model builders: `build_model(config, num_classes) -> keras.Model`.

Every model takes raw RGB pixels (0-255) at `config.image_size` and returns
class probabilities: rescaling, resizing, augmentation and test-time flips live
inside it, so a saved model predicts on an image with no outside preprocessing.
Only standard Keras layers and `keras.ops` are used, so a saved model loads
with plain `keras.models.load_model` in safe mode.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import layers

from trainers.presets import TrainConfig

# Keras applications that serve as transfer bases: constructor and its preprocessing.
TRANSFER_BASES = {
    "vgg16": (keras.applications.VGG16, keras.applications.vgg16.preprocess_input),
    "resnet50": (keras.applications.ResNet50, keras.applications.resnet50.preprocess_input),
}


def _pixels_in(config: TrainConfig):
    """The model's input, followed by the training-only augmentation when configured."""
    inputs = keras.Input((config.image_size, config.image_size, 3), name="pixels")
    if not config.augmentation:
        return inputs, inputs
    # Random layers are identity at inference, so the saved model is deterministic.
    x = layers.RandomFlip("horizontal", seed=config.seed, name="random_flip")(inputs)
    x = layers.RandomTranslation(
        config.shift, config.shift, fill_mode="reflect", interpolation=config.shift_interpolation,
        seed=config.seed, name="random_shift",
    )(x)
    if config.cutout:
        # Cutout (DeVries & Taylor, 2017): one square per image, always whole inside it.
        area = (config.cutout / config.image_size) ** 2
        x = layers.RandomErasing(factor=(1.0, 1.0), scale=(area, area), fill_value=127.5,
                                 seed=config.seed, name="cutout")(x)
    return inputs, x


def vgg_cnn(config: TrainConfig, num_classes: int) -> keras.Model:
    """The study's homemade CNN: conv 64-64/128-128/256-256 with max-pools, Dense 256, Dense N."""
    inputs, x = _pixels_in(config)
    x = layers.Rescaling(1 / 255)(x)
    for block, width in enumerate((64, 128, 256), start=1):
        for conv in (1, 2):
            x = layers.Conv2D(width, 3, padding="same", name=f"block{block}_conv{conv}")(x)
            if config.batch_norm:
                x = layers.BatchNormalization(name=f"block{block}_bn{conv}")(x)
            x = layers.Activation("relu", name=f"block{block}_relu{conv}")(x)
        x = layers.MaxPooling2D(name=f"block{block}_pool")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu", name="dense_256")(x)
    if config.dropout:
        x = layers.Dropout(config.dropout)(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="vgg_cnn")


def _conv_stages(x, widths, *, convs: int, bn_scale: bool):
    """airbench's three stages: per stage conv, max-pool, BatchNorm, GELU, conv, BatchNorm, GELU.

    With convs=3, airbench96's stage: a third conv, and a residual from the
    first GELU over the last two convs (its GELU after the sum).
    """
    def bn(x, name):
        return layers.BatchNormalization(momentum=0.9, scale=bn_scale, name=f"{name}_bn")(x)

    def gelu(x, name):
        return layers.Activation("gelu", name=f"{name}_gelu")(x)

    def conv(x, width, name):
        return layers.Conv2D(width, 3, padding="same", use_bias=False, name=name)(x)

    for stage, width in enumerate(widths, start=1):
        x = conv(x, width, f"stage{stage}_conv1")
        x = layers.MaxPooling2D(name=f"stage{stage}_pool")(x)
        x = gelu(bn(x, f"stage{stage}_1"), f"stage{stage}_1")
        if convs == 2:
            x = gelu(bn(conv(x, width, f"stage{stage}_conv2"), f"stage{stage}_2"), f"stage{stage}_2")
        else:
            branch = gelu(bn(conv(x, width, f"stage{stage}_conv2"), f"stage{stage}_2"), f"stage{stage}_2")
            branch = bn(conv(branch, width, f"stage{stage}_conv3"), f"stage{stage}_3")
            x = gelu(layers.Add(name=f"stage{stage}_residual")([x, branch]), f"stage{stage}_3")
    return layers.GlobalMaxPooling2D()(x)


def fast_cnn(config: TrainConfig, num_classes: int) -> keras.Model:
    """Our CNN: a wide 3-stage net in the style of airbench (Keller Jordan).

    About 2.0M parameters at the default widths.

    A stem conv, then per stage: conv, max-pool, BatchNorm, GELU, conv,
    BatchNorm, GELU; then a global max-pool and one Dense layer.
    """
    inputs, x = _pixels_in(config)
    x = layers.Rescaling(1 / 255)(x)
    x = layers.Conv2D(32, 3, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = layers.Activation("gelu", name="stem_gelu")(x)
    x = _conv_stages(x, config.widths, convs=config.stage_convs, bn_scale=True)
    if config.dropout:
        x = layers.Dropout(config.dropout)(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="fast_cnn")


WHITENING = "whitening"  # the frozen first conv of airbench_cnn, fitted by fit_whitening


def airbench_cnn(config: TrainConfig, num_classes: int) -> keras.Model:
    """Our CNN, closer to airbench94 (Keller Jordan, 2024), about 2.0M parameters at the default widths.

    The stages of fast_cnn behind a frozen 2x2 whitening conv (24 filters,
    set from the training images by `fit_whitening`), convs initialised as
    partial identities, BatchNorm without scale, a bias-free Dense layer whose
    logits are scaled by 1/9.
    Whitening and identity init are there to reach an accuracy in fewer
    epochs, as they do in airbench's ablations (docs/results.md).
    """
    inputs, x = _pixels_in(config)
    x = layers.Rescaling(1 / 255)(x)
    x = layers.Conv2D(24, 2, padding="valid", trainable=False, name=WHITENING)(x)
    x = layers.Activation("gelu", name="whitening_gelu")(x)
    x = _conv_stages(x, config.widths, convs=config.stage_convs, bn_scale=False)
    if config.dropout:
        x = layers.Dropout(config.dropout)(x)
    x = layers.Dense(num_classes, use_bias=False, name="logits")(x)
    x = layers.Rescaling(1 / 9, name="logit_scale")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name="airbench_cnn")
    for layer in model.layers:
        if layer.name.startswith("stage") and isinstance(layer, layers.Conv2D):
            _partial_identity(layer)
    return model


def _partial_identity(conv: layers.Conv2D) -> None:
    """Makes the first min(in, out) filters pass their input channel through unchanged (dirac init)."""
    kernel = keras.ops.convert_to_numpy(conv.kernel).copy()
    centre = kernel.shape[0] // 2
    channels = min(kernel.shape[2], kernel.shape[3])
    kernel[..., :channels] = 0
    kernel[centre, centre, np.arange(channels), np.arange(channels)] = 1
    conv.kernel.assign(kernel)


def fit_whitening(model: keras.Model, images: np.ndarray, eps: float = 5e-4) -> None:
    """Sets the whitening conv so its filters decorrelate the image's patches (airbench's init).

    Each filter is an eigenvector of the patch covariance divided by the square
    root of its eigenvalue, once with each sign; the bias centres the patches.

    Args:
        model: an airbench_cnn.
        images: uint8 training images (a few thousand are plenty).
        eps: added to the eigenvalues, relative to their mean, so near-flat
            directions are not blown up.
    """
    layer = model.get_layer(WHITENING)
    size = layer.kernel.shape[0]
    pixels = images.astype(np.float32) / 255
    # (image, y, x, channel, ky, kx) -> one row per patch, ordered like the kernel: ky, kx, channel.
    patches = np.lib.stride_tricks.sliding_window_view(pixels, (size, size), axis=(1, 2))
    patches = patches.transpose(0, 1, 2, 4, 5, 3).reshape(-1, size * size * pixels.shape[-1])
    mean = patches.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(patches, rowvar=False))
    filters = eigenvectors / np.sqrt(eigenvalues + eps * eigenvalues.mean())
    filters = np.concatenate([filters, -filters], axis=1)
    layer.set_weights([filters.reshape(size, size, pixels.shape[-1], -1), -mean @ filters])


def transfer_base(config: TrainConfig) -> keras.Model:
    """The frozen keras.applications base, with weights from ImageNet, none, or a file."""
    constructor, _ = TRANSFER_BASES[config.architecture]
    weights = None if config.weights in ("none", "", None) else config.weights
    size = config.base_size or config.image_size
    base = constructor(include_top=False, weights=weights, input_shape=(size, size, 3))
    base.trainable = False
    return base


def transfer_model(config: TrainConfig, num_classes: int) -> keras.Model:
    """keras-io's transfer recipe: frozen base in inference mode, pooling, dropout, Dense head."""
    _, preprocess = TRANSFER_BASES[config.architecture]
    base = transfer_base(config)
    size = config.base_size or config.image_size
    inputs, x = _pixels_in(config)
    if size != config.image_size:
        x = layers.Resizing(size, size, name="resize_for_base")(x)
    x = preprocess(x)
    # training=False keeps the base's BatchNorm in inference mode, also when fine-tuned.
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    if config.dropout:
        x = layers.Dropout(config.dropout)(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=f"{config.architecture}_transfer")


def unfreeze_top(model: keras.Model, config: TrainConfig) -> None:
    """Makes the last `config.finetune_layers` layers of the transfer base trainable.

    BatchNorm layers stay frozen (keras-io's fine-tuning advice). The model
    must be recompiled afterwards.
    """
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    base.trainable = True
    for layer in base.layers[: -config.finetune_layers]:
        layer.trainable = False
    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False


ARCHITECTURES = {
    "vgg_cnn": vgg_cnn,
    "fast_cnn": fast_cnn,
    "airbench_cnn": airbench_cnn,
    "vgg16": transfer_model,
    "resnet50": transfer_model,
}


# Architectures with layers set from the training images, and the function that sets them.
FITTED_TO_DATA = {"airbench_cnn": fit_whitening}


def float32_copy(model: keras.Model, config: TrainConfig, num_classes: int) -> keras.Model:
    """The network `build_model` made for `config`, with `model`'s weights, computing in float32.

    Under mixed precision the weights are float32 already; only the layers'
    compute dtype changes, so the copy predicts alike on any CPU.
    """
    # The weights come from `model`: a transfer base need not load its own.
    copy = build_model(dataclasses.replace(config, weights="none", precision="float32"), num_classes)
    copy.set_weights(model.get_weights())
    return copy


# Precisions beyond Keras' dtype policies: "bfloat16_matmuls" computes the layers that are matrix products
# (convolutions, Dense) in bfloat16, where CPUs with bfloat16 matrix units (AMX, AVX-512 BF16) run them
# several times faster, and every other layer in float32: TensorFlow's CPU kernels for BatchNorm, GELU and
# the other elementwise ops have no fast bfloat16 path, and in mixed_bfloat16 they can take longer than
# the convolutions.
MATMUL_LAYERS = (layers.Conv2D, layers.DepthwiseConv2D, layers.Dense)
KERAS_POLICY = {"auto": "float32", "bfloat16_matmuls": "float32"}  # an undecided precision builds in float32


def _all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def build_model(config: TrainConfig, num_classes: int, train_images: np.ndarray | None = None) -> keras.Model:
    """Builds the (uncompiled) model a config describes.

    Args:
        config: the run's configuration (architecture, image size, ...).
        num_classes: width of the probability output.
        train_images: uint8 training images, for the architectures in FITTED_TO_DATA
            (without them, those layers keep their random initialisation).

    Returns:
        A keras.Model from raw uint8-range RGB pixels to class probabilities, computing in the
        configuration's precision (the global dtype policy is left as it was).

    Example:
        >>> model = build_model(get_preset("cnn_v3"), 10)
        >>> model.count_params()
        2196810
    """
    if config.architecture not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture '{config.architecture}'. Known: {', '.join(ARCHITECTURES)}"
        )
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(KERAS_POLICY.get(config.precision, config.precision))
    try:
        model = ARCHITECTURES[config.architecture](config, num_classes)
    finally:
        keras.config.set_dtype_policy(policy)
    if config.precision == "bfloat16_matmuls":
        for layer in _all_layers(model):
            if isinstance(layer, MATMUL_LAYERS):
                layer.dtype_policy = "mixed_bfloat16"  # its kernel stays float32; it computes in bfloat16
    if train_images is not None and config.architecture in FITTED_TO_DATA:
        FITTED_TO_DATA[config.architecture](model, train_images)
    return model
