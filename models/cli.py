"""`hallwatch models ...`, `hallwatch enroll`, `hallwatch identify`, `hallwatch gallery ...`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from hallwatch.config import ConfigError
from models.gallery import Gallery, GalleryError
from models.images import ImageError, read_image
from models.locations import default_gallery_path, default_models_dir
from models.packs import SHIPPED_PACKS, PackError, PackStore, shipped_manifest
from models.pipeline import FacePipeline, FrameResult
from models.settings import FaceConfig, load_face_config

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Operator mistakes become one readable line, not a traceback."""
    try:
        yield
    except (PackError, ConfigError, GalleryError, ImageError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None


def _models_dir_option(func: F) -> F:
    return click.option(
        "--models-dir", type=click.Path(path_type=Path), default=None,
        help="Installed packs (default: $HALLWATCH_MODELS or <data dir>/models).",
    )(func)


def _pipeline_options(func: F) -> F:
    func = click.option("--config", "config_path", type=click.Path(path_type=Path),
                        help="TOML file with a [face] table.")(func)
    func = click.option("--pack", default=None,
                        help="Installed pack to use (default: the config's, 'permissive').")(func)
    func = _models_dir_option(func)
    return func


def _gallery_option(func: F) -> F:
    return click.option(
        "--gallery", "gallery_path", type=click.Path(path_type=Path), default=None,
        help="Gallery database (default: <data dir>/gallery.db).",
    )(func)


def _json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(func)


def _pipeline(models_dir: Path | None, pack: str | None, config_path: Path | None) -> FacePipeline:
    config: FaceConfig = load_face_config(config_path)
    pack_dir, _ = PackStore(models_dir or default_models_dir()).open(pack or config.pack)
    return FacePipeline.from_pack(pack_dir, config)


def _emit(as_json: bool, data: Any, human: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else human)


@click.group()
def models() -> None:
    """Face model packs: list, verify, install, evaluate.

    \b
    Example:
        hallwatch models install --from /media/usb/models
        hallwatch models list
    """


@models.command("list")
@_models_dir_option
@_json_option
def list_packs(models_dir: Path | None, as_json: bool) -> None:
    """Show every shipped pack with its licence and whether it is installed and intact.

    \b
    Example:
        hallwatch models list --json
    """
    with _clear_errors():
        store = PackStore(models_dir)
        installed = {p.name: p for p in store.installed()}
        names = sorted({p.name for p in SHIPPED_PACKS.iterdir() if p.is_dir()} | set(installed))
        rows = []
        for name in names:
            pack = installed.get(name)
            manifest = pack.manifest if pack and pack.manifest else None
            if manifest is None and (SHIPPED_PACKS / name).is_dir():
                manifest = shipped_manifest(name)
            status = "not installed" if pack is None else ("broken" if pack.problem else "ok")
            rows.append({
                "name": name, "status": status,
                "licence": manifest.licence if manifest else None,
                "commercial_use": manifest.commercial_use if manifest else None,
                "description": manifest.description if manifest else None,
                "problem": pack.problem if pack else None,
            })
    human = "\n".join(
        f"{r['name']:<22} {r['status']:<14} "
        f"{'commercial use OK' if r['commercial_use'] else 'NON-COMMERCIAL'}  {r['licence']}"
        for r in rows
    )
    _emit(as_json, {"models_dir": str(store.root), "packs": rows},
          f"packs in {store.root}:\n{human}")


@models.command()
@click.argument("names", nargs=-1)
@_models_dir_option
@_json_option
def verify(names: tuple[str, ...], models_dir: Path | None, as_json: bool) -> None:
    """Check every file of installed packs against its pinned sha256 (exit 1 on a mismatch).

    \b
    Example:
        hallwatch models verify permissive
    """
    store = PackStore(models_dir)
    packs = [p for p in store.installed() if not names or p.name in names]
    missing = set(names) - {p.name for p in packs}
    results = [{"name": p.name, "ok": p.problem is None, "problem": p.problem} for p in packs]
    results += [{"name": n, "ok": False, "problem": "not installed"} for n in sorted(missing)]
    if not results:
        raise click.ClickException(f"no packs installed in {store.root}")
    _emit(as_json, results, "\n".join(
        f"{r['name']}: {'ok' if r['ok'] else r['problem']}" for r in results))
    if not all(r["ok"] for r in results):
        raise SystemExit(1)


@models.command()
@click.option("--from", "source", required=True,
              help="A directory, a zip file, or an http(s) URL of a zip (downloaded only then).")
@click.option("--pack", default=None,
              help="Shipped manifest to install against, if the source has no manifest.toml.")
@_models_dir_option
@_json_option
def install(source: str, pack: str | None, models_dir: Path | None, as_json: bool) -> None:
    """Install a pack: every file is checked against its sha256 before it is used.

    \b
    Example:
        hallwatch models install --from /media/usb/models --pack permissive
    """
    with _clear_errors():
        store = PackStore(models_dir)
        manifest = store.install(source, pack)
    _emit(as_json, {"installed": manifest.name, "path": str(store.path(manifest.name))},
          f"installed {manifest.name} in {store.path(manifest.name)} ({manifest.licence})")


@models.command("eval")
@click.option("--faces", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help="Folder with identities/<person>/ and unknown/ photos.")
@_pipeline_options
@_json_option
def eval_pack(faces: Path, models_dir: Path | None, pack: str | None,
              config_path: Path | None, as_json: bool) -> None:
    """Score distributions, false-accept/false-reject rates and the threshold's margin.

    \b
    Example:
        hallwatch models eval --faces ./faces --pack scrfd_mobilefacenet
    """
    from models.evaluation import evaluate
    from models.report import evaluation_report

    with _clear_errors():
        pipeline = _pipeline(models_dir, pack, config_path)
        result = evaluate(pipeline, faces)
    data, human = evaluation_report(pipeline.manifest.name, result)
    _emit(as_json, data, human)


def _describe(result: FrameResult) -> dict[str, Any]:
    found = result.search
    return {
        "accepted": result.accepted,
        "staff_id": result.match.staff_id if result.match else None,
        "score": round(found.score, 4) if found and found.staff_id else None,
        "candidate": found.staff_id if found else None,
        "margin": round(found.margin, 4) if found and found.runner_up_id else None,
        "runner_up": found.runner_up_id if found else None,
        "liveness": round(result.liveness, 4) if result.liveness is not None else None,
        "faces": result.face_count,
        "rejection": result.rejection.code if result.rejection else None,
        "reason": result.reason,
    }


def _human_line(name: str, row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{name}: error: {row['error']}"
    parts = [f"{name}:"]
    if row["accepted"]:
        parts.append(f"{row['staff_id']}")
    elif row["candidate"] and row["score"] is not None:
        parts.append(f"rejected (closest {row['candidate']})")
    else:
        parts.append("rejected")
    for key in ("score", "margin", "liveness"):
        if row[key] is not None:
            parts.append(f"{key} {row[key]:.2f}")
    if row["faces"] > 1:
        parts.append(f"{row['faces']} faces")
    if row["reason"]:
        parts.append(f"- {row['reason']}")
    return " ".join(parts)


@click.command()
@click.argument("images", nargs=-1, required=True)
@_pipeline_options
@_gallery_option
@_json_option
def identify(images: tuple[str, ...], models_dir: Path | None, pack: str | None,
             config_path: Path | None, gallery_path: Path | None, as_json: bool) -> None:
    """Who is in each photo: staff id, score, margin, liveness, or why not.

    Bad files are reported one by one; the others are still identified.

    \b
    Example:
        hallwatch identify visitor.jpg --json
    """
    with _clear_errors():
        pipeline = _pipeline(models_dir, pack, config_path)
        gallery = pipeline.open_gallery(gallery_path or default_gallery_path())
    rows = {}
    for image in images:
        try:
            rows[image] = _describe(pipeline.analyse(read_image(image), gallery))
        except ImageError as exc:
            rows[image] = {"error": str(exc)}
    gallery.close()
    _emit(as_json, [{"image": k, **v} for k, v in rows.items()],
          "\n".join(_human_line(k, v) for k, v in rows.items()))


@click.command()
@click.argument("staff_id")
@click.argument("photos", nargs=-1)
@click.option("--name", default=None, help="Display name (default: the staff id).")
@click.option("--replace", is_flag=True, help="Re-enrol: replace this person's templates.")
@click.option("--camera", default=None,
              help="Enrol from live captures: a V4L2 device (0, /dev/video0), "
                   "'picamera', or a folder/video to replay.")
@click.option("--captures", default=3, show_default=True, help="Live captures to keep.")
@_pipeline_options
@_gallery_option
@_json_option
def enroll(staff_id: str, photos: tuple[str, ...], name: str | None, replace: bool,
           camera: str | None, captures: int, models_dir: Path | None, pack: str | None,
           config_path: Path | None, gallery_path: Path | None, as_json: bool) -> None:
    """Enrol a staff member from photos or camera captures (each quality-gated).

    A face that already matches another person is refused.

    \b
    Example:
        hallwatch enroll S017 s017-front.jpg s017-left.jpg --name "Li Wei"
        hallwatch enroll S017 --camera /dev/video0 --replace
    """
    from models.enrolment import enrol_captures, enrol_photos

    if bool(photos) == bool(camera):
        raise click.UsageError("give either PHOTOS or --camera")
    with _clear_errors():
        pipeline = _pipeline(models_dir, pack, config_path)
        gallery = pipeline.open_gallery(gallery_path or default_gallery_path())
        try:
            if camera:
                from drivers.camera import capture_frames, open_camera

                with open_camera(camera) as source:
                    report = enrol_captures(
                        pipeline, gallery, staff_id, name or staff_id,
                        capture_frames(source, limit=captures * 20), wanted=captures,
                        replace=replace,
                    )
            else:
                report = enrol_photos(pipeline, gallery, staff_id, name or staff_id, photos,
                                      replace=replace)
        finally:
            gallery.close()
    data = {"staff_id": staff_id, "templates": report.templates,
            "accepted": report.accepted, "refused": report.refused}
    refused = "".join(f"\n  skipped {k}: {v}" for k, v in report.refused.items())
    _emit(as_json, data, f"enrolled {staff_id}: {report.templates} templates "
                         f"({len(report.accepted)} new){refused}")


@click.group()
def gallery() -> None:
    """The staff gallery on this device: list and delete.

    \b
    Example:
        hallwatch gallery list
    """


@gallery.command("list")
@_pipeline_options
@_gallery_option
@_json_option
def list_people(models_dir: Path | None, pack: str | None, config_path: Path | None,
                gallery_path: Path | None, as_json: bool) -> None:
    """Enrolled staff and their template counts.

    \b
    Example:
        hallwatch gallery list --json
    """
    with _clear_errors():
        people = _open_gallery(models_dir, pack, config_path, gallery_path).people()
    _emit(as_json,
          [{"staff_id": p.staff_id, "name": p.name, "templates": p.templates,
            "enrolled_at": p.enrolled_at.isoformat()} for p in people],
          "\n".join(f"{p.staff_id}\t{p.name}\t{p.templates} templates" for p in people)
          or "no one enrolled")


@gallery.command()
@click.argument("staff_id")
@_pipeline_options
@_gallery_option
def delete(staff_id: str, models_dir: Path | None, pack: str | None,
           config_path: Path | None, gallery_path: Path | None) -> None:
    """Delete a staff member and every template of theirs.

    \b
    Example:
        hallwatch gallery delete S017
    """
    with _clear_errors():
        _open_gallery(models_dir, pack, config_path, gallery_path).delete(staff_id)
    click.echo(f"deleted {staff_id}")


def _open_gallery(models_dir: Path | None, pack: str | None, config_path: Path | None,
                  gallery_path: Path | None) -> Gallery:
    """The gallery for a pack's recogniser, without loading any model."""
    config = load_face_config(config_path)
    _, manifest = PackStore(models_dir or default_models_dir()).open(pack or config.pack)
    return Gallery.for_recognizer(gallery_path or default_gallery_path(), manifest.recognizer)
