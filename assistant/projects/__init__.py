"""Projekt-Check: a project lead's saved self-check along the roadmap.

Subpackage layout, one stage per module:
- `model`     the typed data every stage shares (statuses, projects, how a phase was chosen);
- `store`     projects and their ticks in SQLite (`ASSISTANT_PROJECTS_DB`), safe for concurrent tabs;
- `sources`   the dossier passage (section, page, excerpt) where a catalogue entry is discussed;
- `placement` 5–8 questions from the phase definitions that lead to a likely phase, with reasons;
- `progress`  criteria in scope, progress per phase, open milestones, next steps, good practices;
- `report`    the German memo as Markdown and Word (python-docx).
Nothing here imports Streamlit; the page in the UI only renders these objects.
"""
