"""Good-Practices page: the catalogue's practice examples as cards, searchable and by phase."""

from __future__ import annotations

import streamlit as st

from assistant import views
from assistant.domain import PHASE_IDS, phase_short_label
from assistant.ui import resources
from assistant.ui.widgets import good_practice_card


def render() -> None:
    catalogue = resources.catalogue()
    st.header("Good Practices", anchor=False)
    st.caption("Praxisbeispiele aus Dossier und Roadmap – mit Phase, Kriterien und Kurzfassung.")
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    text = c1.text_input("Suche", placeholder="z. B. Hamburg, Open Source, Betreibermodell", key="gp_search", persist_state="session")
    phase = c2.pills(
        "Phase", PHASE_IDS, key="gp_phase", persist_state="session",
        format_func=phase_short_label,
    )
    cards = views.good_practice_cards(catalogue, text=text, phase=phase)
    st.caption(f"{len(cards)} von {len(catalogue.good_practices)} Praxisbeispielen")
    if not cards:
        st.info("Kein Praxisbeispiel passt zur Suche.", icon=":material/search_off:")
        return
    columns = st.columns(2, gap="medium")
    for i, card in enumerate(cards):
        with columns[i % 2]:
            good_practice_card(card, key=f"gp_{card.id}")
