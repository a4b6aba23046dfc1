"""Shared fixtures: small real models trained here on scikit-learn's bundled data sets.

``require(name)`` imports an optional dependency: a skip on a developer machine, a failure when
CI=true (a missing dependency in CI is a defect, never a silent skip).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Tuple

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"

#: one power reading (the report tests' energy section): 1.5 mJ/inference, 0.5 above idle, 3.2 W mean, 2.1 W idle ("{:.4g}" / "{:.3g}" keep them as is)
ENERGY = {
    "energy_mj_per_inference": 1.5,
    "above_idle_mj_per_inference": 0.5,
    "mean_w": 3.2,
    "idle_w": 2.1,
    "label": "measured",
    "source": "pmic",
    "scope": "PMIC rails",
}


def require(name: str) -> ModuleType:
    """Import ``name``; skip the test when missing locally, fail when CI=true."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"CI=true and required module {name!r} is missing: {exc}", pytrace=False)
        pytest.skip(f"{name} not installed: {exc}")


def load_images_build() -> ModuleType:
    """images/build.py (a script, not a package module) loaded as the module ``images_build``, once."""
    require("hcl2")
    if "images_build" not in sys.modules:
        spec = importlib.util.spec_from_file_location("images_build", REPO / "images" / "build.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["images_build"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["images_build"]


def run_cli(*args: str, cwd: Path = REPO, timeout: float = 600) -> subprocess.CompletedProcess[str]:  # noqa: F821
    """`python -m bench ARGS` in a subprocess (the way a user runs it)."""
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def digits_trained(models_dir: Path) -> Tuple[object, np.ndarray, np.ndarray]:
    require("torch")
    require("sklearn")
    from bench.models.digits import digits_arrays, train_digits_cnn

    x_tr, y_tr, x_te, y_te = digits_arrays(seed=1)
    model = train_digits_cnn(x_tr, y_tr, epochs=8, seed=1)
    return model, x_te, y_te


@pytest.fixture(scope="session")
def digits_npz(digits_trained: tuple, models_dir: Path) -> Path:
    _, x_te, y_te = digits_trained
    path = models_dir / "digits_test.npz"
    np.savez(path, x_data=x_te, y_data=y_te)
    return path


@pytest.fixture(scope="session")
def digits_state_dict(digits_trained: tuple, models_dir: Path) -> Tuple[Path, Path, str]:
    """(state_dict .pth, class file, class name) of the digits CNN trained here."""
    torch = require("torch")
    from bench import models

    path = models_dir / "digits_cnn.pth"
    torch.save(digits_trained[0].state_dict(), path)
    return path, models.DIGITS_CLASS_FILE, models.DIGITS_CLASS_NAME


@pytest.fixture(scope="session")
def digits_torchscript(digits_trained: tuple, models_dir: Path) -> Path:
    torch = require("torch")
    model, x_te, _ = digits_trained
    path = models_dir / "digits_cnn.pt"
    torch.jit.save(torch.jit.trace(model, torch.from_numpy(x_te[:1])), str(path))
    return path


def _export_onnx(model: object, example: np.ndarray, path: Path) -> Path:
    torch = require("torch")
    require("onnx")
    torch.onnx.export(
        model,
        (torch.from_numpy(example),),
        str(path),
        input_names=["input"],
        output_names=["output"],
        dynamo=False,
        external_data=False,
        opset_version=17,
    )
    return path


@pytest.fixture(scope="session")
def digits_onnx(digits_trained: tuple, models_dir: Path) -> Path:
    model, x_te, _ = digits_trained
    return _export_onnx(model, x_te[:1], models_dir / "digits_cnn.onnx")


@pytest.fixture(scope="session")
def digits_tflite(digits_onnx: Path, models_dir: Path) -> Path:
    """fp32 TFLite with the NCHW input kept, made by onnx2tf directly."""
    require("onnx2tf")
    from bench.models.make_default import onnx_to_tflite_fp32

    return onnx_to_tflite_fp32(digits_onnx, models_dir / "digits_cnn.tflite", keep_input="input")


@pytest.fixture(scope="session")
def diabetes_trained() -> Tuple[object, np.ndarray, np.ndarray]:
    """A small MLP regressor on scikit-learn's diabetes data (standardized features, raw target)."""
    torch = require("torch")
    require("sklearn")
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    x, y = load_diabetes(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x.astype(np.float32), y.astype(np.float32), test_size=0.25, random_state=0
    )
    mean, std = x_tr.mean(0), x_tr.std(0)
    x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)[:, None]
    for _ in range(400):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(xt), yt)
        loss.backward()
        opt.step()
    return model.eval(), x_te.astype(np.float32), y_te.astype(np.float32)


@pytest.fixture(scope="session")
def diabetes_npz(diabetes_trained: tuple, models_dir: Path) -> Path:
    _, x_te, y_te = diabetes_trained
    path = models_dir / "diabetes_test.npz"
    np.savez(path, x_data=x_te, y_data=y_te)
    return path


DIABETES_CLASS = '''"""Diabetes regression MLP (the class the state_dict belongs to)."""
from torch import nn


class DiabetesMLP(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
'''


@pytest.fixture(scope="session")
def diabetes_state_dict(diabetes_trained: tuple, models_dir: Path) -> Tuple[Path, Path, str]:
    torch = require("torch")
    cls = models_dir / "diabetes_mlp.py"
    cls.write_text(DIABETES_CLASS)
    path = models_dir / "diabetes_mlp.pth"
    torch.save(diabetes_trained[0].state_dict(), path)
    return path, cls, "DiabetesMLP"


@pytest.fixture(scope="session")
def diabetes_onnx(diabetes_trained: tuple, models_dir: Path) -> Path:
    model, x_te, _ = diabetes_trained
    return _export_onnx(model, x_te[:1], models_dir / "diabetes_mlp.onnx")


@pytest.fixture(scope="session")
def diabetes_tflite(diabetes_onnx: Path, models_dir: Path) -> Path:
    require("onnx2tf")
    from bench.models.make_default import onnx_to_tflite_fp32

    return onnx_to_tflite_fp32(diabetes_onnx, models_dir / "diabetes_mlp.tflite")


@pytest.fixture(scope="session")
def keras_digits(models_dir: Path) -> Tuple[Path, Path]:
    """(.keras model, NHWC .npz) of a Keras CNN trained here on scikit-learn's digits."""
    require("sklearn")
    keras = require("keras")
    from bench.models.digits import digits_arrays

    x_tr, y_tr, x_te, y_te = digits_arrays(seed=2)
    x_tr, x_te = x_tr.transpose(0, 2, 3, 1), x_te.transpose(0, 2, 3, 1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_tr, y_tr, epochs=4, batch_size=64, verbose=0)
    path = models_dir / "digits_keras.keras"
    model.save(path)
    npz = models_dir / "digits_nhwc.npz"
    np.savez(npz, x_data=x_te, y_data=y_te)
    return path, npz


@pytest.fixture(scope="session")
def keras_savedmodel(keras_digits, models_dir) -> Path:
    keras = require("keras")
    out = models_dir / "digits_saved_model"
    keras.models.load_model(keras_digits[0]).export(str(out))
    return out
