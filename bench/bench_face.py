"""Face pipeline benchmark: per-stage milliseconds, end to end against insightface.

Runs on the real photos of ../shared/faces (or $HALLWATCH_SHARED). The reference is
insightface's own `FaceAnalysis` with the same two models (SCRFD det_500m +
MobileFaceNet), `det_size=(640, 640)`, in the same process and run. Prints figures and
ratios; targets: >= 1.5x faster end to end at equal accuracy, 10,000-person search
under 2 ms, station process under 300 MB.

    .venv/bin/python bench/bench_face.py
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models.evaluation import photos_in  # noqa: E402
from models.gallery import Gallery  # noqa: E402
from models.images import read_image  # noqa: E402
from models.packs import PackStore  # noqa: E402
from models.pipeline import FacePipeline  # noqa: E402
from models.recognition import l2_normalise  # noqa: E402

SHARED = Path(os.environ.get("HALLWATCH_SHARED", REPO.parent / "shared"))
STAGES = ("detect", "align", "liveness", "embed", "search")
GALLERY_PEOPLE = 10_000
TEMPLATES_PER_PERSON = 3


def load_photos() -> dict[str, list[np.ndarray]]:
    identities = SHARED / "faces" / "identities"
    return {p.name: [read_image(f) for f in photos_in(p)] for p in sorted(identities.iterdir())}


def install_packs(root: Path) -> PackStore:
    store = PackStore(root / "models")
    for name in ("permissive", "scrfd_mobilefacenet"):
        store.install(str(SHARED / "models"), name)
    return store


def rank1(embed, photos: dict[str, list[np.ndarray]]) -> tuple[int, int, float]:
    """Enrol each person's first photo, probe with the others: rank-1 hits, probes, ms/frame."""
    names, gallery = [], []
    for name, images in photos.items():
        vector = embed(images[0])
        if vector is not None:
            names.append(name)
            gallery.append(vector)
    matrix = np.stack(gallery)
    hits = probes = 0
    times = []
    for name, images in photos.items():
        for image in images[1:]:
            probes += 1
            start = time.perf_counter()
            vector = embed(image)
            if vector is not None:
                hits += names[int(np.argmax(matrix @ vector))] == name
            times.append((time.perf_counter() - start) * 1e3)
    return hits, probes, statistics.mean(times)


def reference(pack_dir: Path):
    """insightface FaceAnalysis on a folder holding only the pack's two ONNX files."""
    from insightface.app import FaceAnalysis

    folder = Path(tempfile.mkdtemp(prefix="bench-ref-"))
    for name in ("det_500m.onnx", "mobilefacenet_foamliu_128d.onnx"):
        (folder / name).symlink_to(pack_dir / name)
    app = FaceAnalysis(name=str(folder), allowed_modules=["detection", "recognition"],
                       providers=["CPUExecutionProvider"])
    app.prepare(ctx_id=-1, det_size=(640, 640))

    def embed(image: np.ndarray) -> np.ndarray | None:
        faces = app.get(image)
        if not faces:
            return None
        largest = max(faces, key=lambda f: (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]))
        return l2_normalise(largest.embedding)

    return embed


def ours(pipeline: FacePipeline, gallery: Gallery, stage_times: dict[str, list[float]]):
    def embed(image: np.ndarray) -> np.ndarray | None:
        result = pipeline.analyse(image, gallery)
        for stage, ms in result.timings_ms.items():
            stage_times.setdefault(stage, []).append(ms)
        return result.embedding

    return embed


def search_benchmark(dimensions: int) -> float:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((GALLERY_PEOPLE * TEMPLATES_PER_PERSON, dimensions))
    vectors = l2_normalise(vectors.astype(np.float32))
    with tempfile.TemporaryDirectory() as tmp:
        gallery = Gallery(Path(tmp) / "g.db", "bench", dimensions)
        gallery.import_templates(
            (f"S{i // TEMPLATES_PER_PERSON:05d}", "x", v, "bench") for i, v in enumerate(vectors)
        )
        probes = vectors[rng.integers(0, len(vectors), 2000)]
        for probe in probes[:100]:
            gallery.search(probe)
        start = time.perf_counter()
        for probe in probes:
            gallery.search(probe)
        elapsed = (time.perf_counter() - start) * 1e3 / len(probes)
        gallery.close()
    return elapsed


def station_memory(pack_dir: Path) -> float:
    """Peak RSS (MB) of a fresh process doing only what the station does."""
    script = f"""
import resource, sys
sys.path.insert(0, {str(REPO)!r})
import numpy as np, tempfile
from pathlib import Path
from models.pipeline import FacePipeline
from models.evaluation import photos_in
from models.images import read_image
from models.recognition import l2_normalise
pipeline = FacePipeline.from_pack(Path({str(pack_dir)!r}))
tmp = tempfile.mkdtemp()
gallery = pipeline.open_gallery(Path(tmp) / "g.db")
rng = np.random.default_rng(0)
vectors = l2_normalise(rng.standard_normal(({GALLERY_PEOPLE * TEMPLATES_PER_PERSON}, 128)))
gallery.import_templates((f"S{{i // 3:05d}}", "x", v, "b") for i, v in enumerate(vectors))
for photo in photos_in(Path({str(SHARED / "faces" / "identities" / "fr_obama")!r})):
    pipeline.analyse(read_image(photo), gallery)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    return float(output.stdout.strip().splitlines()[-1])


def main() -> None:
    photos = load_photos()
    count = sum(len(v) for v in photos.values())
    print(f"{count} photos of {len(photos)} people from {SHARED / 'faces'}; "
          f"rank-1 protocol: first photo enrolled, the others probed")
    with tempfile.TemporaryDirectory() as tmp:
        store = install_packs(Path(tmp))
        ref_embed = reference(store.path("scrfd_mobilefacenet"))
        rows = []
        stage_table = {}
        for pack in ("scrfd_mobilefacenet", "permissive"):
            pipeline = FacePipeline.from_pack(store.path(pack))
            gallery = pipeline.open_gallery(Path(tmp) / f"{pack}.db")
            stage_times: dict[str, list[float]] = {}
            embed = ours(pipeline, gallery, stage_times)
            embed(photos["fr_obama"][0])  # warm-up
            stage_times.clear()
            rows.append((f"hallwatch {pack}", *rank1(embed, photos)))
            stage_table[pack] = {s: statistics.mean(stage_times[s]) for s in STAGES
                                 if s in stage_times}
        ref_embed(photos["fr_obama"][0])
        rows.insert(0, ("insightface FaceAnalysis (same SCRFD + MobileFaceNet)",
                        *rank1(ref_embed, photos)))
        memory = station_memory(store.path("permissive"))

    print("\nper-stage milliseconds (mean per probe frame)")
    print(f"{'pack':<22}" + "".join(f"{s:>10}" for s in STAGES))
    for pack, stages in stage_table.items():
        print(f"{pack:<22}" + "".join(f"{stages.get(s, 0.0):>10.2f}" for s in STAGES))

    reference_ms = rows[0][3]
    print("\nend to end per frame (decode excluded; ours includes liveness and search)")
    for name, hits, probes, ms in rows:
        print(f"  {name:<55} {ms:7.2f} ms  rank-1 {hits}/{probes}  "
              f"speed-up x{reference_ms / ms:.2f}")

    search_ms = search_benchmark(128)
    print(f"\n1:N search, {GALLERY_PEOPLE} people x {TEMPLATES_PER_PERSON} templates: "
          f"{search_ms:.3f} ms per probe (target < 2 ms: {'met' if search_ms < 2 else 'MISSED'})")
    print(f"station process peak RSS (permissive pack, {GALLERY_PEOPLE}-person gallery): "
          f"{memory:.0f} MB (target < 300 MB: {'met' if memory < 300 else 'MISSED'})")
    print(f"this bench process peak RSS (with insightface loaded): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
