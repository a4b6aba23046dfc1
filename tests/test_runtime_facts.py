"""A runtime declares its own facts on its class; everything else reads them through bench.runtimes.

The first test adds a runtime the way a newcomer would (one class, one preset line) and checks that the conversion
target, the fidelity runtime, the cache's file name, selfcheck, the presets' checks, the device, the accelerator
chart, verify's model file, precision, the CLI choices and the launcher's `chain` choices all follow from it. The
second pins the declared facts to the hand-written tables they replaced (bench/runtimes/*.py must not drift from what
the old tables said). The last counts, in the source, where each runtime's name is written as a string.

`python tests/test_runtime_facts.py [ROOT]` prints, per runtime, the files of bench/ and launcher/ that write its
name as a string literal and the files that mention it at all.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bench import runtimes
from bench.runtimes.base import Delegate, Runtime

REPO = Path(__file__).resolve().parent.parent
NAMES = ("pytorch", "onnx", "tflite", "armnn", "tensorrt", "coral", "executorch", "ncnn", "openvino")


class MadeUpRuntime(Runtime):
    """A runtime that exists only in this test: an NPU with one delegate."""

    name = "madeup"
    target = "madeup-format"
    default_for = ("madeup-format",)
    model_suffix = ".madeup"
    device = "npu"
    accelerator = True
    selfcheck = "madeup-lib"
    delegates = ("fastpath",)
    delegate_facts = {
        "fastpath": Delegate("fastpath", device="npu", accelerator=True, selfcheck="fastpath-lib", probe=dict)
    }
    threads_meaning = "nothing"
    reports_precision = True
    verify_files = {"fp16": "tflite"}
    formats = ("madeup-format",)

    @classmethod
    def probe(cls) -> Dict[str, str]:
        return {"madeup": "1.0"}

    def load(self, model_path: Path, options: Any) -> None:
        raise NotImplementedError

    def prepare(self, x: Any) -> None:
        raise NotImplementedError

    def invoke(self) -> None:
        raise NotImplementedError

    def fetch(self) -> Any:
        raise NotImplementedError

    def versions(self) -> Dict[str, str]:
        return {}


@pytest.fixture
def madeup(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.compare import presets

    found = runtimes.classes()
    monkeypatch.setattr(runtimes, "_discover", lambda: (*found, MadeUpRuntime))
    monkeypatch.setitem(presets.PRESETS, "madeup-fp16", presets.Preset("madeup", "fp16", "fastpath", False, "test"))


def test_a_runtime_declared_only_by_its_class_and_a_preset_line_reaches_every_reader(madeup: None) -> None:
    from bench import cli, legacy, peak_share, selfcheck, verify
    from bench.compare import presets
    from bench.convert import edges, pipeline
    from launcher import cli as launcher_cli

    assert runtimes.runtime_class("madeup") is MadeUpRuntime and "madeup" in runtimes.RUNTIMES
    assert edges.target_for("madeup") == "madeup-format"
    assert runtimes.for_format("madeup-format") == "madeup"  # the fidelity check's runtime for that format
    assert pipeline._suffix("madeup-format") == ".madeup"
    checks = selfcheck.checks()
    assert checks["madeup-lib"]() == {"madeup": "1.0"} and checks["fastpath-lib"]() == {}
    assert presets.checks_for(presets.PRESETS["madeup-fp16"]) == ("madeup-lib", "fastpath-lib")
    assert peak_share.device_of("madeup", None, {}) == "npu"
    assert peak_share.device_of("tflite", "fastpath", {}) == "npu"  # a delegate moves the arithmetic
    assert peak_share.precision_of("madeup", "npu", {"precision": "fp16"}, Path("m"), "madeup-format") == {
        "precision": "fp16"
    }
    from bench import config_summary

    assert "madeup-fp16" in config_summary.accelerator_presets() and config_summary.is_accelerator("x", "madeup")
    assert verify.preset_source("madeup-fp16") == "tflite"
    run_help = cli.build_parser().format_help() + _subparser_help(cli.build_parser(), "run")
    assert "madeup" in run_help and "fastpath" in run_help
    assert "madeup" in _subparser_help(launcher_cli.build_parser(), "chain")
    assert "madeup" not in legacy.frameworks()  # not one of the original tool's choices


def _subparser_help(parser: Any, command: str) -> str:
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command].format_help()
    raise AssertionError(f"no {command} subcommand")


def test_the_declared_facts_are_the_tables_they_replaced() -> None:
    """The tables as they were written by hand before each runtime declared its own facts."""
    from bench import config_summary, legacy, selfcheck, verify
    from bench.convert import edges

    assert {n: edges.target_for(n) for n in NAMES if n != "pytorch"} == {
        "onnx": "onnx",
        "tflite": "tflite",
        "tensorrt": "tensorrt-engine",
        "coral": "edgetpu-tflite",
        "armnn": "tflite",
        "executorch": "executorch-pte",
        "openvino": "openvino-ir",
        "ncnn": "ncnn",
    }
    assert edges.target_for("tensorflow") == "savedmodel"
    assert {f: runtimes.for_format(f) for f in ("onnx", "tflite", "edgetpu-tflite", "torchscript")} == {
        "onnx": "onnx",
        "tflite": "tflite",
        "edgetpu-tflite": "coral",
        "torchscript": "pytorch",
    }
    assert runtimes.for_format("pytorch-state-dict") == "pytorch" and runtimes.for_format("savedmodel") is None
    assert runtimes.model_suffixes() == {
        "onnx": ".onnx",
        "tflite": ".tflite",
        "coral": "_edgetpu.tflite",
        "tensorrt": ".engine",
        "executorch": ".pte",
        "openvino": "_openvino.zip",
        "ncnn": "_ncnn.zip",
    }
    assert set(selfcheck.checks()) == {
        *("pytorch", "onnx", "tflite", "tensorrt", "coral", "openvino", "ncnn", "xnnpack", "executorch"),
        *("armnn", "pyarmnn", "edgetpu", "pycuda", "tensorflow", "onnx2tf"),
    }
    assert {n for n in NAMES if runtimes.is_accelerator(n)} == {"tensorrt", "coral", "armnn"}
    assert set(config_summary.accelerator_presets()) == {
        *("tensorrt-fp32", "tensorrt-fp16", "tensorrt-int8", "coral", "tflite-armnn", "armnn")
    }
    assert {n: runtimes.device_of(n) for n in NAMES if runtimes.device_of(n) != "cpu"} == {
        "tensorrt": "gpu",
        "coral": "tpu",
    }
    assert legacy.frameworks() == ("pytorch", "tflite", "onnx", "tensorrt", "coral")
    assert runtimes.delegate_names() == ("xnnpack", "armnn", "edgetpu", "none")
    assert verify.preset_sources() == {
        **{p: "onnx" for p in ("onnx", "tflite-fp16", "tensorrt-fp32", "tensorrt-fp16", "tensorrt-int8")},
        **{p: "onnx" for p in ("ncnn", "ncnn-fp16", "openvino", "openvino-int8")},
        **{p: "tflite" for p in ("tflite", "tflite-nodelegate", "tflite-armnn", "armnn")},
        **{"pytorch": "pytorch", "executorch": "pytorch", "executorch-int8": "pytorch"},
        **{"tflite-int8": "tflite-int8", "coral": "edgetpu"},
    }
    # executorch: its .pte states its precision (was a format branch in bench/peak_share.py before it was declared)
    assert {n for n in NAMES if runtimes.runtime_class(n).reports_precision} == {
        *("tensorrt", "openvino", "ncnn", "executorch")
    }
    assert [n for n in NAMES if runtimes.runtime_class(n).builds_on_device] == ["tensorrt"]
    assert all(runtimes.runtime_class(n).threads_meaning for n in NAMES)


def test_finding_the_runtimes_imports_no_framework() -> None:
    code = (
        "import sys; from bench import runtimes; runtimes.classes(); runtimes.checks();"
        "heavy = ('numpy', 'torch', 'onnxruntime', 'tensorflow', 'ai_edge_litert', 'openvino', 'ncnn', 'executorch',"
        " 'tensorrt', 'pycuda', 'pyarmnn', 'pycoral');"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# ------------------------------------------------------------------------------------- where a name is written


def literal_files(name: str, root: Path = REPO) -> List[str]:
    """Files of bench/ and launcher/ that write ``name`` as a whole string literal."""
    found = []
    for path in sorted(p for d in ("bench", "launcher") for p in (root / d).rglob("*.py")):
        for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
            if tok.type == tokenize.STRING and _value(tok.string) == name:
                found.append(str(path.relative_to(root)))
                break
    return found


def mention_files(name: str, root: Path = REPO) -> List[str]:
    """Files of bench/ and launcher/ that mention ``name`` as a word anywhere (code, comments, other names)."""
    pattern = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
    files = sorted(p for d in ("bench", "launcher") for p in (root / d).rglob("*.py"))
    return [str(p.relative_to(root)) for p in files if pattern.search(p.read_text())]


def _value(token: str) -> object:
    try:
        return ast.literal_eval(token)
    except (ValueError, SyntaxError):
        return None


#: where the newest runtimes' names may be written besides their own module and their presets: the conversion table
#: (the converter's tool and pip distribution names, which are the vendor's) and, for ncnn, the format of the same name
NEWEST = {
    "executorch": {"bench/runtimes/executorch.py", "bench/convert/edges.py"},
    "ncnn": {"bench/runtimes/ncnn.py", "bench/convert/edges.py", "bench/formats.py"},
    "openvino": {"bench/runtimes/openvino.py", "bench/convert/edges.py"},
}


@pytest.mark.parametrize("name", sorted(NEWEST))
def test_a_newest_runtimes_name_is_a_key_only_in_its_module_and_its_presets(name: str) -> None:
    allowed = NEWEST[name] | {"bench/compare/presets.py"}
    assert set(literal_files(name)) <= allowed, sorted(set(literal_files(name)) - allowed)


if __name__ == "__main__":
    root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO
    for n in NAMES:
        lit, ment = literal_files(n, root), mention_files(n, root)
        print(f"{n:<11} {len(lit):>2} files write it as a string, {len(ment):>2} mention it")
        if "-v" in sys.argv:
            print("   ", " ".join(lit))
