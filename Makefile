# Two commands do everything (see README):
#   make run    set up, build the index if needed, start the app on http://localhost:8501
#   make test   set up and run the whole test suite
# and for other tools:
#   make test-fast   only the tests marked `unit` (no model, no index, under a minute)
#   make api    set up like `make run`, then start the HTTP API, OpenAI endpoint and MCP server on :8700
.PHONY: run api test test-fast setup index eval bench browser-deps clean-index

PY := .venv/bin/python
PORT ?= 8501
# A concrete address (not 0.0.0.0): Streamlit then skips its lookup of the external IP, which
# would be a request to an outside service.
ADDRESS ?= 127.0.0.1
API_PORT ?= 8700
# Another address than loopback needs tokens: ASSISTANT_API_TOKENS or ASSISTANT_API_TOKENS_FILE.
API_HOST ?= 127.0.0.1

run:
	@bash scripts/setup.sh --index
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS) --server.headless true

api:
	@bash scripts/setup.sh --index
	$(PY) -m assistant serve --host $(API_HOST) --port $(API_PORT)

test:
	@bash scripts/setup.sh
	@bash scripts/browser-deps.sh
	$(PY) -m pytest

# The fast lane: with an empty model cache (loading the model fails, and tests/conftest.py fails a
# `unit` test that tries), no cache plugin (no reordering by earlier runs), skips counted as failures.
test-fast:
	@bash scripts/setup.sh --no-model
	@cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && \
	env -u ASSISTANT_EMBED_MODEL ASSISTANT_MODEL_CACHE="$$cache" ROADMAP_LOTSE_FAST_LANE=1 \
	$(PY) -m pytest -m unit -p no:cacheprovider -q

setup:
	@bash scripts/setup.sh

index:
	@bash scripts/setup.sh --index

eval:
	$(PY) -m assistant eval --split test --out reports

bench:
	$(PY) bench/retrieval_baselines.py

browser-deps:
	@bash scripts/browser-deps.sh

clean-index:
	rm -rf index/builds index/current index/.current.tmp
