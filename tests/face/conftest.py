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


@pytest.fixture(scope="session")
def hall_gallery(pipeline: FacePipeline, faces_dir: Path, tmp_path_factory) -> Path:
    """A gallery of the 29 shared identities, each enrolled from their first photo (its
    file: open it with `pipeline.open_gallery`)."""
    from models.enrolment import enrol_photos
    from models.evaluation import photos_in

    path = tmp_path_factory.mktemp("hall-gallery") / "gallery.db"
    gallery = pipeline.open_gallery(path)
    for person in sorted((faces_dir / "identities").iterdir()):
        enrol_photos(pipeline, gallery, person.name, person.name, photos_in(person)[:1])
    gallery.close()
    return path
