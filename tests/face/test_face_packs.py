"""Model packs: verified install from a directory, a zip or a URL; nothing half-installed."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import ssl
import threading
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from hallwatch.cli import main
from models.packs import SHIPPED_PACKS, PackError, PackStore, verify_pack
from models.pipeline import FacePipeline

PERMISSIVE_FILES = (
    "face_detection_yunet_2023mar.onnx",
    "mobilefacenet_foamliu_128d.onnx",
    "anti_spoof/2.7_80x80_MiniFASNetV2.onnx",
)


def _copy_models(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.md", "*.json"))
    return target


def _leftovers(store: PackStore) -> list[str]:
    return sorted(p.name for p in store.root.iterdir()) if store.root.exists() else []


def test_install_from_directory_verifies_and_lists_licence(tmp_path, models_source):
    store = PackStore(tmp_path / "models")
    manifest = store.install(str(models_source))
    assert manifest.name == "permissive" and manifest.commercial_use
    for name in PERMISSIVE_FILES:
        assert (store.path("permissive") / name).is_file()
    assert verify_pack(store.path("permissive")).name == "permissive"
    assert _leftovers(store) == ["permissive"]


def test_tampered_file_is_refused_and_nothing_is_left(tmp_path, models_source):
    source = _copy_models(models_source, tmp_path / "src")
    target = source / "mobilefacenet_foamliu_128d.onnx"
    os.chmod(target, 0o644)
    data = bytearray(target.read_bytes())
    data[1000] ^= 0xFF
    target.write_bytes(bytes(data))
    store = PackStore(tmp_path / "models")
    with pytest.raises(PackError, match=r"sha256.*not the expected model"):
        store.install(str(source))
    assert _leftovers(store) == []


def test_missing_file_is_refused_and_nothing_is_left(tmp_path, models_source):
    source = _copy_models(models_source, tmp_path / "src")
    shutil.rmtree(source / "anti_spoof")
    store = PackStore(tmp_path / "models")
    with pytest.raises(PackError, match=r"2\.7_80x80_MiniFASNetV2\.onnx.*is not in"):
        store.install(str(source))
    assert _leftovers(store) == []


def test_failed_reinstall_keeps_the_working_pack(tmp_path, models_source):
    store = PackStore(tmp_path / "models")
    store.install(str(models_source))
    broken = _copy_models(models_source, tmp_path / "src")
    (broken / "face_detection_yunet_2023mar.onnx").unlink()
    with pytest.raises(PackError):
        store.install(str(broken))
    assert verify_pack(store.path("permissive")).name == "permissive"
    assert _leftovers(store) == ["permissive"]


def test_tampering_after_install_is_caught_before_loading(tmp_path, models_source):
    store = PackStore(tmp_path / "models")
    store.install(str(models_source))
    model = store.path("permissive") / "face_detection_yunet_2023mar.onnx"
    model.write_bytes(model.read_bytes()[:-10])
    with pytest.raises(PackError, match="failed verification"):
        FacePipeline.from_pack(store.path("permissive"))
    assert store.installed()[0].problem is not None


def _zip_of(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in folder.rglob("*"):
            if path.is_file():
                bundle.write(path, Path("buffalo") / path.relative_to(folder))
    return archive


def test_install_from_zip_finds_files_in_subfolders(tmp_path, models_source):
    archive = _zip_of(models_source, tmp_path / "models.zip")
    store = PackStore(tmp_path / "models")
    assert store.install(str(archive), "scrfd_mobilefacenet").name == "scrfd_mobilefacenet"
    verify_pack(store.path("scrfd_mobilefacenet"))


def test_zip_with_unsafe_paths_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../../escaped.onnx", b"x")
    store = PackStore(tmp_path / "models")
    with pytest.raises(PackError, match="unsafe path"):
        store.install(str(archive))
    assert not (tmp_path / "escaped.onnx").exists()


def test_not_a_zip_or_missing_source_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a zip")
    store = PackStore(tmp_path / "models")
    with pytest.raises(PackError, match="not a directory or a valid zip"):
        store.install(str(junk))
    with pytest.raises(PackError, match="no such directory"):
        store.install(str(tmp_path / "nowhere"))


def test_unavailable_weights_name_the_missing_file(tmp_path, models_source):
    store = PackStore(tmp_path / "models")
    with pytest.raises(PackError, match=r"w600k_mbf\.onnx"):
        store.install(str(models_source), "buffalo_sc")
    assert _leftovers(store) == []


def _serve(directory: Path, tls=None) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert_file, tls.key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_install_from_url_only_when_asked(tmp_path, models_source, test_ca, monkeypatch):
    (tmp_path / "served").mkdir()
    archive = _zip_of(models_source, tmp_path / "served" / "pack.zip")
    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca.ca_file))  # trust the test CA
    server = _serve(tmp_path / "served", tls=test_ca)
    try:
        url = f"https://localhost:{server.server_address[1]}/{archive.name}"
        store = PackStore(tmp_path / "models")
        assert store.install(url).name == "permissive"
        with pytest.raises(PackError, match="cannot download"):
            store.install(url.replace("pack.zip", "absent.zip"))
    finally:
        server.shutdown()
        server.server_close()


def test_loading_a_pack_never_touches_the_network(pack_store, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access while loading models")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in ("permissive", "scrfd_mobilefacenet"):
        loaded = FacePipeline.from_pack(pack_store.path(name))
        assert loaded.embedder.size == 128


def test_cli_list_verify_install(tmp_path, models_source):
    runner = CliRunner()
    models_dir = str(tmp_path / "models")
    result = runner.invoke(
        main, ["models", "install", "--from", str(models_source), "--models-dir", models_dir]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["models", "list", "--models-dir", models_dir])
    assert result.exit_code == 0
    assert "permissive" in result.output and "MIT" in result.output
    assert "NON-COMMERCIAL" in result.output  # the InsightFace packs say so
    assert runner.invoke(main, ["models", "verify", "--models-dir", models_dir]).exit_code == 0
    (Path(models_dir) / "permissive" / "mobilefacenet_foamliu_128d.onnx").write_bytes(b"x")
    result = runner.invoke(main, ["models", "verify", "--models-dir", models_dir, "--json"])
    assert result.exit_code == 1 and "sha256" in result.output
    result = runner.invoke(
        main, ["models", "install", "--from", str(tmp_path / "nowhere"), "--models-dir", models_dir]
    )
    assert result.exit_code == 1 and "no such directory" in result.output


def _toy_recognizer(path: Path, dimensions: int) -> None:
    """A real, runnable ONNX recogniser (a fixed random projection) of another size."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(0).standard_normal((3 * 112 * 112, dimensions))
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["input.1"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["embedding"]),
        ],
        "toy",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, dimensions])],
        [numpy_helper.from_array(weights.astype(np.float32), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)


def test_an_operator_pack_with_its_own_manifest_and_a_512d_recogniser(
    tmp_path, models_source, faces_dir
):
    """What installing w600k_r50 looks like: the operator's manifest pins the new file."""
    from models.images import read_image
    from models.packs import SHIPPED_PACKS, sha256_of

    source = _copy_models(models_source, tmp_path / "src")
    _toy_recognizer(source / "w600k_toy.onnx", 512)
    text = (SHIPPED_PACKS / "permissive" / "manifest.toml").read_text()
    text = text.replace('name = "permissive"', 'name = "site_r50"')
    text = text.replace('file = "mobilefacenet_foamliu_128d.onnx"', 'file = "w600k_toy.onnx"')
    text = text.replace(
        "e0974ec4c84ae30781e9b0a320c37c6705944d4532bfa9fb0c083755b19dde14",
        sha256_of(source / "w600k_toy.onnx"),
    ).replace("embedding_size = 128", "embedding_size = 512")
    (source / "manifest.toml").write_text(text)
    store = PackStore(tmp_path / "models")
    assert store.install(str(source), own_manifest=True).name == "site_r50"
    pipeline = FacePipeline.from_pack(store.path("site_r50"))
    result = pipeline.analyse(
        read_image(faces_dir / "spoof" / "image_T1.jpg"), pipeline.open_gallery(tmp_path / "g.db")
    )
    assert result.embedding is not None and result.embedding.shape == (512,)


# -- attacks on the pack (issue 13, findings 4 and 12) ---------------------------------
def _impostor(source: Path, name: str = "permissive", threshold: str = "0.2") -> Path:
    """The real files, and a manifest.toml that matches more strangers and checks no
    liveness."""
    text = (SHIPPED_PACKS / "permissive" / "manifest.toml").read_text()
    text = text.replace('name = "permissive"', f'name = "{name}"')
    text = text.replace("threshold = 0.455", f"threshold = {threshold}")
    text = _without_grey_zone(text)
    (source / "manifest.toml").write_text(text[: text.index("[anti_spoof]")])
    return source


def _without_grey_zone(manifest_text: str) -> str:
    """A manifest as shipped before the grey zone: no lower or 1:1 threshold."""
    return "".join(
        line
        for line in manifest_text.splitlines(keepends=True)
        if not line.startswith(("lower_threshold", "verify_threshold"))
    )


def test_a_pack_installed_before_the_grey_zone_still_verifies_without_one(tmp_path, models_source):
    store = PackStore(tmp_path / "models")
    store.install(str(models_source))
    manifest = store.path("permissive") / "manifest.toml"
    manifest.write_text(_without_grey_zone(manifest.read_text()))
    pack_dir, installed = store.open("permissive")  # verified: its absence is only stricter
    assert installed.recognizer.lower_threshold is None
    pipeline = FacePipeline.from_pack(pack_dir)
    assert pipeline.lower_threshold == pipeline.threshold == 0.455
    assert pipeline.verify_threshold is None
    manifest.write_text(manifest.read_text().replace("threshold = 0.455", "threshold = 0.5"))
    with pytest.raises(PackError, match=r"recognizer\.threshold 0.5 \(shipped 0.455\)"):
        store.open("permissive")


def test_a_sources_manifest_cannot_replace_the_shipped_pack(tmp_path, models_source):
    source = _impostor(_copy_models(models_source, tmp_path / "src"))
    store = PackStore(tmp_path / "models")
    installed = store.install(str(source))  # by default: against the shipped manifest
    assert installed.recognizer.threshold == 0.455 and installed.anti_spoof is not None
    with pytest.raises(PackError, match="calls itself 'permissive', a pack that ships"):
        store.install(str(source), own_manifest=True)
    _impostor(source, "site_pack", threshold="-0.99")
    with pytest.raises(PackError, match=r"recognizer\.threshold"):
        store.install(str(source), own_manifest=True)  # out of bounds under any name
    assert verify_pack(store.path("permissive")).recognizer.threshold == 0.455


def test_a_manifest_changed_after_install_is_reported_and_refused(tmp_path, models_source):
    store = PackStore(tmp_path / "models")
    store.install(str(models_source))
    _impostor(store.path("permissive"))
    [pack] = store.installed()
    assert "differs from the shipped one" in pack.problem
    assert "recognizer.threshold 0.2 (shipped 0.455)" in pack.problem
    assert "anti_spoof.file None" in pack.problem
    with pytest.raises(PackError, match="differs from the shipped one"):
        store.open("permissive")
    result = CliRunner().invoke(main, ["models", "verify", "--models-dir", str(store.root)])
    assert result.exit_code == 1 and "differs from the shipped one" in result.output


def test_plain_http_is_refused(tmp_path, models_source):
    (tmp_path / "served").mkdir()
    _zip_of(models_source, tmp_path / "served" / "pack.zip")
    server = _serve(tmp_path / "served")
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/pack.zip"
        with pytest.raises(PackError, match="plain http"):
            PackStore(tmp_path / "models").install(url)
    finally:
        server.shutdown()
        server.server_close()


def test_a_zip_bomb_is_refused_before_it_unpacks(tmp_path, models_source, monkeypatch):
    import models.packs as packs

    monkeypatch.setattr(packs, "MAX_MEMBER_BYTES", 32 << 20)  # the same check, a smaller pack
    zeros = b"\0" * (64 << 20)  # 64 MB that deflate to 64 KB

    def bundle(archive: Path, recogniser: bytes | None) -> Path:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
            for path in models_source.rglob("*.onnx"):
                name = str(path.relative_to(models_source))
                if recogniser is not None and path.name == "mobilefacenet_foamliu_128d.onnx":
                    out.writestr(name, recogniser)
                else:
                    out.write(path, name)
            out.writestr("padding.bin", zeros)  # a member no manifest names
        return archive

    store = PackStore(tmp_path / "models")
    harmless = bundle(tmp_path / "padded.zip", None)
    assert harmless.stat().st_size < 16 << 20
    assert store.install(str(harmless)).name == "permissive"  # the padding stays packed
    bomb = bundle(tmp_path / "bomb.zip", zeros)
    with pytest.raises(PackError, match="would unpack to 67108864 bytes"):
        store.install(str(bomb))
    assert _leftovers(store) == ["permissive"]


def test_a_symbolic_link_in_a_directory_source_is_refused(tmp_path, models_source):
    source = _copy_models(models_source, tmp_path / "src")
    model = source / "mobilefacenet_foamliu_128d.onnx"
    model.unlink()
    model.symlink_to(models_source / "mobilefacenet_foamliu_128d.onnx")
    with pytest.raises(PackError, match="a symbolic link"):
        PackStore(tmp_path / "models").install(str(source))
