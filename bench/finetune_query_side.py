"""Experiment (not a test, not used by the product): fine-tune the query side of EmbeddingGemma.

    .venv/bin/python bench/finetune_query_side.py [--layers 2] [--epochs 2] [--lr 2e-5] [extra answer sets …]

Trains the last --layers transformer layers and the dense heads on the stored questions
(`corpus/questions`, as embedded in the current index build) against the frozen passage vectors of
that build (InfoNCE over all passages, temperature 0.05, AdamW, batch 32, seed 0), and prints the
dense-only R@1 / MRR@10 of the plain embedding, the index's linear query adapter and the tuned model
after each epoch: on the retrieval dev split, on the dev half of the answer test set, and on any
extra answer sets given. Stop 34 ran it (docs/benchmarks.md, retrieval tuning log): the tuned query
side stayed below the linear adapter, so the product keeps the adapter.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evaluation.metrics import passage_matches  # noqa: E402
from assistant.evaluation.testset import load_answer_set, load_split  # noqa: E402
from assistant.index import open_index  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("answer_sets", nargs="*")
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    random.seed(0)
    settings = Settings()
    index = open_index(settings)
    ids = list(index.vectors)
    passages = np.stack([index.vectors[i] for i in ids]).astype(np.float32)
    column = {pid: n for n, pid in enumerate(ids)}
    pairs = [(text, column[owner]) for text, owner in zip(index.query_texts, index.query_owner) if owner in column]
    adapter = index.query_adapter
    model = SentenceTransformer(str(settings.model_dir), device="cpu")
    prompt = model.prompts.get("query", "")

    sets = {"retrieval dev": [(it.question, it.evidence) for it in load_split("dev") if it.answerable]}
    sets["answer dev"] = [(it.question, it.evidence) for it in load_answer_set().singles if it.answerable and it.id.startswith("d")]
    for path in args.answer_sets:
        sets[Path(path).stem] = [(it.question, it.evidence) for it in load_answer_set(path).singles if it.answerable]
    hits = {
        name: [np.array([passage_matches(ev, index.chunks[i].text, index.chunks[i].ref_id) for i in ids]) for _, ev in items]
        for name, items in sets.items()
    }

    def encode(texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            return model.encode_query(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)

    def adapted(texts: list[str]) -> np.ndarray:
        mapped = encode(texts) @ adapter.T
        return mapped / np.linalg.norm(mapped, axis=1, keepdims=True)

    def report(label: str, embed) -> None:
        parts = []
        for name, items in sets.items():
            scores = embed([q for q, _ in items]) @ passages.T
            ranks = [next((k + 1 for k, j in enumerate(np.argsort(-row)[:10]) if hit[j]), None) for row, hit in zip(scores, hits[name])]
            r1 = sum(r == 1 for r in ranks) / len(ranks)
            mrr = sum(1 / r for r in ranks if r) / len(ranks)
            parts.append(f"{name} {r1:.3f}/{mrr:.3f}")
        print(f"{label:10s} " + " | ".join(parts), flush=True)

    report("plain", encode)
    if adapter is not None:
        report("adapter", adapted)
    for p in model.parameters():
        p.requires_grad = False
    layers = model[0].auto_model.layers
    for module in [*layers[len(layers) - args.layers :], model[0].auto_model.norm, *list(model)[2:]]:
        for p in module.parameters():
            p.requires_grad = True
    trainable = [p for p in model.parameters() if p.requires_grad]
    print(f"trainable parameters: {sum(p.numel() for p in trainable):,}")
    optimiser = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.0)
    targets = torch.from_numpy(passages)
    for epoch in range(args.epochs):
        random.shuffle(pairs)
        model.train()
        started, total = time.perf_counter(), 0.0
        for start in range(0, len(pairs), 32):
            batch = pairs[start : start + 32]
            features = model.tokenize([prompt + q for q, _ in batch])
            vectors = torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)
            loss = torch.nn.functional.cross_entropy(vectors @ targets.T / 0.05, torch.tensor([j for _, j in batch]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        model.eval()
        print(f"epoch {epoch + 1}: loss {total / len(pairs):.3f}, {time.perf_counter() - started:.0f} s")
        report(f"tuned {epoch + 1}", encode)


if __name__ == "__main__":
    main()
