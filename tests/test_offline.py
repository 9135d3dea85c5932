"""Offline guarantee: building, asking and the app never open a connection off this machine."""

from __future__ import annotations

import os
import socket

import pytest

from tests import conftest


def test_guard_blocks_outbound_before_any_packet():
    assert socket.socket.connect is conftest._guarded_connect
    before = len(conftest.OUTBOUND_ATTEMPTS)
    with pytest.raises(OSError, match="blocked"):
        # TEST-NET-1 documentation address; the guard refuses before the real connect runs
        socket.create_connection(("192.0.2.1", 9), timeout=1)
    assert len(conftest.OUTBOUND_ATTEMPTS) == before + 1
    del conftest.OUTBOUND_ATTEMPTS[before:]


def test_loopback_stays_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()


def test_privacy_switches(settings):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    from assistant.index import _chroma_settings

    assert _chroma_settings().anonymized_telemetry is False
    config = (conftest.ROOT / ".streamlit" / "config.toml").read_text()
    assert "gatherUsageStats = false" in config
    assert "llm_api_key" not in repr(settings)


def test_build_and_ask_made_no_outbound_connection(service, tmp_path):
    """Runs a real ask (and the session's index build before it) and checks the record."""
    answer = service.ask("Was ist das Masterportal?")
    assert answer.citations
    assert conftest.OUTBOUND_ATTEMPTS == []
