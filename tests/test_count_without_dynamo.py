"""PyTorch's operation count (FlopCounterMode, after the measurement) does not import torch._dynamo: that import took
2-5 s of every compare's untimed time here, longer than the count itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import require

CHILD = r"""
import json, sys
from bench import models
from bench.runtimes import create
from bench.runtimes.base import RuntimeOptions
rt = create("pytorch")
rt.setup()
rt.load(models.DIGITS_STATE_DICT, RuntimeOptions(model_class_path=models.DIGITS_CLASS_FILE,
                                                 model_class_name=models.DIGITS_CLASS_NAME, input_shape=(1, 1, 32, 32)))
before = "torch._dynamo" in sys.modules
res = rt.count_macs()
print(json.dumps({"before": before, "after": "torch._dynamo" in sys.modules, "macs": res["macs"]}))
"""


def test_the_pytorch_count_is_exact_and_leaves_dynamo_unimported() -> None:
    """Digits CNN by hand: conv 1->8 k3 at 32x32 (8*9*32*32), conv 8->16 k3 at 16x16 (16*72*16*16), linear
    1024->10 (10*1024) = 378,880 MACs."""
    require("torch")
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=repo, capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["macs"] == 8 * 9 * 32 * 32 + 16 * 72 * 16 * 16 + 10 * 1024
    assert got["before"] is False, "nothing before the count imports dynamo (else this test shows nothing)"
    assert got["after"] is False, "the count imported torch._dynamo"
