"""Projekt-Check page: create or pick a project, place it in a phase (directly or with the
placement questions), tick its criteria, see the progress per phase with open milestones and next
steps, and download the memo as Word or Markdown. It only renders `assistant.projects`; every
save goes straight to the project store, one value at a time, so two tabs never undo each other.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from functools import partial

import altair as alt
import pandas as pd
import streamlit as st

from assistant import views
from assistant.corpus import Catalogue
from assistant.domain import DEVELOPMENT_PHASES
from assistant.export import DOCX_MIME
from assistant.projects.model import ANSWER_LABELS, PLACEMENT_ANSWERS, CriterionStatus, PlacementAnswer, Project, ProjectError
from assistant.projects.placement import QUESTIONS, Placement, place
from assistant.projects.progress import CriterionCard, ProjectCheck, build_check, chart_cells
from assistant.projects.report import ProjectReport, project_report, report_docx, report_filename, report_markdown
from assistant.projects.sources import PassageSource
from assistant.projects.store import ProjectStore
from assistant.ui import resources
from assistant.ui.widgets import good_practice_card

ss = st.session_state

STATUS_ORDER = (CriterionStatus.DONE, CriterionStatus.IN_PROGRESS, CriterionStatus.OPEN, CriterionStatus.NOT_RELEVANT)
# Okabe–Ito colours (distinguishable with colour-vision deficiencies); every square also has a
# tooltip, and the same counts stand as text next to the chart.
STATUS_HEX = {"erledigt": "#009E73", "in Arbeit": "#E69F00", "offen": "#BBBBBB", "nicht relevant": "#FFFFFF"}
MILESTONE_SHAPES = {"Meilenstein": "diamond", "kein Meilenstein": "square", "Meilenstein-Status unbekannt": "square"}


@st.cache_resource(show_spinner=False)
def _store(path: str, timeout_s: float, name_max_chars: int) -> ProjectStore:
    return ProjectStore(path, timeout_s, name_max_chars)


def store() -> ProjectStore:
    settings = resources.settings()
    return _store(str(settings.projects_path), settings.projects_db_timeout_s, settings.project_name_max_chars)


# -- callbacks: each saves one value ------------------------------------------------------------


def _failed(exc: Exception) -> None:
    ss["pc_error"] = str(exc)


def _create() -> None:
    try:
        created = store().create(ss.get("pc_new_name", ""))
    except ProjectError as exc:
        _failed(exc)
        return
    ss["pc_project"] = created.id
    ss["pc_new_name"] = ""
    ss["pc_notice"] = f"Projekt „{created.name}“ angelegt. Ordnen Sie es jetzt einer Phase zu."


def _save_status(project_id: int, criterion_id: str) -> None:
    value = ss.get(f"pc_status_{project_id}_{criterion_id}")
    if value is None:
        return
    try:
        store().set_status(project_id, criterion_id, value)
    except ProjectError as exc:
        _failed(exc)


def _save_phase(project_id: int) -> None:
    phase = ss.get(f"pc_phase_{project_id}")
    if phase not in DEVELOPMENT_PHASES:
        return
    try:
        store().set_phase(project_id, phase)
    except ProjectError as exc:
        _failed(exc)


def _apply_placement(project_id: int, phase: str, label: str, answers: dict) -> None:
    try:
        store().apply_placement(project_id, phase, answers)
    except ProjectError as exc:
        _failed(exc)
        return
    ss["pc_notice"] = f"Phase {label} aus den Antworten übernommen."


def _delete(project_id: int) -> None:
    try:
        store().delete(project_id)
    except ProjectError as exc:
        _failed(exc)
        return
    ss.pop("pc_project", None)
    ss.pop("pc_confirm_delete", None)
    ss["pc_notice"] = "Projekt gelöscht."


def _ask_delete(project_id: int | None) -> None:
    if project_id is None:
        ss.pop("pc_confirm_delete", None)
    else:
        ss["pc_confirm_delete"] = project_id


# -- pieces ---------------------------------------------------------------------------------------


def dossier_lookup() -> PassageSource | None:
    """Dossier passages need the index; without it the check still works, without passages."""
    if resources.ready_service() is not None:
        st.warning(
            "Die Dossier-Stellen erscheinen, sobald der Suchindex bereit ist (siehe Status in der Seitenleiste). "
            "Abhaken und Export funktionieren trotzdem.",
            icon=":material/warning:",
        )
        return None
    return resources.service().passages_mentioning


def project_picker(projects: list[Project]) -> Project | None:
    ids = [p.id for p in projects]
    names = {p.id: p.name for p in projects}
    left, right = st.columns([1, 1], gap="large", vertical_alignment="bottom")
    with right:
        with st.form("pc_new", border=False):
            name_col, button_col = st.columns([3, 2], gap="small", vertical_alignment="bottom")
            name_col.text_input(
                "Neues Projekt",
                placeholder="z. B. Sensorik Parkraum",
                key="pc_new_name",
                max_chars=resources.settings().project_name_max_chars,
            )
            button_col.form_submit_button("Projekt anlegen", icon=":material/add:", on_click=_create, width="stretch")
    with left:
        if not projects:
            st.info("Noch kein Projekt gespeichert. Legen Sie rechts ein Projekt an.", icon=":material/info:")
            return None
        if ss.get("pc_project") not in ids:
            ss["pc_project"] = ids[0]
        picked = st.selectbox("Projekt", ids, format_func=lambda i: names.get(i, "?"), key="pc_project")
    return next((p for p in projects if p.id == picked), None)


def placement_tab(project: Project, catalogue: Catalogue, passages: PassageSource | None) -> None:
    if project.phase:
        how = "aus den Fragen abgeleitet" if project.phase_source == "questions" else "direkt gewählt"
        st.markdown(f"Gespeicherte Phase: **{views.md_inline(catalogue.phase_label(project.phase))}** ({how})")
    else:
        st.markdown("Noch keine Phase gespeichert.")
    mode = st.radio(
        "Wie möchten Sie die Phase bestimmen?",
        ["direct", "questions"],
        format_func=lambda v: "Phase direkt wählen" if v == "direct" else f"Mit {len(QUESTIONS)} Fragen einordnen",
        index=0 if project.phase_source == "direct" else 1,
        horizontal=True,
        key=f"pc_how_{project.id}",
    )
    if mode == "direct":
        phase_picker(project, catalogue)
        return
    answers = placement_questions(project)
    result = place(answers, catalogue, passages, resources.settings().project_excerpt_chars)
    with st.container(border=True):
        placement_result(project, result, catalogue.phase_label(result.phase), answers)


def phase_picker(project: Project, catalogue: Catalogue) -> None:
    key = f"pc_phase_{project.id}"
    ss[key] = project.phase  # the stored phase; another tab may have changed it
    st.segmented_control(
        "Phase",
        DEVELOPMENT_PHASES,
        format_func=partial(views.phase_choice_label, catalogue),
        key=key,
        on_change=_save_phase,
        args=(project.id,),
    )
    if project.phase:
        st.markdown(views.md_escape(catalogue.get(project.phase).summary))


def placement_questions(project: Project) -> dict[str, PlacementAnswer | None]:
    """The placement questions, preset with the stored answers; question id -> answer (None: open)."""
    answers = {}
    for q in QUESTIONS:
        key = f"pc_q_{project.id}_{q.id}"
        if key not in ss and q.id in project.answers:
            ss[key] = project.answers[q.id]
        answers[q.id] = st.radio(
            views.md_inline(q.text), PLACEMENT_ANSWERS, index=None, format_func=ANSWER_LABELS.get, horizontal=True, key=key
        )
    return answers


def placement_result(project: Project, result: Placement, label: str, answers: dict[str, PlacementAnswer | None]) -> None:
    """The likely phase with its reasons, and the button that saves it."""
    st.markdown(f"**Voraussichtliche Phase: {views.md_inline(label)}**")
    if result.first_gap is not None:
        st.markdown(views.md_inline(f"Erster offener Schritt: {result.first_gap.question.text}"))
    if result.contradictions:
        st.warning(
            views.md_inline(
                "Diese Ja-Antworten zählen noch nicht, weil ein früherer Schritt offen ist: "
                + "; ".join(s.question.text for s in result.contradictions)
            ),
            icon=":material/warning:",
        )
    with st.expander("Begründungen aus Katalog und Dossier"):
        for step in result.steps:
            st.markdown(f"**{views.md_inline(step.question.text)}** – {views.md_inline(step.answer_label)}")
            st.markdown(views.md_escape(step.reason))
            if step.passage:
                st.markdown(f"Quelle: {views.md_inline(step.passage.citation)}")
    st.button(
        "Diese Phase übernehmen",
        icon=":material/check:",
        type="primary",
        disabled=not result.complete,
        help=None if result.complete else "Bitte zuerst alle Fragen beantworten.",
        on_click=_apply_placement,
        args=(project.id, result.phase, label, {k: v for k, v in answers.items() if v is not None}),
        key=f"pc_apply_{project.id}",
    )


def passage_block(card: CriterionCard) -> None:
    if card.passage:
        st.markdown(f"**Quelle:** {views.md_inline(card.passage.citation)}")
        st.markdown(f"_„{views.md_inline(card.passage.excerpt)}“_")
    else:
        st.markdown(views.md_inline(card.passage_label))


def criterion_row(project: Project, card: CriterionCard) -> None:
    key = f"pc_status_{project.id}_{card.id}"
    ss[key] = card.status.value  # the stored status; another tab may have changed it
    milestone = " :primary-badge[◆ Meilenstein]" if card.milestone else ""
    also = [p for p in card.phases if p != card.group]
    extra = f" :gray-badge[auch {', '.join(also)}]" if also else ""
    with st.container(border=True):
        left, right = st.columns([5, 4], gap="medium", vertical_alignment="top")
        with left:
            st.markdown(f"**{card.id} · {views.md_inline(card.name)}**{milestone}{extra}")
            with st.expander(f"Details und Dossier-Stelle zu {card.id}"):
                st.markdown(views.md_escape(card.summary) if card.summary else "_Der Katalog enthält keine Kurzfassung._")
                st.markdown(
                    f"**Meilenstein:** {views.md_inline(card.milestone_label)}  \n"
                    f"**Skalierungstreiber:** {views.md_inline(card.driver_label)}  \n"
                    f"**Workstreams:** {views.md_inline(card.workstreams_label)}"
                )
                passage_block(card)
                if card.good_practices:
                    st.markdown(views.md_inline("Good Practice: " + "; ".join(f"{g.id} {g.name}" for g in card.good_practices)))
        with right:
            st.segmented_control(
                f"Status von {card.id}",
                [s.value for s in STATUS_ORDER],
                format_func=lambda v: CriterionStatus(v).label,
                required=True,
                key=key,
                on_change=_save_status,
                args=(project.id, card.id),
                label_visibility="collapsed",
            )


def criteria_tab(project: Project, check: ProjectCheck, catalogue: Catalogue) -> None:
    st.markdown(
        views.md_inline(
            f"Die Kriterien von {catalogue.phase_label(check.phase)} und den Phasen davor, dazu die durchgehenden. "
            "Jede Änderung wird sofort gespeichert."
        )
    )
    for group in check.groups:
        st.subheader(views.md_inline(group.label), anchor=False)
        if group.summary:
            st.markdown(views.md_escape(group.summary))
        for card in group.cards:
            criterion_row(project, card)


def progress_chart(check: ProjectCheck) -> alt.Chart:
    """One square per criterion and phase, coloured by status; milestones are diamonds."""
    cells = pd.DataFrame([asdict(c) for c in chart_cells(check)])
    rows = [p.label for p in check.progress]
    return (
        alt.Chart(cells)
        .mark_point(filled=True, size=260, stroke="#1f2937", strokeWidth=1)
        .encode(
            x=alt.X("position:O", axis=None),
            y=alt.Y("phase_label:N", sort=rows, title=None, axis=alt.Axis(labelLimit=260, labelFontSize=13, labelColor="#31333f")),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=list(STATUS_HEX), range=list(STATUS_HEX.values())),
                legend=alt.Legend(title=None, orient="bottom", labelColor="#31333f"),
            ),
            shape=alt.Shape(
                "milestone:N",
                scale=alt.Scale(domain=list(MILESTONE_SHAPES), range=list(MILESTONE_SHAPES.values())),
                legend=alt.Legend(title=None, orient="bottom", values=["Meilenstein"], labelColor="#31333f"),
            ),
            tooltip=[
                alt.Tooltip("id:N", title="Kriterium"),
                alt.Tooltip("name:N", title="Name"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("milestone:N", title="Meilenstein"),
            ],
        )
        .properties(height=46 * len(rows) + 40)
    )


def progress_tab(check: ProjectCheck, catalogue: Catalogue) -> None:
    st.altair_chart(
        progress_chart(check),
        width="stretch",
        alt="Fortschritt je Phase: " + "; ".join(f"{p.label}: {p.summary_line}" for p in check.progress),
    )
    for p in check.progress:
        st.markdown(f"**{views.md_inline(p.label)}:** {views.md_inline(p.summary_line)}")

    st.subheader("Offene Meilensteine", anchor=False)
    if check.open_milestones:
        for c in check.open_milestones:
            st.markdown(
                f"- {views.phase_badge_markdown(c.group)} **{c.id} · {views.md_inline(c.name)}** – {views.md_inline(c.status.label)}"
            )
    else:
        st.markdown("Keine offenen Meilensteine in den Phasen bis zur aktuellen Phase.")
    if check.phases_without_milestones:
        names = ", ".join(catalogue.phase_label(p) for p in check.phases_without_milestones)
        st.markdown(views.md_inline(f"Für {names} nennt der Katalog keine Meilensteine."))

    st.subheader("Nächste Schritte", anchor=False)
    if not check.next_steps:
        st.success(
            views.md_inline(f"Alle Kriterien von {catalogue.phase_label(check.phase)} sind erledigt oder nicht relevant."),
            icon=":material/check:",
        )
    for i, c in enumerate(check.next_steps, 1):
        with st.container(border=True):
            milestone = " :primary-badge[◆ Meilenstein]" if c.milestone else ""
            st.markdown(f"**{i}. {c.id} · {views.md_inline(c.name)}**{milestone} :gray-badge[{views.md_inline(c.status.label)}]")
            if c.summary:
                st.markdown(views.md_escape(c.summary))
            if c.milestone is None:
                st.markdown("_Meilenstein-Status im Katalog nicht angegeben._")
            passage_block(c)
            for gp in c.good_practices:
                good_practice_card(gp, key=f"pc_step_{c.id}_{gp.id}", show_button=False)

    shown = {gp.id for c in check.next_steps for gp in c.good_practices}
    more = [m for m in check.good_practices if m.card.id not in shown]
    st.subheader("Weitere Good Practices dieser Phase", anchor=False)
    if more:
        columns = st.columns(2, gap="medium")
        for i, match in enumerate(more):
            with columns[i % 2]:
                good_practice_card(match.card, key=f"pc_gp_{match.card.id}")
    else:
        st.markdown("Der Katalog nennt für diese Phase keine weiteren Good Practices.")


def export_tab(project: Project, check: ProjectCheck, catalogue: Catalogue, passages: PassageSource | None) -> None:
    st.markdown(
        "Das Memo enthält Phase und Einordnung, den Fortschritt je Phase, alle Kriterien mit Status, "
        "die offenen Meilensteine, die nächsten Schritte mit Dossier-Stellen (Abschnitt, Seite), "
        "passende Good Practices und einen Hinweis zur Abdeckung des Katalogs."
    )
    when = datetime.now()
    excerpt_chars = resources.settings().project_excerpt_chars

    def report() -> ProjectReport:
        # runs on click, outside the script run: everything it needs is bound here
        return project_report(check, catalogue, passages, exported_at=when, excerpt_chars=excerpt_chars)

    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "Als Word exportieren",
            data=lambda: report_docx(report()),  # built on click: a Word file takes a few hundred ms
            file_name=report_filename(project.name, when, "docx"),
            mime=DOCX_MIME,
            icon=":material/description:",
            on_click="ignore",
            type="primary",
            key=f"pc_docx_{project.id}",
        )
        st.download_button(
            "Als Markdown exportieren",
            data=lambda: report_markdown(report()),
            file_name=report_filename(project.name, when, "md"),
            mime="text/markdown",
            icon=":material/download:",
            on_click="ignore",
            key=f"pc_md_{project.id}",
        )


def delete_section(project: Project) -> None:
    """Deleting takes two clicks: the first only asks."""
    if ss.get("pc_confirm_delete") != project.id:
        st.button("Projekt löschen …", icon=":material/delete:", type="tertiary", key=f"pc_delete_{project.id}", on_click=_ask_delete, args=(project.id,))
        return
    with st.container(border=True):
        st.warning(
            f"Projekt „{views.md_inline(project.name)}“ mit allen Haken und Antworten endgültig löschen?",
            icon=":material/delete_forever:",
        )
        with st.container(horizontal=True, gap="small"):
            st.button("Ja, endgültig löschen", type="primary", key=f"pc_delete_yes_{project.id}", on_click=_delete, args=(project.id,))
            st.button("Abbrechen", key=f"pc_delete_no_{project.id}", on_click=_ask_delete, args=(None,))


# -- page -------------------------------------------------------------------------------------------


def render() -> None:
    catalogue = resources.catalogue()
    st.header("Projekt-Check", anchor=False)
    st.markdown("Wo steht unser Projekt? Phase bestimmen, Kriterien abhaken, Fortschritt sehen und als Word-Memo exportieren.")
    if ss.get("pc_notice"):
        st.success(views.md_inline(ss.pop("pc_notice")), icon=":material/check_circle:")
    if ss.get("pc_error"):
        st.error(views.md_inline(ss.pop("pc_error")), icon=":material/error:")
    try:
        projects = store().list()
    except ProjectError as exc:
        st.error(views.md_inline(str(exc)), icon=":material/error:")
        return
    project = project_picker(projects)
    if project is None:
        return
    st.subheader(views.md_inline(project.name), anchor=False)
    passages = dossier_lookup()
    place_tab, tick_tab, progress_view, export_view = st.tabs(["Einordnen", "Kriterien abhaken", "Fortschritt", "Export"])
    with place_tab:
        placement_tab(project, catalogue, passages)
    if project.phase is None:
        for tab in (tick_tab, progress_view, export_view):
            with tab:
                st.info("Bitte ordnen Sie das Projekt zuerst einer Phase zu (Reiter „Einordnen“).", icon=":material/info:")
    else:
        check = build_check(project, catalogue, passages, resources.settings().project_excerpt_chars)
        with tick_tab:
            criteria_tab(project, check, catalogue)
        with progress_view:
            progress_tab(check, catalogue)
        with export_view:
            export_tab(project, check, catalogue, passages)
        with st.expander("Was der Katalog nicht sagt", icon=":material/info:"):
            st.markdown(views.md_inline(check.coverage_note))
            for note in check.data_notes:
                st.markdown("- " + views.md_inline(note))
    delete_section(project)
