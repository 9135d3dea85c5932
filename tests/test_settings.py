"""Settings (assistant/settings.py): every tunable value read from `ASSISTANT_*` environment
variables, typed and validated; a wrong value gets a German message naming the variable, in the CLI
and in the app, instead of a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.settings import PROJECT_ROOT, Settings, get_settings
from tests.conftest import ROOT
from tests.test_app import restore_main_module  # noqa: F401  (autouse: AppTest leaves app.py as __main__)

pytestmark = pytest.mark.unit  # needs neither the model nor an index (make test-fast)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Only what a test sets: no ASSISTANT_* variable of the calling shell."""
    import os

    for key in [k for k in os.environ if k.startswith("ASSISTANT_")]:
        monkeypatch.delenv(key)


def test_defaults_without_environment():
    s = get_settings()
    assert s.corpus_dir == PROJECT_ROOT / "corpus" and s.index_dir == PROJECT_ROOT / "index"
    assert (s.top_k, s.candidate_pool, s.fusion, s.llm, s.query_precision) == (10, 40, "score", "none", "bfloat16")
    assert s.chroma_url is None and s.llm_api_key is None
    # derived places
    assert s.user_dir == PROJECT_ROOT / "corpus" / "user"
    assert s.dossier_dir == PROJECT_ROOT / "corpus" / "dossier"
    assert s.catalogue_path == PROJECT_ROOT / "corpus" / "catalogue" / "criteria.yaml"
    assert s.model_dir == Path.home() / ".cache" / "roadmap-lotse" / "embeddinggemma-300m"
    assert s.projects_path == PROJECT_ROOT / "reports" / "projects.sqlite3"


def test_values_are_read_and_typed_from_the_environment(monkeypatch, tmp_path):
    values = {
        "ASSISTANT_CORPUS_DIR": str(tmp_path / "korpus"),
        "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_MODEL_CACHE": str(tmp_path / "modelle"),
        "ASSISTANT_TOP_K": "7",
        "ASSISTANT_CANDIDATE_POOL": "120",
        "ASSISTANT_FUSION": "rrf",
        "ASSISTANT_RRF_K": "30",
        "ASSISTANT_DENSE_WEIGHT": "0.75",
        "ASSISTANT_QUERY_PRECISION": "int8",
        "ASSISTANT_LLM": "openai-compatible",
        "ASSISTANT_LLM_BASE_URL": "http://127.0.0.1:8080/v1",
        "ASSISTANT_LLM_TIMEOUT_S": "2.5",
        "ASSISTANT_LLM_API_KEY": "sk-geheim-42",
        "ASSISTANT_CHROMA_URL": "http://127.0.0.1:8000",
        "ASSISTANT_GIBT_ES_NICHT": "wird ignoriert",  # unknown variables do not stop the tool
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    s = get_settings()
    assert s.corpus_dir == tmp_path / "korpus" and isinstance(s.corpus_dir, Path)
    assert s.user_dir == tmp_path / "korpus" / "user" and s.catalogue_path == tmp_path / "korpus" / "catalogue" / "criteria.yaml"
    assert s.model_dir == tmp_path / "modelle" / "embeddinggemma-300m"
    assert (s.top_k, s.candidate_pool, s.rrf_k) == (7, 120, 30)
    assert s.dense_weight == 0.75 and s.llm_timeout_s == 2.5
    assert (s.fusion, s.query_precision, s.llm) == ("rrf", "int8", "openai-compatible")
    assert s.llm_base_url == "http://127.0.0.1:8080/v1" and s.chroma_url == "http://127.0.0.1:8000"
    assert s.llm_api_key == "sk-geheim-42" and "sk-geheim-42" not in repr(s)
    assert not hasattr(s, "gibt_es_nicht")
    # an explicit model folder wins over the cache
    monkeypatch.setenv("ASSISTANT_EMBED_MODEL", str(tmp_path / "eigenes-modell"))
    assert get_settings().model_dir == tmp_path / "eigenes-modell"


@pytest.mark.parametrize(
    "variable, value",
    [
        ("ASSISTANT_TOP_K", "0"),  # at least 1
        ("ASSISTANT_TOP_K", "51"),  # at most 50
        ("ASSISTANT_TOP_K", "zehn"),
        ("ASSISTANT_CANDIDATE_POOL", "4"),
        ("ASSISTANT_FUSION", "bm25"),
        ("ASSISTANT_QUERY_PRECISION", "fp16"),
        ("ASSISTANT_LLM", "chatgpt"),
        ("ASSISTANT_LLM_TIMEOUT_S", "bald"),
        ("ASSISTANT_PROJECTS_DB_TIMEOUT_S", "0"),
    ],
)
def test_invalid_values_are_refused(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        get_settings()
    assert [e["loc"][0] for e in caught.value.errors()] == [variable.removeprefix("ASSISTANT_").lower()]


def test_invalid_value_in_the_cli_is_a_german_message(netns, tmp_path):
    import os

    env = dict(os.environ, ASSISTANT_TOP_K="null", ASSISTANT_FUSION="bm25")
    proc = netns.run([sys.executable, "-m", "assistant", "status"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "Ungültige Einstellung" in proc.stderr
    assert "ASSISTANT_TOP_K='null' (nötig: eine ganze Zahl)" in proc.stderr, proc.stderr
    assert "ASSISTANT_FUSION='bm25' (nötig: einer von 'score' oder 'rrf')" in proc.stderr, proc.stderr


def test_invalid_value_in_the_app_is_a_german_message(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ASSISTANT_TOP_K", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    message = " ".join(e.value for e in at.error).replace("\\", "")
    assert "Ungültige Einstellung" in message and "ASSISTANT_TOP_K='0' (nötig: mindestens 1)" in message, message


def test_explicit_values_override_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSISTANT_TOP_K", "3")
    assert Settings(top_k=12).top_k == 12
    with pytest.raises(ValidationError):
        Settings(top_k=0)
