"""The image's user has the groups its profile needs, checked with `id -G` in every image built here (real engine).

Docker gives a container process the supplementary groups of its image user only in the implicit form
(``USER bench``): with ``USER uid:gid`` it gives none (moby/sys ``user/user.go`` ``GetExecUser``: "Supplementary group
ids only make sense if in the implicit form"), so ``useradd --groups plugdev`` was lost. The launcher adds the host
device nodes' own groups on top (``group_add``, tests/test_container_view.py); this checks the image side, and that
``--group-add`` reaches the process as well.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import pytest

from launcher import profiles
from tests.docker_helpers import docker_client, ensure_image

#: (bake target, platform, build settings) of each image this machine builds
IMAGES: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = (
    ("host", "linux/amd64", ()),
    ("rpi", "linux/arm64", ()),
    ("rpi-coral", "linux/arm64", ("WITH_EDGETPU=0",)),
    ("rpi-armnn", "linux/arm64", ("WITH_ARMNN_DELEGATE=0",)),
)


def _run(tag: str, *argv: str, group_add: Tuple[str, ...] = ()) -> str:
    out = docker_client().containers.run(
        tag, entrypoint=list(argv), remove=True, network_mode="none", group_add=list(group_add) or None
    )
    return out.decode().strip()


def _gids(tag: str, names: List[str]) -> Dict[str, str]:
    """name -> gid in the image's /etc/group."""
    found = {}
    for name in names:
        line = _run(tag, "getent", "group", name)
        found[name] = line.split(":")[2]
    return found


@pytest.mark.parametrize("target, platform, settings", IMAGES, ids=[i[0] for i in IMAGES])
def test_id_g_as_the_image_user_has_the_profiles_groups(target: str, platform: str, settings: Tuple[str, ...]):
    tag = ensure_image(target, platform, *settings)
    needed = sorted({g for p in profiles.PROFILES.values() if p.target == target for g in p.groups})
    ids = _run(tag, "id", "-G").split()
    assert _run(tag, "id", "-u") == "1000"
    for name, gid in _gids(tag, needed).items():
        assert gid in ids, f"{target}: `id -G` is {ids}, without {name} ({gid})"
    if target == "rpi-coral":
        assert needed == ["plugdev"] and "46" in ids  # libedgetpu's udev rule: GROUP="plugdev", Debian's gid 46
    # what the launcher's group_add gives (a device node's group on the host): present too
    assert "4242" in _run(tag, "id", "-G", group_add=("4242",)).split()


def test_an_emulated_pi5_knows_its_board_from_the_launcher(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make bench DEVICE=rpi5 EMULATE=1` with a Pi 5 host root (tests/fixtures/sysfs/rpi5/idle): inside the container
    /proc/device-tree is not the Pi's, the record says Raspberry Pi 5 all the same, where that came from, and the peak
    the board key finds in bench/peaks.py."""
    from bench import peaks
    from tests.docker_helpers import REPO, make_bench, read_jsonl

    ensure_image("rpi", "linux/arm64")
    host_root = REPO / "tests/fixtures/sysfs/rpi5/idle"
    monkeypatch.setenv("EDGEBENCH_HOST_ROOT", str(host_root))
    results = tmp_path / "results.jsonl"
    quick = "--warmup-runs 1 --warmup-min-s 0 --min-runs 5 --min-time-s 0 --max-time-s 30"
    from bench import models

    proc = make_bench(
        DEVICE="rpi5",
        EMULATE="1",
        MODEL=str(models.DIGITS_ONNX),
        DATA=str(models.DIGITS_TEST_DATA),
        FRAMEWORK="onnx",
        ARGS=f"{quick} --threads 2 --output {results}",
    )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    (rec,) = read_jsonl(results)
    board = rec["machine"]["board"]
    assert board["id"] == "rpi5" and board["model"] == "Raspberry Pi 5 Model B Rev 1.0", board
    assert board["source"] == f"launcher (EDGEBENCH_HOST_FACTS: host {host_root})" and board["soc"] == "brcm,bcm2712"
    table = peaks.lookup("rpi5", board["model"], "cpu", "fp32")
    compute = rec["compute"]
    assert table is not None and compute["peak_source"] == table.source and compute["peak_gops"] > 0, compute
    print("board:", board, "compute:", {k: v for k, v in compute.items() if k != "by_type"})
