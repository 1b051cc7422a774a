"""`hallwatch enrol`, `hallwatch identify` and `hallwatch gallery list | delete`.

The face stack is imported inside the commands: their help needs only click.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from models.cli_options import (
    emit,
    gallery_option,
    json_option,
    load_pipeline,
    pipeline_options,
)
from models.locations import default_gallery_path, default_models_dir
from models.packs import PackStore
from models.settings import load_face_config

if TYPE_CHECKING:
    from models.gallery import Gallery
    from models.pipeline import FacePipeline, FrameResult


def _describe(pipeline: FacePipeline, result: FrameResult) -> dict[str, Any]:
    found = result.search
    scored = found is not None and found.staff_id is not None
    return {
        "accepted": result.accepted,
        # accept / second factor / not recognised (None: no face scored); a person with an
        # undecided lookalike is asked for a second factor above the accept threshold too.
        "zone": (
            "second factor"
            if result.candidate
            else pipeline.zone(found.score).value
            if found and scored
            else None
        ),
        "thresholds": {
            "accept": pipeline.threshold,
            "lower": pipeline.lower_threshold,
            "verify": pipeline.verify_threshold,
        },
        "staff_id": result.match.staff_id if result.match else None,
        "score": round(found.score, 4) if found and found.staff_id else None,
        "candidate": found.staff_id if found else None,
        "margin": round(found.margin, 4) if found and found.runner_up_id else None,
        "runner_up": found.runner_up_id if found else None,
        "liveness": round(result.liveness, 4) if result.liveness is not None else None,
        "faces": result.face_count,
        "rejection": result.rejection.code if result.rejection else None,
        "reason": result.photo_reason,
    }


def _human_line(name: str, row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{name}: error: {row['error']}"
    parts = [f"{name}:"]
    if row["accepted"]:
        parts.append(f"{row['staff_id']}")
    elif row["zone"] == "second factor" and not row["rejection"]:
        parts.append(f"second factor needed (candidate {row['candidate']})")
    elif row["candidate"] and row["score"] is not None:
        parts.append(f"rejected (closest {row['candidate']})")
    else:
        parts.append("rejected")
    for key in ("score", "margin", "liveness"):
        if row[key] is not None:
            parts.append(f"{key} {row[key]:.2f}")
    if row["zone"] is not None:
        limits = row["thresholds"]
        parts.append(
            f"zone: {row['zone']} (accept >= {limits['accept']:.3f}, "
            f"second factor >= {limits['lower']:.3f})"
        )
    if row["faces"] > 1:
        parts.append(f"{row['faces']} faces")
    if row["reason"]:
        parts.append(f"- {row['reason']}")
    return " ".join(parts)


@click.command()
@click.argument("images", nargs=-1, required=True)
@pipeline_options
@gallery_option
@json_option
def identify(
    images: tuple[str, ...],
    models_dir: Path | None,
    pack: str | None,
    config_path: Path | None,
    gallery_path: Path | None,
    as_json: bool,
) -> None:
    """Who is in each photo: staff id, score, margin, liveness, or why not.

    Bad files are reported one by one; the others are still identified.

    \b
    Example:
        hallwatch identify visitor.jpg --json
    """
    from models.images import ImageError, read_image

    pipeline = load_pipeline(models_dir, pack, config_path)
    gallery = pipeline.open_gallery(gallery_path or default_gallery_path())
    rows = {}
    for image in images:
        try:
            rows[image] = _describe(pipeline, pipeline.analyse(read_image(image), gallery))
        except ImageError as exc:
            rows[image] = {"error": str(exc)}
    gallery.close()
    emit(
        as_json,
        [{"image": k, **v} for k, v in rows.items()],
        "\n".join(_human_line(k, v) for k, v in rows.items()),
    )


@click.command()
@click.argument("staff_id")
@click.argument("photos", nargs=-1)
@click.option("--name", default=None, help="Display name (default: the staff id).")
@click.option("--replace", is_flag=True, help="Re-enrol: replace this person's templates.")
@click.option(
    "--camera",
    default=None,
    help="Enrol from live captures: a V4L2 device (0, /dev/video0), "
    "'picamera', or a folder/video to replay.",
)
@click.option("--captures", default=3, show_default=True, help="Live captures to keep.")
@pipeline_options
@gallery_option
@json_option
def enrol(
    staff_id: str,
    photos: tuple[str, ...],
    name: str | None,
    replace: bool,
    camera: str | None,
    captures: int,
    models_dir: Path | None,
    pack: str | None,
    config_path: Path | None,
    gallery_path: Path | None,
    as_json: bool,
) -> None:
    """Enrol a staff member from photos or camera captures (each quality-gated).

    A face that already matches another person is refused. With a station's --config
    that identifies by face and finger, a person with no finger enrolled there is warned.

    \b
    Example:
        hallwatch enrol S017 s017-front.jpg s017-left.jpg --name "Li Wei"
        hallwatch enrol S017 --camera /dev/video0 --replace
        hallwatch enrol S017 --camera 0 --config /etc/hallwatch/station.toml
    """
    from drivers.fingerprint.settings import finger_missing
    from models.enrolment import ONE_PHOTO_WARNING, enrol_captures, enrol_photos

    if bool(photos) == bool(camera):
        raise click.UsageError("give either PHOTOS or --camera")
    pipeline = load_pipeline(models_dir, pack, config_path)
    gallery = pipeline.open_gallery(gallery_path or default_gallery_path())
    try:
        if camera:
            from drivers.camera import capture_frames, open_camera

            with open_camera(camera) as source:
                report = enrol_captures(
                    pipeline,
                    gallery,
                    staff_id,
                    name or staff_id,
                    capture_frames(source, limit=captures * 20),
                    wanted=captures,
                    replace=replace,
                )
        else:
            report = enrol_photos(
                pipeline, gallery, staff_id, name or staff_id, photos, replace=replace
            )
    finally:
        gallery.close()
    finger_needed = config_path is not None and finger_missing(config_path, staff_id)
    data = {
        "staff_id": staff_id,
        "templates": report.templates,
        "accepted": report.accepted,
        "refused": report.refused,
    }
    refused = "".join(f"\n  skipped {k}: {v}" for k, v in report.refused.items())
    emit(
        as_json,
        data,
        f"enrolled {staff_id}: {report.templates} templates ({len(report.accepted)} new){refused}",
    )
    if report.templates == 1:
        click.echo(ONE_PHOTO_WARNING, err=True)
    if finger_needed:
        click.echo(
            f"warning: {config_path} identifies by face AND finger, and {staff_id} has "
            f"no finger enrolled there: they cannot clock in until you run\n"
            f"  hallwatch finger enrol {staff_id} --config {config_path}",
            err=True,
        )


@click.group()
def gallery() -> None:
    """The staff gallery on this device: list and delete.

    \b
    Example:
        hallwatch gallery list
    """


@gallery.command("list")
@pipeline_options
@gallery_option
@json_option
def list_people(
    models_dir: Path | None,
    pack: str | None,
    config_path: Path | None,
    gallery_path: Path | None,
    as_json: bool,
) -> None:
    """Enrolled staff and their template counts.

    \b
    Example:
        hallwatch gallery list --json
    """
    people = _open_gallery(models_dir, pack, config_path, gallery_path).people()
    emit(
        as_json,
        [
            {
                "staff_id": p.staff_id,
                "name": p.name,
                "templates": p.templates,
                "enrolled_at": p.enrolled_at.isoformat(),
            }
            for p in people
        ],
        "\n".join(f"{p.staff_id}\t{p.name}\t{p.templates} templates" for p in people)
        or "no one enrolled",
    )


@gallery.command()
@click.argument("staff_id")
@pipeline_options
@gallery_option
def delete(
    staff_id: str,
    models_dir: Path | None,
    pack: str | None,
    config_path: Path | None,
    gallery_path: Path | None,
) -> None:
    """Delete a staff member and every template of theirs.

    \b
    Example:
        hallwatch gallery delete S017
    """
    _open_gallery(models_dir, pack, config_path, gallery_path).delete(staff_id)
    click.echo(f"deleted {staff_id}")


def _open_gallery(
    models_dir: Path | None, pack: str | None, config_path: Path | None, gallery_path: Path | None
) -> Gallery:
    """The gallery for a pack's recogniser, without loading any model."""
    from models.gallery import Gallery

    config = load_face_config(config_path)
    _, manifest = PackStore(models_dir or default_models_dir()).open(pack or config.pack)
    return Gallery.for_recognizer(gallery_path or default_gallery_path(), manifest.recognizer)
