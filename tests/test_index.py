"""Index build, manifest, atomic swap, stale and broken index detection — on real builds."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from assistant.index import bm25 as index_bm25
from assistant.errors import IndexUnavailable
from assistant.index import build_index, open_index, validate_index
from tests.conftest import ROOT, make_settings


def clone_index(src_settings, tmp_path, **overrides):
    """A private copy of the session index (so tests may break it) with its own settings."""
    settings = make_settings(tmp_path, **overrides)
    build = (src_settings.index_dir / "current").resolve()
    (settings.index_dir / "builds").mkdir(parents=True)
    shutil.copytree(build, settings.index_dir / "builds" / build.name)
    os.symlink(Path("builds") / build.name, settings.index_dir / "current")
    return settings


def changed_corpus(dest: Path) -> Path:
    """A copy of the repo corpus with one criterion's summary edited: the index built from the
    original is then stale for it."""
    shutil.copytree(ROOT / "corpus", dest)
    path = dest / "catalogue" / "criteria.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["criteria"][0]["summary"] += " (geändert)"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return dest


def test_manifest_describes_the_build(settings, built_index):
    manifest = validate_index(settings)
    assert manifest.model_id == "EmbeddingGemma-300M"
    assert len(manifest.model_sha256) == 64
    assert manifest.chunks == sum(manifest.counts.values())
    assert manifest.counts["catalogue:criterion"] == manifest.catalogue_criteria
    assert manifest.study_criteria == 76
    assert manifest.counts["dossier:passage"] > 100
    assert manifest.sentences > manifest.counts["dossier:passage"]


def test_the_build_holds_the_query_adapter_its_manifest_names(settings, built_index):
    """The adapter learned from the stored questions is in the build, its sha256 in the manifest,
    and the opened index (what retrieval uses) holds the same matrix."""
    import hashlib

    import numpy as np

    manifest = validate_index(settings)
    path = (settings.index_dir / "current").resolve() / "adapter.npy"
    matrix = np.load(path)
    assert matrix.shape == (manifest.embedding_dim, manifest.embedding_dim)
    assert manifest.adapter_sha256 == hashlib.sha256(np.ascontiguousarray(matrix).tobytes()).hexdigest()
    assert not np.allclose(matrix, np.eye(manifest.embedding_dim))  # it learned something
    assert np.array_equal(open_index(settings).query_adapter, matrix)


def test_rebuild_reuses_embeddings_and_swaps_atomically(settings, built_index, embedder, tmp_path):
    local = clone_index(settings, tmp_path)
    before = (local.index_dir / "current").resolve()
    manifest = build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False, force=True)
    after = (local.index_dir / "current").resolve()
    assert after != before and after.exists()
    assert manifest.embedded_new == 0  # same corpus and model: every vector reused
    assert before.exists()  # the previous build stays for readers that still hold it
    assert not list((local.index_dir / "builds").glob(".*.tmp"))
    assert len(open_index(local).chunks) == manifest.chunks


def test_unchanged_index_is_not_rebuilt(settings, built_index, embedder, tmp_path):
    local = clone_index(settings, tmp_path)
    before = (local.index_dir / "current").resolve()
    build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False)
    assert (local.index_dir / "current").resolve() == before


def test_failed_build_keeps_previous_index(settings, built_index, embedder, tmp_path, monkeypatch):
    local = clone_index(settings, tmp_path)
    before = (local.index_dir / "current").resolve()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index_bm25, "write", broken)
    with pytest.raises(OSError):
        build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False, force=True)
    assert (local.index_dir / "current").resolve() == before
    assert not list((local.index_dir / "builds").glob(".*.tmp"))
    assert open_index(local).chunks  # still answers


@pytest.mark.unit
def test_missing_index_names_the_command(tmp_path):
    local = make_settings(tmp_path)
    with pytest.raises(IndexUnavailable, match="assistant build-index"):
        validate_index(local)


def test_changed_corpus_makes_index_stale(settings, built_index, tmp_path):
    local = clone_index(settings, tmp_path / "x", corpus_dir=changed_corpus(tmp_path / "corpus"))
    with pytest.raises(IndexUnavailable, match="veraltet.*assistant build-index"):
        validate_index(local)


def test_corrupt_manifest(settings, built_index, tmp_path):
    local = clone_index(settings, tmp_path)
    (local.index_dir / "current" / "manifest.json").write_text("{not json")
    with pytest.raises(IndexUnavailable, match="beschädigt.*build-index --force"):
        validate_index(local)


def test_missing_bm25_files(settings, built_index, tmp_path):
    local = clone_index(settings, tmp_path)
    shutil.rmtree(local.index_dir / "current" / "bm25")
    with pytest.raises(IndexUnavailable, match="unvollständig.*build-index"):
        validate_index(local)


def test_garbage_chroma_database(settings, built_index, tmp_path):
    local = clone_index(settings, tmp_path)
    db = local.index_dir / "current" / "chroma" / "chroma.sqlite3"
    db.write_bytes(b"this is not a sqlite database" * 100)
    with pytest.raises(IndexUnavailable, match="beschädigt.*build-index --force"):
        open_index(local)


def test_other_model_makes_index_stale(settings, built_index, tmp_path):
    local = clone_index(settings, tmp_path)
    manifest_path = local.index_dir / "current" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["model_sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexUnavailable, match="anderen Embedding-Modell"):
        validate_index(local)


def test_reuse_keys_name_the_number_format(settings, built_index):
    """Switching a stage's number format re-embeds exactly that stage at the next build; float32
    keeps the keys of earlier builds, whose vectors stay reusable."""
    from assistant.embedding import model_identity
    from assistant.index.build import _plan
    from assistant.index.state import load_corpus_chunks

    state = load_corpus_chunks(settings)
    model = model_identity(settings)

    def keys(**formats):
        plan = _plan(settings.model_copy(update=formats), state, model)
        return {stage.label: stage.keys for stage in plan.stages}

    base = keys(document_precision="float32", sentence_precision="float32")
    fast_passages = keys(document_precision="bfloat16", sentence_precision="float32")
    fast_sentences = keys(document_precision="float32", sentence_precision="bfloat16")
    assert set(base["Abschnitte"]).isdisjoint(fast_passages["Abschnitte"])
    assert base["Sätze"] == fast_passages["Sätze"] and base["gespeicherte Fragen"] == fast_passages["gespeicherte Fragen"]
    assert set(base["Sätze"]).isdisjoint(fast_sentences["Sätze"]) and base["Abschnitte"] == fast_sentences["Abschnitte"]
