"""Conversations: the server-side follow-up context, one `Conversation` per key.

The store only creates, keeps and hands out `assistant.conversation.Conversation` objects (opaque
here) for `AssistantService.ask`. It is capped in number (least recently used dropped first) and
in age (a conversation unused for longer than the maximum age is forgotten). A conversation is
used by one request at a time: a second request with the same key waits for the first, so two
follow-ups never interleave their turns.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from assistant.conversation import Conversation


@dataclass
class _Entry:
    conversation: Conversation
    last_used: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class ConversationStore:
    def __init__(
        self,
        max_conversations: int,
        max_age_s: float,
        factory: Callable[[], Conversation] = Conversation,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_conversations = max_conversations
        self.max_age_s = max_age_s
        self._factory = factory
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._entries)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            self._expire(self._clock())
            return key in self._entries

    def _expire(self, now: float) -> None:
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if now - entry.last_used <= self.max_age_s:
                break
            del self._entries[key]

    def _entry(self, key: str, create: bool) -> _Entry | None:
        with self._lock:
            now = self._clock()
            self._expire(now)
            entry = self._entries.get(key)
            if entry is None:
                if not create:
                    return None
                entry = _Entry(self._factory(), now)
                self._entries[key] = entry
                while len(self._entries) > self.max_conversations:
                    self._entries.popitem(last=False)
            entry.last_used = now
            self._entries.move_to_end(key)
            return entry

    @contextmanager
    def use(self, key: str) -> Iterator[Conversation]:
        """The conversation under `key` (new if unknown or expired), held for one request."""
        entry = self._entry(key, create=True)
        assert entry is not None
        with entry.lock:
            yield entry.conversation
        with self._lock:
            entry.last_used = self._clock()

    @contextmanager
    def take(self, key: str) -> Iterator[Conversation | None]:
        """Like `use`, but None for an unknown key (nothing is created)."""
        entry = self._entry(key, create=False)
        if entry is None:
            yield None
            return
        with entry.lock:
            yield entry.conversation

    def put(self, key: str, conversation: Conversation) -> None:
        """Keep a conversation under a (new) key, e.g. an OpenAI history after the reply."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            self._entries[key] = _Entry(conversation, now)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_conversations:
                self._entries.popitem(last=False)

    def discard(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
