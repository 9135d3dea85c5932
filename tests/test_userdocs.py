"""The city's own documents: `assistant add` / `remove`, formats, refusals, incremental indexing,
citations with file name and page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import chunking, cli
from assistant.index import open_index, validate_index
from assistant.service import AssistantService
from assistant.userdocs import UserDocError, add_bytes, add_files, check_name, chunks_for_file, list_files, remove_file
from tests.conftest import ROOT, make_settings
from tests.docfactory import make_docx, make_pdf
from tests.test_index import clone_index

PDF_PAGES = [
    ["Klimaanpassungskonzept der Stadt Lotsenhausen.", "Dieses Dokument beschreibt unsere Maßnahmen für heiße Sommer."],
    [
        "Die Sensorbank Lotsenhausen misst seit 2023 Feinstaub und Hitze an 40 Bushaltestellen.",
        "Die Daten fließen in das Hitzeportal der Stadt.",
    ],
]
MD_TEXT = """# Quartierslotsen

Die Quartierslotsen von Lotsenhausen beraten ältere Menschen zu digitalen Angeboten im Stadtteil.

## Finanzierung

Der Gemeinderat hat für die Quartierslotsen 120.000 Euro pro Jahr bereitgestellt.
"""


@pytest.fixture
def docs(tmp_path) -> dict[str, Path]:
    src = tmp_path / "eingang"
    src.mkdir()
    return {
        "pdf": make_pdf(src / "klimaanpassung.pdf", PDF_PAGES),
        "docx": make_docx(
            src / "mobilitaet.docx",
            ["Der Lotsenbus Lotsenhausen fährt nachts auf Abruf zwischen den Ortsteilen.", "Buchung per App oder Telefon."],
            table=[["Linie", "Takt"], ["Lotsenbus Nord", "30 Minuten"]],
        ),
        "md": _write(src / "quartierslotsen.md", MD_TEXT),
        "txt": _write(src / "notiz.txt", "Die Stadtwerke Lotsenhausen\x00 betreiben das LoRaWAN-Netz\x1b[31m seit 2021."),
    }


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- formats --------------------------------------------------------------------------------------


@pytest.mark.unit
def test_each_format_is_chunked_with_file_and_page(docs, catalogue):
    pdf = chunks_for_file(docs["pdf"], catalogue)
    assert [c.page for c in pdf] == [1, 2]
    assert "Sensorbank Lotsenhausen misst seit 2023 Feinstaub" in pdf[1].text
    assert all(c.source == "user" and c.kind == "passage" and c.file == "klimaanpassung.pdf" for c in pdf)
    assert pdf[0].title == "klimaanpassung.pdf" and pdf[0].section == "Eigene Dokumente > klimaanpassung.pdf"

    docx = chunks_for_file(docs["docx"], catalogue)
    assert docx and docx[0].page is None
    assert "Lotsenbus Lotsenhausen fährt nachts" in docx[0].text and "Lotsenbus Nord | 30 Minuten" in docx[0].text

    md = chunks_for_file(docs["md"], catalogue)
    assert "120.000 Euro" in md[0].text and "# " not in md[0].text

    txt = chunks_for_file(docs["txt"], catalogue)
    assert "\x00" not in txt[0].text and "\x1b" not in txt[0].text and "LoRaWAN-Netz" in txt[0].text


@pytest.mark.unit
def test_long_text_without_sentence_ends_is_split(tmp_path, catalogue):
    path = _write(tmp_path / "tabelle.txt", " ".join(f"Zelle{i}" for i in range(3000)) + " " + "x" * 5000)
    chunks = chunks_for_file(path, catalogue)
    assert len(chunks) > 10
    assert max(len(c.text) for c in chunks) <= chunking.MAX_PASSAGE_CHARS
    assert len({c.id for c in chunks}) == len(chunks)


@pytest.mark.unit
def test_same_content_under_two_names_gets_distinct_ids(tmp_path, catalogue):
    a = _write(tmp_path / "a.md", MD_TEXT)
    b = _write(tmp_path / "b.md", MD_TEXT)
    assert not {c.id for c in chunks_for_file(a, catalogue)} & {c.id for c in chunks_for_file(b, catalogue)}


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.md", "sub/bericht.md", "..\\..\\x.md", "..", ".versteckt.md", "a\x00.md", "a\nb.md", "x" * 200 + ".md", ""],
)
@pytest.mark.unit
def test_unsafe_names_are_refused(name):
    with pytest.raises(UserDocError, match="Unzulässiger Dateiname"):
        check_name(name)


@pytest.mark.unit
def test_traversal_never_writes_or_deletes_outside(tmp_path):
    settings = make_settings(tmp_path)
    outside = tmp_path / "geheim.md"
    outside.write_text("bleibt")
    with pytest.raises(UserDocError):
        add_bytes(settings, "../geheim.md", b"ueberschrieben")
    with pytest.raises(UserDocError):
        remove_file(settings, "../geheim.md")
    assert outside.read_text() == "bleibt"
    # a symbolic link planted in the user folder is neither indexed nor written through
    settings.user_dir.mkdir(parents=True)
    (settings.user_dir / "link.md").symlink_to(outside)
    assert list_files(settings) == []
    add_bytes(settings, "link.md", MD_TEXT.encode())
    assert outside.read_text() == "bleibt"
    assert not (settings.user_dir / "link.md").is_symlink()
    assert [p.name for p in list_files(settings)] == ["link.md"]


@pytest.mark.unit
def test_size_type_and_content_are_checked(tmp_path, docs):
    settings = make_settings(tmp_path, max_user_file_mb=0.001)  # ~1 KB
    big = _write(tmp_path / "gross.txt", "Wort " * 1000)
    with pytest.raises(UserDocError, match="zu groß.*höchstens"):
        add_files(settings, [big])
    settings = make_settings(tmp_path)
    with pytest.raises(UserDocError, match="Format nicht unterstützt"):
        add_files(settings, [_write(tmp_path / "tool.exe", "MZ")])
    broken = tmp_path / "kaputt.pdf"
    broken.write_bytes(b"%PDF-1.4\nnur Unsinn" * 20)
    with pytest.raises(UserDocError, match="kaputt.pdf"):
        add_files(settings, [broken])
    empty_pdf = make_pdf(tmp_path / "scan.pdf", [[]])
    with pytest.raises(UserDocError, match="keinen auslesbaren Text"):
        add_files(settings, [empty_pdf])
    with pytest.raises(UserDocError, match="Verzeichnis"):
        add_files(settings, [tmp_path])
    with pytest.raises(UserDocError, match="nicht gefunden"):
        add_files(settings, [tmp_path / "fehlt.pdf"])
    # all files are checked before any is copied
    with pytest.raises(UserDocError):
        add_files(settings, [docs["md"], tmp_path / "fehlt.pdf"])
    assert list_files(settings) == []


@pytest.mark.unit
def test_unreadable_file_in_folder_is_skipped_not_fatal(tmp_path, catalogue):
    from assistant.userdocs import load_user_chunks

    settings = make_settings(tmp_path)
    settings.user_dir.mkdir(parents=True)
    (settings.user_dir / "kaputt.pdf").write_bytes(b"kein pdf")
    _write(settings.user_dir / "gut.md", MD_TEXT)
    loaded = load_user_chunks(settings, catalogue)
    assert {c.file for c in loaded.chunks} == {"gut.md"}
    assert "kaputt.pdf" in loaded.skipped


@pytest.mark.unit
def test_cli_add_refusals_have_exit_2(tmp_path, monkeypatch, capsys):
    settings = make_settings(tmp_path)
    _cli_env(monkeypatch, settings)
    assert cli.main(["add", str(tmp_path / "fehlt.pdf")]) == cli.EXIT_INPUT
    assert "Datei nicht gefunden" in capsys.readouterr().err
    assert cli.main(["remove", "../../etc/passwd.md"]) == cli.EXIT_INPUT
    assert "Unzulässiger Dateiname" in capsys.readouterr().err


# -- incremental indexing and citations ------------------------------------------------------------


def _cli_env(monkeypatch, settings):
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("ASSISTANT_USER_DOCS_DIR", str(settings.user_docs_dir))
    monkeypatch.setenv("ASSISTANT_FEEDBACK_DB", str(settings.feedback_db))


def _entries(path: Path, catalogue) -> int:
    """Embeddings a file needs: one per chunk plus one per sentence."""
    chunks = chunks_for_file(path, catalogue)
    return len(chunks) + sum(len(chunking.chunk_sentences(c)) for c in chunks)


def _manifest(settings) -> dict:
    return json.loads((settings.index_dir / "current" / "manifest.json").read_text())


def test_add_change_remove_is_incremental_and_cited(settings, built_index, embedder, tmp_path, monkeypatch, capsys, docs, catalogue):
    local = clone_index(settings, tmp_path / "clone")
    _cli_env(monkeypatch, local)
    base_chunks = built_index.chunks

    # add four documents: only their chunks and sentences are embedded
    assert cli.main(["add", *(str(p) for p in docs.values())]) == cli.EXIT_OK, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "Hinzugefügt: klimaanpassung.pdf" in out and "Index gebaut" in out
    manifest = validate_index(local)
    stored = {p.name: p for p in list_files(local)}
    assert set(stored) == {p.name for p in docs.values()}
    assert manifest.embedded_new == sum(_entries(p, catalogue) for p in stored.values())
    assert manifest.counts["user:passage"] == manifest.chunks - base_chunks

    # a question about the PDF cites it with file name and page, like any other source
    service = AssistantService(local)
    answer = service.ask("Was misst die Sensorbank Lotsenhausen an den Bushaltestellen?")
    user = [c for c in answer.citations if c.source == "user"]
    assert user and user[0].file == "klimaanpassung.pdf" and user[0].page == 2
    assert user[0].title == "klimaanpassung.pdf"
    assert f"[{user[0].n}]" in answer.answer
    contract = answer.to_contract()
    json.dumps(contract)
    assert any(c["source"] == "user" and c["page"] == 2 for c in contract["citations"])

    # unchanged files: nothing to do
    before = (local.index_dir / "current").resolve()
    assert cli.main(["add", str(docs["md"])]) == cli.EXIT_OK
    assert (local.index_dir / "current").resolve() == before
    assert "nichts zu tun" in capsys.readouterr().out

    # change one document: only that document's new text is embedded
    changed = _write(docs["txt"], "Die Stadtwerke Lotsenhausen betreiben das LoRaWAN-Netz seit 2021. Es hat 85 Gateways.")
    assert cli.main(["add", str(changed)]) == cli.EXIT_OK
    manifest = _manifest(local)
    assert 0 < manifest["embedded_new"] <= _entries(stored["notiz.txt"], catalogue)

    # remove: its chunks leave the index and it is no longer cited
    assert cli.main(["remove", "klimaanpassung.pdf"]) == cli.EXIT_OK
    manifest = _manifest(local)
    assert manifest["embedded_new"] == 0
    chunks = open_index(local).chunks.values()
    assert not [c for c in chunks if c.file == "klimaanpassung.pdf"]
    assert {c.file for c in chunks if c.source == "user"} == {"mobilitaet.docx", "quartierslotsen.md", "notiz.txt"}
    service.reload()
    answer = service.ask("Was misst die Sensorbank Lotsenhausen an den Bushaltestellen?")
    assert not [c for c in answer.citations if c.file == "klimaanpassung.pdf"]
    assert cli.main(["remove", "klimaanpassung.pdf"]) == cli.EXIT_INPUT
    assert "Kein eigenes Dokument" in capsys.readouterr().err


@pytest.mark.unit
def test_default_user_folder_is_under_corpus(tmp_path):
    settings = make_settings(tmp_path, user_docs_dir=None, corpus_dir=tmp_path / "corpus")
    assert settings.user_dir == tmp_path / "corpus" / "user"
