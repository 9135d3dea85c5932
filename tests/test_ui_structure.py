"""The Streamlit layer's shape: a thin entry file, a page registry whose entries all resolve, and
Streamlit imported only in `app.py` and `assistant/ui/`."""

from __future__ import annotations

import ast
import importlib

import pytest

from assistant.ui import navigation
from tests.conftest import ROOT

pytestmark = pytest.mark.unit  # needs neither the model nor an index (make test-fast)


def test_entry_file_only_routes():
    source = (ROOT / "app.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 60
    assert "st.navigation(navigation.pages()" in source


def test_registry_keeps_the_pages_and_their_addresses():
    assert [(p.title, p.url_path) for p in navigation.REGISTRY] == [
        ("Chat", "chat"),
        ("Roadmap", "roadmap"),
        ("Kriterien", "kriterien"),
        ("Good Practices", "good-practices"),
        ("Einarbeitung", "einarbeitung"),
        ("Projekt-Check", "projekt-check"),
    ]
    assert [p.module for p in navigation.REGISTRY if p.default] == ["chat"]
    for entry in navigation.REGISTRY:
        module = importlib.import_module(f"{navigation.PAGES_PACKAGE}.{entry.module}")
        assert callable(module.render), entry.module
        assert module.__doc__, f"{entry.module} has no docstring"


def _imports_streamlit(path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
            return True
    return False


def test_streamlit_is_imported_only_in_the_ui_layer():
    ui = ROOT / "assistant" / "ui"
    outside = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "assistant").rglob("*.py")
        if ui not in p.parents and _imports_streamlit(p)
    ]
    assert outside == []
    assert _imports_streamlit(ROOT / "app.py") and _imports_streamlit(ui / "widgets.py")
