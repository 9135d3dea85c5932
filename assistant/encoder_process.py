"""Question encoding in a child process: the worker loop and the client the `QueryBatcher` calls.

Why a process: under load, a question encoding inside the serving process needs the GIL back for
every one of its many small operations, and twenty threads building answers hold it. One encoding
then took about a second instead of ~75 ms (docs/benchmarks.md, "Last"). A child process has its
own interpreter: it encodes on one core while the serving process answers on the other.

Protocol over the child's stdin/stdout (binary, length-prefixed): the parent sends one JSON
object with the settings the child needs, the child answers `ready` with the vector dimension;
then each request is a JSON list of questions and each reply the float32 unit rows (or an error
text). The child ends when its stdin closes, so it never outlives the parent. Anything the model
libraries print goes to the child's stderr, never into the protocol.
"""

from __future__ import annotations

import atexit
import json
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import BinaryIO

import numpy as np

from assistant.settings import Settings

_HEADER = struct.Struct("<iI")  # (rows, dimension); rows < 0 marks an error, dimension its text length
_LENGTH = struct.Struct("<I")
_READY = -2
_ERROR = -1
# Settings the child needs to load the same question model as the parent would.
_FORWARDED = {"embed_model", "model_cache", "query_precision"}


class EncoderProcessError(RuntimeError):
    """The encoder process failed or ended; the message says how."""


class _ChildEnded(EncoderProcessError):
    """The child is gone (crashed, killed, or never started properly): worth one restart."""


def _send_json(stream: BinaryIO, value) -> None:
    data = json.dumps(value, ensure_ascii=False).encode("utf-8")
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = stream.read(size - len(chunks))
        if not chunk:
            raise EOFError
        chunks += chunk
    return bytes(chunks)


def _read_json(stream: BinaryIO):
    (size,) = _LENGTH.unpack(_read_exact(stream, _LENGTH.size))
    return json.loads(_read_exact(stream, size).decode("utf-8"))


class EncoderProcess:
    """Client of one encoder child. `encode_many` is safe from several threads (one request at a
    time); a child that died is started again once per call, so a crash costs one slow question,
    not an error."""

    def __init__(self, settings: Settings, threads: int):
        self._settings = settings
        self._threads = threads
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self.dimension = 0
        self.restarts = 0
        atexit.register(self._close_at_exit)

    def start(self) -> None:
        """Start the child if it is not running; returns at once (the model loads meanwhile)."""
        with self._lock:
            if self._proc is None:
                self._start()

    def _start(self) -> None:
        root = str(Path(__file__).resolve().parent.parent)  # the child imports this very package
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.encoder_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": str(self._threads)},
        )
        config = self._settings.model_dump(mode="json", include=_FORWARDED, exclude_none=True)
        _send_json(proc.stdin, {"settings": config, "threads": self._threads})
        self._proc = proc

    def _ready(self) -> int:
        """(Lock held.) Start the child if needed and wait for its `ready`; the vector dimension."""
        if self._proc is None:
            self._start()
        if not self.dimension:
            rows, dimension = self._read_header()
            if rows != _READY:
                raise EncoderProcessError("Der Kodierprozess hat sich nicht bereit gemeldet.")
            self.dimension = dimension
        return self.dimension

    def _read_header(self) -> tuple[int, int]:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            rows, size = _HEADER.unpack(_read_exact(self._proc.stdout, _HEADER.size))
        except EOFError:
            try:
                code = self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            raise _ChildEnded(f"Der Kodierprozess ist beendet (Exit-Code {code}); Details stehen in seiner Fehlerausgabe.") from None
        if rows == _ERROR:
            raise EncoderProcessError(_read_exact(self._proc.stdout, size).decode("utf-8", "replace"))
        return rows, size

    def wait_ready(self) -> int:
        """Start the child if needed and block until it has loaded the model; returns the vector
        dimension."""
        with self._lock:
            return self._ready()

    def encode_many(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            try:
                return self._request(texts)
            except (_ChildEnded, BrokenPipeError):
                pass  # a reported error (bad input, model failure) propagates: a restart would not help
            self._close()
            self.restarts += 1
            self._start()
            try:
                return self._request(texts)
            except (_ChildEnded, BrokenPipeError) as exc:
                raise EncoderProcessError(f"Der Kodierprozess ist auch nach einem Neustart ausgefallen: {exc}") from exc

    def _request(self, texts: list[str]) -> np.ndarray:
        self._ready()
        assert self._proc is not None and self._proc.stdin is not None and self._proc.stdout is not None
        _send_json(self._proc.stdin, list(texts))
        rows, dimension = self._read_header()
        data = _read_exact(self._proc.stdout, rows * dimension * 4)
        return np.frombuffer(data, dtype=np.float32).reshape(rows, dimension).copy()

    def close(self) -> None:
        """End the child (it exits when its stdin closes); the next question starts a new one."""
        with self._lock:
            self._close()

    def _close_at_exit(self) -> None:
        # A daemon thread may hold the lock mid-request when the interpreter ends: don't wait for it.
        locked = self._lock.acquire(timeout=1)
        try:
            self._close()
        finally:
            if locked:
                self._lock.release()

    def _close(self) -> None:
        proc, self._proc = self._proc, None
        self.dimension = 0
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()


def _serve(inp: BinaryIO, out: BinaryIO) -> None:
    """The child's loop: load the model, report ready, answer requests until stdin closes."""
    config = _read_json(inp)
    import torch

    torch.set_num_threads(int(config["threads"]))
    from assistant.embedding import Embedder

    try:
        embedder = Embedder(Settings(**config["settings"], query_encoder="thread"))
        embedder._encode_queries(["Warmlauf"])  # first call builds the int8 twin and warms the kernels
    except Exception as exc:  # the parent shows the reason
        message = f"{type(exc).__name__}: {exc}".encode("utf-8")
        out.write(_HEADER.pack(_ERROR, len(message)) + message)
        out.flush()
        return
    out.write(_HEADER.pack(_READY, embedder.dimension))
    out.flush()
    while True:
        try:
            texts = _read_json(inp)
        except EOFError:
            return
        try:
            vectors = np.ascontiguousarray(embedder._encode_queries(texts), dtype=np.float32)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}".encode("utf-8")
            out.write(_HEADER.pack(_ERROR, len(message)) + message)
        else:
            out.write(_HEADER.pack(vectors.shape[0], vectors.shape[1]) + vectors.tobytes())
        out.flush()


def main() -> None:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints of the libraries go to stderr
    _serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
