"""Retrieval: hybrid search over the open index — dense (Chroma), sentence-level cosine, German
BM25 and a prior for the passages a question names — with optional filters on phase, source and
kind. The rankings are fused as `Settings.fusion` says: by default ("score") a weighted sum of
calibrated scores, or ("rrf") weighted reciprocal rank fusion.

Returns `Passage`s (chunk + fused score + rank in each ranking), best first.

Modules:
    query.py    question cleaning, English→German keyword expansion, `Filters`
    rankers.py  one ranker per signal (dense, best sentence, best stored question, BM25, prior)
    fusion.py   score and rank fusion (registry `FUSIONS`), sharing one `passage()` builder;
                `blend` joins a follow-up's two searches (with and without the earlier turn)
    hybrid.py   `HybridRetriever`: runs the rankers and fuses them
"""

from assistant.retrieval.fusion import FUSIONS, blend, rank_fusion, score_fusion
from assistant.retrieval.hybrid import HybridRetriever
from assistant.retrieval.query import Filters, expand_for_keywords, normalize_query

__all__ = ["FUSIONS", "Filters", "blend", "HybridRetriever", "expand_for_keywords", "normalize_query", "rank_fusion", "score_fusion"]
