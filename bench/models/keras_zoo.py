"""The zoo's three architectures from ``keras.applications`` (``weights=None``): the TF-origin path (Keras -> TFLite
through TFLiteConverter, full int8 with representative data) that the original tool's README recommends for int8.

Keras and TensorFlow are imported inside the functions only.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

#: zoo name -> (keras.applications constructor, module holding its preprocess_input)
APPLICATIONS: Dict[str, Tuple[str, str]] = {
    "resnet50": ("ResNet50", "resnet50"),
    "mobilenetv2": ("MobileNetV2", "mobilenet_v2"),
    "efficientnet-b0": ("EfficientNetB0", "efficientnet"),
}
INPUT_SHAPE = (224, 224, 3)  #: NHWC, batch excluded


def build(name: str, seed: int = 0) -> Any:
    """The keras.applications model with seeded random weights (no download: ``weights=None``), ending in logits.

    ``classifier_activation=None``: with random weights a softmax over 1000 classes is almost flat (every output near
    0.001), and an int8 softmax output (scale 1/256) rounds all of them to 0, so the int8 model's top-1 agrees with
    nothing (measured: 0% of 5 samples). Logits keep the ranking int8 can preserve, as the PyTorch models' do.
    """
    import keras

    keras.utils.set_random_seed(seed)
    constructor, _ = APPLICATIONS[name]
    app = getattr(keras.applications, constructor)
    return app(weights=None, input_shape=INPUT_SHAPE, classifier_activation=None)


def preprocess(name: str, images_0_255: np.ndarray) -> np.ndarray:
    """The application's own preprocess_input on NHWC float images in [0, 255] (float32 out)."""
    import keras

    _, module = APPLICATIONS[name]
    fn = getattr(keras.applications, module).preprocess_input
    return np.asarray(fn(images_0_255.astype(np.float32).copy()), dtype=np.float32)


def settle_batchnorm(model: Any, x: np.ndarray) -> None:
    """Set every BatchNormalization's moving statistics to those of one training-mode pass over ``x``.

    Fresh random weights with moving mean 0 and variance 1 shrink activations layer after layer until the outputs are
    almost constant (int8 calibration and fidelity checks then measure nothing); statistics taken from real activations,
    as a trained network has, keep every layer near unit scale. Weights are unchanged.
    """
    import keras

    layers = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0  # moving = moving * momentum + batch * (1 - momentum): the batch statistics
    model(x, training=True)
    for layer, momentum in zip(layers, saved):
        layer.momentum = momentum


def _all_layers(model: Any) -> list:
    out = []
    for layer in model.layers:
        out.append(layer)
        if hasattr(layer, "layers"):
            out.extend(_all_layers(layer))
    return out


def trainable_params(model: Any) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))
