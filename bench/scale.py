"""Scale benchmark: index build and query cost at 1×, 10× and 30× the corpus's chunk count.

What is measured – honestly:
  * The corpus is *replicated*: copy r of every chunk carries a small textual variation (a
    "[Kopie r]" tag at the end of each paragraph, so BM25 sees distinct documents) and, instead of
    re-embedding, the vectors of the original chunk and sentences plus small Gaussian noise
    (σ = 0.01 per dimension, re-normalised: cosine ≈ 0.96 to the original). Embedding 30× the
    corpus from scratch would take hours on 2 CPUs and measures the model, not the index; the build
    time here is the *index* cost at size (Chroma, BM25, vector files, manifest).
  * Queries run through the real `AssistantService` with the real EmbeddingGemma query embedding,
    each in a fresh process per size (so resident memory is comparable), with questions from
    tests/data/retrieval_testset.jsonl. "new question" = asked for the first time (embedded once,
    as in production); "repeated question" = the same questions again, their embedding now in the
    service's query cache (search and answer only).
  * Incremental rebuild at size: one new document (a Markdown file, chunked like `assistant add`),
    then one changed paragraph in it; both rebuilt with the real model. Only that document's chunks
    and sentences should be embedded (manifest `embedded_new`).
  * Embedding throughput of the model itself, measured separately on a small sample.

    .venv/bin/python bench/scale.py                      # sizes 1 10 30, 60 questions, writes reports/scale.json
    .venv/bin/python bench/scale.py --update-docs        # … and the "reliability-scale" section of docs/benchmarks.md

The base index is ASSISTANT_INDEX_DIR (default: the repo's index/, built by `make index`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from assistant.evaluation import percentile  # noqa: E402
from bench.docsection import publish  # noqa: E402

REPORT = ROOT / "reports" / "scale.json"
TAG = re.compile(r" \[Kopie \d+\]")
NOISE = 0.01
NEW_DOC = """# Digitalstrategie Lotsenhausen

Die Stadt Lotsenhausen hat 2024 eine Digitalstrategie beschlossen. Sie bündelt alle Smart-City-Vorhaben in einem Programmbüro.

Das Programmbüro prüft jedes Vorhaben vor dem Pilotbetrieb auf Übertragbarkeit, offene Schnittstellen und Folgekosten.

Für den Regelbetrieb plant die Stadt ein eigenes Budget von 1,2 Millionen Euro pro Jahr ein.
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def p50_p95(name: str, values: list[float]) -> dict:
    return {f"{name}_p50_ms": round(percentile(values, 50), 1), f"{name}_p95_ms": round(percentile(values, 95), 1)}


def ask_all(service, questions: list[str], embed_alone: bool = False) -> dict:
    """Ask every question once: p50/p95 of total and retrieval time, and with `embed_alone` of the
    question embedding by itself (under another cache key, so the ask still embeds)."""
    totals, retrieves, embeds = [], [], []
    for q in questions:
        if embed_alone:
            t = time.perf_counter()
            service._ensure_loaded()[0].embedder.embed_query(q + " ")
            embeds.append((time.perf_counter() - t) * 1000)
        answer = service.ask(q)
        totals.append(answer.timings_ms.total)
        retrieves.append(answer.timings_ms.retrieve)
    row = {"n": len(totals), **p50_p95("ask", totals), **p50_p95("retrieve", retrieves)}
    return row | (p50_p95("embed", embeds) if embed_alone else {})


def vary(text: str, r: int) -> str:
    if r == 0 or not text:
        return text
    return "\n\n".join(p + f" [Kopie {r}]" if p.strip() else p for p in text.split("\n\n"))


class ReplayEmbedder:
    """Returns the stored vector of a text's original (tag removed) plus seeded noise; counts misses."""

    def __init__(self, lookup: dict[str, np.ndarray], dimension: int):
        self.lookup = lookup
        self.dimension = dimension
        self.misses = 0
        self.calls = 0

    def embed_documents(self, texts, batch_size: int = 16, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            self.calls += 1
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            base = self.lookup.get(TAG.sub("", text))
            if base is None:
                self.misses += 1
                base = rng.standard_normal(self.dimension).astype(np.float32)
            vector = base + (rng.standard_normal(self.dimension) * NOISE if TAG.search(text) else 0)
            out[i] = vector / np.linalg.norm(vector)
        return out


def child(size: int, n_questions: int, workdir: Path) -> dict:
    from assistant import chunking
    from assistant import index as index_module
    from assistant.corpus import Catalogue
    from assistant.embedding import shared_embedder
    from assistant.schema import Chunk
    from assistant.service import AssistantService
    from assistant.settings import Settings
    from assistant.userdocs import chunks_for_file

    base_settings = Settings()
    index_module.validate_index(base_settings)
    base = (base_settings.index_dir / "current").resolve()
    chunks = [Chunk.model_validate(c) for c in json.loads((base / "chunks.json").read_text(encoding="utf-8"))]
    vectors = np.load(base / "vectors.npz")
    sentences = np.load(base / "sentences.npz")
    lookup: dict[str, np.ndarray] = {}
    chunk_vectors = dict(zip(vectors["ids"].tolist(), vectors["vectors"][: len(vectors["ids"])]))
    for c in chunks:
        lookup[c.text_for_embedding()] = chunk_vectors[c.id]
    for text, vector in zip(sentences["texts"].tolist(), sentences["vectors"]):
        lookup[text] = vector
    catalogue = Catalogue.load(base_settings.catalogue_path)

    replicated: list[Chunk] = []
    for r in range(size):
        for c in chunks:
            if r == 0:
                replicated.append(c)
            else:
                replicated.append(c.model_copy(update={"id": f"{c.id}~{r}", "text": vary(c.text, r), "embed_text": vary(c.embed_text, r)}))
    state_hash = hashlib.sha256(f"scale-{size}-{base.name}".encode()).hexdigest()
    state = {"chunks": replicated, "hash": state_hash}

    def fake_corpus(settings):
        return index_module.CorpusState(chunks=list(state["chunks"]), corpus_hash=state["hash"], catalogue=catalogue)

    from assistant.index import build as index_build, store as index_store

    index_build.load_corpus_chunks = fake_corpus  # the build and the validation read the fake corpus
    index_store.current_corpus_hash = lambda settings: state["hash"]

    settings = Settings(index_dir=workdir / "index", user_docs_dir=workdir / "user")
    replay = ReplayEmbedder(lookup, dimension=int(vectors["vectors"].shape[1]))
    rss_before = rss_mb()
    t0 = time.perf_counter()
    manifest = index_module.build_index(settings, embedder=replay, progress=lambda m: None, show_bar=False, force=True)
    build_s = time.perf_counter() - t0
    disk_mb = round(sum(f.stat().st_size for f in (settings.index_dir / "current").resolve().rglob("*") if f.is_file()) / 2**20, 1)
    result: dict = {
        "size": size,
        "chunks": manifest.chunks,
        "sentences": manifest.sentences,
        "build_s": round(build_s, 2),
        "build_ms_per_chunk": round(build_s * 1000 / manifest.chunks, 2),
        "replay_misses": replay.misses,
        "replay_calls": replay.calls,
        "index_disk_mb": disk_mb,
        "rss_before_build_mb": rss_before,
    }

    # queries: warm up (model + index), then new questions (no cache) and repeated ones (cache on)
    testset = [json.loads(l) for l in (ROOT / "tests" / "data" / "retrieval_testset.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    questions = [item["question"] for item in testset][:n_questions]
    service = AssistantService(settings)
    t0 = time.perf_counter()
    service.warm_up()
    for q in ("Was ist das Masterportal?", "Wie finanziere ich die Skalierung?", "Was ist eine Pilotphase?"):
        service.ask(q)
    result["warm_up_s"] = round(time.perf_counter() - t0, 1)
    result["new_question"] = ask_all(service, questions, embed_alone=True)
    result["repeated_question"] = ask_all(service, questions)  # their embeddings are now cached
    result["rss_after_queries_mb"] = rss_mb()
    result["peak_rss_mb"] = peak_rss_mb()

    # incremental rebuild at this size: one new document, then one changed paragraph in it
    embedder = shared_embedder(settings)
    doc = workdir / "digitalstrategie.md"
    doc.write_text(NEW_DOC, encoding="utf-8")
    incremental = []
    for label, text in (("neues Dokument", NEW_DOC), ("ein Absatz geändert", NEW_DOC.replace("1,2 Millionen", "1,5 Millionen"))):
        doc.write_text(text, encoding="utf-8")
        doc_chunks = chunks_for_file(doc, catalogue)
        expected = len(doc_chunks) + sum(len(chunking.chunk_sentences(c)) for c in doc_chunks)
        state["chunks"] = replicated + doc_chunks
        state["hash"] = hashlib.sha256((state_hash + text).encode()).hexdigest()
        t0 = time.perf_counter()
        m = index_module.build_index(settings, embedder=embedder, progress=lambda m: None, show_bar=False)
        incremental.append(
            {"change": label, "seconds": round(time.perf_counter() - t0, 2), "embedded_new": m.embedded_new,
             "document_entries": expected, "chunks": m.chunks}
        )  # fmt: skip
    result["incremental"] = incremental
    return result


def embedding_throughput(sample: int = 48) -> dict:
    from assistant.embedding import shared_embedder
    from assistant.schema import Chunk
    from assistant.settings import Settings

    settings = Settings()
    base = (settings.index_dir / "current").resolve()
    chunks = [Chunk.model_validate(c) for c in json.loads((base / "chunks.json").read_text(encoding="utf-8"))]
    texts = [c.text_for_embedding() for c in chunks if c.source == "dossier"][:sample]
    sentences = np.load(base / "sentences.npz")["texts"].tolist()[:sample]
    embedder = shared_embedder(settings)
    embedder.embed_documents(texts[:4])  # warm
    t0 = time.perf_counter()
    embedder.embed_documents(texts)
    chunk_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    embedder.embed_documents(sentences, batch_size=32)
    sentence_s = time.perf_counter() - t0
    return {
        "sample": len(texts),
        "chunks_per_s": round(len(texts) / chunk_s, 2),
        "sentences_per_s": round(len(sentences) / sentence_s, 2),
        "mean_chunk_chars": round(sum(map(len, texts)) / len(texts)),
    }


def markdown(result: dict) -> str:
    rows = result["sizes"]
    emb = result["embedding"]
    lines = [
        "## Skalierung: Index und Abfragen bei 1×, 10× und 30× Korpusgröße",
        "",
        f"Stand {result['date']} · Befehl: `{result['command']}` · {result['cpus']} CPU-Kerne, Last (1 min) vorher/nachher "
        f"{result['load_before']}/{result['load_after']}"
        + (" (andere Prozesse liefen mit; Zeiten schwanken entsprechend)" if max(result["load_before"], result["load_after"]) > 1.5 else "")
        + f" · je Größe ein eigener Prozess · {rows[0]['new_question']['n']} Fragen aus dem Testset je Größe.",
        "",
        "| Größe | Abschnitte | Sätze | Bau (s) | Bau je Abschnitt (ms) | Index auf Platte (MB) | neue Frage p50 / p95 (ms) | Frage einbetten allein p50 (ms) | Suche p50 / p95 (ms) | wiederholte Frage p50 / p95 (ms) | RSS nach Abfragen (MB) | RSS-Spitze (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        nq, rq = r["new_question"], r["repeated_question"]
        lines.append(
            f"| {r['size']}× | {r['chunks']} | {r['sentences']} | {r['build_s']} | {r['build_ms_per_chunk']} | {r['index_disk_mb']} | "
            f"{nq['ask_p50_ms']} / {nq['ask_p95_ms']} | {nq['embed_p50_ms']} | {nq['retrieve_p50_ms']} / {nq['retrieve_p95_ms']} | "
            f"{rq['ask_p50_ms']} / {rq['ask_p95_ms']} | {r['rss_after_queries_mb']} | {r['peak_rss_mb']} |"
        )
    lines += [
        "",
        "Inkrementeller Neubau bei der jeweiligen Größe (echtes Modell; eingebettet wird nur, was neu ist). Die "
        "übrige Dauer ist das Neuschreiben von Chroma, BM25 und Vektordateien für den ganzen Korpus (wächst "
        "linear, siehe „Bau je Abschnitt“); eingebettet werden nur die Einträge des geänderten Dokuments:",
        "",
        "| Größe | Änderung | eingebettet (`embedded_new`) | Einträge des Dokuments | Dauer (s) |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        for inc in r["incremental"]:
            lines.append(f"| {r['size']}× | {inc['change']} | {inc['embedded_new']} | {inc['document_entries']} | {inc['seconds']} |")
    big = rows[-1]
    scratch_h = (big["chunks"] / emb["chunks_per_s"] + big["sentences"] / emb["sentences_per_s"]) / 3600
    lines += [
        "",
        f"Einbettungsdurchsatz des Modells (separat, {emb['sample']} Dossier-Abschnitte à ~{emb['mean_chunk_chars']} Zeichen): "
        f"{emb['chunks_per_s']} Abschnitte/s, {emb['sentences_per_s']} Sätze/s. Ein Neubau von {big['size']}× ganz ohne "
        f"wiederverwendete Vektoren würde damit rund {scratch_h:.1f} h nur für das Einbetten brauchen – deshalb "
        "verwendet der Index Vektoren unveränderter Texte wieder.",
        "",
        "Was gemessen ist: Die Kopien r ≥ 1 jedes Abschnitts tragen am Absatzende die Marke „[Kopie r]“ (BM25 sieht "
        "verschiedene Texte) und statt neu berechneter Embeddings die Vektoren des Originals mit kleinem Rauschen "
        f"(σ = {NOISE} je Dimension, normiert; Kosinus ≈ 0,96 zum Original). „Bau“ ist damit der Aufwand des Index "
        "(Chroma, BM25, Vektordateien) bei dieser Größe, nicht der des Modells. Abfragen laufen über den echten "
        "`AssistantService` mit echter Frage-Einbettung: „neue Frage“ = erstmals gestellt (einmal eingebettet, "
        "wie im Betrieb), „wiederholte Frage“ = dieselben Fragen noch einmal, ihre Einbettung liegt im Frage-Cache "
        "(nur Suche und Antwort). „Suche“ = `timings_ms.retrieve`. "
        "RSS enthält das geladene Modell. Die Kopien sind sich sehr ähnlich; für die Kosten spielt das kaum eine "
        "Rolle, für die Trefferqualität schon – Qualität wird hier nicht gemessen.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--json", type=Path, default=REPORT)
    parser.add_argument("--update-docs", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--embedding-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if any(not 1 <= s <= 50 for s in args.sizes):
        parser.error("--sizes: 1 bis 50")
    if args.embedding_only:
        args.child_out.write_text(json.dumps(embedding_throughput()))
        return 0
    if args.child:
        workdir = Path(tempfile.mkdtemp(prefix=f"roadmap-lotse-scale-{args.child}x-"))
        try:
            args.child_out.write_text(json.dumps(child(args.child, args.questions, workdir)))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return 0

    result: dict = {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": ".venv/bin/python bench/scale.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cpus": os.cpu_count(),
        "load_before": round(os.getloadavg()[0], 1),
        "sizes": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "child.json"
        for size in args.sizes:
            print(f"Größe {size}× …", flush=True)
            subprocess.run([sys.executable, __file__, "--child", str(size), "--child-out", str(out), "--questions", str(args.questions)], check=True)
            result["sizes"].append(json.loads(out.read_text()))
            print(json.dumps(result["sizes"][-1], ensure_ascii=False), flush=True)
        print("Einbettungsdurchsatz …", flush=True)
        subprocess.run([sys.executable, __file__, "--embedding-only", "--child-out", str(out)], check=True)
        result["embedding"] = json.loads(out.read_text())
    result["load_after"] = round(os.getloadavg()[0], 1)
    publish(markdown(result), "reliability-scale", update_docs=args.update_docs, json_path=args.json, data=result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
