"""Roadmap-Lotse: an offline assistant for the BBSR study "Smart-City-Lösungen skalieren".

The package is organised by stage of the flow:
corpus → chunking → embedding → index → retrieval → answer → cli/app.
"""

__version__ = "0.1.0"
