# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Each creates the virtual environment and installs what it needs.
VENV   ?= .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.installed

.PHONY: install system-deps bench-deps demo test lint typecheck unit bench clean

# Debian packages the tests drive for real: headless Chromium (UI test) and
# PostgreSQL (production instance test). Installed only if missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "uv>=0.5"
	$(UV) pip install --quiet --python $(PY) -e '.[dev]'
	touch $@

install: $(STAMP)

system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The processing benchmark's peer: Debian's ffmpeg (ffmpeg + ffprobe). Installed only if missing.
bench-deps:
	@if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then \
		echo "installing: ffmpeg"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null; \
	fi

demo: $(STAMP)
	$(PY) -m ursa_pipelines.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP) system-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck unit

bench: $(STAMP) bench-deps
	$(PY) bench/store.py
	$(PY) bench/catalog.py
	$(PY) bench/ingest.py
	$(PY) bench/download.py
	$(PY) bench/pipelines.py
	$(PY) bench/processing.py
	$(PY) bench/read.py
	$(PY) bench/lifecycle.py
	$(PY) bench/cli.py

clean:
	rm -rf $(VENV) .ursa .mypy_cache .pytest_cache .ruff_cache
