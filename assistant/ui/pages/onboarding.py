"""Einarbeitung page: a guided path through P1 … P5 and what applies throughout, each step with
its key criteria, an example and a short self-check."""

from __future__ import annotations

import streamlit as st

from assistant import views
from assistant.domain import phase_short_label
from assistant.onboarding import OnboardingProgress, OnboardingStep
from assistant.ui import resources
from assistant.ui.widgets import good_practice_card

ss = st.session_state


def _on_answer(question_id: str) -> None:
    path = resources.onboarding_steps()
    question = next(q for s in path for q in s.questions if q.id == question_id)
    ss.onboarding.answer(question, ss.get(f"onb_{question_id}"))


def _go(index: int) -> None:
    ss.onboarding.go(index, resources.onboarding_steps())
    ss["onb_step"] = ss.onboarding.current


def _restart() -> None:
    for key in [k for k in ss if str(k).startswith("onb_")]:
        del ss[key]
    ss.onboarding.reset()


def _on_step_pick() -> None:
    if ss.get("onb_step") is not None:
        _go(ss["onb_step"])


def render() -> None:
    path = resources.onboarding_steps()
    progress: OnboardingProgress = ss.onboarding
    st.header("Einarbeitung", anchor=False)
    st.caption(
        "Ein geführter Weg durch die Roadmap: P1 bis P5 und dann die Kriterien, die durchgehend gelten. "
        "Jeder Schritt endet mit einem kurzen Selbstcheck."
    )
    correct, total = progress.score(path)
    _progress_and_steps(path, progress, correct, total)
    step = path[progress.current]
    st.subheader(views.md_inline(f"Schritt {step.number} von {len(path)}: {step.title}"), anchor=False)
    st.markdown("**Wofür diese Phase da ist**  \n" + views.md_escape(step.purpose))
    left, right = st.columns([3, 2], gap="large")
    with left:
        _key_criteria(step)
    with right:
        _example(step)
    _self_check(step, progress)
    _step_buttons(path, progress)
    if progress.finished(path):
        st.success(
            f"Geschafft: alle Schritte durchlaufen, {correct} von {total} Fragen richtig. "
            "Im Chat können Sie jetzt gezielt nachfragen – etwa zu Ihrer eigenen Projektphase.",
            icon=":material/celebration:",
        )
        st.button("Einarbeitung neu beginnen", on_click=_restart, icon=":material/restart_alt:")


def _progress_and_steps(path: list[OnboardingStep], progress: OnboardingProgress, correct: int, total: int) -> None:
    """The progress bar and the step picker (a done step carries a tick)."""
    done = sum(progress.step_done(s) for s in path)
    st.progress(progress.fraction_done(path), text=f"{done} von {len(path)} Schritten erledigt · {correct} von {total} Fragen richtig")
    ss["onb_step"] = progress.current
    st.segmented_control(
        "Schritt",
        list(range(len(path))),
        format_func=lambda i: ("✓ " if progress.step_done(path[i]) else "") + phase_short_label(path[i].phase),
        key="onb_step",
        on_change=_on_step_pick,
        required=True,
        label_visibility="collapsed",
    )


def _key_criteria(step: OnboardingStep) -> None:
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


def _example(step: OnboardingStep) -> None:
    st.markdown("**Ein Beispiel aus der Praxis**")
    if step.example is not None:
        good_practice_card(views.good_practice_card(resources.catalogue(), step.example), key=f"onb_gp_{step.phase}")
    else:
        st.caption("Für diese Phase nennt der Katalog kein Praxisbeispiel.")


def _self_check(step: OnboardingStep, progress: OnboardingProgress) -> None:
    """The step's questions; an answered one shows at once whether it was right, and why."""
    st.markdown("**Selbstcheck**")
    for q in step.questions:
        answered = progress.answers.get(q.id)
        st.radio(
            f"**{views.md_inline(q.prompt)}**",
            q.options,
            format_func=views.md_inline,
            index=q.options.index(answered) if answered in q.options else None,
            key=f"onb_{q.id}",
            on_change=_on_answer,
            args=(q.id,),
        )
        result = progress.result(q)
        if result is not None:
            (st.success if result.correct else st.warning)(views.md_escape(result.message), icon=":material/check_circle:" if result.correct else ":material/lightbulb:")


def _step_buttons(path: list[OnboardingStep], progress: OnboardingProgress) -> None:
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
