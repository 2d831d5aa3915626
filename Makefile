# make demo / make test do all set-up on a fresh machine: the venv, the Python packages,
# the Debian packages the sandbox and toolchains need (when root and missing).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEBIAN_PKGS := bubblewrap
# Aider Polyglot's offline toolchains: JUnit console + AssertJ (java), cmake + Boost date_time (cpp),
# the crates three Rust exercises declare (cargo reads Debian's registry offline).
DEBIAN_PKGS += junit5 libassertj-core-java cmake libboost-date-time-dev librust-time-dev librust-anyhow-dev librust-rand-dev
# More crates and jars the references declare: decimal (num-bigint, num-traits: older releases of the same
# series, used as substitutes), grep (thiserror), rest-api (org.json: Debian's is Android's re-implementation).
DEBIAN_PKGS += librust-num-bigint-dev librust-num-traits-dev librust-thiserror-dev libandroid-json-org-java
# The Polyglot JavaScript test stack: one pinned npm install (jest 29 + babel) shared by every exercise.
POLYGLOT_JS := $(VENV)/polyglot-js
POLYGLOT_JS_SPEC := hrmcode/benchmarks/polyglot/polyglot_js

.PHONY: setup demo test test-slow test-polyglot lint doctor clean

setup: $(STAMP) debian polyglot-js

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned, so pip takes the local CPU wheel and never a CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Debian packages: install only what is missing, only when root; otherwise say what is missing.
debian:
	@missing=""; for p in $(DEBIAN_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    (apt-get install -y -q $$missing >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null)) \
	      || echo "warning: could not install$$missing (the sandbox falls back and says so)"; \
	  else echo "warning: not root, Debian packages missing:$$missing (the sandbox falls back and says so)"; fi; \
	fi

.PHONY: debian

# npm ci from the committed lock; only when npm exists (without it the JavaScript exercises report
# the missing stack and their tests skip). Re-run when the lock changes.
polyglot-js:
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "note: npm not found: Polyglot JavaScript exercises cannot run (their tests skip)"; \
	elif ! cmp -s $(POLYGLOT_JS_SPEC)/package-lock.json $(POLYGLOT_JS)/package-lock.json \
	     || [ ! -f $(POLYGLOT_JS)/node_modules/jest/bin/jest.js ]; then \
	  echo "installing the Polyglot JavaScript test stack into $(POLYGLOT_JS)"; \
	  mkdir -p $(POLYGLOT_JS) && cp $(POLYGLOT_JS_SPEC)/package.json $(POLYGLOT_JS_SPEC)/package-lock.json $(POLYGLOT_JS)/ \
	    && (cd $(POLYGLOT_JS) && npm ci --no-audit --no-fund --loglevel=error) \
	    || echo "warning: npm ci failed: Polyglot JavaScript exercises cannot run (their tests skip)"; \
	fi

.PHONY: polyglot-js

demo: setup
	$(VENV)/bin/hrmcode demo

test: setup
	$(VENV)/bin/python -m pytest -q

test-slow: setup
	$(VENV)/bin/python -m pytest -q -m slow

# Aider Polyglot on the real benchmark: all 225 references and stubs (~10 min on 2 idle cores); skips,
# saying why, without ../shared/benchmarks/polyglot-benchmark-7e0611e.tar.gz (or HRMCODE_POLYGLOT_ARCHIVE).
test-polyglot: setup
	$(VENV)/bin/python -m pytest -q -m slow tests/test_polyglot_archive.py

lint: setup
	$(VENV)/bin/ruff check hrmcode tests bench

doctor: setup
	$(VENV)/bin/hrmcode doctor

clean:
	rm -rf $(VENV) build *.egg-info
