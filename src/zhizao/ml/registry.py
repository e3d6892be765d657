"""The model registry: versioned models with their metrics, parameters and training-data fingerprint.

Models live in folders, so the batch CLIs and the platform share one format and nothing
needs a server: ``<root>/<kind>/<name>/v<N>/`` holds the artefact files the app wrote plus
``meta.json``; ``<root>/<kind>/<name>/registry.json`` says which version is deployed and
keeps the promote/rollback history. ``kind`` is the app ("rul", "inspection", ...),
``name`` the model (a machine, a product, a data set). The platform's root is
``<data_dir>/models``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RegistryError(ValueError):
    """A registry request that cannot be honoured; the message says why."""


@dataclass
class ModelVersion:
    kind: str
    name: str
    version: int
    path: Path  # folder with the artefact files and meta.json
    created_ms: int
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: str = ""
    notes: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["path"] = str(self.path)
        return out


def fingerprint(items: Iterable[Any]) -> str:
    """SHA-256 over training data: file paths (their bytes), numpy arrays, bytes or str."""
    digest = hashlib.sha256()
    for item in items:
        if isinstance(item, Path):
            with item.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        elif hasattr(item, "tobytes"):  # numpy arrays
            digest.update(str(getattr(item, "shape", "")).encode())
            digest.update(item.tobytes())
        elif isinstance(item, bytes):
            digest.update(item)
        else:
            digest.update(str(item).encode("utf-8"))
    return "sha256:" + digest.hexdigest()


def _write_json_atomic(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, kind: str, name: str) -> Path:
        for label, value in (("kind", kind), ("name", name)):
            if not NAME_RE.match(value):
                raise RegistryError(f"{label}: '{value}' must be 1-64 letters, digits, '_', '.' or '-'")
        return self.root / kind / name

    def register(self, kind: str, name: str, artefacts: Path, *, metrics: dict[str, Any] | None = None,
                 params: dict[str, Any] | None = None, data_fingerprint: str = "", notes: str = "",
                 deploy: bool = False) -> ModelVersion:
        """Copy the folder ``artefacts`` in as the next version of (kind, name)."""
        artefacts = Path(artefacts)
        if not artefacts.is_dir():
            raise RegistryError(f"artefacts: '{artefacts}' is not a folder")
        base = self._dir(kind, name)
        base.mkdir(parents=True, exist_ok=True)
        version = max((v.version for v in self.versions(kind, name)), default=0) + 1
        target = base / f"v{version}"
        staging = Path(tempfile.mkdtemp(dir=base, prefix=".new-"))
        shutil.copytree(artefacts, staging, dirs_exist_ok=True)
        mv = ModelVersion(kind, name, version, target, int(time.time() * 1000), metrics or {}, params or {},
                          data_fingerprint, notes)
        meta = mv.to_json()
        del meta["path"]
        _write_json_atomic(staging / "meta.json", meta)
        os.replace(staging, target)  # a version appears whole or not at all
        if deploy or self.deployed(kind, name) is None:
            self.promote(kind, name, version)
        return mv

    def versions(self, kind: str, name: str) -> list[ModelVersion]:
        base = self._dir(kind, name)
        out = []
        for meta_file in base.glob("v*/meta.json"):
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            out.append(ModelVersion(path=meta_file.parent, **meta))
        return sorted(out, key=lambda v: v.version)

    def models(self, kind: str | None = None) -> list[tuple[str, str]]:
        """(kind, name) of every registered model."""
        kinds = [kind] if kind else sorted(p.name for p in self.root.glob("*") if p.is_dir())
        return [(k, p.name) for k in kinds for p in sorted((self.root / k).glob("*")) if (p / "registry.json").exists()]

    def get(self, kind: str, name: str, version: int | None = None) -> ModelVersion:
        """A version, or the deployed one when ``version`` is None."""
        if version is None:
            version = self.deployed(kind, name)
            if version is None:
                raise RegistryError(f"model {kind}/{name}: nothing is registered")
        for v in self.versions(kind, name):
            if v.version == version:
                return v
        raise RegistryError(f"model {kind}/{name}: there is no version {version}")

    def _state(self, kind: str, name: str) -> dict[str, Any]:
        path = self._dir(kind, name) / "registry.json"
        if not path.exists():
            return {"deployed": None, "history": []}
        return json.loads(path.read_text(encoding="utf-8"))

    def deployed(self, kind: str, name: str) -> int | None:
        return self._state(kind, name)["deployed"]

    def history(self, kind: str, name: str) -> list[dict[str, Any]]:
        """Deployments, oldest first: ``{"version", "ts", "action": "promote"|"rollback"}``."""
        return self._state(kind, name)["history"]

    def promote(self, kind: str, name: str, version: int) -> None:
        self.get(kind, name, version)  # must exist
        state = self._state(kind, name)
        state["deployed"] = version
        state["history"].append({"version": version, "ts": int(time.time() * 1000), "action": "promote"})
        _write_json_atomic(self._dir(kind, name) / "registry.json", state)

    def rollback(self, kind: str, name: str) -> int:
        """Deploy the version that was deployed before the current one; returns it."""
        state = self._state(kind, name)
        promoted = [h["version"] for h in state["history"] if h["action"] == "promote"]
        current = state["deployed"]
        earlier = [v for v in promoted if v != current]
        if not earlier:
            raise RegistryError(f"model {kind}/{name}: no earlier deployed version to roll back to")
        previous = earlier[-1]
        state["deployed"] = previous
        state["history"].append({"version": previous, "ts": int(time.time() * 1000), "action": "rollback"})
        _write_json_atomic(self._dir(kind, name) / "registry.json", state)
        return previous
