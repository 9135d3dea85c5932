"""Kriterien page: the catalogue's criteria as a filterable table, and one criterion in detail
with its good practices, related criteria and the dossier passages that name it."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from assistant import views
from assistant.browse import CriterionRow, filter_criteria
from assistant.corpus import Catalogue
from assistant.domain import PHASE_IDS
from assistant.ui import resources
from assistant.ui.resources import ALL
from assistant.ui.widgets import chosen, dossier_passages, phase_name, short

ss = st.session_state


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


def render() -> None:
    catalogue = resources.catalogue()
    st.header("Kriterien", anchor=False)
    st.caption(views.md_inline(catalogue.coverage_note()))
    rows = _filtered_rows(catalogue)
    ss["criteria_table_ids"] = [r.id for r in rows]
    st.caption(f"{len(rows)} von {len(catalogue.criteria)} Kriterien im Katalog. Zeile anklicken für Details.")
    if rows:
        _criteria_table(rows)
    else:
        st.info("Kein Kriterium passt zu diesen Filtern.", icon=":material/search_off:")

    st.divider()
    all_ids = [c.id for c in catalogue.criteria]
    if ss.get("criterion_pick") not in all_ids:
        ss["criterion_pick"] = rows[0].id if rows else all_ids[0]
    pick = st.selectbox(
        "Kriterium im Detail",
        all_ids,
        format_func=lambda cid: f"{cid} – {catalogue.get(cid).name}",
        key="criterion_pick",
    )
    criterion_detail(pick)


def _filtered_rows(catalogue: Catalogue) -> list[CriterionRow]:
    """The filter widgets, and the criteria they let through."""
    drivers = [d.id for d in catalogue.drivers]
    workstreams = catalogue.workstreams
    c1, c2, c3 = st.columns(3)
    phase = c1.selectbox("Phase", [ALL, *PHASE_IDS], format_func=partial(phase_name, catalogue), key="crit_phase", persist_state="session")
    driver = c2.selectbox(
        "Skalierungstreiber",
        [ALL, *drivers],
        format_func=lambda d: "Alle Treiber" if d == ALL else f"{d} – {short(catalogue.get(d).name, 60)}",
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
    return filter_criteria(
        catalogue, phase=chosen(phase), driver=chosen(driver), workstream=chosen(workstream), milestone=milestone, text=text
    )


def _criteria_table(rows: list[CriterionRow]) -> None:
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


def criterion_detail(criterion_id: str) -> None:
    detail = views.criterion_detail(resources.catalogue(), criterion_id)
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
                place = gp.place
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
    dossier_passages(
        lambda service: service.passages_mentioning(criterion_id),
        empty="Das Dossier nennt dieses Kriterium nicht ausdrücklich.",
    )
