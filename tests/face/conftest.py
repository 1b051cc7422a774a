"""Face-stack fixtures: packs installed once per session from ../shared/models."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.evaluation import Evaluation, evaluate
from models.packs import PackStore
from models.pipeline import FacePipeline

PACKS = ("permissive", "scrfd_mobilefacenet")


@pytest.fixture(scope="session")
def pipelines(pack_store: PackStore) -> dict[str, FacePipeline]:
    return {name: FacePipeline.from_pack(pack_store.path(name)) for name in PACKS}


@pytest.fixture(scope="session")
def pipeline(pipelines: dict[str, FacePipeline]) -> FacePipeline:
    """The default (permissive) pack with the default configuration."""
    return pipelines["permissive"]


@pytest.fixture(scope="session")
def evaluations(pipelines: dict[str, FacePipeline], faces_dir: Path) -> dict[str, Evaluation]:
    return {name: evaluate(p, faces_dir) for name, p in pipelines.items()}
