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
import stat
import tempfile
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from base.config import ConfigError, validate
from base.errors import HallwatchError
from models.locations import default_models_dir
from models.manifest import MANIFEST_NAME, PackManifest, load_manifest

SHIPPED_PACKS = Path(__file__).resolve().parent / "packs"
DEFAULT_PACK = "permissive"
_CHUNK = 1 << 20
# What a pack may cost to install: an archive of a few megabytes must not unpack into
# gigabytes (a zip bomb) or a download run on without end. An R50 recogniser is ~170 MB.
MAX_MEMBER_BYTES = 512 << 20
MAX_EXTRACTED_BYTES = 1 << 30
MAX_DOWNLOAD_BYTES = 1 << 30
MAX_MANIFEST_BYTES = 64 << 10
# Manifest keys added after packs were installed in the field: a copy installed before
# them lacks them, which only makes the station stricter (no grey zone), so it verifies.
_ADDED_LATER = frozenset({"recognizer.lower_threshold", "recognizer.verify_threshold"})


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
    if (SHIPPED_PACKS / manifest.name / MANIFEST_NAME).is_file():
        shipped = load_manifest(SHIPPED_PACKS / manifest.name)
        if differences := _differences(shipped, manifest):
            problems.append(f"{MANIFEST_NAME} differs from the shipped one: {differences}")
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


def _differences(shipped: PackManifest, installed: PackManifest) -> str:
    """What an installed manifest changes in the shipped one of its name, key by key."""

    def flat(value: object, prefix: str = "") -> dict[str, object]:
        if not isinstance(value, dict):
            return {prefix: value}
        found: dict[str, object] = {}
        for key, item in value.items():
            found |= flat(item, f"{prefix}.{key}" if prefix else key)
        return found

    theirs, ours = flat(shipped.model_dump()), flat(installed.model_dump())
    changed = sorted(
        k
        for k in theirs.keys() | ours.keys()
        if theirs.get(k) != ours.get(k) and not (k in _ADDED_LATER and ours.get(k) is None)
    )
    return ", ".join(f"{k} {ours.get(k)!r} (shipped {theirs.get(k)!r})" for k in changed)


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

    def install(
        self, source: str, pack: str | None = None, *, own_manifest: bool = False
    ) -> PackManifest:
        """Install from a directory, a zip file or an https URL to a zip file.

        The manifest is the shipped one named `pack` (default: the permissive pack): a
        source's own manifest.toml is read only with `own_manifest`, and then it may not
        take a shipped pack's name. Files are found by their manifest path, or by their
        file name anywhere in the source; nothing else of the source is copied.
        """
        with _opened(source) as found:
            if own_manifest:
                manifest, manifest_text = _own_manifest(found, source)
            else:
                shipped_manifest(pack or DEFAULT_PACK)
                manifest_file = SHIPPED_PACKS / (pack or DEFAULT_PACK) / MANIFEST_NAME
                manifest, manifest_text = load_manifest(manifest_file.parent), None
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".install-{manifest.name}-", dir=self.root))
            try:
                for spec in manifest.files():
                    target = staging / spec.file
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if not found.copy(spec.file, target):
                        raise PackError(
                            f"cannot install pack '{manifest.name}': {spec.file} "
                            f"(sha256 {spec.sha256}) is not in {source}"
                        )
                    if (actual := sha256_of(target)) != spec.sha256:
                        raise PackError(
                            f"cannot install pack '{manifest.name}': {spec.file} in {source} has "
                            f"sha256 {actual}, the manifest pins {spec.sha256}; "
                            "this is not the expected model"
                        )
                if manifest_text is None:
                    shutil.copyfile(manifest_file, staging / MANIFEST_NAME)
                else:
                    (staging / MANIFEST_NAME).write_text(manifest_text, encoding="utf-8")
                verify_pack(staging)
                _replace_dir(staging, self.path(manifest.name))
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return manifest


def _own_manifest(found: _Source, source: str) -> tuple[PackManifest, str]:
    """The source's own manifest, if it is one: its own name, thresholds in bounds."""
    text = found.manifest_text()
    if text is None:
        raise PackError(f"{source} has no {MANIFEST_NAME} of its own")
    try:
        manifest = validate(PackManifest, tomllib.loads(text), f"{source}: {MANIFEST_NAME}")
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{source}: {MANIFEST_NAME} is not valid TOML: {exc}") from None
    except ConfigError as exc:
        raise PackError(str(exc)) from None
    if (SHIPPED_PACKS / manifest.name).is_dir():
        raise PackError(
            f"{source}: its {MANIFEST_NAME} calls itself '{manifest.name}', a pack that ships "
            "with hallwatch; a pack of your own needs a name of its own"
        )
    return manifest, text


def _replace_dir(staging: Path, final: Path) -> None:
    """Swap the staged pack in; the old one is removed only once the new one is in place."""
    if final.exists():
        retired = final.with_name(f".retired-{final.name}-{os.getpid()}")
        final.rename(retired)
        staging.rename(final)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(final)


class _Source(Protocol):
    """Where a pack's files come from."""

    def manifest_text(self) -> str | None:
        """The source's own manifest.toml (at its top), if it has one."""

    def copy(self, relative: str, target: Path) -> bool:
        """Copy the file at `relative`, or else the first of that name anywhere; False
        if there is none."""


class _Directory:
    """A directory source; a symbolic link in it could point anywhere: refused."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def manifest_text(self) -> str | None:
        path = self.root / MANIFEST_NAME
        return self._checked(path).read_text(encoding="utf-8") if path.is_file() else None

    def copy(self, relative: str, target: Path) -> bool:
        direct = self.root / relative
        matches = [direct] if direct.is_file() else sorted(self.root.rglob(Path(relative).name))
        if not matches:
            return False
        shutil.copyfile(self._checked(matches[0]), target)
        return True

    def _checked(self, path: Path) -> Path:
        inside = path.relative_to(self.root)
        for depth in range(len(inside.parts)):
            if (self.root / Path(*inside.parts[: depth + 1])).is_symlink():
                raise PackError(f"{path}: a symbolic link; copy the model file itself")
        return path


class _Archive:
    """A zip source, read member by member: only the files a manifest names are
    extracted, each within MAX_MEMBER_BYTES and all within MAX_EXTRACTED_BYTES."""

    def __init__(self, bundle: zipfile.ZipFile, source: str) -> None:
        self.bundle, self.source = bundle, source
        self.extracted = 0
        for member in bundle.infolist():
            parts = Path(member.filename).parts
            if Path(member.filename).is_absolute() or ".." in parts:
                raise PackError(f"{source}: unsafe path in archive: {member.filename}")
            if stat.S_ISLNK(member.external_attr >> 16):
                raise PackError(f"{source}: a symbolic link in the archive: {member.filename}")

    def manifest_text(self) -> str | None:
        try:
            member = self.bundle.getinfo(MANIFEST_NAME)
        except KeyError:
            return None
        if member.file_size > MAX_MANIFEST_BYTES:
            raise PackError(f"{self.source}: its {MANIFEST_NAME} is {member.file_size} bytes")
        return self.bundle.read(member).decode("utf-8", "replace")

    def copy(self, relative: str, target: Path) -> bool:
        files = [m for m in self.bundle.infolist() if not m.is_dir()]
        matches = [m for m in files if m.filename == relative] or sorted(
            (m for m in files if Path(m.filename).name == Path(relative).name),
            key=lambda m: m.filename,
        )
        if not matches:
            return False
        member = matches[0]
        self.extracted += member.file_size
        if member.file_size > MAX_MEMBER_BYTES or self.extracted > MAX_EXTRACTED_BYTES:
            raise PackError(
                f"{self.source}: {member.filename} would unpack to {member.file_size} bytes; "
                f"a model file is at most {MAX_MEMBER_BYTES}, a pack {MAX_EXTRACTED_BYTES}"
            )
        # zipfile stops at the size the archive declares (and checks the CRC): the
        # declared size checked above bounds what is written.
        with self.bundle.open(member) as data, target.open("wb") as out:
            shutil.copyfileobj(data, out, _CHUNK)
        return True


@contextmanager
def _opened(source: str) -> Iterator[_Source]:
    """The source as a directory or an archive (a downloaded one for an https URL)."""
    if source.startswith("http://"):
        raise PackError(
            f"{source}: plain http can be altered on the way; use https, or copy the files "
            "and install from the directory"
        )
    if source.startswith("https://"):
        with tempfile.TemporaryDirectory(prefix="hallwatch-pack-") as tmp:
            archive = Path(tmp) / "pack.zip"
            _download(source, archive)
            with _archive(archive, source) as found:
                yield found
        return
    path = Path(source)
    if path.is_dir():
        yield _Directory(path)
    elif path.is_file():
        with _archive(path, source) as found:
            yield found
    else:
        raise PackError(f"{source}: no such directory, zip file or URL")


def _download(url: str, archive: Path) -> None:
    """Fetch `url` into `archive`, never more than MAX_DOWNLOAD_BYTES."""
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=60) as response, archive.open("wb") as out:
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                if received > MAX_DOWNLOAD_BYTES:
                    raise PackError(f"{url}: larger than {MAX_DOWNLOAD_BYTES} bytes; not a pack")
                out.write(chunk)
    except OSError as exc:
        raise PackError(f"cannot download {url}: {exc}") from None


@contextmanager
def _archive(path: Path, source: str) -> Iterator[_Archive]:
    try:
        with zipfile.ZipFile(path) as bundle:
            yield _Archive(bundle, source)
    except zipfile.BadZipFile:
        raise PackError(f"{source}: not a directory or a valid zip file") from None
