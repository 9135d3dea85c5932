"""Errors a user can repair: each real failure carries its repair command in `.command`, and its
German message names that same command (the app shows it to copy, the CLI prints the message)."""

from __future__ import annotations

import pytest

from assistant import errors
from assistant.embedding import check_model
from assistant.errors import AssistantUnavailable, IndexUnavailable, ModelMissingError
from assistant.index import validate_index
from assistant.service import AssistantService
from tests.conftest import make_settings

pytestmark = pytest.mark.unit  # needs neither the model nor an index (make test-fast)

BUILD = ".venv/bin/python -m assistant build-index"
FETCH = ".venv/bin/python -m assistant fetch-model"


def test_missing_index_carries_the_build_command(tmp_path):
    with pytest.raises(IndexUnavailable) as caught:
        validate_index(make_settings(tmp_path))
    assert caught.value.command == BUILD
    assert str(caught.value) == f"Es gibt noch keinen Suchindex. Bitte bauen mit: {BUILD}"


def test_damaged_manifest_carries_the_forced_build(tmp_path):
    settings = make_settings(tmp_path)
    (settings.index_dir / "current").mkdir(parents=True)
    (settings.index_dir / "current" / "manifest.json").write_text("{not json")
    with pytest.raises(IndexUnavailable) as caught:
        validate_index(settings)
    assert caught.value.command == f"{BUILD} --force"
    assert str(caught.value).endswith(f"Bitte neu bauen mit: {BUILD} --force")


def test_missing_model_carries_the_fetch_command(tmp_path):
    with pytest.raises(ModelMissingError) as caught:
        check_model(make_settings(tmp_path, model_cache=tmp_path / "empty-cache"))
    assert caught.value.command == FETCH
    assert str(caught.value) == f"Das Embedding-Modell fehlt. Bitte einmal ausführen: {FETCH}"


def test_the_service_keeps_message_and_command(tmp_path):
    with pytest.raises(AssistantUnavailable) as caught:
        AssistantService(make_settings(tmp_path)).warm_up()
    assert caught.value.command == BUILD
    assert "noch keinen Suchindex" in str(caught.value)
    assert isinstance(caught.value.__cause__, IndexUnavailable)


def test_a_failure_without_a_command_has_none():
    assert AssistantUnavailable("Das Sprachmodell antwortet nicht.").command is None


def test_chroma_messages_keep_their_wording():
    url = "http://127.0.0.1:8000"
    start = "Bitte den Server starten (README, Abschnitt „Chroma-Server“) oder ASSISTANT_CHROMA_URL prüfen"
    assert str(errors.chroma_unreachable(url)) == f"Der Chroma-Server unter {url} ist nicht erreichbar. {start}."
    on_open = errors.chroma_unreachable_on_open(url)
    assert str(on_open) == (
        f"Der Chroma-Server unter {url} ist nicht erreichbar. {start}; danach zeigt "
        ".venv/bin/python -m assistant status, ob alles bereit ist."
    )
    assert on_open.command == ".venv/bin/python -m assistant status"
    keep = "Der bisherige Index bleibt unverändert und beantwortet weiter Fragen."
    on_build = errors.chroma_unreachable_on_build(url, keep)
    assert str(on_build) == f"Der Chroma-Server unter {url} ist nicht erreichbar. {keep} {start} und dann erneut ausführen: {BUILD}"
    assert on_build.command == BUILD and isinstance(on_build, OSError)


@pytest.mark.parametrize(
    "error",
    [
        errors.model_missing(),
        errors.model_checksum_mismatch(),
        errors.no_index(),
        errors.index_needs_rebuild("Der Suchindex ist veraltet.", force=False),
        errors.index_needs_rebuild("Der Suchindex ist beschädigt."),
        errors.vector_count_mismatch(3, 5),
        errors.collection_missing("roadmap_lotse_x", "http://127.0.0.1:8000"),
        errors.chroma_unreachable_on_open("http://127.0.0.1:8000"),
        errors.chroma_unreachable_on_build("http://127.0.0.1:8000", "Der bisherige Index bleibt."),
    ],
    ids=lambda e: str(e)[:30],
)
def test_every_command_is_named_in_its_message(error):
    assert error.command and error.command.startswith(".venv/bin/python -m assistant ")
    assert error.command in str(error)
