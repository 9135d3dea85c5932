"""Rendering pieces shared by several pages: phase names, criterion entries (chips, lists),
good-practice cards, dossier passages and the status in the sidebar."""

from __future__ import annotations

from typing import Callable

import streamlit as st

from assistant import views
from assistant.corpus import Catalogue
from assistant.schema import Chunk
from assistant.service import AssistantService
from assistant.ui import navigation, resources
from assistant.ui.guard import show_unavailable
from assistant.ui.resources import ALL


def phase_name(catalogue: Catalogue, pid: str | None) -> str:
    """'P3 – Pilotphase', or 'Alle Phasen' for no choice. Takes the catalogue (bind it with
    `functools.partial` for a `format_func`): AppTest calls those outside a script run."""
    return catalogue.phase_label(pid) if pid and pid != ALL else "Alle Phasen"


def chosen(value: str | None) -> str | None:
    return None if value in (None, ALL) else value


def short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def criterion_entry(criterion_id: str, key: str) -> None:
    """A criterion's catalogue entry, compact (used in chips and lists)."""
    detail = views.criterion_detail(resources.catalogue(), criterion_id)
    if detail is None:
        st.write("Dieses Kriterium ist im Katalog nicht verzeichnet.")
        return
    row = detail.row
    badges = " ".join(views.phase_badge_markdown(p) for p in row.phases) or views.phase_badge_markdown(None)
    if detail.milestone_of:
        badges += " :primary-badge[Meilenstein]"
    st.markdown(f"**{views.md_inline(row.name)}** ({row.id})  \n{badges}")
    if row.summary:
        st.markdown(views.md_escape(row.summary))
    if detail.driver:
        st.caption(views.md_inline(f"Skalierungstreiber {detail.driver.id}: {detail.driver.name}"))
    if st.button("In der Kriterienansicht öffnen", key=f"open_{key}", icon=":material/open_in_new:"):
        navigation.open_criterion(criterion_id)


def criterion_chips(criteria: list[tuple[str, str]], key: str) -> None:
    """Clickable criterion chips in a row: each opens its catalogue entry in a popover."""
    if not criteria:
        return
    with st.container(horizontal=True, gap="small"):
        for cid, name in criteria:
            with st.popover(views.md_inline(f"{cid} · {short(name, 40)}"), type="tertiary", icon=":material/label:"):
                criterion_entry(cid, key=f"{key}_{cid}")


def criterion_list(criteria: list[tuple[str, str]], key: str, milestones: set[str] = frozenset()) -> None:
    """Criteria as an accordion (long names wrap cleanly); ◆ marks milestones."""
    for cid, name in criteria:
        label = views.md_inline(f"{cid} · {name}") + (" ◆" if cid in milestones else "")
        with st.expander(label):
            criterion_entry(cid, key=f"{key}_{cid}")


def good_practice_card(card: views.GoodPracticeCard, key: str, show_button: bool = True) -> None:
    with st.container(border=True):
        st.markdown(f"**{views.md_inline(card.name)}**  \n{views.phase_badge_markdown(card.phase)} {views.md_inline(card.place)}")
        if card.summary:
            st.markdown(views.md_escape(card.summary))
        if card.criteria:
            st.caption(views.md_inline("Kriterien: " + "; ".join(f"{cid} {name}" for cid, name in card.criteria)))
        if show_button:
            with st.container(horizontal=True, gap="small"):
                if st.button("Im Chat fragen", key=f"ask_{key}", icon=":material/chat:"):
                    navigation.ask_in_chat(card.chat_question)
                if card.url:
                    st.link_button("Roadmap-Seite", card.url, icon=":material/open_in_new:", type="tertiary")


def dossier_passages(fetch: Callable[[AssistantService], list[Chunk]], empty: str) -> None:
    """Dossier passages grouped by section, one collapsed expander per section. They come from
    the index, so model and index are loaded first; if they are not usable, the fix is shown."""
    error = resources.ready_service()
    if error is not None:
        show_unavailable(error)
        return
    chunks = fetch(resources.service())
    if not chunks:
        st.caption(empty)
        return
    for group in views.group_by_section(chunks):
        page = f" · S. {group.page}" if group.page else ""
        with st.expander(views.md_inline(f"{group.title}{page}"), icon=":material/description:"):
            st.caption(views.md_inline(group.section))
            for text in group.texts:
                st.markdown(views.md_escape(text))


def status_sidebar() -> None:
    """Model and index status in the sidebar, with a reload button; the catalogue's coverage note."""
    status = resources.current_status()
    if status is None:
        st.sidebar.caption(views.md_inline(resources.catalogue().coverage_note()))
        return
    settings = resources.settings()
    with st.sidebar:
        ok = status.model_ok and status.index_ok
        with st.expander("Status" + ("" if ok else " – bitte prüfen"), icon=":material/check_circle:" if ok else ":material/warning:", expanded=not ok):
            st.markdown(("✅ " if status.model_ok else "⚠️ ") + views.md_inline(status.model_message))
            st.markdown(("✅ " if status.index_ok else "⚠️ ") + views.md_inline(status.index_message))
            engine = "extraktiv, ohne Sprachmodell" if settings.llm == "none" else f"Sprachmodell {settings.llm_model or settings.llm}"
            st.caption(views.md_inline(f"Antworten: {engine}"))
            if status.index_ok and st.button("Index neu einlesen", key="reload_index", icon=":material/refresh:"):
                resources.reload_index()
                st.rerun()
        st.caption(views.md_inline(status.coverage_note))
