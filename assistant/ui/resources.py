"""Long-lived resources of the app: settings, the one service (embedding model + index) and the
feedback store per server process, the cached status and onboarding path, and the defaults of a
session. Nothing runs at import time: `app.py` calls `load()` and `init_session()` on every run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import streamlit as st
from pydantic import ValidationError

from assistant import views
from assistant.chat import STARTER_QUESTIONS, ChatSession
from assistant.corpus import Catalogue
from assistant.feedback import FeedbackStore
from assistant.onboarding import OnboardingProgress, OnboardingStep, onboarding_path
from assistant.errors import AssistantUnavailable
from assistant.service import AssistantService, Status
from assistant.settings import Settings, get_settings, invalid_settings_message

log = logging.getLogger("roadmap_lotse.app")

ALL = "alle"  # select boxes show None as an empty choice, so "all" gets its own value
_RESOURCES = "_resources"  # session-state key of this run's `Resources`


@st.cache_resource(show_spinner=False)
def _service(settings_key: str, _settings: Settings) -> AssistantService:
    return AssistantService(_settings)


@st.cache_resource(show_spinner=False)
def _warm(settings_key: str, _service: AssistantService) -> bool:
    """Load model and index once; the starter questions prime the model and the query cache.
    Failures are not cached, so a repaired index is picked up on the next interaction."""
    _service.warm_up()
    if _service.settings.llm == "none":  # with a language model each priming call would cost a reply
        for question in STARTER_QUESTIONS:
            _service.ask(question)
    return True


@st.cache_resource(show_spinner=False)
def _feedback_store(path: str) -> FeedbackStore:
    return FeedbackStore(path)


@st.cache_data(ttl=30, show_spinner=False)
def _status(settings_key: str, _service: AssistantService) -> Status:
    return _service.status()


@st.cache_resource(show_spinner=False)
def _onboarding_path(catalogue_hash: str, _catalogue: Catalogue) -> list[OnboardingStep]:
    return onboarding_path(_catalogue)


def settings_key(settings: Settings) -> str:
    return settings.model_dump_json(exclude={"llm_api_key"})  # a cache key; keep secrets out


@dataclass(frozen=True)
class Resources:
    """What one run of the app works with (read once per run: settings are not free to build)."""

    settings: Settings
    key: str
    service: AssistantService


def load() -> None:
    """Read the settings and get the cached service for this run. When the catalogue itself is
    unreadable nothing can be shown: a German message names what to check and the run stops."""
    try:
        settings = get_settings()
    except ValidationError as exc:  # a wrong ASSISTANT_* value: name it instead of crashing
        st.error(views.md_inline(invalid_settings_message(exc)))
        st.stop()
    key = settings_key(settings)
    try:
        service = _service(key, settings)
    except Exception as exc:
        log.exception("catalogue could not be loaded")
        st.error(
            views.md_inline(
                f"Der Kriterienkatalog konnte nicht gelesen werden ({type(exc).__name__}). "
                f"Erwartet unter {settings.catalogue_path} – prüfen Sie ASSISTANT_CORPUS_DIR."
            )
        )
        st.stop()
    st.session_state[_RESOURCES] = Resources(settings=settings, key=key, service=service)


def init_session() -> None:
    """Defaults of a new session: an empty chat, onboarding at step one, no filters."""
    ss = st.session_state
    if "chat" not in ss:
        ss.chat = ChatSession()
    if "onboarding" not in ss:
        ss.onboarding = OnboardingProgress()
    ss.setdefault("phase_filter", ALL)
    ss.setdefault("source_filter", ALL)


def current() -> Resources:
    return st.session_state[_RESOURCES]


def settings() -> Settings:
    return current().settings


def service() -> AssistantService:
    return current().service


def catalogue() -> Catalogue:
    return current().service.catalogue


def ready_service() -> AssistantUnavailable | None:
    """Warm the service; the error to show when model or index are not usable."""
    res = current()
    try:
        with st.spinner("Lade Embedding-Modell und Suchindex … (nur beim ersten Start)"):
            _warm(res.key, res.service)
    except AssistantUnavailable as exc:
        return exc
    return None


def current_status() -> Status | None:
    """Model and index status (cached 30 s); None if even the check fails (it only informs)."""
    res = current()
    try:
        return _status(res.key, res.service)
    except Exception:
        log.exception("status check failed")
        return None


def reload_index() -> None:
    """Pick up a rebuilt index: the service drops it, warm-up and status run again."""
    service().reload()
    _warm.clear()
    _status.clear()


def feedback_store() -> FeedbackStore:
    return _feedback_store(str(settings().feedback_db))


def onboarding_steps() -> list[OnboardingStep]:
    cat = catalogue()
    return _onboarding_path(cat.content_hash, cat)
