"""`hallwatch models list | verify | install | eval | calibrate`: the face model packs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from models.cli_options import (
    F,
    emit,
    gallery_option,
    json_option,
    load_pipeline,
    models_dir_option,
    pipeline_options,
)
from models.locations import default_gallery_path
from models.packs import SHIPPED_PACKS, PackStore, shipped_manifest

if TYPE_CHECKING:
    from models.pipeline import FacePipeline


@click.group()
def models() -> None:
    """Face model packs: list, verify, install, evaluate.

    \b
    Example:
        hallwatch models install --from /media/usb/models
        hallwatch models list
    """


@models.command("list")
@models_dir_option
@json_option
def list_packs(models_dir: Path | None, as_json: bool) -> None:
    """Show every shipped pack with its licence and whether it is installed and intact.

    \b
    Example:
        hallwatch models list --json
    """
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
        rows.append(
            {
                "name": name,
                "status": status,
                "licence": manifest.licence if manifest else None,
                "commercial_use": manifest.commercial_use if manifest else None,
                "description": manifest.description if manifest else None,
                "problem": pack.problem if pack else None,
            }
        )
    human = "\n".join(
        f"{r['name']:<22} {r['status']:<14} "
        f"{'commercial use OK' if r['commercial_use'] else 'NON-COMMERCIAL'}  {r['licence']}"
        for r in rows
    )
    emit(
        as_json, {"models_dir": str(store.root), "packs": rows}, f"packs in {store.root}:\n{human}"
    )


@models.command()
@click.argument("names", nargs=-1)
@models_dir_option
@json_option
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
    emit(
        as_json,
        results,
        "\n".join(f"{r['name']}: {'ok' if r['ok'] else r['problem']}" for r in results),
    )
    if not all(r["ok"] for r in results):
        raise SystemExit(1)


@models.command()
@click.option(
    "--from",
    "source",
    required=True,
    help="A directory, a zip file, or an https URL of a zip (downloaded only then).",
)
@click.option("--pack", default=None, help="Shipped manifest to install against [permissive].")
@click.option(
    "--own-manifest",
    is_flag=True,
    help="Use the source's own manifest.toml instead: a pack of your own, under a "
    "name no shipped pack has.",
)
@models_dir_option
@json_option
def install(
    source: str, pack: str | None, own_manifest: bool, models_dir: Path | None, as_json: bool
) -> None:
    """Install a pack: every file is checked against its sha256 before it is used.

    \b
    Example:
        hallwatch models install --from /media/usb/models --pack permissive
    """
    store = PackStore(models_dir)
    manifest = store.install(source, pack, own_manifest=own_manifest)
    emit(
        as_json,
        {"installed": manifest.name, "path": str(store.path(manifest.name))},
        f"installed {manifest.name} in {store.path(manifest.name)} ({manifest.licence})",
    )


# -- eval --degrade: degraded photos (blur, light, JPEG, rotation, size, mask, mirror) --
def degrade_options(func: F) -> F:
    func = click.option(
        "--seed", default=0, show_default=True, help="Draws the probes and the masks' colours."
    )(func)
    func = click.option(
        "--all-photos", is_flag=True, help="With --degrade: every probe photo, not one a person."
    )(func)
    func = click.option(
        "--kind",
        "kinds",
        multiple=True,
        help="With --degrade: only this kind (repeatable): blur, dark, bright, jpeg, "
        "rotation, small, mask, mirror [all].",
    )(func)
    func = click.option(
        "--degrade",
        is_flag=True,
        help="Degrade the probes at run time and count, per kind, accept / second factor / "
        "reject, the rejections that say what to do, and false accepts.",
    )(func)
    return func


def eval_degraded(
    pipeline: FacePipeline, faces: Path, kinds: tuple[str, ...], all_photos: bool, seed: int
) -> tuple[dict[str, Any], str]:
    from models.degradations import KINDS
    from models.degraded_eval import degraded_report, evaluate_degraded

    if unknown := set(kinds) - {k.name for k in KINDS}:
        known = ", ".join(k.name for k in KINDS)
        raise click.BadParameter(f"no kind {', '.join(sorted(unknown))}: choose from {known}")
    chosen = tuple(k for k in KINDS if not kinds or k.name in kinds)
    result = evaluate_degraded(pipeline, faces, kinds=chosen, all_photos=all_photos, seed=seed)
    return degraded_report(pipeline.manifest.name, result)


# -- eval ---------------------------------------------------------------------------------
@models.command("eval")
@click.option(
    "--faces",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Folder with identities/<person>/ and unknown/ photos.",
)
@click.option(
    "--embeddings",
    is_flag=True,
    help="Compare enrolment from 1 photo with 3 (best of them, or combined into one "
    "template), and plain with mirror-averaged embeddings.",
)
@pipeline_options
@degrade_options
@json_option
def eval_pack(
    faces: Path,
    embeddings: bool,
    models_dir: Path | None,
    pack: str | None,
    config_path: Path | None,
    degrade: bool,
    kinds: tuple[str, ...],
    all_photos: bool,
    seed: int,
    as_json: bool,
) -> None:
    """Score distributions, false-accept/false-reject rates and the threshold's margin.

    With --degrade: the same photos blurred, darkened, overexposed, JPEG-compressed,
    turned, shrunk, masked and mirrored at run time, and what the station would say.
    With --embeddings: accepts, second factors, false accepts and score margins with
    several enrolment photos (combined or not) and mirror-averaged embeddings.

    \b
    Example:
        hallwatch models eval --faces ./faces --pack scrfd_mobilefacenet
        hallwatch models eval --faces ./faces --degrade --kind mask --kind dark
        hallwatch models eval --faces ./faces --embeddings
    """
    from models.evaluation import evaluate
    from models.report import evaluation_report

    pipeline = load_pipeline(models_dir, pack, config_path)
    if degrade:
        emit(as_json, *eval_degraded(pipeline, faces, kinds, all_photos, seed))
        return
    if embeddings:
        from models.embedding_eval import embeddings_report, evaluate_embeddings

        found = evaluate_embeddings(pipeline, faces)
        emit(as_json, *embeddings_report(pipeline.manifest.name, found))
        return
    result = evaluate(pipeline, faces)
    data, human = evaluation_report(pipeline.manifest.name, result)
    emit(as_json, data, human)


@models.command()
@click.option(
    "--target-far",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.001,
    show_default=True,
    help="The false-accept rate wanted per attempt (a stranger accepted as someone).",
)
@pipeline_options
@gallery_option
@json_option
def calibrate(
    target_far: float,
    models_dir: Path | None,
    pack: str | None,
    config_path: Path | None,
    gallery_path: Path | None,
    as_json: bool,
) -> None:
    """Propose thresholds from this hall's gallery: how alike its different people score,
    and how the chance of a false accept grows with their number (1-(1-p)^N).

    Prints the arithmetic: N, the pairs, the impostor quantiles, the per-comparison rate
    and the proposed accept, lower (grey zone) and verify (1:1) thresholds.

    \b
    Example:
        hallwatch models calibrate --target-far 0.001
        hallwatch models calibrate --gallery /var/lib/hallwatch/gallery.db --json
    """
    from models.calibration import calibrate as measure
    from models.calibration import calibration_report

    pipeline = load_pipeline(models_dir, pack, config_path)
    gallery = pipeline.open_gallery(gallery_path or default_gallery_path())
    try:
        result = measure(gallery, target_far)
        names = {p.staff_id: p.name for p in gallery.people()}
    finally:
        gallery.close()
    current = {
        "accept": pipeline.threshold,
        "lower": pipeline.lower_threshold,
        "verify": pipeline.verify_threshold,
    }
    data, human = calibration_report(result, current, names)
    emit(as_json, data, human)
