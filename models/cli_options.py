"""Shared pieces of the face commands: options, output, loading.

The face stack (numpy, OpenCV, ONNX Runtime) is imported when a command runs, never to
show its help.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from models.locations import default_models_dir
from models.packs import PackStore
from models.settings import load_face_config

if TYPE_CHECKING:
    from models.pipeline import FacePipeline

F = TypeVar("F", bound=Callable[..., Any])


def models_dir_option(func: F) -> F:
    return click.option(
        "--models-dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Installed packs (default: $HALLWATCH_MODELS or <data dir>/models).",
    )(func)


def pipeline_options(func: F) -> F:
    func = click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        help="TOML file with a [face] table.",
    )(func)
    func = click.option(
        "--pack", default=None, help="Installed pack to use (default: the config's, 'permissive')."
    )(func)
    func = models_dir_option(func)
    return func


def gallery_option(func: F) -> F:
    return click.option(
        "--gallery",
        "gallery_path",
        type=click.Path(path_type=Path),
        default=None,
        help="Gallery database (default: <data dir>/gallery.db).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(func)


def load_pipeline(
    models_dir: Path | None, pack: str | None, config_path: Path | None
) -> FacePipeline:
    from models.pipeline import FacePipeline

    config = load_face_config(config_path)
    pack_dir, _ = PackStore(models_dir or default_models_dir()).open(pack or config.pack)
    return FacePipeline.from_pack(pack_dir, config)


def emit(as_json: bool, data: Any, human: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else human)
