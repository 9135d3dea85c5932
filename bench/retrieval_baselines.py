"""Retrieval baselines on the test set: where does our pipeline stand against simpler setups?

Compares, on one or more splits (answerable items only: `dev`/`test` of
tests/data/retrieval_testset.jsonl, `blind` from tests/data/retrieval_blind.jsonl):
  1. naive llama-index tutorial pipeline: the raw dossier as one Document, default SentenceSplitter
     (1024 tokens, overlap 200), VectorStoreIndex on an in-memory Chroma collection, dense only,
     same embedding model;
  2. BM25 only (our German BM25 of the open index);
  3. dense only (our chunks in Chroma);
  4. our full pipeline (HybridRetriever.retrieve as the service builds it: dense, sentence-level,
     BM25 and catalogue prior, fused as `Settings.fusion` says); 3b, the sentence-level ranking on
     its own, is listed as an extra row.
Hits follow assistant.evaluation (evidence substring or catalogue entry). Prints one table and
replaces the baseline section of docs/benchmarks.md.

    .venv/bin/python bench/retrieval_baselines.py [--split test|dev|blind|all|dev,test,blind] [--k 10] [--no-docs]

With several splits (comma-separated) every pipeline gets one row per split; the naive pipeline is
built once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from pydantic import BaseModel, PrivateAttr  # noqa: E402

from bench.docsection import replace_section  # noqa: E402

from assistant.evaluation import (  # noqa: E402
    DEFAULT_TESTSET,
    EvalItem,
    first_hit_rank,
    load_split,
    percentile,
)

DOCS = ROOT / "docs" / "benchmarks.md"

# (text, ref_id) of the top-k passages for one question
Ranking = list[tuple[str, "str | None"]]


class BaselineRow(BaseModel):
    name: str
    split: str
    n: int
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float
    p50_ms: float
    p95_ms: float
    note: str = ""


def make_llama_embedding(embedder):
    """Our Embedder as a llama-index BaseEmbedding (query/document prompts preserved)."""
    from llama_index.core.embeddings import BaseEmbedding

    class AssistantEmbedding(BaseEmbedding):
        _embedder: object = PrivateAttr()

        def __init__(self, inner, **kwargs):
            super().__init__(model_name="assistant-embedder", embed_batch_size=16, **kwargs)
            self._embedder = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed_query(query).tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.embed_documents([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.embed_documents(texts).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        async def _aget_text_embedding(self, text: str) -> list[float]:
            return self._get_text_embedding(text)

    return AssistantEmbedding(embedder)


def naive_pipeline(settings, embedder, k: int) -> tuple[Callable[[str], Ranking], int]:
    """Tutorial setup: one Document, default SentenceSplitter, ephemeral Chroma, dense only."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from assistant.corpus import find_dossier

    raw = find_dossier(settings.dossier_dir).read_text(encoding="utf-8")
    splitter = SentenceSplitter()  # defaults: chunk_size=1024 tokens, chunk_overlap=200
    client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_or_create_collection(f"naive_bench_{os.getpid()}")
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    index = VectorStoreIndex.from_documents(
        [Document(text=raw)],
        storage_context=storage,
        embed_model=make_llama_embedding(embedder),
        transformations=[splitter],
    )
    retriever = index.as_retriever(similarity_top_k=k)
    n_nodes = collection.count()

    def run(question: str) -> Ranking:
        return [(hit.node.get_content(), None) for hit in retriever.retrieve(question)]

    return run, n_nodes


def our_pipelines(retriever, k: int) -> dict[str, Callable[[str], Ranking]]:
    from assistant.retrieval import Filters

    chunks = retriever.index.chunks

    def as_ranking(ids: list[str]) -> Ranking:
        return [(chunks[i].text, chunks[i].ref_id) for i in ids[:k]]

    return {
        "bm25": lambda q: as_ranking(retriever.sparse(q, k, Filters())),
        "dense": lambda q: as_ranking(retriever.dense(q, k, Filters())),
        "sentence": lambda q: as_ranking(retriever.sentence_level(q, k, Filters())),
        "hybrid": lambda q: [(p.chunk.text, p.chunk.ref_id) for p in retriever.retrieve(q, top_k=k)],
    }


def measure(
    name: str, run: Callable[[str], Ranking], items: list[EvalItem], k: int, note: str = "", split: str = ""
) -> BaselineRow:
    run("Worum geht es in der Roadmap?")  # warm-up, not timed
    ranks: list[int | None] = []
    times: list[float] = []
    for item in items:
        t0 = time.perf_counter()
        ranking = run(item.question)
        times.append((time.perf_counter() - t0) * 1000)
        ranks.append(first_hit_rank(item.evidence, ranking[:k]))
    n = len(items)
    return BaselineRow(
        name=name,
        split=split,
        n=n,
        recall_at_1=round(sum(1 for r in ranks if r is not None and r <= 1) / n, 3),
        recall_at_5=round(sum(1 for r in ranks if r is not None and r <= 5) / n, 3),
        mrr_at_10=round(sum(1.0 / r for r in ranks if r is not None and r <= 10) / n, 3),
        p50_ms=percentile(times, 50),
        p95_ms=percentile(times, 95),
        note=note,
    )


def production_retriever(index, embedder, settings):
    """The retriever as the service builds it (with the catalogue, if the retriever takes one)."""
    import inspect

    from assistant.corpus import Catalogue
    from assistant.retrieval import HybridRetriever

    if "catalogue" in inspect.signature(HybridRetriever).parameters:
        return HybridRetriever(index, embedder, settings, catalogue=Catalogue.load(settings.catalogue_path))
    return HybridRetriever(index, embedder, settings)


def _weights(settings) -> str:
    """The fusion settings in force, e.g. "Fusion score; Gewichte dense 0.5, sparse 0.1, …"."""
    cfg = settings.model_dump()
    fusion = cfg.get("fusion", "rrf")
    weights = ", ".join(f"{name[: -len('_weight')]} {value}" for name, value in cfg.items() if name.endswith("_weight"))
    parts = [f"Fusion {fusion}", f"Gewichte {weights}"]
    if fusion == "rrf":
        parts.append(f"rrf_k {cfg.get('rrf_k')}")
    if "catalogue_penalty" in cfg:
        parts.append(f"Katalog-Abzug {cfg['catalogue_penalty']}")
    parts.append(f"Pool {cfg.get('candidate_pool')}")
    return "; ".join(parts)


def render_table(rows: list[BaselineRow]) -> str:
    lines = [
        "| Pipeline | Split | n | R@1 | R@5 | MRR@10 | Abfrage p50 (ms) | Abfrage p95 (ms) | Hinweis |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.split} | {r.n} | {r.recall_at_1:.3f} | {r.recall_at_5:.3f} | {r.mrr_at_10:.3f} | "
            f"{r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.note} |"
        )
    return "\n".join(lines)


SPLITS = ("dev", "test", "blind", "all")


def parse_splits(value: str) -> list[str]:
    splits = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [split for split in splits if split not in SPLITS]
    if not splits or unknown:
        raise argparse.ArgumentTypeError(f"unbekannter Split {unknown or value!r}; erlaubt: {', '.join(SPLITS)}")
    return splits


def measure_split(split: str, items: list[EvalItem], naive, n_nodes: int, ours, index, settings, k: int) -> list[BaselineRow]:
    catalogue_only = sum(1 for i in items if not i.text_evidence)
    return [
        measure(
            "1 naiv: llama-index SentenceSplitter(1024/200) + Chroma, nur dense",
            naive,
            items,
            k,
            note=f"{n_nodes} Knoten aus Rohtext; Katalog-Ids nie Treffer ({catalogue_only} Fragen nur mit Katalog-Beleg)",
            split=split,
        ),
        measure("2 nur BM25 (deutsch, unsere Abschnitte)", ours["bm25"], items, k, note=f"{len(index.chunks)} Abschnitte", split=split),
        measure("3 nur dense (unsere Abschnitte)", ours["dense"], items, k, split=split),
        measure("3b nur Satz-Ebene (bester Satz je Abschnitt)", ours["sentence"], items, k, note="Zusatzzeile", split=split),
        measure("4 unsere Pipeline (HybridRetriever.retrieve)", ours["hybrid"], items, k, note=_weights(settings), split=split),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Retrieval-Baselines auf dem Testset")
    parser.add_argument("--split", type=parse_splits, default=["test"], help="dev, test, blind, all oder eine Liste wie dev,test,blind")
    parser.add_argument("--k", type=int, default=10, help="Tiefe der Rangliste (für MRR@10 mindestens 10)")
    parser.add_argument("--testset", default=str(DEFAULT_TESTSET))
    parser.add_argument("--no-docs", action="store_true", help="docs/benchmarks.md nicht schreiben")
    args = parser.parse_args(argv)

    from assistant.embedding import Embedder
    from assistant.errors import IndexUnavailable, ModelMissingError
    from assistant.index import open_index
    from assistant.settings import get_settings

    # a one-entry query cache: each question is embedded once per pipeline (the hybrid pipeline
    # reuses it for its dense and sentence rankings, as in production), never across pipelines
    settings = get_settings().model_copy(update={"query_cache_size": 1})
    split_sets = {
        split: [i for i in load_split(split, None if split == "blind" else args.testset) if i.answerable]
        for split in args.split
    }
    try:
        embedder = Embedder(settings)
        index = open_index(settings)
    except (ModelMissingError, IndexUnavailable) as exc:
        print(f"{exc}\n(Index bauen mit: .venv/bin/python -m assistant build-index)", file=sys.stderr)
        return 3
    retriever = production_retriever(index, embedder, settings)

    sizes = ", ".join(f"{split} {len(items)}" for split, items in split_sets.items())
    print(f"Splits: {sizes} beantwortbare Fragen, k={args.k}. Baue naive Pipeline …", file=sys.stderr)
    t0 = time.perf_counter()
    naive, n_nodes = naive_pipeline(settings, embedder, args.k)
    print(f"Naive Pipeline: {n_nodes} Knoten in {time.perf_counter() - t0:.0f} s eingebettet.", file=sys.stderr)

    ours = our_pipelines(retriever, args.k)
    rows = [
        row
        for split, items in split_sets.items()
        for row in measure_split(split, items, naive, n_nodes, ours, index, settings, args.k)
    ]
    load = os.getloadavg()[0]
    table = render_table(rows)
    split_arg = ",".join(args.split)
    command = f".venv/bin/python bench/retrieval_baselines.py --split {split_arg} --k {args.k}"
    manifest = index.manifest
    files = sorted({"retrieval_blind.jsonl" if split == "blind" else Path(args.testset).name for split in args.split})
    section = "\n".join(
        [
            "## Retrieval-Baselines",
            "",
            f"Stand {date.today().isoformat()} · Befehl: `{command}` · Splits {sizes} beantwortbare Fragen "
            f"(aus {', '.join(f'`{name}`' for name in files)}) · Index gebaut "
            f"{manifest.built_at}, Zerlegung v{manifest.chunker_version}, Modell {manifest.model_id}.",
            "",
            table,
            "",
            "Treffer wie in `assistant eval`: ein Beleg-Text kommt im Abschnitt vor (ohne Groß-/Kleinschreibung, "
            "Leerraum zusammengefasst) oder der Abschnitt ist der genannte Katalogeintrag. Die naive Pipeline "
            "kennt den Katalog nicht; Fragen, die nur Katalog-Ids als Beleg haben, kann sie nie treffen. "
            "Abfragezeit = eine Suche (Frage einmal eingebettet, kein Cache über Fragen hinweg) nach einem "
            f"Aufwärmaufruf, auf CPU; sie schwankt mit der Last der Maschine (Last am Ende: {load:.1f} bei "
            f"{os.cpu_count()} CPUs). Getunt wird nur auf `dev`; `test` und `blind` werden nur berichtet.",
        ]
    )
    print(table)
    if not args.no_docs:
        replace_section("retrieval-baselines", section, DOCS)
        print(f"Abschnitt in {DOCS.relative_to(ROOT)} aktualisiert.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
