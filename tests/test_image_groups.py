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
