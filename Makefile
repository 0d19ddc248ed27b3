# ScalarScope: every target sets up what it needs first (a .venv with pinned packages).
#   make demo   - set up, train the default world headless, print a summary table
#   make lab    - set up, open notebooks/01_internalization.ipynb in JupyterLab
#   make test   - set up (incl. Debian's chromium for the browser test), run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# both cores; one file (a notebook's cells, a module's shared fixture) stays on one worker, in order
XDIST ?= -n 2 --dist loadfile

.PHONY: setup system-deps demo lab test test-fast test-browser results bench lint strip clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip compiles bytecode on one core (about two of its three minutes); compileall does it on every core.
# As with pip's own pass, files that do not compile (torch ships Python-3.12-only test helpers) are skipped.
$(STAMP): requirements/lock.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements/lock.txt
	$(BIN)/python -m compileall -qq -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" || true
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# Debian's chromium drives the real-browser test; installed when we are root on a Debian machine.
# Debian's fortunes and wordnet-base are the English world's default corpus (scalarscope.corpus).
system-deps:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && echo "chromium: installed"; \
	else echo "chromium: not installed (not root or no apt-get); the browser test will be skipped"; fi
	@if [ -d /usr/share/games/fortunes ] && [ -f /usr/share/wordnet/data.noun ]; then echo "fortunes, wordnet-base: present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fortunes wordnet-base >/dev/null && echo "fortunes, wordnet-base: installed"; \
	else echo "fortunes, wordnet-base: not installed (not root or no apt-get); the English world needs --corpus PATH"; fi

demo: setup system-deps
	$(BIN)/scalarscope run --overlap 0.87 --cycles 300 --seed 0 --holdout clarity --export runs/demo_geometry.json

lab: setup
	$(BIN)/jupyter lab notebooks/01_internalization.ipynb

test: setup system-deps
	$(BIN)/python -m pytest tests $(wildcard notebooks/*.ipynb) --nbval-lax $(XDIST) -p no:cacheprovider $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/python -m pytest tests -m "not slow and not browser" $(XDIST) -p no:cacheprovider $(PYTEST_ARGS)

test-browser: setup system-deps
	$(BIN)/python -m pytest tests -m browser -p no:cacheprovider $(PYTEST_ARGS)

results: setup  # the whole results document, then its conscience section, then the real judges' document
	$(BIN)/python examples/path_a_vs_b.py
	$(BIN)/python examples/goodhart_results.py
	$(BIN)/python examples/real_judges_results.py
	$(BIN)/python examples/english_results.py

bench: setup
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: setup
	$(BIN)/ruff check scalarscope tests examples benchmarks

strip: setup
	$(BIN)/nbstripout notebooks/*.ipynb  # outputs, execution counts and widget state (tests/test_notebooks_meta.py)

clean:
	rm -rf $(VENV) runs test-output .pytest_cache
