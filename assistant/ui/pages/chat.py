"""Chat page: questions with cited answers, source cards, feedback and the Markdown and Word exports."""

from __future__ import annotations

from functools import partial

import streamlit as st

from assistant import views
from assistant.chat import SOURCE_FILTERS, STARTER_QUESTIONS, ChatSession, ChatTurn
from assistant.domain import PHASE_IDS
from assistant.errors import AssistantUnavailable
from assistant.export import DOCX_MIME, SOURCE_FILTER_NAMES
from assistant.feedback import FeedbackError
from assistant.ui import resources
from assistant.ui.guard import show_unavailable
from assistant.ui.resources import ALL
from assistant.ui.widgets import chosen, criterion_chips, phase_name

ss = st.session_state


def _on_feedback(turn_id: str) -> None:
    rating = ss.get(f"fb_{turn_id}")
    try:
        ss.chat.rate(resources.feedback_store(), turn_id, rating)
    except (FeedbackError, OSError) as exc:
        ss["feedback_error"] = str(exc)


def _on_comment(turn_id: str) -> None:
    comment = ss.get(f"fbc_{turn_id}") or ""
    if not comment.strip():
        return
    try:
        ss.chat.rate(resources.feedback_store(), turn_id, None, comment=comment)
    except (FeedbackError, OSError) as exc:
        ss["feedback_error"] = str(exc)


def source_cards(turn: ChatTurn) -> None:
    citations = turn.answer.citations
    if not citations:
        return
    st.markdown("**Quellen**")
    for c in citations:
        card = views.source_card(c, resources.catalogue())
        with st.expander(card.header):
            where = f"{card.source_label} · {card.where}" if card.where != card.source_label else card.source_label
            page = f" · S. {card.page}" if card.page else ""
            phase_text = phase_name(resources.catalogue(), card.phase) if card.phase else "ohne Phasenzuordnung"
            st.markdown(f":{card.badge_color}-badge[{views.md_inline(phase_text)}] " + views.md_inline(where + page))
            criterion_chips(card.criteria, key=f"{turn.id}_{card.n}")
            if card.good_practices:
                st.caption(views.md_inline("Praxisbeispiele: " + "; ".join(name for _, name in card.good_practices)))
            st.markdown(card.passage_markdown)
            if not card.has_highlight and c.source != "catalogue":
                st.caption("Weiterführende Quelle – kein Satz daraus wurde wörtlich zitiert.")


def feedback_row(turn: ChatTurn) -> None:
    if not turn.rateable:
        return
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.feedback("thumbs", key=f"fb_{turn.id}", default=turn.rating, on_change=_on_feedback, args=(turn.id,))
        if turn.rating is not None and not turn.comment:
            with st.popover("Kommentar", type="tertiary", icon=":material/edit_note:"):
                with st.form(key=f"fbf_{turn.id}", border=False, clear_on_submit=True):
                    st.text_area("Was war gut, was fehlte? (optional)", key=f"fbc_{turn.id}", max_chars=2000)
                    st.form_submit_button("Kommentar senden", on_click=_on_comment, args=(turn.id,))
        if turn.rating is not None:
            st.caption("Danke für Ihre Rückmeldung!" + (" Kommentar gespeichert." if turn.comment else ""))


def answer_body(turn: ChatTurn) -> None:
    answer = turn.answer
    if answer.error:
        st.warning(views.md_escape(answer.answer), icon=":material/info:")
        return
    if answer.notice:
        st.warning(views.md_escape(answer.notice), icon=":material/info:")
    st.markdown(views.answer_markdown(answer.answer))
    filters = [phase_name(resources.catalogue(), turn.phase_filter)] if turn.phase_filter else []
    if turn.source_filter:
        filters.append(SOURCE_FILTER_NAMES.get(turn.source_filter, turn.source_filter))
    if filters:
        st.caption(views.md_inline("Gesucht mit Filter: " + ", ".join(filters)))
    source_cards(turn)
    feedback_row(turn)


def render_turn(turn: ChatTurn) -> None:
    with st.chat_message("user"):
        st.markdown(views.md_escape(turn.question))
    with st.chat_message("assistant", avatar=":material/explore:"):
        answer_body(turn)


def _set_pending(question: str) -> None:
    ss["pending_question"] = question


def welcome() -> None:
    st.markdown(
        "Willkommen! Ich beantworte Fragen zur Roadmap **„Smart-City-Lösungen skalieren“** des BBSR – "
        "ausschließlich aus dem Dossier und dem Kriterienkatalog, und jede Aussage mit Quellenangabe. "
        "Für den Einstieg zum Beispiel:"
    )
    with st.container(horizontal=True, gap="small"):
        for i, question in enumerate(STARTER_QUESTIONS):
            st.button(question, key=f"starter_{i}", on_click=_set_pending, args=(question,), icon=":material/help:")
    st.caption("Neu im Team? Unter **Einarbeitung** führt ein kurzer Weg durch alle Phasen.")


def chat_sidebar() -> None:
    with st.sidebar:
        st.subheader("Chat")
        st.selectbox(
            "Phase",
            [ALL, *PHASE_IDS],
            format_func=partial(phase_name, resources.catalogue()),
            key="phase_filter",
            help="Sucht nur in Abschnitten dieser Phase.",
            persist_state="session",
        )
        status = resources.current_status()
        counts = status.counts if status else {}
        user_docs = ["user"] if any(str(k).startswith("user") for k in counts) else []
        st.selectbox(
            "Quellen",
            [ALL, *(s for s in SOURCE_FILTERS if s), *user_docs],
            format_func=lambda s: SOURCE_FILTER_NAMES.get(chosen(s), s),
            key="source_filter",
            persist_state="session",
        )
        st.button("Neue Unterhaltung", icon=":material/add_comment:", on_click=ss.chat.reset, width="stretch")


def export_button(slot) -> None:
    """Markdown and Word export of the conversation (same citations and sources). The Word file
    is built only when its button is clicked, so a chat run does not pay for it."""
    chat: ChatSession = ss.chat
    catalogue = resources.catalogue()  # bound now: the deferred export runs outside the script run
    with slot.container():
        st.download_button(
            "Als Markdown exportieren",
            data=chat.export_markdown(catalogue),
            file_name=chat.export_filename(),
            mime="text/markdown",
            icon=":material/download:",
            on_click="ignore",
            disabled=not chat.turns,
            width="stretch",
            key="export",
        )
        st.download_button(
            "Als Word exportieren",
            data=partial(chat.export_docx, catalogue),
            file_name=chat.export_filename(fmt="docx"),
            mime=DOCX_MIME,
            icon=":material/description:",
            on_click="ignore",
            disabled=not chat.turns,
            width="stretch",
            key="export_docx",
        )


def _answer(chat: ChatSession, question: str) -> None:
    """Ask and show the answer: streamed when a language model streams, else behind a spinner."""
    service = resources.service()
    phase, source = chosen(ss.phase_filter), chosen(ss.source_filter)
    try:
        if getattr(service, "streams", False) and hasattr(service, "ask_stream"):
            live = st.empty()  # the LLM's text as it arrives, replaced by the checked answer
            with live.container():
                st.write_stream(views.md_escape_stream(chat.ask_stream(service, question, phase=phase, source=source)))
            live.empty()
            turn = chat.turns[-1]
        else:
            with st.spinner("Suche in Dossier und Kriterienkatalog …"):
                turn = chat.ask(service, question, phase=phase, source=source)
    except AssistantUnavailable as exc:
        show_unavailable(exc)
    else:
        answer_body(turn)


def render() -> None:
    chat: ChatSession = ss.chat
    chat_sidebar()
    export_slot = st.sidebar.empty()
    st.sidebar.divider()
    error = resources.ready_service()

    st.title("Roadmap-Lotse", anchor=False)
    st.caption("Ihr Lotse durch die BBSR-Roadmap „Smart-City-Lösungen skalieren: Eine Roadmap für Kommunen“ (2024)")
    if error is not None:
        show_unavailable(error)
    if ss.get("feedback_error"):
        st.warning(views.md_escape(ss.pop("feedback_error")), icon=":material/warning:")

    if ss.pop("prefilled", False):
        st.toast("Frage ins Eingabefeld übernommen – anpassen oder mit Enter senden.", icon=":material/edit:")
    prompt = st.chat_input("Frage zur Roadmap stellen …", key="chat_prompt", max_chars=2000, disabled=error is not None)
    question = prompt or ss.pop("pending_question", None)
    if not chat.turns and not question:
        welcome()
    for turn in chat.turns:
        render_turn(turn)
    if question and error is None:
        with st.chat_message("user"):
            st.markdown(views.md_escape(question))
        with st.chat_message("assistant", avatar=":material/explore:"):
            _answer(chat, question)
    export_button(export_slot)
