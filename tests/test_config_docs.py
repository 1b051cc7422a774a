"""docs/config.md is generated from the configuration models, and every key is described
where it is declared, so a new key without a description fails here."""

from __future__ import annotations

import importlib
import re

import pydantic

from base.config import Section
from hallwatch import config_docs
from tests.command_helpers import run_hallwatch
from tests.conftest import REPO

LAYERS = ("base", "drivers", "mqtt", "models", "edge", "rules", "hallwatch")


def configuration_models() -> set[type[pydantic.BaseModel]]:
    """Every configuration section in the tree (each module that names Section is imported)."""
    for top in LAYERS:
        for path in sorted((REPO / top).rglob("*.py")):
            if "Section" in path.read_text(encoding="utf-8"):
                parts = path.relative_to(REPO).with_suffix("").parts
                importlib.import_module(".".join(p for p in parts if p != "__init__"))
    found: set[type[pydantic.BaseModel]] = set()
    todo = [Section]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.split(".")[0] in LAYERS and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_committed_reference_matches_the_models():
    committed = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    assert committed == config_docs.render(), "regenerate: hallwatch config-docs > docs/config.md"


def test_every_table_and_key_is_described():
    undescribed = []
    for model in configuration_models() | set(config_docs.models()):
        if not (model.__doc__ or "").strip():
            undescribed.append(f"{model.__module__}.{model.__name__} (no docstring)")
        undescribed += [
            f"{model.__module__}.{model.__name__}.{key}"
            for key, info in model.model_fields.items()
            if len((info.description or "").strip()) < 10
        ]
    assert undescribed == [], "give each a docstring / pydantic.Field(description=...)"


def test_every_configuration_model_is_in_the_reference():
    # A leading underscore marks a private reader of one table of another file (`_FaceFile`);
    # a base class (`ModelFile`) is documented through the tables that extend it.
    # A station's `Timetable` is written by the rules service from the policy's documented
    # `schedules` and `calendar`, never by an operator.
    written_by_the_centre = {"Timetable"}
    documented = set(config_docs.models())
    missing = sorted(
        m.__name__
        for m in configuration_models()
        if not m.__name__.startswith("_")
        and m.__name__ not in written_by_the_centre
        and not any(issubclass(d, m) for d in documented)
    )
    assert missing == [], "add their file kind to hallwatch/config_docs.py FILE_KINDS"


def test_the_command_prints_the_reference():
    printed = run_hallwatch("config-docs", check=True).stdout
    assert printed == config_docs.render()


def test_every_link_points_at_one_heading():
    text = config_docs.render()
    headings = [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]
    anchors = [config_docs._anchor(heading) for heading in headings]
    assert len(set(anchors)) == len(anchors)
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links and links <= set(anchors)
