"""Question encoding: the faster number formats must stay close to float32 and never touch the
float32 model that embeds passages."""

from __future__ import annotations

import numpy as np
import pytest

QUESTIONS = [
    "Was muss ich in der Pilotphase beachten?",
    "Gibt es ein Beispiel für offene Schnittstellen?",
    "Welche Betreibermodelle beschreibt die Studie?",
    "How can a city keep a platform running after the funding ends?",
]


def _float32_vectors(embedder) -> np.ndarray:
    return np.asarray(embedder.model.encode_query(QUESTIONS, normalize_embeddings=True), dtype=np.float32)


def _vectors(embedder, monkeypatch, precision: str) -> np.ndarray:
    monkeypatch.setattr(embedder, "query_precision", precision)
    return np.stack([embedder._encode_query(q) for q in QUESTIONS])  # bypasses the question cache


@pytest.mark.parametrize("precision, floor", [("float32", 0.9999), ("bfloat16", 0.99), ("int8", 0.90)])
def test_question_vectors_stay_close_to_float32(embedder, monkeypatch, precision, floor):
    reference = _float32_vectors(embedder)
    vectors = _vectors(embedder, monkeypatch, precision)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (reference * vectors).sum(axis=1)
    assert cosines.min() >= floor, (precision, cosines)


@pytest.mark.usefixtures("built_index")
def test_bfloat16_ranks_the_index_like_float32(embedder, settings, monkeypatch):
    from assistant.index import open_index

    index = open_index(settings)
    matrix = np.stack([index.vectors[cid] for cid in index.order])
    reference = _float32_vectors(embedder) @ matrix.T
    fast = _vectors(embedder, monkeypatch, "bfloat16") @ matrix.T
    for ref_row, fast_row in zip(reference, fast):
        assert set(np.argsort(-ref_row)[:3]) == set(np.argsort(-fast_row)[:3])


def test_int8_twin_shares_tables_and_leaves_the_document_model_alone(embedder):
    import torch

    from assistant.embedding import _int8_twin

    before = embedder.embed_documents(["Offene Schnittstellen erleichtern die Übertragung."])
    twin = _int8_twin(embedder.model)
    original_linears = [m for m in embedder.model.modules() if type(m) is torch.nn.Linear]
    twin_linears = [m for m in twin.modules() if type(m) is torch.nn.Linear]
    assert original_linears and not twin_linears  # every Linear in the twin is quantised
    original_tables = {m.weight.data_ptr() for m in embedder.model.modules() if isinstance(m, torch.nn.Embedding)}
    twin_tables = {m.weight.data_ptr() for m in twin.modules() if isinstance(m, torch.nn.Embedding)}
    assert original_tables and original_tables == twin_tables  # the 800 MB table is not copied
    after = embedder.embed_documents(["Offene Schnittstellen erleichtern die Übertragung."])
    assert np.array_equal(before, after)


def test_questions_asked_together_are_encoded_together(embedder):
    """Concurrent questions meet in the batcher: fewer model calls than questions, and each asker
    gets the vector of its own question (as when encoded alone, up to bfloat16 rounding)."""
    import threading

    questions = [f"{q} (Batch-Test {i})" for i, q in enumerate(QUESTIONS * 3)]
    alone = np.stack([embedder._encode_query(q) for q in questions])
    calls = embedder.batcher.stats.calls
    results: dict[int, np.ndarray] = {}
    start = threading.Barrier(len(questions))

    def ask(i: int) -> None:
        start.wait()
        results[i] = embedder.embed_query(questions[i])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    together = np.stack([results[i] for i in range(len(questions))])
    assert embedder.batcher.stats.calls - calls < len(questions)
    assert ((alone * together).sum(axis=1) >= 0.999).all()
    assert np.array_equal(embedder.embed_query(questions[0]), together[0])  # kept in the question cache


@pytest.mark.unit
def test_batcher_hands_every_waiting_caller_the_error_and_recovers():
    import threading

    from assistant.embedding import QueryBatcher

    def encode(texts: list[str]) -> np.ndarray:
        if any("kaputt" in t for t in texts):
            raise RuntimeError("Modell ausgefallen")
        return np.array([[float(len(t))] for t in texts])

    batcher = QueryBatcher(encode, window_s=0.05, max_batch=8)
    errors: list[str] = []

    def ask(text: str) -> None:
        try:
            batcher.encode(text)
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=ask, args=(t,)) for t in ("kaputt", "a", "bb")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert errors and set(errors) == {"Modell ausgefallen"}
    assert batcher.encode("ccc")[0] == 3.0  # the next batch works again
    assert batcher.stats.largest <= 8


def test_bfloat16_passages_stay_close_to_float32(embedder):
    """Index build embeds passages in bfloat16 by default (settings.document_precision): the vectors
    must stay unit length and within rounding of float32, and rank candidate passages the same."""
    passages = [
        "Offene Schnittstellen und Standards erleichtern die Übertragung einer Lösung auf andere Kommunen.",
        "In der Pilotphase wird die Lösung unter realen Bedingungen im Alltag erprobt und bewertet.",
        "Ein Betreibermodell regelt, wer die Lösung nach dem Ende der Förderung betreibt und bezahlt.",
    ]
    exact = embedder.embed_documents(passages, precision="float32")
    fast = embedder.embed_documents(passages, precision="bfloat16")
    assert not np.array_equal(exact, fast)  # the format really changed
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert (exact * fast).sum(axis=1).min() >= 0.999
    queries = _float32_vectors(embedder)[:3]
    assert (np.argmax(queries @ exact.T, axis=1) == np.argmax(queries @ fast.T, axis=1)).all()
    assert embedder.embed_documents([], precision="bfloat16").shape == (0, embedder.dimension)


def test_encoder_process_encodes_like_this_process_and_survives_a_crash(embedder, settings):
    """The child process (the default question encoder) returns the vectors this process would
    compute; when the child dies, the next question starts a new one instead of failing."""
    from assistant.encoder_process import EncoderProcess

    encoder = EncoderProcess(settings, threads=1)
    try:
        assert encoder.wait_ready() == embedder.dimension
        here = np.stack([embedder._encode_query(q) for q in QUESTIONS])
        there = encoder.encode_many(QUESTIONS)
        assert there.shape == here.shape and there.dtype == np.float32
        assert ((here * there).sum(axis=1) >= 0.999).all()
        first = encoder._proc
        first.kill()
        first.wait(10)
        again = encoder.encode_many(QUESTIONS[:1])
        assert encoder.restarts == 1 and encoder._proc is not first and encoder._proc.poll() is None
        assert float(again[0] @ there[0]) >= 0.999
    finally:
        encoder.close()
    assert first.poll() is not None


def test_encoder_process_without_model_says_how_to_fetch_it(settings, tmp_path):
    from assistant.encoder_process import EncoderProcess, EncoderProcessError

    encoder = EncoderProcess(settings.model_copy(update={"model_cache": tmp_path / "kein-modell"}), threads=1)
    try:
        with pytest.raises(EncoderProcessError, match="fetch-model"):
            encoder.wait_ready()
    finally:
        encoder.close()


def test_shared_embedder_encodes_questions_in_the_child_by_default(embedder):
    """The default: questions go to the encoder process (bench/load.py, docs/benchmarks.md)."""
    assert embedder.encoder_process is not None
    embedder.embed_query("Wer hat die Studie herausgegeben? (Prozess-Test)")
    assert embedder.encoder_process._proc is not None and embedder.encoder_process._proc.poll() is None


def test_a_build_embeds_passages_here_without_starting_the_encoder_process(settings):
    """An index build needs only this process's model: the first call on a fresh embedder is a
    passage embedding, and no encoder process is started for it."""
    from assistant.embedding import Embedder

    fresh = Embedder(settings)
    try:
        dimension = fresh.dimension  # what build_index asks first
        vectors = fresh.embed_documents(["Offene Schnittstellen erleichtern die Übertragung."])
        assert vectors.shape == (1, dimension) and np.isclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-5)
        assert fresh.encoder_process is not None and fresh.encoder_process._proc is None
    finally:
        if fresh.encoder_process is not None:
            fresh.encoder_process.close()
