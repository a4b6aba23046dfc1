"""What a conversion returns: the artifact a runtime should load, how it was made, and how faithful it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional


@dataclass
class Converted:
    """The artifact a runtime should load, how it was made, and how faithful it is to its source.

    ``fidelity["status"]`` is ``checked`` (measured here), or ``unchecked`` with a ``reason`` when the target's runtime
    or accelerator is not on this machine; then ``fidelity["reference"]`` names the stored source outputs the device
    checks against at its first run (bench.convert.fidelity.check_reference).
    """

    path: Path
    format: str
    chain: List[Dict[str, Any]] = field(default_factory=list)
    fidelity: Dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    manifest: Optional[Path] = None
    source: Optional[Path] = None
    source_format: str = ""
    precision: str = "fp32"
    #: sha256 of the artifact (from the cache manifest), so callers need not hash it again
    sha256: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "sha256": self.sha256,
            "source": str(self.source) if self.source else None,
            "source_format": self.source_format,
            "precision": self.precision,
            "chain": self.chain,
            "fidelity": self.fidelity,
            "cached": self.cached,
            "manifest": str(self.manifest) if self.manifest else None,
        }
