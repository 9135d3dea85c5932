"""Evaluation: test sets, metrics, reports and the `assistant eval` command.

`testset` owns the item models and splits, `metrics` the hit rule and every score, `report` the
report model with its Markdown, charts and console summary, `run` asking the service and the CLI.
"""

from assistant.evaluation.metrics import (
    AnswerGrade,
    QuestionResult,
    answer_body,
    body_refs,
    contains_term,
    evidence_matches,
    first_hit_rank,
    fold,
    grade_answer,
    ndcg,
    normalize,
    passage_matches,
    percentile,
    retrieval_metrics,
    score_answer,
    usefulness_metrics,
)
from assistant.evaluation.report import EvalReport, UsefulnessReport, build_report, build_usefulness, render_markdown, summary_table, write_outputs
from assistant.evaluation.run import evaluate, evaluate_answers, run_cli
from assistant.evaluation.testset import (
    ANSWER_KINDS,
    ANSWER_TESTSET,
    BLIND_TESTSET,
    DEFAULT_TESTSET,
    KINDS,
    AnswerItem,
    AnswerSet,
    AnswerTurn,
    ConversationItem,
    EvalItem,
    TestsetError,
    assign_splits,
    is_catalogue_id,
    load_answer_set,
    load_split,
    load_testset,
    split_items,
)

__all__ = [name for name in dir() if not name.startswith("_")]
