"""Render: an answer as chat text — the cited answer, then its sources with title, section, page
and the roadmap URL where one is known (OpenAI-compatible replies, MCP text content).

URLs: a catalogue entry (criterion, phase, good practice …) links to its page of the online
roadmap (`url` in corpus/catalogue/criteria.yaml); a dossier passage links to the dossier itself
(its DOI, also from the catalogue file); user documents have none.
"""

from __future__ import annotations

from pydantic import BaseModel

from assistant.corpus import Catalogue
from assistant.schema import Answer, Citation

_LABELS = {
    "de": {"sources": "Quellen", "page": "S.", "notice": "Hinweis", "catalogue": "Kriterienkatalog", "in": "in"},
    "en": {"sources": "Sources", "page": "p.", "notice": "Note", "catalogue": "criteria catalogue", "in": "in"},
}


class SourceRef(BaseModel):
    n: int
    source: str
    title: str
    section: str
    page: int | None
    url: str | None

    def where(self, labels: dict[str, str]) -> str:
        """Where the source sits, without repeating its title: the catalogue, or the chapters
        above the section ('4 Entwicklungsphasen … > P2 – Prototypentwicklung' → '4 Entwicklungsphasen …')."""
        if self.source == "catalogue":
            return labels["catalogue"]
        parents = [part for part in self.section.split(" > ") if part.strip()]
        if parents and parents[-1].strip() == self.title.strip():
            parents = parents[:-1]
        return f"{labels['in']}: {' > '.join(parents)}" if parents else ""


def citation_url(citation: Citation, catalogue: Catalogue) -> str | None:
    if citation.source == "catalogue" and citation.ref_id:
        entry = catalogue.get(citation.ref_id)
        return (entry.url if entry else None) or None
    if citation.source == "dossier":
        doi = catalogue.data.source_urls.dossier_doi
        return f"https://doi.org/{doi}" if doi else None
    return None


def source_refs(answer: Answer, catalogue: Catalogue) -> list[SourceRef]:
    return [
        SourceRef(n=c.n, source=c.source, title=c.title, section=c.section, page=c.page, url=citation_url(c, catalogue))
        for c in answer.citations
    ]


def reply_text(answer: Answer, catalogue: Catalogue) -> str:
    """Answer text (with its [n] markers), then one Markdown list item per cited source."""
    labels = _LABELS.get(answer.lang, _LABELS["de"])
    parts = []
    if answer.notice:
        parts.append(f"{labels['notice']}: {answer.notice}")
    parts.append(answer.answer.strip())
    refs = source_refs(answer, catalogue)
    if refs:
        lines = [f"{labels['sources']}:"]
        for ref in refs:
            where = ref.where(labels)
            page = f"{labels['page']} {ref.page}" if ref.page else ""
            details = ", ".join(x for x in (where, page) if x)
            lines.append(f"- [{ref.n}] {ref.title}" + (f" ({details})" if details else "") + (f" – {ref.url}" if ref.url else ""))
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
