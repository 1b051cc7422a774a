"""Shared test fixtures: where the real test data lives, and private brokers."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the property tests on a fixed seed, so a landing is reproducible; locally each
# run explores new examples (a failure prints the seed to reproduce it).
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HALLWATCH_SHARED", REPO.parent / "shared"))
# Commands the tests spawn (`hallwatch demo`) find the photos and models as `make` gives
# them: the installed package never looks beside the checkout itself.
os.environ["HALLWATCH_SHARED"] = str(SHARED)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared` (or $HALLWATCH_SHARED): real models and photos, test-only data."""
    if not SHARED.is_dir():
        pytest.fail(f"test data not found at {SHARED}; set HALLWATCH_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def models_source(shared_dir: Path) -> Path:
    return shared_dir / "models"


@pytest.fixture(scope="session")
def faces_dir(shared_dir: Path) -> Path:
    return shared_dir / "faces"


@pytest.fixture(scope="session")
def face_manifest(faces_dir: Path) -> list[dict[str, str]]:
    with (faces_dir / "manifest.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def pack_store(tmp_path_factory: pytest.TempPathFactory, models_source: Path):
    """Both shipped packs, installed once from ../shared/models."""
    from models.packs import PackStore

    store = PackStore(tmp_path_factory.mktemp("models"))
    for name in ("permissive", "scrfd_mobilefacenet"):
        store.install(str(models_source), name)
    return store


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    """Broker listeners on free ports with a CA generated for this test session."""
    from tests.support.mosquitto import make_ca

    return make_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def hardened_broker(tmp_path, test_ca):
    """A real Mosquitto with the production configuration: two stations, an agent, two
    rules service instances, the manager commands and a viewer."""
    from mqtt.broker import Deployment, DeviceAccount, ServiceAccount
    from tests.support.mosquitto import Mosquitto, free_port

    listeners = test_ca.model_copy(
        update={"local_port": free_port(), "tls_port": free_port(), "websockets_port": free_port()}
    )
    deployment = Deployment(
        listeners=listeners,
        devices=[
            DeviceAccount(site="hall-01", id="st-01"),
            DeviceAccount(site="hall-01", id="st-02"),
            DeviceAccount(site="hall-01", id="ws-01", role="agent"),
        ],
        services=[
            *Deployment().services,
            ServiceAccount(name="rules-2", role="rules"),
        ],
    )
    with Mosquitto(deployment, tmp_path / "broker") as broker:
        yield broker


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 2 MB file system (tmpfs), so the disk really fills up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


@pytest.fixture
def postgres_url():
    """A PostgreSQL URL on a fresh schema of the test server, dropped after the test."""
    from tests.support.postgres import scratch_schema

    with scratch_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store_at(request, tmp_path):
    """Where a rules store lives, for each backend: `store_at(name)` -> path or URL.

    SQLite: one file per name (one per service instance); PostgreSQL: one schema that
    every name shares, as instances sharing one database do.
    """
    if request.param == "sqlite":
        return lambda name="rules": tmp_path / f"{name}.db"
    url = request.getfixturevalue("postgres_url")
    return lambda name="rules": url


@pytest.fixture
def store(store_at):
    """An open rules store, on each backend."""
    from rules.backend import open_store

    opened = open_store(store_at())
    yield opened
    opened.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hallwatch")
    group.addoption(
        "--differential-months",
        type=int,
        default=1500,
        help="person-months the engine is checked on against docs/rules.md (default 1500)",
    )
    group.addoption(
        "--incremental-examples",
        type=int,
        default=12,
        help="histories incremental recomputation is checked on against a full replay",
    )
    group.addoption(
        "--incremental-seed",
        type=int,
        default=20,
        help="seed of those histories (fixed, so CI is reproducible)",
    )
    group.addoption(
        "--differential-seed",
        type=int,
        default=14,
        help="seed of the differential test's person-months (fixed, so CI is reproducible)",
    )
    group.addoption(
        "--replug-seconds",
        type=float,
        default=12.0,
        help="how long the fingerprint sensor is unplugged and replugged in a loop under a "
        "running station (default 12; the acceptance run: 60)",
    )


# Files that build the same session-wide fixtures (the face packs' evaluation, the enrolled
# station data) run on one worker, so `make test`'s workers (pytest-xdist, --dist loadgroup)
# build each once; every other file is a group of its own.
SHARED_FIXTURE_GROUPS = ("face", "station")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        where = item.path.relative_to(tests)
        group = where.parts[0] if where.parts[0] in SHARED_FIXTURE_GROUPS else str(where)
        item.add_marker(pytest.mark.xdist_group(group))
