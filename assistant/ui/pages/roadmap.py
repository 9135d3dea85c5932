"""Roadmap page: the timeline of the five phases (and what applies throughout), then the chosen
phase with its criteria, milestones, good practices and dossier sections."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

import altair as alt
import pandas as pd
import streamlit as st

from assistant import views
from assistant.domain import PHASE_IDS
from assistant.ui import navigation, resources
from assistant.ui.widgets import criterion_list, dossier_passages, good_practice_card

ss = st.session_state


def timeline_chart(selected: str) -> alt.LayerChart:
    segments, marks = views.roadmap_timeline(resources.catalogue())
    seg = pd.DataFrame(
        [
            asdict(s)
            | {
                "center": s.center,
                "bar_end": s.end - 0.04,
                "counts": f"{s.n_criteria} Kriterien · {s.n_milestones} Meilensteine",
            }
            for s in segments
        ]
    )
    text = alt.Chart(seg).encode(x=_x("center"), y=_y())
    layers = [
        _phase_bars(seg, selected),
        text.mark_text(color="white", fontWeight="bold", fontSize=15, dy=-10).encode(text="phase:N"),
        text.mark_text(color="white", fontSize=12, dy=7, limit=170).encode(text="name:N"),
        text.mark_text(color="white", fontSize=11, dy=22, limit=170).encode(text="counts:N"),
    ]
    if marks:
        layers.append(_milestone_marks(pd.DataFrame([asdict(m) for m in marks])))
    return alt.layer(*layers).properties(height=220).configure_view(stroke=None)


def _y() -> alt.Y:
    return alt.Y("row:N", sort=list(views.TIMELINE_ROWS), axis=None, scale=alt.Scale(paddingInner=0.3))


def _x(field: str) -> alt.X:
    """Every layer must share one x definition, or Vega drops the chart."""
    return alt.X(f"{field}:Q", scale=alt.Scale(domain=[0, 5], nice=False, zero=False), axis=None)


def _phase_bars(seg: pd.DataFrame, selected: str) -> alt.Chart:
    """One bar per phase, clickable (selection `phase_pick`)."""
    colors = alt.Scale(domain=list(views.PHASE_HEX), range=list(views.PHASE_HEX.values()))
    is_selected = alt.datum.phase == selected
    return (
        alt.Chart(seg)
        .mark_bar(cornerRadius=8, stroke="#1f2937")
        .encode(
            x=_x("start"),
            x2="bar_end:Q",
            y=_y(),
            color=alt.Color("phase:N", scale=colors, legend=None),
            # the chosen phase gets a dark outline; no fading of the others, their white labels
            # would drop below 4.5:1 contrast
            strokeWidth=alt.condition(is_selected, alt.value(4), alt.value(0)),
            tooltip=[
                alt.Tooltip("full_label:N", title="Phase"),
                alt.Tooltip("n_criteria:Q", title="Kriterien"),
                alt.Tooltip("milestones:N", title="Meilensteine"),
                alt.Tooltip("n_good_practices:Q", title="Praxisbeispiele"),
            ],
        )
        .add_params(alt.selection_point(fields=["phase"], name="phase_pick", on="click"))
    )


def _milestone_marks(ms: pd.DataFrame) -> alt.Chart:
    """A diamond above the bars wherever a milestone sits on the timeline."""
    return (
        alt.Chart(ms)
        .mark_point(shape="diamond", filled=True, size=120, color="#ffd43b", stroke="#1f2937", strokeWidth=1, yOffset=-31)
        .encode(
            x=_x("x"),
            y=_y(),
            tooltip=[alt.Tooltip("id:N", title="Meilenstein"), alt.Tooltip("name:N", title="Kriterium")],
        )
    )


def _on_timeline_pick() -> None:
    state = ss.get("timeline")
    try:
        picked = state["selection"]["phase_pick"]
    except (KeyError, TypeError):
        return
    if picked and picked[0].get("phase") in PHASE_IDS:
        ss["roadmap_phase"] = picked[0]["phase"]


def render() -> None:
    catalogue = resources.catalogue()
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
        format_func=partial(views.phase_choice_label, catalogue),
        key="roadmap_phase",
        required=True,
        label_visibility="collapsed",
        persist_state="session",
    ) or "P1"
    overview = views.phase_overview(catalogue, selected)

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
            navigation.ask_in_chat(f"Was muss ich in der Phase {overview.label} beachten?")
    with right:
        st.markdown("**Praxisbeispiele**")
        if overview.good_practices:
            for gp in overview.good_practices:
                good_practice_card(views.good_practice_card(catalogue, gp), key=f"roadmap_{gp.id}")
        else:
            st.caption("Für diese Phase nennt der Katalog kein Praxisbeispiel.")

    st.markdown("**Abschnitte im Dossier zu dieser Phase**")
    dossier_passages(
        lambda service: service.passages_of_phase(selected),
        empty="Das Dossier hat zu dieser Phase keinen eigenen Abschnitt.",
    )
