"""Roadmap-Lotse – the Streamlit app. It only renders: every decision lives in `assistant/`
(service, chat, views, onboarding, feedback, export) and is tested without Streamlit.

Start with `make run` or `.venv/bin/python -m streamlit run app.py`.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict

import altair as alt
import pandas as pd
import streamlit as st

from assistant import views
from assistant.browse import filter_criteria
from assistant.chat import SOURCE_FILTERS, STARTER_QUESTIONS, ChatSession, ChatTurn
from assistant.corpus import Catalogue
from assistant.domain import PHASE_IDS
from assistant.export import SOURCE_FILTER_NAMES
from assistant.feedback import FeedbackError, FeedbackStore
from assistant.onboarding import OnboardingProgress, OnboardingStep, onboarding_path
from assistant.service import AssistantService, AssistantUnavailable, Status
from assistant.settings import Settings, get_settings

log = logging.getLogger("roadmap_lotse.app")

st.set_page_config(page_title="Roadmap-Lotse", page_icon="🧭", layout="wide")

ss = st.session_state

# -------------------------------------------------------------------------------------------------
# Long-lived resources: one service (model + index) and one feedback store per server process
# -------------------------------------------------------------------------------------------------


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


def current_status() -> Status | None:
    """Model and index status (cached 30 s); None if even the check fails (it only informs)."""
    try:
        return _status(KEY, SERVICE)
    except Exception:
        log.exception("status check failed")
        return None


def settings_key(settings: Settings) -> str:
    return settings.model_dump_json(exclude={"llm_api_key"})  # a cache key; keep secrets out


SETTINGS = get_settings()
KEY = settings_key(SETTINGS)
try:
    SERVICE = _service(KEY, SETTINGS)
except Exception as exc:  # the catalogue itself is unreadable: nothing can be shown
    log.exception("catalogue could not be loaded")
    st.error(
        views.md_inline(
            f"Der Kriterienkatalog konnte nicht gelesen werden ({type(exc).__name__}). "
            f"Erwartet unter {SETTINGS.catalogue_path} – prüfen Sie ASSISTANT_CORPUS_DIR."
        )
    )
    st.stop()
CATALOGUE: Catalogue = SERVICE.catalogue


def ready_service() -> AssistantUnavailable | None:
    """Warm the service; the error to show when model or index are not usable."""
    try:
        with st.spinner("Lade Embedding-Modell und Suchindex … (nur beim ersten Start)"):
            _warm(KEY, SERVICE)
    except AssistantUnavailable as exc:
        return exc
    return None


def show_unavailable(exc: Exception) -> None:
    message = str(exc)
    st.error(views.md_escape(message), icon=":material/error:")
    command = views.repair_command(message)
    if command:
        st.caption("So beheben Sie das im Projektordner:")
        st.code(command, language="bash")


def guarded(render):
    """Pages never show a traceback: known failures get their repair hint, others a short note."""

    @functools.wraps(render)
    def page() -> None:
        try:
            render()
        except AssistantUnavailable as exc:
            show_unavailable(exc)
        except Exception:
            log.exception("page %s failed", render.__name__)
            st.error(
                "Hier ist leider ein unerwarteter Fehler aufgetreten. Bitte laden Sie die Seite neu; "
                "die Einzelheiten stehen im Protokoll des Servers.",
                icon=":material/error:",
            )

    return page


# -------------------------------------------------------------------------------------------------
# Session state
# -------------------------------------------------------------------------------------------------

if "chat" not in ss:
    ss.chat = ChatSession()
if "onboarding" not in ss:
    ss.onboarding = OnboardingProgress()
ALL = "alle"  # select boxes show None as an empty choice, so "all" gets its own value
ss.setdefault("phase_filter", ALL)
ss.setdefault("source_filter", ALL)


def phase_name(pid: str | None) -> str:
    return CATALOGUE.phase_label(pid) if pid and pid != ALL else "Alle Phasen"


def chosen(value: str | None) -> str | None:
    return None if value in (None, ALL) else value


def short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def ask_in_chat(question: str) -> None:
    """Prefill the chat input with a question and open the chat."""
    ss["chat_prompt"] = question
    ss["prefilled"] = True
    st.switch_page(CHAT_PAGE)


def open_criterion(criterion_id: str) -> None:
    ss["criterion_pick"] = criterion_id
    st.switch_page(CRITERIA_PAGE)


# -------------------------------------------------------------------------------------------------
# Shared pieces
# -------------------------------------------------------------------------------------------------


def criterion_entry(criterion_id: str, key: str) -> None:
    """A criterion's catalogue entry, compact (used in chips and lists)."""
    detail = views.criterion_detail(CATALOGUE, criterion_id)
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
        open_criterion(criterion_id)


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
                    ask_in_chat(card.chat_question)
                if card.url:
                    st.link_button("Roadmap-Seite", card.url, icon=":material/open_in_new:", type="tertiary")


def dossier_passages(chunks, empty: str) -> None:
    """Dossier passages grouped by section, one collapsed expander per section."""
    if not chunks:
        st.caption(empty)
        return
    for group in views.group_by_section(chunks):
        page = f" · S. {group.page}" if group.page else ""
        with st.expander(views.md_inline(f"{group.title}{page}"), icon=":material/description:"):
            st.caption(views.md_inline(group.section))
            for text in group.texts:
                st.markdown(views.md_escape(text))


# -------------------------------------------------------------------------------------------------
# Chat
# -------------------------------------------------------------------------------------------------


def _on_feedback(turn_id: str) -> None:
    rating = ss.get(f"fb_{turn_id}")
    try:
        ss.chat.rate(_feedback_store(str(SETTINGS.feedback_db)), turn_id, rating)
    except (FeedbackError, OSError) as exc:
        ss["feedback_error"] = str(exc)


def _on_comment(turn_id: str) -> None:
    comment = ss.get(f"fbc_{turn_id}") or ""
    if not comment.strip():
        return
    try:
        ss.chat.rate(_feedback_store(str(SETTINGS.feedback_db)), turn_id, None, comment=comment)
    except (FeedbackError, OSError) as exc:
        ss["feedback_error"] = str(exc)


def source_cards(turn: ChatTurn) -> None:
    citations = turn.answer.citations
    if not citations:
        return
    st.markdown("**Quellen**")
    for c in citations:
        card = views.source_card(c, CATALOGUE)
        with st.expander(card.header):
            where = f"{card.source_label} · {card.where}" if card.where != card.source_label else card.source_label
            page = f" · S. {card.page}" if card.page else ""
            phase_text = phase_name(card.phase) if card.phase else "ohne Phasenzuordnung"
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
    filters = [phase_name(turn.phase_filter)] if turn.phase_filter else []
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
            format_func=phase_name,
            key="phase_filter",
            help="Sucht nur in Abschnitten dieser Phase.",
            persist_state="session",
        )
        status = current_status()
        counts = (status.manifest or {}).get("counts") or {} if status else {}
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
    chat: ChatSession = ss.chat
    with slot:
        st.download_button(
            "Als Markdown exportieren",
            data=chat.export_markdown(CATALOGUE),
            file_name=chat.export_filename(),
            mime="text/markdown",
            icon=":material/download:",
            on_click="ignore",
            disabled=not chat.turns,
            width="stretch",
            key="export",
        )


@guarded
def chat_page() -> None:
    chat: ChatSession = ss.chat
    chat_sidebar()
    export_slot = st.sidebar.empty()
    st.sidebar.divider()
    error = ready_service()

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
            phase, source = chosen(ss.phase_filter), chosen(ss.source_filter)
            try:
                if getattr(SERVICE, "streams", False) and hasattr(SERVICE, "ask_stream"):
                    live = st.empty()  # the LLM's text as it arrives, replaced by the checked answer
                    with live.container():
                        st.write_stream(views.md_escape_stream(chat.ask_stream(SERVICE, question, phase=phase, source=source)))
                    live.empty()
                    turn = chat.turns[-1]
                else:
                    with st.spinner("Suche in Dossier und Kriterienkatalog …"):
                        turn = chat.ask(SERVICE, question, phase=phase, source=source)
            except AssistantUnavailable as exc:
                show_unavailable(exc)
            else:
                answer_body(turn)
    export_button(export_slot)


# -------------------------------------------------------------------------------------------------
# Roadmap
# -------------------------------------------------------------------------------------------------


def timeline_chart(selected: str) -> alt.LayerChart:
    segments, marks = views.roadmap_timeline(CATALOGUE)
    seg = pd.DataFrame(
        [
            asdict(s)
            | {
                "center": s.center,
                "bar_end": s.end - 0.04,
                "counts": f"{s.n_criteria} Kriterien · {s.n_milestones} Meilensteine",
                "name": views.phase_short_name(CATALOGUE, s.phase) if s.phase != "D" else "durchgehend über alle Phasen",
            }
            for s in segments
        ]
    )
    pick = alt.selection_point(fields=["phase"], name="phase_pick", on="click")
    y = alt.Y("row:N", sort=list(views.TIMELINE_ROWS), axis=None, scale=alt.Scale(paddingInner=0.3))
    domain = alt.Scale(domain=[0, 5], nice=False, zero=False)

    def x(field: str) -> alt.X:  # every layer must share one x definition, or Vega drops the chart
        return alt.X(f"{field}:Q", scale=domain, axis=None)

    colors = alt.Scale(domain=list(views.PHASE_HEX), range=list(views.PHASE_HEX.values()))
    is_selected = alt.datum.phase == selected
    bars = (
        alt.Chart(seg)
        .mark_bar(cornerRadius=8, stroke="#1f2937")
        .encode(
            x=x("start"),
            x2="bar_end:Q",
            y=y,
            color=alt.Color("phase:N", scale=colors, legend=None),
            opacity=alt.condition(is_selected, alt.value(1.0), alt.value(0.72)),
            strokeWidth=alt.condition(is_selected, alt.value(3), alt.value(0)),
            tooltip=[
                alt.Tooltip("full_label:N", title="Phase"),
                alt.Tooltip("n_criteria:Q", title="Kriterien"),
                alt.Tooltip("milestones:N", title="Meilensteine"),
                alt.Tooltip("n_good_practices:Q", title="Praxisbeispiele"),
            ],
        )
        .add_params(pick)
    )
    text = alt.Chart(seg).encode(x=x("center"), y=y)
    layers = [
        bars,
        text.mark_text(color="white", fontWeight="bold", fontSize=15, dy=-10).encode(text="phase:N"),
        text.mark_text(color="white", fontSize=12, dy=7, limit=170).encode(text="name:N"),
        text.mark_text(color="white", fontSize=11, dy=22, limit=170).encode(text="counts:N"),
    ]
    if marks:
        ms = pd.DataFrame([asdict(m) for m in marks])
        layers.append(
            alt.Chart(ms)
            .mark_point(shape="diamond", filled=True, size=120, color="#ffd43b", stroke="#1f2937", strokeWidth=1, yOffset=-31)
            .encode(
                x=x("x"),
                y=y,
                tooltip=[alt.Tooltip("id:N", title="Meilenstein"), alt.Tooltip("name:N", title="Kriterium")],
            )
        )
    return alt.layer(*layers).properties(height=220).configure_view(stroke=None)


def _on_timeline_pick() -> None:
    state = ss.get("timeline")
    try:
        picked = state["selection"]["phase_pick"]
    except (KeyError, TypeError):
        return
    if picked and picked[0].get("phase") in PHASE_IDS:
        ss["roadmap_phase"] = picked[0]["phase"]


@guarded
def roadmap_page() -> None:
    st.header("Roadmap", anchor=False)
    st.caption(
        "Fünf Phasen von der Idee bis zum Transfer, dazu Kriterien, die durchgehend gelten. "
        "Rauten markieren Meilensteine. Eine Phase anklicken oder unten wählen."
    )
    ss.setdefault("roadmap_phase", "P1")
    selected = ss["roadmap_phase"]
    st.altair_chart(
        timeline_chart(selected), key="timeline", on_select=_on_timeline_pick, selection_mode="phase_pick", width="stretch"
    )
    selected = st.segmented_control(
        "Phase",
        PHASE_IDS,
        format_func=lambda p: f"{p} {views.phase_short_name(CATALOGUE, p)}" if p != "D" else "durchgehend",
        key="roadmap_phase",
        required=True,
        label_visibility="collapsed",
        persist_state="session",
    ) or "P1"
    overview = views.phase_overview(CATALOGUE, selected)

    st.subheader(views.md_inline(overview.label), anchor=False)
    st.markdown(views.md_escape(overview.summary))
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown(f"**Kriterien dieser Phase ({len(overview.criteria)})**")
        if overview.milestones:
            st.caption("◆ = Meilenstein der Phase. Ein Kriterium anklicken für seinen Katalogeintrag.")
        else:
            st.caption("Für diese Phase sind im Katalog keine Meilensteine belegt. Ein Kriterium anklicken für seinen Katalogeintrag.")
        if overview.criteria:
            criterion_list(
                [(c.id, c.name) for c in overview.criteria],
                key=f"roadmap_{selected}",
                milestones={m.id for m in overview.milestones},
            )
        else:
            st.caption("Im Katalog sind dieser Phase keine Kriterien zugeordnet.")
        if st.button(f"Im Chat fragen: Was ist in {selected} wichtig?", key=f"roadmap_ask_{selected}", icon=":material/chat:"):
            ask_in_chat(f"Was muss ich in der Phase {overview.label} beachten?")
    with right:
        st.markdown("**Praxisbeispiele**")
        if overview.good_practices:
            for gp in overview.good_practices:
                good_practice_card(views.good_practice_card(CATALOGUE, gp), key=f"roadmap_{gp.id}")
        else:
            st.caption("Für diese Phase nennt der Katalog kein Praxisbeispiel.")

    st.markdown("**Abschnitte im Dossier zu dieser Phase**")
    error = ready_service()
    if error is not None:
        show_unavailable(error)
        return
    dossier_passages(
        SERVICE.passages_of_phase(selected),
        empty="Das Dossier hat zu dieser Phase keinen eigenen Abschnitt.",
    )


# -------------------------------------------------------------------------------------------------
# Criteria
# -------------------------------------------------------------------------------------------------


def _on_table_select() -> None:
    state = ss.get("criteria_table")
    ids = ss.get("criteria_table_ids") or []
    try:
        rows = state["selection"]["rows"]
    except (KeyError, TypeError):
        return
    if rows and rows[0] < len(ids):
        ss["criterion_pick"] = ids[rows[0]]


def _jump_to(criterion_id: str) -> None:
    ss["criterion_pick"] = criterion_id


@guarded
def criteria_page() -> None:
    st.header("Kriterien", anchor=False)
    st.caption(views.md_inline(CATALOGUE.coverage_note()))
    drivers = [d.id for d in CATALOGUE.drivers]
    workstreams = list(CATALOGUE.raw.get("workstreams") or [])
    c1, c2, c3 = st.columns(3)
    phase = c1.selectbox("Phase", [ALL, *PHASE_IDS], format_func=phase_name, key="crit_phase", persist_state="session")
    driver = c2.selectbox(
        "Skalierungstreiber",
        [ALL, *drivers],
        format_func=lambda d: "Alle Treiber" if d == ALL else f"{d} – {short(CATALOGUE.get(d).name, 60)}",
        key="crit_driver",
        persist_state="session",
    )
    workstream = c3.selectbox(
        "Workstream",
        [ALL, *workstreams],
        format_func=lambda w: "Alle Workstreams" if w == ALL else w,
        key="crit_workstream",
        persist_state="session",
    )
    c4, c5 = st.columns([3, 1], vertical_alignment="bottom")
    text = c4.text_input("Suche", placeholder="z. B. Pilot, Finanzierung, K18", key="crit_search", persist_state="session")
    milestone = c5.toggle("nur Meilensteine", key="crit_milestone", persist_state="session")

    rows = filter_criteria(
        CATALOGUE, phase=chosen(phase), driver=chosen(driver), workstream=chosen(workstream), milestone=milestone, text=text
    )
    ss["criteria_table_ids"] = [r.id for r in rows]
    st.caption(f"{len(rows)} von {len(CATALOGUE.criteria)} Kriterien im Katalog. Zeile anklicken für Details.")
    if rows:
        st.dataframe(
            pd.DataFrame(views.criterion_table(rows)),
            hide_index=True,
            key="criteria_table",
            on_select=_on_table_select,
            selection_mode="single-row",
            column_config={
                "ID": st.column_config.TextColumn(width="small"),
                "Kriterium": st.column_config.TextColumn(width="large"),
                "Phase": st.column_config.TextColumn(width="small"),
                "Treiber": st.column_config.TextColumn(width="small"),
                "Meilenstein": st.column_config.TextColumn(width="small"),
            },
            height=min(38 + 35 * len(rows), 420),
        )
    else:
        st.info("Kein Kriterium passt zu diesen Filtern.", icon=":material/search_off:")

    st.divider()
    all_ids = [c.id for c in CATALOGUE.criteria]
    if ss.get("criterion_pick") not in all_ids:
        ss["criterion_pick"] = rows[0].id if rows else all_ids[0]
    pick = st.selectbox(
        "Kriterium im Detail",
        all_ids,
        format_func=lambda cid: f"{cid} – {CATALOGUE.get(cid).name}",
        key="criterion_pick",
    )
    criterion_detail(pick)


def criterion_detail(criterion_id: str) -> None:
    detail = views.criterion_detail(CATALOGUE, criterion_id)
    if detail is None:
        return
    row = detail.row
    st.subheader(views.md_inline(row.name), anchor=False)
    badges = [views.phase_badge_markdown(p) for p in row.phases] or [":gray-badge[ohne Phase]"]
    if detail.milestone_of:
        badges.append(f":primary-badge[Meilenstein in {', '.join(detail.milestone_of)}]")
    badges.append(f":gray-badge[{row.id}]")
    st.markdown(" ".join(badges))
    st.markdown(views.md_escape(row.summary) if row.summary else "_Der Katalog enthält zu diesem Kriterium keine Kurzfassung._")
    facts = [f"**Phase:** {views.md_inline(row.phase_label) or 'keiner Phase zugeordnet'}"]
    if detail.driver:
        facts.append(f"**Skalierungstreiber:** {detail.driver.id} – {views.md_inline(detail.driver.name)}")
    if row.workstreams:
        facts.append(f"**Workstreams:** {views.md_inline(', '.join(row.workstreams))}")
    st.markdown("  \n".join(facts))
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Praxisbeispiele**")
        if detail.good_practices:
            for gp in detail.good_practices:
                place = gp.data.get("place")
                st.markdown(f"- **{views.md_inline(gp.name)}**" + (f" – {views.md_inline(place)}" if place else ""))
        else:
            st.caption("Der Katalog verknüpft kein Praxisbeispiel mit diesem Kriterium.")
    with right:
        st.markdown("**Verwandte Kriterien**")
        if detail.related:
            with st.container(horizontal=True, gap="small"):
                for rel in detail.related:
                    st.button(
                        views.md_inline(f"{rel.id} · {short(rel.name, 40)}"),
                        key=f"rel_{criterion_id}_{rel.id}",
                        on_click=_jump_to,
                        args=(rel.id,),
                        type="tertiary",
                    )
        else:
            st.caption("Keine verwandten Kriterien verzeichnet.")
    if row.url:
        st.link_button("Auf der Online-Roadmap ansehen", row.url, icon=":material/open_in_new:", type="tertiary")
    st.markdown("**Stellen im Dossier**")
    error = ready_service()
    if error is not None:
        show_unavailable(error)
        return
    dossier_passages(
        SERVICE.passages_mentioning(criterion_id),
        empty="Das Dossier nennt dieses Kriterium nicht ausdrücklich.",
    )


# -------------------------------------------------------------------------------------------------
# Good practices
# -------------------------------------------------------------------------------------------------


@guarded
def good_practices_page() -> None:
    st.header("Good Practices", anchor=False)
    st.caption("Praxisbeispiele aus Dossier und Roadmap – mit Phase, Kriterien und Kurzfassung.")
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    text = c1.text_input("Suche", placeholder="z. B. Hamburg, Open Source, Betreibermodell", key="gp_search", persist_state="session")
    phase = c2.pills(
        "Phase", PHASE_IDS, key="gp_phase", persist_state="session",
        format_func=lambda p: p if p != "D" else "durchgehend",
    )
    cards = views.good_practice_cards(CATALOGUE, text=text, phase=phase)
    st.caption(f"{len(cards)} von {len(CATALOGUE.good_practices)} Praxisbeispielen")
    if not cards:
        st.info("Kein Praxisbeispiel passt zur Suche.", icon=":material/search_off:")
        return
    columns = st.columns(2, gap="medium")
    for i, card in enumerate(cards):
        with columns[i % 2]:
            good_practice_card(card, key=f"gp_{card.id}")


# -------------------------------------------------------------------------------------------------
# Onboarding
# -------------------------------------------------------------------------------------------------


def _on_answer(question_id: str) -> None:
    path = _onboarding_path(CATALOGUE.content_hash, CATALOGUE)
    question = next(q for s in path for q in s.questions if q.id == question_id)
    ss.onboarding.answer(question, ss.get(f"onb_{question_id}"))


def _go(index: int) -> None:
    path = _onboarding_path(CATALOGUE.content_hash, CATALOGUE)
    ss.onboarding.go(index, path)
    ss["onb_step"] = ss.onboarding.current


def _restart() -> None:
    for key in [k for k in ss if str(k).startswith("onb_")]:
        del ss[key]
    ss.onboarding.reset()


def _on_step_pick() -> None:
    if ss.get("onb_step") is not None:
        _go(ss["onb_step"])


@guarded
def onboarding_page() -> None:
    path = _onboarding_path(CATALOGUE.content_hash, CATALOGUE)
    progress: OnboardingProgress = ss.onboarding
    st.header("Einarbeitung", anchor=False)
    st.caption(
        "Ein geführter Weg durch die Roadmap: P1 bis P5 und dann die Kriterien, die durchgehend gelten. "
        "Jeder Schritt endet mit einem kurzen Selbstcheck."
    )
    correct, total = progress.score(path)
    done = sum(progress.step_done(s) for s in path)
    st.progress(progress.fraction_done(path), text=f"{done} von {len(path)} Schritten erledigt · {correct} von {total} Fragen richtig")
    ss["onb_step"] = progress.current
    st.segmented_control(
        "Schritt",
        list(range(len(path))),
        format_func=lambda i: ("✓ " if progress.step_done(path[i]) else "") + (path[i].phase if path[i].phase != "D" else "durchgehend"),
        key="onb_step",
        on_change=_on_step_pick,
        required=True,
        label_visibility="collapsed",
    )
    step = path[progress.current]

    st.subheader(views.md_inline(f"Schritt {step.number} von {len(path)}: {step.title}"), anchor=False)
    st.markdown("**Wofür diese Phase da ist**  \n" + views.md_escape(step.purpose))
    left, right = st.columns([3, 2], gap="large")
    with left:
        milestone_ids = {m.id for m in step.milestones}
        st.markdown("**Wichtige Kriterien**")
        if not step.milestones:
            st.caption("Für diese Phase sind im Katalog keine Meilensteine belegt.")
        for c in step.key_criteria:
            badge = " :primary-badge[Meilenstein]" if c.id in milestone_ids else ""
            st.markdown(f"- **{views.md_inline(c.name)}** ({c.id}){badge}  \n  {views.md_inline(c.summary)}")
        more = [m for m in step.milestones if m not in step.key_criteria]
        if more:
            st.markdown("**Weitere Meilensteine:** " + "; ".join(f"{views.md_inline(m.name)} ({m.id})" for m in more))
    with right:
        st.markdown("**Ein Beispiel aus der Praxis**")
        if step.example is not None:
            good_practice_card(views.good_practice_card(CATALOGUE, step.example), key=f"onb_gp_{step.phase}")
        else:
            st.caption("Für diese Phase nennt der Katalog kein Praxisbeispiel.")

    st.markdown("**Selbstcheck**")
    for q in step.questions:
        chosen = progress.answers.get(q.id)
        st.radio(
            f"**{views.md_inline(q.prompt)}**",
            q.options,
            format_func=views.md_inline,
            index=q.options.index(chosen) if chosen in q.options else None,
            key=f"onb_{q.id}",
            on_change=_on_answer,
            args=(q.id,),
        )
        result = progress.result(q)
        if result is not None:
            (st.success if result.correct else st.warning)(views.md_escape(result.message), icon=":material/check_circle:" if result.correct else ":material/lightbulb:")

    with st.container(horizontal=True, gap="small"):
        if progress.current > 0:
            st.button(f"Zurück zu {path[progress.current - 1].phase}", on_click=_go, args=(progress.current - 1,), icon=":material/arrow_back:")
        if progress.current < len(path) - 1:
            nxt = path[progress.current + 1]
            st.button(
                views.md_inline(f"Weiter zu {nxt.title}"),
                on_click=_go,
                args=(progress.current + 1,),
                type="primary",
                icon=":material/arrow_forward:",
            )
    if progress.finished(path):
        st.success(
            f"Geschafft: alle Schritte durchlaufen, {correct} von {total} Fragen richtig. "
            "Im Chat können Sie jetzt gezielt nachfragen – etwa zu Ihrer eigenen Projektphase.",
            icon=":material/celebration:",
        )
        st.button("Einarbeitung neu beginnen", on_click=_restart, icon=":material/restart_alt:")


# -------------------------------------------------------------------------------------------------
# Sidebar status and navigation
# -------------------------------------------------------------------------------------------------


def status_sidebar() -> None:
    status = current_status()
    if status is None:
        st.sidebar.caption(views.md_inline(CATALOGUE.coverage_note()))
        return
    with st.sidebar:
        ok = status.model_ok and status.index_ok
        with st.expander("Status" + ("" if ok else " – bitte prüfen"), icon=":material/check_circle:" if ok else ":material/warning:", expanded=not ok):
            st.markdown(("✅ " if status.model_ok else "⚠️ ") + views.md_inline(status.model_message))
            st.markdown(("✅ " if status.index_ok else "⚠️ ") + views.md_inline(status.index_message))
            engine = "extraktiv, ohne Sprachmodell" if SETTINGS.llm == "none" else f"Sprachmodell {SETTINGS.llm_model or SETTINGS.llm}"
            st.caption(views.md_inline(f"Antworten: {engine}"))
            if status.index_ok and st.button("Index neu einlesen", key="reload_index", icon=":material/refresh:"):
                SERVICE.reload()
                _warm.clear()
                _status.clear()
                st.rerun()
        st.caption(views.md_inline(status.coverage_note))


CHAT_PAGE = st.Page(chat_page, title="Chat", icon=":material/forum:", url_path="chat", default=True)
ROADMAP_PAGE = st.Page(roadmap_page, title="Roadmap", icon=":material/timeline:", url_path="roadmap")
CRITERIA_PAGE = st.Page(criteria_page, title="Kriterien", icon=":material/checklist:", url_path="kriterien")
GOOD_PRACTICE_PAGE = st.Page(good_practices_page, title="Good Practices", icon=":material/lightbulb:", url_path="good-practices")
ONBOARDING_PAGE = st.Page(onboarding_page, title="Einarbeitung", icon=":material/school:", url_path="einarbeitung")

navigation = st.navigation([CHAT_PAGE, ROADMAP_PAGE, CRITERIA_PAGE, GOOD_PRACTICE_PAGE, ONBOARDING_PAGE], position="top")
navigation.run()
status_sidebar()
