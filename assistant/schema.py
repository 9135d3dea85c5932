"""Plain data shared across stages: chunks, retrieved passages, citations and answers.

These pydantic models are the only things that cross module borders. `Answer.to_contract()`
renders the JSON answer contract that outside evaluation tools read (change it only additively).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from assistant.domain import Kind, Source, VectorPrecision
from assistant.frames.frame import Frame


class Chunk(BaseModel):
    """One retrievable unit with the metadata the answer needs to cite it."""

    id: str
    text: str  # verbatim dossier text (or rendered catalogue text); what is shown and cited
    source: Source
    kind: Kind
    title: str
    section: str = ""
    page: int | None = None
    phase: str | None = None  # P1–P5, D or None
    criteria: list[str] = Field(default_factory=list)
    good_practices: list[str] = Field(default_factory=list)
    embed_text: str = ""  # text that is embedded (may carry the heading path as context)
    ref_id: str | None = None  # catalogue id for catalogue chunks (K14, GP03, P2, T5, M03)
    file: str | None = None  # for user documents: the file name

    def text_for_embedding(self) -> str:
        return self.embed_text or self.text


class Passage(BaseModel):
    """A chunk as returned by retrieval, with its fused score."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    sparse_rank: int | None = None
    sentence_rank: int | None = None
    prior_rank: int | None = None
    question_rank: int | None = None  # rank by the passage's best stored question (when weighted)


class Citation(BaseModel):
    n: int
    source: Source
    kind: str
    title: str
    section: str
    page: int | None
    phase: str | None
    criteria: list[str]
    text: str
    score: float
    # additive fields (not in the original contract, allowed by "change only additively")
    chunk_id: str | None = None
    good_practices: list[str] = Field(default_factory=list)
    ref_id: str | None = None
    file: str | None = None
    quote: str | None = None  # the sentence(s) of `text` the answer used

    @classmethod
    def from_passage(cls, n: int, passage: Passage, quote: str | None = None) -> "Citation":
        c = passage.chunk
        return cls(
            n=n,
            source=c.source,
            kind=c.kind,
            title=c.title,
            section=c.section,
            page=c.page,
            phase=c.phase,
            criteria=list(c.criteria),
            text=c.text,
            score=round(float(passage.score), 6),
            chunk_id=c.id,
            good_practices=list(c.good_practices),
            ref_id=c.ref_id,
            file=c.file,
            quote=quote,
        )


class CriterionRef(BaseModel):
    id: str
    name: str
    phase: str | None


class Timings(BaseModel):
    retrieve: float = 0.0
    answer: float = 0.0
    total: float = 0.0


class Answer(BaseModel):
    question: str
    answer: str
    abstained: bool
    phases: list[str] = Field(default_factory=list)
    criteria: list[CriterionRef] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    retrieved: list[Citation] = Field(default_factory=list)
    timings_ms: Timings = Field(default_factory=Timings)
    id: str | int | None = None
    # additive fields
    intent: str | None = None
    lang: str = "de"
    notice: str | None = None  # e.g. "question was shortened"
    engine: str = "extractive"
    error: str | None = None
    frame: Frame | None = None  # the parsed question (operation, entities, filters), for debugging

    def to_contract(self) -> dict:
        return self.model_dump(mode="json")


class Manifest(BaseModel):
    """What one index build was made from and what it holds: `index/builds/<stamp>/manifest.json`,
    written by `assistant.index.build`, checked by `assistant.index.store` (corpus, model, chunker
    and vector store must match). The JSON on disk is this model's dump, in this field order."""

    format: int = 1
    corpus_sha256: str
    model_id: str
    model_sha256: str
    embedding_dim: int
    chunker_version: str
    chunks: int  # passages (= vectors in the Chroma collection)
    counts: dict[str, int]  # "source:kind" → passages
    sentences: int
    stored_questions: int = 0  # added after the first builds: older manifests read as 0
    operation_examples: int = 0
    embedded_new: int
    reused_embeddings: int
    catalogue_criteria: int
    study_criteria: int
    collection: str  # the Chroma collection of this build
    chroma_url: str | None  # None: a local Chroma folder inside the build
    built_at: str  # UTC, ISO 8601 to the second
    build_seconds: float
    # number formats of the passage and sentence vectors (Settings.document_precision and
    # sentence_precision); builds from before these settings were float32
    document_precision: VectorPrecision = "float32"
    sentence_precision: VectorPrecision = "float32"
    # sha256 of the query adapter's bytes (assistant.index.adapter); None: built without one
    adapter_sha256: str | None = None


class Status(BaseModel):
    """Is the assistant ready? Model and index state with German messages, for the CLI, app and API."""

    model_ok: bool
    model_message: str
    index_ok: bool
    index_message: str
    manifest: Manifest | None = None  # the current build's manifest, also when it is stale; None without one
    catalogue_criteria: int = 0
    study_criteria: int = 0
    coverage_note: str = ""

    @property
    def counts(self) -> dict[str, int]:
        """Passages per "source:kind" of the current build ({} without one)."""
        return self.manifest.counts if self.manifest is not None else {}
