"""`edgebench zoo --out DIR`: the original tool's experiment models, written in every format compare starts from.

Per model (ResNet-50, MobileNetV2, EfficientNet-B0 at 224x224, seeded random weights), in ``DIR/<name>/``:

* ``<name>.pth`` + ``<name>.py`` (state_dict and its self-contained class file) and ``<name>.onnx`` (one file),
  with ``data.npz`` (NCHW, ImageNet-normalised random images, random labels) and ``representative.npz`` (x_data only);
* ``<name>_keras.keras`` (the same architecture from keras.applications, ``weights=None``, logits out) with
  ``data_nhwc.npz`` and ``representative_nhwc.npz`` made by the application's own preprocess_input;
* ``DIR/zoo.json``: the manifest (paths relative to DIR, class names, parameter counts, seed) that
  ``make experiments`` reads.

Random weights: latency, size and conversion fidelity are real; accuracy is not. Runs on these models pass
``--random-weights`` so the records say so (``quality.not_meaningful``).

BatchNorm statistics are taken from one training-mode pass over random images (see ``settle_batchnorm``), so every
layer works at the scale of a trained network instead of collapsing to near-constant outputs.
"""

from __future__ import annotations

import importlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from bench.errors import InputError

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent
IMAGE_SIZE = 224
NUM_CLASSES = 1000
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_SAMPLES = 50
#: bench.convert.calibration warns below 100 calibration samples
DEFAULT_REPRESENTATIVE_SAMPLES = 100
SETTLE_BATCH = 16
MANIFEST = "zoo.json"


@dataclass(frozen=True)
class ZooModel:
    name: str
    title: str
    module: str  #: bench.models.<module>, a self-contained file (torch only) copied next to the state_dict
    class_name: str
    #: parameter count published with the architecture (paper / reference implementation); tests compare against it
    published_params: float
    #: frameworks' own reference count of the same layer layout (torchvision), for an exact check
    reference_params: int


ZOO: Dict[str, ZooModel] = {
    # He et al. 2016; torchvision resnet50: 25,557,032
    "resnet50": ZooModel("resnet50", "ResNet-50", "resnet", "ResNet50", 25.6e6, 25_557_032),
    # Sandler et al. 2018 (3.4 M in the paper's Table 4 counts without the classifier bias); torchvision: 3,504,872
    "mobilenetv2": ZooModel("mobilenetv2", "MobileNetV2", "mobilenetv2", "MobileNetV2", 3.5e6, 3_504_872),
    # Tan and Le 2019, Table 2: 5.3 M; torchvision efficientnet_b0: 5,288,548
    "efficientnet-b0": ZooModel(
        "efficientnet-b0", "EfficientNet-B0", "efficientnet", "EfficientNetB0", 5.3e6, 5_288_548
    ),
}


def parse_names(values: Optional[Sequence[str]]) -> List[str]:
    """Model names from ``--models a b`` or ``--models a,b``; all of them when none; a clear error when unknown."""
    names = [n for v in (values or []) for n in v.split(",") if n] or list(ZOO)
    unknown = [n for n in names if n not in ZOO]
    if unknown:
        raise InputError(f"unknown zoo model(s) {', '.join(unknown)}", f"choose from {', '.join(ZOO)}")
    return list(dict.fromkeys(names))


def build_torch(name: str, seed: int = 0) -> Any:
    """The hand-written PyTorch model with seeded random weights, in eval mode."""
    import torch

    spec = ZOO[name]
    cls = getattr(importlib.import_module(f"bench.models.{spec.module}"), spec.class_name)
    torch.manual_seed(seed)
    return cls().eval()


def settle_batchnorm_torch(model: Any, x: np.ndarray) -> None:
    """BatchNorm running statistics from one training-mode pass over ``x`` (weights unchanged); eval mode after."""
    import torch
    from torch import nn

    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the passes made (here: one)
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(x))
    for m in bns:
        m.momentum = 0.1
    model.eval()


def random_images(rng: np.random.Generator, n: int) -> np.ndarray:
    """NHWC float32 images with uniform random pixels in [0, 255]."""
    return rng.uniform(0.0, 255.0, size=(n, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)


def torch_inputs(images: np.ndarray) -> np.ndarray:
    """torchvision's preprocessing: [0, 1], ImageNet mean and std, NCHW."""
    x = images / 255.0
    x = (x - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)


def _export_onnx(model: Any, path: Path) -> None:
    import torch

    torch.onnx.export(
        model,
        (torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE),),
        str(path),
        input_names=["input"],
        output_names=["logits"],
        dynamo=False,
        external_data=False,
        opset_version=17,
    )


def write_torch(name: str, out: Path, rng: np.random.Generator, samples: int, rep: int, seed: int) -> Dict[str, Any]:
    """State_dict, class file, ONNX and NCHW data of one model; its manifest entry."""
    import torch

    spec = ZOO[name]
    stem = name.replace("-", "_")
    model = build_torch(name, seed)
    settle_batchnorm_torch(model, torch_inputs(random_images(rng, SETTLE_BATCH)))
    torch.save(model.state_dict(), out / f"{stem}.pth")
    shutil.copy(MODELS_DIR / f"{spec.module}.py", out / f"{stem}.py")
    _export_onnx(model, out / f"{stem}.onnx")
    np.savez(out / "data.npz", x_data=torch_inputs(random_images(rng, samples)), y_data=_labels(rng, samples))
    np.savez(out / "representative.npz", x_data=torch_inputs(random_images(rng, rep)))
    return {
        "state_dict": f"{name}/{stem}.pth",
        "class_file": f"{name}/{stem}.py",
        "class_name": spec.class_name,
        "onnx": f"{name}/{stem}.onnx",
        "data": f"{name}/data.npz",
        "representative_data": f"{name}/representative.npz",
        "input_shape": [1, 3, IMAGE_SIZE, IMAGE_SIZE],
        "params": int(sum(p.numel() for p in model.parameters())),
    }


def write_keras(name: str, out: Path, rng: np.random.Generator, samples: int, rep: int, seed: int) -> Dict[str, Any]:
    """The keras.applications model (.keras) and its NHWC data; its manifest entry."""
    from bench.models import keras_zoo

    stem = name.replace("-", "_")
    model = keras_zoo.build(name, seed)
    keras_zoo.settle_batchnorm(model, keras_zoo.preprocess(name, random_images(rng, SETTLE_BATCH)))
    model.save(out / f"{stem}_keras.keras")
    x = keras_zoo.preprocess(name, random_images(rng, samples))
    np.savez(out / "data_nhwc.npz", x_data=x, y_data=_labels(rng, samples))
    np.savez(out / "representative_nhwc.npz", x_data=keras_zoo.preprocess(name, random_images(rng, rep)))
    return {
        "model": f"{name}/{stem}_keras.keras",
        "data": f"{name}/data_nhwc.npz",
        "representative_data": f"{name}/representative_nhwc.npz",
        "input_shape": [1, IMAGE_SIZE, IMAGE_SIZE, 3],
        "params": keras_zoo.trainable_params(model),
    }


def _labels(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, NUM_CLASSES, size=n).astype(np.int64)


def write_zoo(
    out: Path,
    names: Sequence[str],
    samples: int = DEFAULT_SAMPLES,
    representative_samples: int = DEFAULT_REPRESENTATIVE_SAMPLES,
    seed: int = 0,
    keras: bool = True,
) -> Dict[str, Any]:
    """Write the models and data into ``out``; write and return the manifest."""
    if samples < 1 or representative_samples < 1:
        raise InputError("--samples and --representative-samples must be at least 1", "pass --samples 50")
    out = Path(out)
    manifest: Dict[str, Any] = {"random_weights": True, "seed": seed, "samples": samples, "models": {}}
    for i, name in enumerate(names):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng([seed, i])
        entry = {
            "title": ZOO[name].title,
            "pytorch": write_torch(name, folder, rng, samples, representative_samples, seed),
        }
        if keras:
            entry["keras"] = write_keras(name, folder, rng, samples, representative_samples, seed)
        manifest["models"][name] = entry
        log.info("zoo: %s written to %s", ZOO[name].title, folder)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(out: Path) -> Dict[str, Any]:
    """The manifest of a zoo folder with its paths made absolute."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise InputError(f"{path} not found", f"write the zoo first: edgebench zoo --out {out}")
    manifest = json.loads(path.read_text())
    for entry in manifest["models"].values():
        for variant in ("pytorch", "keras"):
            for key, value in (entry.get(variant) or {}).items():
                if isinstance(value, str) and "/" in value:
                    entry[variant][key] = str((Path(out) / value).resolve())
    return manifest
