"""Load a TensorFlow SavedModel or Keras model as one static batch-1 function, and run it.

Used by the converter worker (in a subprocess) and, in process, by the fidelity check, which needs to
run TF-origin source models: no benchmark runtime runs SavedModel or Keras files. TensorFlow is
imported only inside functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from bench import formats
from bench.errors import ModelFormatError, UnsupportedModelError
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec


class TFModel:
    """A TF model as ``module.serve`` with a fixed batch-1 input signature."""

    def __init__(self, path: Path, fmt: Optional[str] = None) -> None:
        import tensorflow as tf

        self.path = Path(path)
        fmt = fmt or formats.detect(self.path)
        module = tf.Module()
        if fmt == formats.KERAS:
            name, shape, dtype, fn = _keras_function(self.path, module)
        elif fmt == formats.SAVEDMODEL:
            name, shape, dtype, fn = _savedmodel_function(self.path, module)
        else:
            raise ModelFormatError(
                f"{self.path} is a {fmt} model, not a TensorFlow one", "give a SavedModel or Keras file"
            )
        if not shape:
            raise UnsupportedModelError(f"model {self.path.name} has a scalar input", "give a batched input")
        dims = (1,) + tuple(shape[1:])
        if any(d is None for d in dims):
            raise UnsupportedModelError(
                f"model {self.path.name} has dynamic input dimensions {list(shape)}; only static shapes are converted",
                "export the model with a fixed input shape (batch may stay dynamic)",
            )
        self.input_name = name
        self.input_shape: Tuple[int, ...] = tuple(int(d) for d in dims)
        self.input_dtype = dtype.name
        module.serve = tf.function(fn, input_signature=[tf.TensorSpec(self.input_shape, dtype, name=name)])
        self.module = module
        self.concrete = module.serve.get_concrete_function()

    def __call__(self, x: Any) -> Any:
        return self.concrete(x).numpy()


def _keras_function(path: Path, module: Any) -> Tuple[str, Tuple[Any, ...], Any, Callable[[Any], Any]]:
    """(input name, input shape, dtype, the model as a function) of a Keras file; the model kept on ``module``."""
    import keras
    import tensorflow as tf

    try:
        model = keras.models.load_model(str(path), compile=False)
    except Exception as exc:
        raise ModelFormatError(f"Keras model {path} could not be loaded: {exc}", "re-save it") from exc
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UnsupportedModelError(
            f"Keras model {path.name} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "only single-input single-output models are converted",
            "save a model with one input and one output",
        )
    module.model = model

    def fn(x: Any) -> Any:
        return model(x, training=False)

    return "input", tuple(model.inputs[0].shape), tf.as_dtype(model.inputs[0].dtype), fn


def _savedmodel_function(path: Path, module: Any) -> Tuple[str, Tuple[Any, ...], Any, Callable[[Any], Any]]:
    """(input name, input shape, dtype, its serving signature as a function) of a SavedModel; kept on ``module``."""
    import tensorflow as tf

    try:
        obj = tf.saved_model.load(str(path))
    except Exception as exc:
        raise ModelFormatError(f"SavedModel {path} could not be loaded: {exc}", "re-export it") from exc
    sigs = dict(getattr(obj, "signatures", {}) or {})
    if not sigs:
        raise UnsupportedModelError(f"SavedModel {path} has no signatures", "save it with a serving_default signature")
    sig = sigs.get("serving_default") or next(iter(sigs.values()))
    _, kwargs = sig.structured_input_signature
    outputs = sig.structured_outputs
    if len(kwargs) != 1 or len(outputs) != 1:
        raise UnsupportedModelError(
            f"SavedModel {path.name} has inputs {list(kwargs)} and outputs {list(outputs)}; "
            "only single-input single-output models are converted",
            "export a model with one input and one output",
        )
    ((name, spec),) = kwargs.items()
    (out_key,) = outputs.keys()
    module.obj = obj

    def fn(x: Any) -> Any:
        return sig(**{name: x})[out_key]

    return name, tuple(spec.shape), spec.dtype, fn


class TFRuntime(Runtime):
    """Runtime interface over TFModel, so fidelity runs TF sources exactly like every other model."""

    name = "tensorflow"
    formats = (formats.SAVEDMODEL, formats.KERAS)

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        import tensorflow as tf

        if options.threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(options.threads)
            except RuntimeError:  # already initialized in this process
                pass
        self._model = TFModel(model_path)
        self.input = TensorSpec(self._model.input_name, self._model.input_shape, self._model.input_dtype)
        out_shape = tuple(-1 if d is None else int(d) for d in self._model.concrete.structured_outputs.shape)
        self.output = TensorSpec("output", out_shape, self._model.concrete.structured_outputs.dtype.name)
        self._y = None

    def prepare(self, x: Any) -> None:
        self._x = x

    def invoke(self) -> None:
        self._y = self._model(self._x)

    def fetch(self) -> Any:
        return self._y

    def close(self) -> None:
        self._model = None

    def versions(self) -> Dict[str, str]:
        import tensorflow as tf

        return {"tensorflow": tf.__version__}
