"""Parts of a composed answer that tests assert on, independent of its exact wording: the body (the
paragraphs that state something and cite it) without the closing phase/criteria lines and the
further-sources line, and the citations that body actually points to.

The answer composer is being rewritten; when its layout changes, only this file needs to follow.
"""

from __future__ import annotations

import re

FURTHER_SOURCES = ("Mehr dazu", "More on this")


def markers(text: str) -> set[int]:
    return {int(m) for m in re.findall(r"\[(\d+)\]", text)}


def body(answer) -> str:
    """Paragraphs that carry a citation marker, except the further-sources line. The closing
    "Phase: …" / "Kriterien: …" lines carry no marker and so never count."""
    text = answer.answer if hasattr(answer, "answer") else answer
    return "\n\n".join(
        part for part in text.split("\n\n") if markers(part) and not part.lstrip().startswith(FURTHER_SOURCES)
    )


def cited_in_body(answer) -> list:
    """The citations the body's markers point to."""
    used = markers(body(answer))
    return [c for c in answer.citations if c.n in used]
