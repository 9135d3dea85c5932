"""Running an evaluation: ask every test item through the service, grade it, and the
`assistant eval` command that writes eval.json / eval.md / charts."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Sequence

from assistant.evaluation.metrics import AnswerGrade, QuestionResult, grade_answer, score_answer
from assistant.evaluation.report import (
    EvalReport,
    build_report,
    build_usefulness,
    summary_table,
    write_outputs,
    UsefulnessReport,
)
from assistant.evaluation.testset import (
    ANSWER_TESTSET,
    BLIND_TESTSET,
    DEFAULT_TESTSET,
    AnswerSet,
    EvalItem,
    TestsetError,
    load_answer_set,
    load_split,
)
from assistant.errors import BUILD_INDEX
from assistant.settings import Settings

EXIT_OK, EXIT_INPUT, EXIT_UNAVAILABLE = 0, 2, 3


def evaluate(
    service,
    items: Sequence[EvalItem],
    k: int = 10,
    *,
    split: str = "",
    testset: str = "",
    progress=None,
    answers: AnswerSet | None = None,
    answer_testset: str = "",
) -> EvalReport:
    """Ask every item through `service.ask(question, top_k=k)` and score retrieval and answer.

    Raises `assistant.errors.AssistantUnavailable` when model or index cannot be used."""
    service.warm_up()
    chunks = service.index_chunks
    service.ask("Worum geht es in der Roadmap?", top_k=k)  # warm-up: first torch call is slow
    results: list[QuestionResult] = []
    for n, item in enumerate(items, 1):
        answer = service.ask(item.question, top_k=k, question_id=item.id)
        results.append(score_answer(item, answer, chunks, k))
        if progress is not None:
            progress(n, len(items))
    manifest = {}
    try:
        from assistant.index import read_manifest

        m = read_manifest(service.settings)
        manifest = {
            "built_at": m.built_at,
            "chunker_version": m.chunker_version,
            "model_id": m.model_id,
            "chunks": m.chunks,
            "corpus_sha256": m.corpus_sha256,
        }
    except Exception:  # the report stays useful without index details
        pass
    usefulness = evaluate_answers(service, answers, testset=answer_testset, progress=progress) if answers else None
    return build_report(results, split=split or "custom", k=k, testset=testset, index=manifest, usefulness=usefulness)


def evaluate_answers(service, answers: AnswerSet, *, testset: str = "", progress=None) -> UsefulnessReport:
    """Ask the answer test set: single questions alone, conversations turn by turn in one
    conversation each (as the app and `assistant chat` do)."""
    from assistant.conversation import Conversation

    grades: list[AnswerGrade] = []
    total = len(answers.singles) + sum(len(c.turns) for c in answers.conversations)
    for item in answers.singles:
        answer = service.ask(item.question, question_id=item.id)
        grades.append(grade_answer(item, answer, item_id=item.id, lang=item.lang))
        if progress is not None:
            progress(len(grades), total)
    for conv in answers.conversations:
        conversation = Conversation()
        for number, turn in enumerate(conv.turns, 1):
            turn_id = f"{conv.id}#{number}"
            answer = service.ask(turn.question, conversation=conversation, question_id=turn_id)
            grades.append(
                grade_answer(turn, answer, item_id=turn_id, lang=conv.lang, conversation=conv.id, turn=number)
            )
            if progress is not None:
                progress(len(grades), total)
    return build_usefulness(grades, testset=testset)


def run_cli(args, settings: Settings, service=None) -> int:
    """`assistant eval`: evaluate one split, write eval.json/eval.md/chart into --out.
    Exit codes as in the CLI: 0 ok, 2 bad test set or --k, 3 model or index unavailable."""
    from assistant.errors import AssistantUnavailable
    from assistant.service import AssistantService

    split = getattr(args, "split", "test") or "test"
    only = getattr(args, "only", None)
    k = int(getattr(args, "k", 10) or 10)
    if not 1 <= k <= 50:
        print("--k muss zwischen 1 und 50 liegen.", file=sys.stderr)
        return EXIT_INPUT
    default_path = BLIND_TESTSET if split == "blind" else DEFAULT_TESTSET
    testset_path = Path(args.testset) if getattr(args, "testset", None) else default_path
    answer_path = Path(args.answer_testset) if getattr(args, "answer_testset", None) else ANSWER_TESTSET
    try:
        items = [] if only == "answers" else load_split(split, testset_path)
        # The answer set has dev and test halves; the blind split is a retrieval set only.
        answers = None if only == "retrieval" or split == "blind" else load_answer_set(answer_path).split(split)
    except TestsetError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    service = service or AssistantService(settings)
    started = time.perf_counter()
    interactive = sys.stderr.isatty()

    def progress(n: int, total: int) -> None:
        if interactive:
            print(f"\r{n}/{total} Fragen", end="", file=sys.stderr, flush=True)
        elif n % 25 == 0 or n == total:
            print(f"{n}/{total} Fragen", file=sys.stderr, flush=True)

    try:
        report = evaluate(
            service,
            items,
            k=k,
            split=split,
            testset=str(testset_path),
            progress=progress,
            answers=answers,
            answer_testset=str(answer_path),
        )
    except AssistantUnavailable as exc:
        message = str(exc)
        if exc.command is None:  # every known cause carries its fix in `.command` and names it
            message += f" Index bauen mit: {BUILD_INDEX}"
        print(f"Evaluation nicht möglich: {message}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if interactive:
        print(file=sys.stderr)
    paths = write_outputs(report, Path(getattr(args, "out", None) or "reports"))
    print(summary_table(report))
    print(f"Dauer {time.perf_counter() - started:.1f} s · Berichte: " + ", ".join(str(p) for p in paths.values()))
    return EXIT_OK
