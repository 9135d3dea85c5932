"""Errors a user can act on: the failures of model, index and input, each with its German message
and, in `.command`, the shell command that repairs it (None when there is none). Messages that
several places raise are built here once; the CLI prints `str(exc)`, the app shows the message and
`.command` to copy. Exit codes stay with the CLI (3 for these failures, 2 for bad input).
"""

from __future__ import annotations

# The repair commands, as a user types them in the project folder.
ASSISTANT = ".venv/bin/python -m assistant"
BUILD_INDEX = f"{ASSISTANT} build-index"
BUILD_INDEX_FORCE = f"{BUILD_INDEX} --force"
FETCH_MODEL = f"{ASSISTANT} fetch-model"
FETCH_MODEL_FORCE = f"{FETCH_MODEL} --force"
STATUS = f"{ASSISTANT} status"


class Repairable:
    """Mixin: `command` is the shell command that repairs the failure, or None."""

    command: str | None = None


class AssistantUnavailable(Repairable, RuntimeError):
    """Model or index cannot be used; `str(exc)` is a German message naming the fix."""

    def __init__(self, message: str, command: str | None = None):
        super().__init__(message)
        self.command = command

    @classmethod
    def from_error(cls, exc: BaseException) -> "AssistantUnavailable":
        """Wrap a lower-level failure (missing model, unusable index), keeping message and command."""
        return cls(str(exc), getattr(exc, "command", None))


class InvalidQuestion(ValueError):
    """The question cannot be answered as given (empty after cleaning); message in German."""


class ModelMissingError(Repairable, RuntimeError):
    """The embedding model folder is missing or fails verification."""

    def __init__(self, message: str, command: str | None = None):
        super().__init__(message)
        self.command = command


class IndexUnavailable(Repairable, RuntimeError):
    """The index is missing, stale or broken. The message names the repairing command."""

    def __init__(self, message: str, command: str | None = None):
        super().__init__(message)
        self.command = command


class IndexBuildError(Repairable, OSError):
    """A build could not start or finish; the previous index is untouched and still answers.
    `str(exc)` is a German message naming the cause and the repairing command; `errno` is kept
    when the cause was an OSError (an OSError subclass, so callers catching OSError keep working)."""

    def __init__(self, message: str, cause_errno: int | None = None, command: str | None = BUILD_INDEX):
        super().__init__(message)
        self.errno = cause_errno
        self.command = command


# -- messages raised in more than one place -------------------------------------------------------


def model_missing() -> ModelMissingError:
    return ModelMissingError(f"Das Embedding-Modell fehlt. Bitte einmal ausführen: {FETCH_MODEL}", FETCH_MODEL)


def model_checksum_mismatch() -> ModelMissingError:
    return ModelMissingError(
        f"Die Modellgewichte stimmen nicht mit der festgelegten Prüfsumme überein. Bitte neu laden: {FETCH_MODEL_FORCE}",
        FETCH_MODEL_FORCE,
    )


def index_needs_rebuild(reason: str, *, force: bool = True) -> IndexUnavailable:
    """`reason` plus 'Bitte neu bauen mit: …' (with --force when the current build must be replaced)."""
    command = BUILD_INDEX_FORCE if force else BUILD_INDEX
    return IndexUnavailable(f"{reason} Bitte neu bauen mit: {command}", command)


def no_index() -> IndexUnavailable:
    return IndexUnavailable(f"Es gibt noch keinen Suchindex. Bitte bauen mit: {BUILD_INDEX}", BUILD_INDEX)


def vector_count_mismatch(count: int, expected: object) -> IndexUnavailable:
    return index_needs_rebuild(f"Der Vektorspeicher enthält {count} statt {expected} Einträge.")


def collection_missing(collection: object, chroma_url: str) -> IndexUnavailable:
    return index_needs_rebuild(f"Die Sammlung {collection} fehlt auf dem Chroma-Server unter {chroma_url}.")


def _chroma_down(chroma_url: str, fix: str) -> str:
    return f"Der Chroma-Server unter {chroma_url} ist nicht erreichbar. {fix}"


_START_CHROMA = "Bitte den Server starten (README, Abschnitt „Chroma-Server“) oder ASSISTANT_CHROMA_URL prüfen"


def chroma_unreachable(chroma_url: str) -> IndexUnavailable:
    """The Chroma server does not answer when the status checks the index."""
    return IndexUnavailable(_chroma_down(chroma_url, f"{_START_CHROMA}."))


def chroma_unreachable_on_open(chroma_url: str) -> IndexUnavailable:
    """The Chroma server does not answer when the index is opened; the status command confirms the fix."""
    return IndexUnavailable(_chroma_down(chroma_url, f"{_START_CHROMA}; danach zeigt {STATUS}, ob alles bereit ist."), STATUS)


def chroma_unreachable_on_build(chroma_url: str, keep: str) -> IndexBuildError:
    """A build could not reach the Chroma server; `keep` says the previous index still answers."""
    return IndexBuildError(_chroma_down(chroma_url, f"{keep} {_START_CHROMA} und dann erneut ausführen: {BUILD_INDEX}"))
