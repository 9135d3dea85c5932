"""CLI: the `assistant` command (also `python -m assistant`).

Sub-commands: ask, chat, build-index, fetch-model, status, criteria, eval, add, remove, serve, mcp.
The JSON printed by `ask --json` / `--jsonl` is a contract read by outside tools; it only grows.
Exit codes: 0 ok, 2 bad input, 3 model or index unavailable (the message names the fix).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from pydantic import ValidationError

from assistant.domain import PHASE_IDS
from assistant.settings import Settings, get_settings, invalid_settings_message

EXIT_OK, EXIT_INPUT, EXIT_UNAVAILABLE = 0, 2, 3

T = TypeVar("T")


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _format_answer(answer, show_sources: bool = True) -> str:
    parts = []
    if answer.notice:
        parts.append(f"Hinweis: {answer.notice}")
    parts.append(answer.answer)
    if show_sources and answer.citations:
        parts.append("Quellen:")
        for c in answer.citations:
            where = c.section if c.source != "catalogue" else "Kriterienkatalog"
            page = f", S. {c.page}" if c.page else ""
            parts.append(f"  [{c.n}] {c.title} – {where}{page}")
    return "\n".join(parts)


# -- commands ------------------------------------------------------------------------------------


def cmd_ask(args, settings: Settings) -> int:
    from assistant.errors import AssistantUnavailable, InvalidQuestion
    from assistant.service import AssistantService, clean_question

    if args.jsonl is None and args.question is None:
        _err("Bitte eine Frage angeben, z. B.: assistant ask \"Was ist das Masterportal?\"")
        return EXIT_INPUT
    if args.jsonl is None:
        try:
            clean_question(args.question, settings.max_question_chars)
        except InvalidQuestion as exc:  # answer bad input at once, without loading the model
            if args.json:
                _print_json({"question": args.question, "answer": str(exc), "abstained": True, "error": "invalid_question"})
            else:
                _err(str(exc))
            return EXIT_INPUT
    service = AssistantService(settings)
    try:
        service.warm_up()
    except AssistantUnavailable as exc:
        _err(str(exc))
        if args.json or args.jsonl:
            _print_json({"error": str(exc), "abstained": True})
        return EXIT_UNAVAILABLE
    if args.jsonl is not None:
        return _ask_jsonl(service, args)
    answer = service.ask(args.question, top_k=args.top_k, phase=args.phase, source=args.source)
    if args.json:
        _print_json(answer.to_contract())
    else:
        print(_format_answer(answer))
    return EXIT_INPUT if answer.error else EXIT_OK


def _ask_jsonl(service, args) -> int:
    """One JSON answer per input line. Consecutive lines with the same `conversation` value are the
    turns of one conversation, in file order (follow-ups resolve against the earlier turns)."""
    from assistant.conversation import Conversation

    source = sys.stdin if args.jsonl == "-" else None
    try:
        handle = source or open(args.jsonl, encoding="utf-8")
    except OSError as exc:
        _err(f"Datei nicht lesbar: {args.jsonl} ({exc.strerror})")
        return EXIT_INPUT
    status = EXIT_OK
    conversation_key: object = None
    conversation: Conversation | None = None
    with handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError("not an object")
            except ValueError:
                _print_json({"id": None, "line": line_no, "error": "Zeile ist kein gültiges JSON-Objekt.", "abstained": True})
                status = EXIT_INPUT
                continue
            key = item.get("conversation")
            if key is None:
                conversation_key, conversation = None, None
            elif key != conversation_key or conversation is None:
                conversation_key, conversation = key, Conversation()
            answer = service.ask(
                item.get("question"),
                top_k=args.top_k,
                phase=args.phase or item.get("phase_filter"),
                source=args.source,
                question_id=item.get("id"),
                conversation=conversation,
            )
            _print_json(answer.to_contract())
            sys.stdout.flush()
    return status


def cmd_chat(args, settings: Settings) -> int:
    from assistant.conversation import Conversation
    from assistant.errors import AssistantUnavailable
    from assistant.service import AssistantService

    service = AssistantService(settings)
    try:
        service.warm_up()
    except AssistantUnavailable as exc:
        _err(str(exc))
        return EXIT_UNAVAILABLE
    conversation = Conversation()
    print("Roadmap-Lotse – Fragen zur Roadmap „Smart-City-Lösungen skalieren“. Beenden mit 'exit' oder Strg+D.")
    while True:
        try:
            question = input("\nFrage> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return EXIT_OK
        if question.strip().lower() in {"exit", "quit", "ende", "q"}:
            return EXIT_OK
        if question.strip().lower() in {"neu", "reset"}:
            conversation.clear()
            print("Neue Unterhaltung begonnen.")
            continue
        answer = service.ask(question, phase=args.phase, conversation=conversation)
        print(_format_answer(answer))


def cmd_build_index(args, settings: Settings) -> int:
    from assistant.errors import IndexBuildError, ModelMissingError
    from assistant.index import build_error, build_index

    try:
        build_index(settings, progress=lambda m: print(m, flush=True), show_bar=not args.quiet, force=args.force)
    except ModelMissingError as exc:
        _err(str(exc))
        return EXIT_UNAVAILABLE
    except OSError as exc:  # IndexBuildError (an OSError) carries the German message with the fix
        _err(str(exc) if isinstance(exc, IndexBuildError) else str(build_error(settings, exc)))
        return EXIT_UNAVAILABLE
    except Exception as exc:  # never a traceback: the message names the cause and the command
        _err(str(build_error(settings, exc)))
        return EXIT_UNAVAILABLE
    return EXIT_OK


def cmd_fetch_model(args, settings: Settings) -> int:
    import subprocess

    from assistant.embedding import fetch_model
    from assistant.errors import ModelMissingError

    if settings.embed_model is not None:
        print(f"ASSISTANT_EMBED_MODEL ist gesetzt ({settings.embed_model}); nichts zu laden.")
        return EXIT_OK
    try:
        if args.force:
            import shutil

            shutil.rmtree(settings.model_cache / "embeddinggemma-300m", ignore_errors=True)
        fetch_model(settings, progress=lambda m: print(m, flush=True))
    except (ModelMissingError, subprocess.CalledProcessError, OSError) as exc:
        detail = exc.stderr.decode(errors="replace").strip().splitlines()[-1:] if isinstance(exc, subprocess.CalledProcessError) and exc.stderr else []
        _err(f"Das Modell konnte nicht geladen werden: {exc if not detail else detail[0]}")
        return EXIT_UNAVAILABLE
    return EXIT_OK


def cmd_status(args, settings: Settings) -> int:
    from assistant.service import AssistantService

    status = AssistantService(settings).status()
    if args.json:
        _print_json(
            {
                "model_ok": status.model_ok,
                "model": status.model_message,
                "index_ok": status.index_ok,
                "index": status.index_message,
                "manifest": status.manifest.model_dump(mode="json") if status.manifest else {},
                "catalogue_criteria": status.catalogue_criteria,
                "study_criteria": status.study_criteria,
            }
        )
    else:
        print(f"Modell:  {'OK' if status.model_ok else 'FEHLT'} – {status.model_message}")
        print(f"Index:   {'OK' if status.index_ok else 'NICHT BEREIT'} – {status.index_message}")
        if status.counts:
            print("Abschnitte: " + ", ".join(f"{k} {v}" for k, v in sorted(status.counts.items())))
        print(f"Katalog: {status.coverage_note}")
    return EXIT_OK if status.model_ok and status.index_ok else EXIT_UNAVAILABLE


def cmd_criteria(args, settings: Settings) -> int:
    from assistant.browse import filter_criteria
    from assistant.corpus import Catalogue

    catalogue = Catalogue.load(settings.catalogue_path)
    rows = filter_criteria(catalogue, phase=args.phase, driver=args.driver, workstream=args.workstream, milestone=args.milestone, text=args.search)
    if args.json:
        _print_json([row.model_dump() for row in rows])
        return EXIT_OK
    for row in rows:
        flags = []
        if row.milestone:
            flags.append("Meilenstein")
        if row.driver:
            flags.append(row.driver)
        print(f"{row.id}  {row.phase_label or 'ohne Phase':<40}  {row.name}" + (f"  [{', '.join(flags)}]" if flags else ""))
    print(f"\n{len(rows)} Kriterien angezeigt. {catalogue.coverage_note()}")
    return EXIT_OK


def cmd_eval(args, settings: Settings) -> int:
    from assistant.evaluation import run_cli

    return run_cli(args, settings)


def _change_user_docs(change: Callable[[], T], write_problem: Callable[[OSError], str]) -> tuple[T | None, int | None]:
    """Add or remove user documents: (what `change` returns, None), or on failure print why and
    return (None, the exit code)."""
    from assistant.userdocs import UserDocError

    try:
        return change(), None
    except UserDocError as exc:
        _err(str(exc))
        return None, EXIT_INPUT
    except OSError as exc:
        _err(write_problem(exc))
        return None, EXIT_UNAVAILABLE


def _rebuild_quietly(args, settings: Settings) -> int:
    args.force, args.quiet = False, True
    return cmd_build_index(args, settings)


def cmd_add(args, settings: Settings) -> int:
    from assistant.userdocs import add_files

    if args.questions and settings.llm == "none":
        _err(
            "--questions braucht ein Sprachmodell: ASSISTANT_LLM=openai-compatible (oder ollama) mit "
            "ASSISTANT_LLM_BASE_URL und ASSISTANT_LLM_MODEL setzen. Es wurde nichts hinzugefügt."
        )
        return EXIT_INPUT
    added, failed = _change_user_docs(
        lambda: add_files(settings, [Path(p) for p in args.paths]),
        lambda exc: f"Die Datei konnte nicht in {settings.user_dir} abgelegt werden ({exc.strerror or exc}). Bitte Schreibrechte prüfen.",
    )
    if failed is not None:
        return failed
    for path in added or []:
        print(f"Hinzugefügt: {path.name} (in {path.parent})")
        if args.questions:
            _make_questions(settings, path)
    if args.no_build:
        print("Index nicht aktualisiert. Später ausführen: .venv/bin/python -m assistant build-index")
        return EXIT_OK
    return _rebuild_quietly(args, settings)


def _make_questions(settings: Settings, path: Path) -> None:
    """Questions for one added document by the configured model; a failure leaves the document in
    and says so (it is then found by its text alone)."""
    from assistant import augment
    from assistant.corpus import Catalogue

    try:
        groups = augment.generate(settings, path, Catalogue.load(settings.catalogue_path))
    except Exception as exc:  # model unreachable, timeout, HTTP error
        _err(f"Fragen zu {path.name} konnten nicht erzeugt werden ({type(exc).__name__}); das Dokument ist aufgenommen und wird über seinen Text gefunden.")
        return
    augment.store(settings, path.name, groups)
    print(f"Fragen erzeugt: {sum(len(g.questions) for g in groups)} zu {len(groups)} Abschnitten von {path.name}")


def cmd_remove(args, settings: Settings) -> int:
    from assistant.userdocs import remove_file

    _, failed = _change_user_docs(
        lambda: remove_file(settings, args.name),
        lambda exc: f"Das Dokument konnte nicht entfernt werden ({exc.strerror or exc}). Bitte Schreibrechte auf {settings.user_dir} prüfen.",
    )
    if failed is not None:
        return failed
    print(f"Entfernt: {args.name}")
    return _rebuild_quietly(args, settings)


def cmd_serve(args, settings: Settings) -> int:
    from assistant.api.server import serve

    if args.port is not None and not 1 <= args.port <= 65535:
        _err("--port muss zwischen 1 und 65535 liegen.")
        return EXIT_INPUT
    return serve(settings, host=args.host, port=args.port)


def cmd_mcp(args, settings: Settings) -> int:
    from assistant.api.server import mcp_stdio

    return mcp_stdio(settings)


# -- parser ---------------------------------------------------------------------------------------


def _ask_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", nargs="?")
    p.add_argument("--json", action="store_true", help="Antwort als JSON (Vertrag für Auswertungswerkzeuge)")
    p.add_argument("--jsonl", metavar="FILE", help="Fragen aus JSON-Lines-Datei (oder - für stdin)")
    p.add_argument("--top-k", type=int, default=None, dest="top_k")
    p.add_argument("--phase", choices=PHASE_IDS)
    p.add_argument("--source", choices=["dossier", "catalogue", "user"])


def _chat_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--phase", choices=PHASE_IDS)


def _build_index_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true")
    p.add_argument("--quiet", action="store_true", help="ohne Fortschrittsbalken")


def _fetch_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true")


def _status_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true")


def _criteria_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--phase", choices=PHASE_IDS)
    p.add_argument("--driver", help="Skalierungstreiber, z. B. T2")
    p.add_argument("--workstream", help="wirtschaftlich | organisatorisch | finanziell | technisch")
    p.add_argument("--milestone", action="store_true", help="nur Meilensteine")
    p.add_argument("--search", help="Text in Name oder Kurzfassung")
    p.add_argument("--json", action="store_true")


def _eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--split", choices=["dev", "test", "blind", "all"], default="test")
    p.add_argument("--only", choices=["retrieval", "answers"], default=None,
                   help="nur Retrieval (Fragen-Testset) oder nur Antworten (Antwort-Testset) messen")
    p.add_argument("--answer-testset", default=None)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--out", default="reports")
    p.add_argument("--testset", default=None)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+")
    p.add_argument("--no-build", action="store_true", dest="no_build")
    p.add_argument(
        "--questions", action="store_true",
        help="mit dem eingestellten Sprachmodell Fragen je Abschnitt erzeugen (verbessert die Suche; aus, solange kein Modell eingestellt ist)",
    )


def _remove_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")


def _serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None, help="Adresse (Vorgabe 127.0.0.1; andere nur mit ASSISTANT_API_TOKENS)")
    p.add_argument("--port", type=int, default=None, help="Port (Vorgabe 8700)")


def _no_arguments(p: argparse.ArgumentParser) -> None:
    pass


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    run: Callable[[argparse.Namespace, Settings], int]
    arguments: Callable[[argparse.ArgumentParser], None]


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("ask", "eine Frage stellen", cmd_ask, _ask_arguments),
    Subcommand("chat", "interaktive Unterhaltung mit Rückfragen", cmd_chat, _chat_arguments),
    Subcommand("build-index", "Suchindex bauen (atomar, der alte bleibt bei Fehlern erhalten)", cmd_build_index, _build_index_arguments),
    Subcommand("fetch-model", "EmbeddingGemma-300M einmalig laden und prüfen", cmd_fetch_model, _fetch_model_arguments),
    Subcommand("status", "Modell, Index und Katalogabdeckung anzeigen", cmd_status, _status_arguments),
    Subcommand("criteria", "Kriterien des Katalogs anzeigen und filtern", cmd_criteria, _criteria_arguments),
    Subcommand("eval", "Retrieval- und Antwortqualität auf dem Testset messen", cmd_eval, _eval_arguments),
    Subcommand("add", "eigene Dokumente (PDF, DOCX, Markdown, Text) hinzufügen", cmd_add, _add_arguments),
    Subcommand("remove", "eigenes Dokument entfernen", cmd_remove, _remove_arguments),
    Subcommand("serve", "HTTP-API, OpenAI-kompatiblen Endpunkt und MCP (/mcp) starten", cmd_serve, _serve_arguments),
    Subcommand("mcp", "MCP-Server über stdin/stdout (für MCP-Clients, die ihn selbst starten)", cmd_mcp, _no_arguments),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="Roadmap-Lotse: Fragen zur BBSR-Roadmap „Smart-City-Lösungen skalieren“.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in SUBCOMMANDS:
        p = sub.add_parser(command.name, help=command.help)
        command.arguments(p)
        p.set_defaults(func=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "top_k", None) is not None and not 1 <= args.top_k <= 50:
        _err("--top-k muss zwischen 1 und 50 liegen.")
        return EXIT_INPUT
    try:
        settings = get_settings()
    except ValidationError as exc:  # pydantic validation of ASSISTANT_* variables
        _err(invalid_settings_message(exc))
        return EXIT_INPUT
    try:
        return args.func(args, settings)
    except KeyboardInterrupt:
        _err("Abgebrochen.")
        return 130
