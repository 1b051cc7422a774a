"""Installed model packs: list, verify, install atomically.

Installed packs live in one directory (see models/locations.py), one sub-directory
per pack. A pack is only ever
used after every file's sha256 matched its manifest, and an install either completes
or leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from base.config import ConfigError
from base.errors import HallwatchError
from models.locations import default_models_dir
from models.manifest import MANIFEST_NAME, PackManifest, load_manifest

SHIPPED_PACKS = Path(__file__).resolve().parent / "packs"
DEFAULT_PACK = "permissive"
_CHUNK = 1 << 20


class PackError(HallwatchError, RuntimeError):
    """A model pack that cannot be installed or used, with what to do about it."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def shipped_manifest(name: str) -> PackManifest:
    """A manifest that ships with hallwatch, by pack name."""
    if not (SHIPPED_PACKS / name / MANIFEST_NAME).is_file():
        known = ", ".join(sorted(p.name for p in SHIPPED_PACKS.iterdir() if p.is_dir()))
        raise PackError(f"no shipped pack named '{name}' (known: {known})")
    return load_manifest(SHIPPED_PACKS / name)


def verify_pack(pack_dir: Path) -> PackManifest:
    """Check that every file of the pack is present with its pinned sha256."""
    try:
        manifest = load_manifest(pack_dir)
    except ConfigError as exc:
        raise PackError(str(exc)) from None
    problems = []
    for spec in manifest.files():
        path = pack_dir / spec.file
        if not path.is_file():
            problems.append(f"{spec.file}: missing")
        elif (actual := sha256_of(path)) != spec.sha256:
            problems.append(f"{spec.file}: sha256 {actual}, the manifest pins {spec.sha256}")
    if problems:
        listed = "\n  ".join(problems)
        raise PackError(
            f"pack '{manifest.name}' at {pack_dir} failed verification:\n  {listed}\n"
            "reinstall it with: hallwatch models install --from DIR"
        )
    return manifest


@dataclass(frozen=True)
class InstalledPack:
    name: str
    path: Path
    manifest: PackManifest | None
    problem: str | None


class PackStore:
    """The directory of installed packs."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_models_dir()

    def path(self, name: str) -> Path:
        return self.root / name

    def installed(self) -> list[InstalledPack]:
        """Every installed pack, verified; a broken one is listed with its problem."""
        if not self.root.is_dir():
            return []
        packs = []
        for pack_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if pack_dir.name.startswith("."):
                continue
            try:
                packs.append(InstalledPack(pack_dir.name, pack_dir, verify_pack(pack_dir), None))
            except PackError as exc:
                packs.append(InstalledPack(pack_dir.name, pack_dir, None, str(exc)))
        return packs

    def open(self, name: str) -> tuple[Path, PackManifest]:
        """A verified installed pack, ready for the pipeline."""
        pack_dir = self.path(name)
        if not pack_dir.is_dir():
            raise PackError(
                f"model pack '{name}' is not installed in {self.root}; "
                f"install it with: hallwatch models install --from DIR --pack {name}"
            )
        return pack_dir, verify_pack(pack_dir)

    def install(self, source: str, pack: str | None = None) -> PackManifest:
        """Install from a directory, a zip file or an http(s) URL to a zip file.

        The manifest is the source's own `manifest.toml` when it has one, else the
        shipped manifest named `pack` (default: the permissive pack). Files are found
        by their manifest path, or by their file name anywhere in the source.
        """
        with _materialise(source) as source_dir:
            if pack is None and (source_dir / MANIFEST_NAME).is_file():
                manifest_dir = source_dir
            else:
                shipped_manifest(pack or DEFAULT_PACK)
                manifest_dir = SHIPPED_PACKS / (pack or DEFAULT_PACK)
            try:
                manifest = load_manifest(manifest_dir)
            except ConfigError as exc:
                raise PackError(str(exc)) from None
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".install-{manifest.name}-", dir=self.root))
            try:
                for spec in manifest.files():
                    found = _find(source_dir, spec.file)
                    if found is None:
                        raise PackError(
                            f"cannot install pack '{manifest.name}': {spec.file} "
                            f"(sha256 {spec.sha256}) is not in {source}"
                        )
                    target = staging / spec.file
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(found, target)
                    if (actual := sha256_of(target)) != spec.sha256:
                        raise PackError(
                            f"cannot install pack '{manifest.name}': {found} has sha256 {actual}, "
                            f"the manifest pins {spec.sha256}; this is not the expected model"
                        )
                shutil.copyfile(manifest_dir / MANIFEST_NAME, staging / MANIFEST_NAME)
                verify_pack(staging)
                _replace_dir(staging, self.path(manifest.name))
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return manifest


def _find(source_dir: Path, relative: str) -> Path | None:
    direct = source_dir / relative
    if direct.is_file():
        return direct
    matches = sorted(source_dir.rglob(Path(relative).name))
    return matches[0] if matches else None


def _replace_dir(staging: Path, final: Path) -> None:
    """Swap the staged pack in; the old one is removed only once the new one is in place."""
    if final.exists():
        retired = final.with_name(f".retired-{final.name}-{os.getpid()}")
        final.rename(retired)
        staging.rename(final)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(final)


@contextmanager
def _materialise(source: str) -> Iterator[Path]:
    """The source as a directory: itself, an extracted zip, or a downloaded zip."""
    if source.startswith(("http://", "https://")):
        with tempfile.TemporaryDirectory(prefix="hallwatch-pack-") as tmp:
            archive = Path(tmp) / "pack.zip"
            try:
                with urllib.request.urlopen(source, timeout=60) as response, archive.open(
                    "wb"
                ) as out:
                    shutil.copyfileobj(response, out)
            except OSError as exc:
                raise PackError(f"cannot download {source}: {exc}") from None
            with _extracted(archive, source) as extracted:
                yield extracted
        return
    path = Path(source)
    if path.is_dir():
        yield path
    elif path.is_file():
        with _extracted(path, source) as extracted:
            yield extracted
    else:
        raise PackError(f"{source}: no such directory, zip file or URL")


@contextmanager
def _extracted(archive: Path, source: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hallwatch-pack-") as tmp:
        try:
            with zipfile.ZipFile(archive) as bundle:
                for member in bundle.infolist():
                    parts = Path(member.filename).parts
                    if Path(member.filename).is_absolute() or ".." in parts:
                        raise PackError(f"{source}: unsafe path in archive: {member.filename}")
                bundle.extractall(tmp)
        except zipfile.BadZipFile:
            raise PackError(f"{source}: not a directory or a valid zip file") from None
        yield Path(tmp)
