"""Roadmap-Lotse: an offline assistant for the BBSR study "Smart-City-Lösungen skalieren".

The package is organised by stage of the flow:
corpus → chunking → embedding → index → frames (what is asked) → retrieval → answer (one composer per
operation) → service → cli / app (ui) / HTTP API and MCP (api).
"""

__version__ = "0.1.0"
