"""Coherent extracts: a few contiguous, verbatim sentences from the best passage.

Instead of picking scattered sentences one by one, an extract starts at the sentence that answers
the question best and grows around it inside its passage: backwards while a sentence opens with a
referring word ("Damit", "Dabei", "Diese …" need their predecessor), forwards while the next
sentence still fits the question. At most one sentence from a second passage may follow. Figure and
table captions, bibliography entries and the table of contents are never quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.answer.draft import AnswerContext
from assistant.chunking import chunk_sentences
from assistant.frames.lexicon import content_stems
from assistant.schema import Chunk, Passage
from assistant.settings import Settings

# A sentence opening with one of these words refers to what came before it.
REFERRING = re.compile(
    r"^(Damit|Dabei|Diese[rsmn]?|Dies|Hierbei|Hierfür|Hierzu|Hier|Dafür|Dazu|So|Daher|Deshalb|Dadurch|Daraus|"
    r"Darüber hinaus|Zudem|Außerdem|Ebenso|Auch|Insofern|Folglich|Allerdings|Zum anderen|Andererseits|Somit|"
    r"Demnach|Gleichzeitig|Zusätzlich|Trotzdem|Dennoch|Denn|Aber|Jedoch|Doch|Solche[rsmn]?|Letztere[rsmn]?|"
    r"Beide|Anschließend|Danach|Er|Sie|Es|Ihre?|Seine?|Deren|Dessen|Dort|Darin|Davon|Diesem|Wesentlicher|"
    r"(Sollte|Ist|Falls|Wenn) (dies|das) nicht)\b"
)
# Of those, these only link to what came before ("Zudem …", "Gleichzeitig …"): they get their
# predecessor when it fits, but a reader can follow them without it, so they may open an extract.
CONNECTIVE = re.compile(
    r"^(Darüber hinaus|Zudem|Außerdem|Ebenso|Auch|Insofern|Folglich|Allerdings|Zum anderen|Andererseits|"
    r"Gleichzeitig|Zusätzlich|Trotzdem|Dennoch|Denn|Aber|Jedoch|Doch|Anschließend|Danach|Wesentlicher)\b"
)
# "Damit die Lösung … funktioniert, …" is a final clause ("so that"), not a reference back.
_FINAL_CLAUSE = re.compile(r"^Damit (die|der|das|den|dem|ein|eine|einer|eines|sie|er|es|wir|man|diese[rsmn]?)\b")


def needs_predecessor(settings: Settings, sentence: str) -> bool:
    """Whether a sentence cannot open an extract without the one before it."""
    if not REFERRING.match(sentence):
        return False
    if settings.extract_connectives_stand:
        return not (CONNECTIVE.match(sentence) or _FINAL_CLAUSE.match(sentence))
    return True


_CAPTION = re.compile(r"^(\*\*)?(Abbildung|Tabelle|Abb\.|Quelle)\s*\d*[:.]?|\|\s*Quelle:", re.IGNORECASE)


def quotable_chunk(chunk: Chunk) -> bool:
    return chunk.source != "catalogue" and not chunk.section.startswith(("Literatur", "Inhalt"))


def quotable_sentence(sentence: str) -> bool:
    s = sentence.strip()
    return len(s) >= 25 and not _CAPTION.search(s) and not s.startswith("#") and not (s.endswith(":") and len(s) < 80)


def sentences_of(ctx: AnswerContext, chunk: Chunk) -> list[tuple[str, np.ndarray | None]]:
    stored = ctx.index.sentences.get(chunk.id)
    if stored is not None:
        return stored
    return [(s, None) for s in chunk_sentences(chunk)]


@dataclass
class Scored:
    passage: Passage
    position: int
    text: str
    score: float


def _overlap(question_stems: set[str], sentence: str) -> float:
    if not question_stems:
        return 0.0
    return len(question_stems & set(content_stems(sentence))) / len(question_stems)


def score_sentences(
    ctx: AnswerContext, passages: list[Passage], focus: str | None = None, bonus=None
) -> list[Scored]:
    """Every quotable sentence of the passages, scored against the question (or a focus text's
    words); `bonus(sentence)` may add to a sentence's score (e.g. numbers for a count)."""
    settings = ctx.settings
    stems = set(content_stems(focus or ctx.question))
    out = []
    for rank, passage in enumerate(passages):
        if not quotable_chunk(passage.chunk):
            continue
        for position, (text, vector) in enumerate(sentences_of(ctx, passage.chunk)):
            if not quotable_sentence(text):
                continue
            dense = float(vector @ ctx.vector) if vector is not None else 0.0
            score = (
                dense
                + settings.extract_overlap_weight * _overlap(stems, text)
                + settings.extract_rank_bonus / (1 + rank)
                + settings.extract_passage_weight * passage.score
            )
            if bonus is not None:
                score += bonus(text)
            out.append(Scored(passage, position, text, score))
    out.sort(key=lambda s: -s.score)
    return out


def _words(text: str) -> int:
    return len(text.split())


def window(
    ctx: AnswerContext, best: Scored, scored: list[Scored], max_sentences: int, max_words: int, min_sentences: int = 2
) -> list[str]:
    """Contiguous sentences around `best` inside its passage (see module doc)."""
    sentences = [text for text, _ in sentences_of(ctx, best.passage.chunk)]
    score_at = {s.position: s.score for s in scored if s.passage.chunk.id == best.passage.chunk.id}
    start = end = best.position  # inclusive range
    words = _words(sentences[start])
    # backwards: the sentence needs its predecessor
    while start > 0 and REFERRING.match(sentences[start]) and end - start + 1 < max_sentences:
        if words + _words(sentences[start - 1]) > max_words and end - start + 1 >= 1:
            break
        start -= 1
        words += _words(sentences[start])
    if ctx.settings.extract_question_runs:
        # a run of questions is quoted from its start (the first one usually says what they are about)
        while start > 0 and _is_question(sentences[start - 1]) and _is_question(sentences[start]):
            if words + _words(sentences[start - 1]) > max_words:
                break
            start -= 1
            words += _words(sentences[start])
    margin = ctx.settings.extract_follow_margin
    # forwards (and backwards for a strong predecessor) while it still answers the question; a run
    # of questions ("Wer übernimmt welche Aufgaben? Wer ist verantwortlich …?") reads as one list
    while end - start + 1 < max_sentences or _in_question_run(ctx, sentences, end):
        nxt = end + 1
        prev = start - 1
        grow_next = nxt < len(sentences) and quotable_sentence(sentences[nxt]) and (
            end - start + 1 < min_sentences or score_at.get(nxt, -1.0) >= best.score - margin or REFERRING.match(sentences[nxt])
            or _in_question_run(ctx, sentences, end)
        )
        if grow_next and words + _words(sentences[nxt]) <= max_words:
            end = nxt
            words += _words(sentences[nxt])
            continue
        if end - start + 1 >= max_sentences:
            break
        grow_prev = prev >= 0 and quotable_sentence(sentences[prev]) and score_at.get(prev, -1.0) >= best.score - margin / 2
        if grow_prev and words + _words(sentences[prev]) <= max_words:
            start = prev
            words += _words(sentences[prev])
            continue
        break
    if ctx.settings.extract_self_standing_start:
        # growth may have added a referring sentence at the front: give it its predecessor (one
        # sentence beyond the limit at most), or else leave it out
        while (
            start > 0
            and REFERRING.match(sentences[start])
            and end - start + 1 <= max_sentences
            and quotable_sentence(sentences[start - 1])
            and words + _words(sentences[start - 1]) <= max_words
        ):
            start -= 1
            words += _words(sentences[start])
        while start < best.position and needs_predecessor(ctx.settings, sentences[start]):
            start += 1
    while start < best.position and not quotable_sentence(sentences[start]):
        start += 1
    return sentences[start : end + 1]


def _in_question_run(ctx: AnswerContext, sentences: list[str], end: int) -> bool:
    """The extract ends inside a run of questions that goes on (the run is quoted whole)."""
    return (
        ctx.settings.extract_question_runs
        and end + 1 < len(sentences)
        and _is_question(sentences[end])
        and _is_question(sentences[end + 1])
    )


def _is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith("?")


def extract(
    ctx: AnswerContext,
    passages: list[Passage],
    *,
    max_words: int | None = None,
    focus: str | None = None,
    second: bool = True,
    bonus=None,
    max_sentences: int | None = None,
) -> list[tuple[Passage, list[str]]]:
    """2–4 contiguous sentences from the best passage, plus at most one from another passage."""
    settings = ctx.settings
    max_words = max_words or ctx.max_words
    scored = score_sentences(ctx, passages, focus, bonus)
    if not scored:
        return []
    best = scored[0]
    first = window(ctx, best, scored, max_sentences or settings.extract_max_sentences, max_words)
    out = [(best.passage, first)]
    used = sum(_words(s) for s in first)
    if second and settings.extract_second_from_top is not None:
        with_top = with_top_passage(ctx, passages, out, max_words, scored)
        if len(with_top) > len(out):
            return with_top
    if second:
        for cand in scored[1:]:
            if cand.score < best.score - settings.extract_second_margin:
                break
            if cand.passage.chunk.id == best.passage.chunk.id or needs_predecessor(ctx.settings, cand.text):
                continue
            if used + _words(cand.text) > max_words or _near_duplicate(cand.text, first):
                continue
            out.append((cand.passage, [cand.text]))
            break
    return out


def with_top_passage(
    ctx: AnswerContext, passages: list[Passage], parts: list[tuple[Passage, list[str]]], max_words: int, scored: list[Scored] | None = None
) -> list[tuple[Passage, list[str]]]:
    """The parts plus the best sentence of the passage retrieval ranks first, when no part quotes
    that passage yet and the sentence scores within `extract_second_from_top` of the best sentence
    (see settings)."""
    margin = ctx.settings.extract_second_from_top
    top = next((p for p in passages if quotable_chunk(p.chunk)), None)
    if margin is None or top is None or any(p.chunk.id == top.chunk.id for p, _ in parts):
        return parts
    scored = scored if scored is not None else score_sentences(ctx, passages)
    if not scored:
        return parts
    said = [x for _, xs in parts for x in xs]
    used = sum(_words(x) for x in said)
    for cand in scored:
        if cand.passage.chunk.id != top.chunk.id or needs_predecessor(ctx.settings, cand.text):
            continue
        if cand.score >= scored[0].score - margin and used + _words(cand.text) <= max_words and not _near_duplicate(cand.text, said):
            return [*parts, (cand.passage, [cand.text])]
        break
    return parts


def _near_duplicate(sentence: str, others: list[str]) -> bool:
    a = set(content_stems(sentence))
    for other in others:
        b = set(content_stems(other))
        if a and b and len(a & b) / min(len(a), len(b)) > 0.8:
            return True
    return False


def render(draft, parts: list[tuple[Passage, list[str]]]) -> str:
    """The extract as one paragraph: every sentence verbatim with its `[n]`."""
    return " ".join(draft.quote(sentence, passage) for passage, sentences in parts for sentence in sentences)
