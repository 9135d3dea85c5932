"""Concurrency: answering while the index is rebuilt into the same folder, readers racing the swap,
and a short run of the load script (bench/load.py) against the shared service."""

from __future__ import annotations

import random
import threading
import time

import pytest

from assistant.index import build_index, open_index
from assistant.service import AssistantService
from assistant.userdocs import add_bytes
from tests.test_index import clone_index

QUESTIONS = [
    "Was ist das Masterportal?",
    "Was muss ich in der Pilotphase beachten?",
    "Welche Kriterien gehören zur Verstetigung?",
    "Wie finanziere ich die Skalierung?",
    "Welche Rolle spielen offene Schnittstellen?",
    "Was ist ein Minimum Viable Product?",
]
NEW_DOC = "Der Lotsenfonds Lotsenhausen fördert jedes Jahr zwölf Smart-City-Pilotprojekte mit je 50.000 Euro."
NEW_QUESTION = "Wie viele Pilotprojekte fördert der Lotsenfonds Lotsenhausen?"


class Askers:
    """Threads that keep asking through one service until stopped."""

    def __init__(self, service: AssistantService, n: int = 4):
        self.service = service
        self.stop = threading.Event()
        self.answers: list = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)]

    def _run(self, i: int):
        rng = random.Random(i)
        while not self.stop.is_set():
            question = rng.choice(QUESTIONS + [NEW_QUESTION])
            try:
                answer = self.service.ask(question)
                with self.lock:
                    if answer.error:
                        self.errors.append(f"{question}: {answer.error}")
                    self.answers.append(answer)
            except Exception as exc:
                with self.lock:
                    self.errors.append(f"{question}: {type(exc).__name__}: {exc}")

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)


def cites_new_doc(answer) -> bool:
    return any(c.source == "user" for c in answer.citations + answer.retrieved)


def test_answers_come_from_the_old_index_until_reload(settings, built_index, embedder, tmp_path):
    local = clone_index(settings, tmp_path)
    old_build = (local.index_dir / "current").resolve()
    service = AssistantService(local)
    service.warm_up()
    assert not cites_new_doc(service.ask(NEW_QUESTION))

    add_bytes(local, "lotsenfonds.md", NEW_DOC.encode())  # the corpus changes; then rebuild in place
    with Askers(service) as askers:
        time.sleep(0.5)
        manifest = build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False)
        during = len(askers.answers)
        time.sleep(0.5)
    new_build = (local.index_dir / "current").resolve()
    assert new_build != old_build and manifest.counts["user:passage"] == 1
    assert not askers.errors, askers.errors[:5]
    assert during > 0 and len(askers.answers) > during  # answers kept coming during and after the build
    assert not any(cites_new_doc(a) for a in askers.answers)  # all from the old index
    assert service._ensure_loaded()[0].index.path == old_build

    service.reload()
    answer = service.ask(NEW_QUESTION)
    assert service._ensure_loaded()[0].index.path == new_build
    assert cites_new_doc(answer) and "zwölf" in answer.answer


def test_readers_racing_the_swap_see_old_or_new_never_broken(settings, built_index, embedder, tmp_path):
    local = clone_index(settings, tmp_path)
    builds_seen: set = set()
    errors: list[str] = []
    stop = threading.Event()

    def reopen():
        while not stop.is_set():
            try:
                index = open_index(local)
                assert len(index.chunks) == index.manifest.chunks
                builds_seen.add(index.path.name)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

    readers = [threading.Thread(target=reopen, daemon=True) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for _ in range(2):
            build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False, force=True)
        time.sleep(0.3)
    finally:
        stop.set()
        for t in readers:
            t.join(60)
    assert not errors, errors[:5]
    assert len(builds_seen) >= 2


def test_load_script_against_the_shared_service(service):
    from bench import load

    qs = load.questions()
    result = load.load_service(n=20, seconds=4, qs=qs, service=service)
    ask = result["ops"]["ask"]
    assert ask["count"] >= 20 and ask["errors"] == 0, ask
    assert ask["p50_ms"] <= ask["p95_ms"] <= ask["max_ms"]
    assert "Fehler" in load.markdown(
        {"date": "-", "command": "-", "cpus": 2, "load_before": 0, "load_after": 0, "workers": 20, "seconds": 4,
         "omp_wait_policy": "-", "distinct_questions": len(set(qs)), "asks_per_session": 2, "service": result}
    )


@pytest.mark.unit
def test_search_slots_admit_waiters_in_arrival_order():
    """A released slot goes to the longest waiter; a thread arriving later never overtakes."""
    from assistant.service import FairSlots

    slots = FairSlots(1)
    order: list[int] = []
    slots.__enter__()  # the slot is taken

    def wait_turn(i: int) -> None:
        with slots:
            order.append(i)

    threads = []
    for i in range(5):
        t = threading.Thread(target=wait_turn, args=(i,))
        t.start()
        threads.append(t)
        deadline = time.monotonic() + 10
        while len(slots._waiting) < i + 1:  # queued before the next one starts
            assert time.monotonic() < deadline
            time.sleep(0.001)
    slots.__exit__(None, None, None)
    wait_turn(99)  # arrives last, after the release: must queue behind the five
    for t in threads:
        t.join(10)
    assert order == [0, 1, 2, 3, 4, 99]
