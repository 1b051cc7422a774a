"""`hallwatch enrol`: into this device's gallery (models.cli_staff), at a running station
through its control socket, or into the central store from photos (`--central`), from
where the rules service sends the templates to every station of the person's site.

Central enrolment needs the face models (to compute embeddings) and the rules store, so
it lives here at the roof: the rules package never imports the face stack. Its duplicate
check runs against every face template of the whole directory, not one station's.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from base.errors import HallwatchError
from models.cli_staff import enrol as local_enrol
from rules.lookalikes import LOOKALIKE_THRESHOLD, face_scores, lookalikes_in

if TYPE_CHECKING:
    import numpy as np

    from rules.gallery_store import GalleryQueries


class DuplicateFace(HallwatchError):
    """A face that already belongs to someone else in the directory."""


def enrol_centrally(
    store: GalleryQueries,
    site: str,
    staff_id: str,
    name: str,
    model: str,
    embeddings: list[np.ndarray],
    threshold: float,
    *,
    by: str,
    at: datetime,
    replace: bool = False,
    lookalike_threshold: float = LOOKALIKE_THRESHOLD,
) -> tuple[int, dict[str, float]]:
    """Keep the face templates centrally, refusing a face that is someone else's (its
    best score against anyone of the directory reaches `threshold`) and pairing it with
    everyone within `lookalike_threshold`; the site's new gallery version and the
    lookalikes ({staff id: score})."""
    from rules.gallery_store import NewTemplate

    data = [e.astype("float32").tobytes() for e in embeddings]
    scores = face_scores(store, model, staff_id, data)
    if scores and (clash := max(scores, key=scores.__getitem__)) and scores[clash] >= threshold:
        raise DuplicateFace(
            f"refused: this face already matches {clash} ({_names(store).get(clash) or clash}) "
            f"at {scores[clash]:.2f}; one person cannot hold two staff records. If {clash} was "
            "enrolled by mistake, erase them first."
        )
    close = lookalikes_in(scores, lookalike_threshold)
    templates = [NewTemplate("face", model, d) for d in data]
    version = store.add_templates(
        site, staff_id, name, templates, source=f"central:{by}", at=at, replace=replace,
        lookalikes=close,
    )  # fmt: skip
    return version, close


def _known(names: dict[str, str | None], staff_id: str) -> str:
    """ "王芳 (S011)", or the id alone when no name is known."""
    name = names.get(staff_id)
    return f"{name} ({staff_id})" if name and name != staff_id else staff_id


def _names(store: GalleryQueries) -> dict[str, str | None]:
    return {e.staff_id: e.name for s in store.gallery_sites() for e in store.gallery_changes(s)}


def _central(
    config_file: Path, site: str | None, staff_id: str, name: str | None, photos: tuple[str, ...],
    replace: bool, pipeline_args: dict[str, Any],
) -> str:  # fmt: skip
    from models.cli_options import load_pipeline
    from models.enrolment import photo_templates
    from mqtt.ids import utc_now
    from rules.acting import Actor, audit_row
    from rules.backend import open_store
    from rules.directory_store import seed_from_policy
    from rules.policy import load_policy
    from rules.service import load_config

    config = load_config(config_file)
    store = open_store(config.rules.db)
    try:
        # The directory says where the person works and what they are called.
        seed_from_policy(store, load_policy(config.rules.policy))
        directory = store.directory()
    finally:
        store.close()
    window = directory.home_window(staff_id)
    site = site or (window.site if window else None)
    if site is None:
        raise click.UsageError(
            f"{staff_id} works at no window of the directory: add them first "
            "(hallwatch staff add), or give --site"
        )
    name = name or directory.name(staff_id)
    pipeline = load_pipeline(
        pipeline_args["models_dir"], pipeline_args["pack"], pipeline_args["config_path"]
    )
    refused: dict[str, str] = {}
    templates = photo_templates(pipeline, photos, refused)
    skipped = "".join(f"\n  skipped {photo}: {why}" for photo, why in refused.items())
    if not templates:
        raise DuplicateFace(f"no usable face for {staff_id}: nothing enrolled{skipped}")
    actor = Actor.cli()
    at = utc_now()
    store = open_store(config.rules.db)
    try:
        version, close = enrol_centrally(
            store, site, staff_id, name, pipeline.manifest.recognizer.sha256,
            [t.embedding for t in templates], pipeline.duplicate_threshold,
            by=actor.user, at=at, replace=replace,
            lookalike_threshold=config.rules.lookalike_threshold,
        )  # fmt: skip
        alike = "".join(f"; lookalike of {other} ({score:.2f})" for other, score in close.items())
        what = f"{len(templates)} face templates at {site}{alike}"
        store.add_action(audit_row(actor, "enrol", staff_id, what, at))
        names = _names(store)
    finally:
        store.close()
    flagged = "".join(
        f"\n  lookalike: {_known(names, other)} scores {score:.2f} against this "
        "face; both confirm with a finger or staff number until you decide "
        f"(hallwatch gallery lookalikes decide {staff_id} {other} --note ...)"
        for other, score in sorted(close.items(), key=lambda item: -item[1])
    )
    return (
        f"enrolled {staff_id} centrally at {site}: {len(templates)} templates (gallery "
        f"version {version}; the rules service sends it to every station){flagged}{skipped}"
    )


def _at_station(
    socket: Path, staff_id: str, name: str, photos: tuple[str, ...], replace: bool
) -> str:
    from base.control_socket import ask

    request = {
        "command": "enrol-face", "staff_id": staff_id, "name": name, "replace": replace,
        "photos": [str(Path(p).resolve()) for p in photos],
    }  # fmt: skip
    answer = list(ask(socket, request))[-1]
    skipped = "".join(f"\n  skipped {k}: {v}" for k, v in answer.get("refused", {}).items())
    return f"enrolled {staff_id} at the station: {answer['templates']} templates{skipped}"


def _enrol(station_socket: Path | None, central: Path | None, site: str | None, **kwargs: Any):
    if station_socket is None and central is None:
        return click.get_current_context().invoke(local_enrol.callback, **kwargs)
    if station_socket is not None and central is not None:
        raise click.UsageError("give --station-socket or --central, not both")
    photos, staff_id = kwargs["photos"], kwargs["staff_id"]
    if not photos or kwargs["camera"]:
        raise click.UsageError("--station-socket and --central enrol from PHOTOS")
    if central is not None:
        pipeline_args = {k: kwargs[k] for k in ("models_dir", "pack", "config_path")}
        text = _central(
            central, site, staff_id, kwargs["name"], photos, kwargs["replace"], pipeline_args
        )
    else:
        assert station_socket is not None
        name = kwargs["name"] or staff_id
        text = _at_station(station_socket, staff_id, name, photos, kwargs["replace"])
    click.echo(text)
    if len(photos) == 1:
        from models.enrolment import ONE_PHOTO_WARNING

        click.echo(ONE_PHOTO_WARNING, err=True)


enrol = click.Command(
    "enrol",
    callback=_enrol,
    params=[
        *local_enrol.params,
        click.Option(
            ["--station-socket"],
            type=click.Path(dir_okay=False, path_type=Path),
            help="Enrol at the running station listening here (<data_dir>/control.sock): "
            "it computes the templates and sends them to the centre.",
        ),
        click.Option(
            ["--central"],
            type=click.Path(dir_okay=False, path_type=Path),
            help="Enrol into the central store of this rules config (manager.toml): the "
            "rules service sends the templates to every station of the person's site.",
        ),
        click.Option(
            ["--site"], help="With --central: the person's site [default: their window's]."
        ),
    ],
    help=(local_enrol.help or "")
    + """
    --central checks the face against everyone in the directory; --station-socket
    enrols at a running station. Either way every station of the site receives it.

    \b
    Example:
        hallwatch enrol S017 front.jpg left.jpg --name "李伟" --central manager.toml
        hallwatch enrol S017 front.jpg --station-socket /var/lib/hallwatch/control.sock
    """,
    short_help=local_enrol.short_help,
)
