"""LLM: an optional answer engine that phrases answers with a language model, when one is configured.

Off by default (no German-capable model can be had offline). With `ASSISTANT_LLM=openai-compatible`
(vLLM, llama.cpp server, LocalAI, …) or `ASSISTANT_LLM=ollama` it sends the numbered sources and the
question to the model through llama-index's OpenAI-compatible client, streams the tokens, and then
checks the reply: citation markers that point at no source are removed, sentences without any
citation are dropped, a refusal is recognised. On timeout, error or an unusable reply the extractive
engine answers instead, with a visible note. Prompts live in `assistant/prompts/*.txt`.
"""

from __future__ import annotations

import re
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

from assistant.chunking import split_sentences
from assistant.schema import Answer, Citation, Passage
from assistant.settings import Settings

PROMPTS = Path(__file__).parent / "prompts"
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434/v1"
REFUSAL_MARK = "keine Aussage"
FALLBACK_NOTE = "Das Sprachmodell war nicht verfügbar; die Antwort wurde ohne Sprachmodell aus den Quellen zusammengestellt."


FALLBACK_NOTE_EN = "The language model was not available; this answer was put together from the sources without it."


def fallback_note(settings: Settings, lang: str = "de") -> str:
    """The fallback notice with what fixes it: the service to check, or switching the model off."""
    where = settings.llm_base_url or "ASSISTANT_LLM_BASE_URL"
    if lang == "en":
        return f"{FALLBACK_NOTE_EN} Check the service at {where} or switch the language model off (ASSISTANT_LLM=none)."
    return f"{FALLBACK_NOTE} Prüfen Sie den Dienst unter {where} oder schalten Sie das Sprachmodell ab (ASSISTANT_LLM=none)."


class LLMUnavailable(RuntimeError):
    pass


@lru_cache(maxsize=None)
def prompt(name: str) -> str:
    return (PROMPTS / f"{name}.txt").read_text(encoding="utf-8")


def build_client(settings: Settings):
    """A llama-index LLM for the configured backend (Ollama is reached through its OpenAI-compatible API)."""
    from llama_index.llms.openai_like import OpenAILike

    if settings.llm == "ollama":
        base_url = settings.llm_base_url or OLLAMA_DEFAULT_URL
    else:
        base_url = settings.llm_base_url
    if not base_url or not settings.llm_model:
        raise LLMUnavailable("ASSISTANT_LLM_BASE_URL und ASSISTANT_LLM_MODEL müssen gesetzt sein.")
    return OpenAILike(
        model=settings.llm_model,
        api_base=base_url,
        api_key=settings.llm_api_key or "not-needed",
        is_chat_model=True,
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=0.1,
        max_tokens=400,
    )


def render_sources(passages: list[Passage]) -> str:
    blocks = []
    for n, p in enumerate(passages, 1):
        c = p.chunk
        # The delimiter must not be closable from inside a source.
        text = c.text.replace("</quelle>", "</ quelle>").replace("<quelle>", "< quelle>")
        blocks.append(
            prompt("source_de").format(
                n=n, title=c.title, section=c.section, page=f", S. {c.page}" if c.page else "", text=text
            ).strip()
        )
    return "\n\n".join(blocks)


def validate_reply(reply: str, n_sources: int) -> tuple[str, set[int]]:
    """Keep only sentences that cite an existing source; drop unknown markers. Returns the cleaned
    text and the source numbers it cites (empty when nothing usable is left)."""
    kept: list[str] = []
    cited: set[int] = set()
    for paragraph in re.split(r"\n\s*\n", reply.strip()):
        for sentence in split_sentences(paragraph.replace("\n", " ")):
            markers = [int(m) for m in re.findall(r"\[(\d+)\]", sentence)]
            valid = [m for m in markers if 1 <= m <= n_sources]
            sentence = re.sub(r"\s*\[(\d+)\]", lambda m: f" [{m.group(1)}]" if 1 <= int(m.group(1)) <= n_sources else "", sentence).strip()
            if valid:
                kept.append(sentence)
                cited.update(valid)
    return " ".join(kept), cited


class LLMEngine:
    """Phrases the answer with the configured model; the extractive engine is its safety net."""

    def __init__(self, settings: Settings, extractive, client=None):
        self.settings = settings
        self.extractive = extractive
        self.pool_size = extractive.pool_size
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = build_client(self.settings)
        return self._client

    def messages(self, question: str, passages: list[Passage]):
        from llama_index.core.llms import ChatMessage

        return [
            ChatMessage(role="system", content=prompt("system_de")),
            ChatMessage(role="user", content=prompt("question_de").format(sources=render_sources(passages), question=question)),
        ]

    def stream(self, question: str, passages: list[Passage]) -> Iterator[str]:
        for chunk in self.client.stream_chat(self.messages(question, passages)):
            if chunk.delta:
                yield chunk.delta

    def parse(self, question: str, lang: str):
        return self.extractive.parse(question, lang)

    def compose(
        self,
        question: str,
        frame,
        passages: list[Passage],
        query: str | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        baseline = self.extractive.compose(question=question, frame=frame, passages=passages, query=query)
        lang = frame.lang
        phase_hint = frame.phases[0] if frame.phases else None
        if baseline.abstained:
            return baseline  # refusals and manipulation never reach the model
        sources = passages[: self.extractive.pool_size]
        deadline = time.monotonic() + self.settings.llm_timeout_s
        try:
            parts: list[str] = []
            for token in self.stream(question, sources):
                # the client's timeout bounds each read; this bounds the whole reply
                if time.monotonic() > deadline:
                    raise TimeoutError("LLM reply exceeded ASSISTANT_LLM_TIMEOUT_S")
                parts.append(token)
                if on_token is not None:
                    on_token(token)
            reply = "".join(parts)
        except Exception:  # timeout, connection refused, HTTP error, malformed stream
            baseline.notice = fallback_note(self.settings, lang)
            baseline.engine = "extractive-fallback"
            return baseline
        if REFUSAL_MARK in reply and "[" not in reply:
            baseline_refusal = self.extractive.refuse(question, lang)
            baseline_refusal.engine = "llm"
            return baseline_refusal
        text, cited = validate_reply(reply, len(sources))
        if not text:
            baseline.notice = fallback_note(self.settings, lang)
            baseline.engine = "extractive-fallback"
            return baseline
        # renumber citations in order of first use
        order: list[int] = []
        for m in re.findall(r"\[(\d+)\]", text):
            if int(m) not in order:
                order.append(int(m))
        mapping = {old: new for new, old in enumerate(order, 1)}
        text = re.sub(r"\[(\d+)\]", lambda m: f"[{mapping[int(m.group(1))]}]", text)
        cited_passages = [sources[i - 1] for i in order]
        answer = Answer(question=question, answer="", abstained=False, intent=baseline.intent, lang=lang, engine="llm", frame=frame)
        answer.citations = [Citation.from_passage(i, p) for i, p in enumerate(cited_passages, 1)]
        answer.phases, answer.criteria = self.extractive.references(cited_passages, phase_hint)
        labels = self.extractive.labels(lang)
        answer.answer = "\n\n".join(
            [text, self.extractive.phase_line(answer.phases, labels), self.extractive.criteria_line(answer.criteria, labels)]
        )
        return answer
