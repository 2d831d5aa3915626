# make demo / make test do all set-up on a fresh machine: the venv, the Python packages,
# the Debian packages the sandbox and toolchains need (when root and missing).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEBIAN_PKGS := bubblewrap

.PHONY: setup demo test test-slow lint doctor clean

setup: $(STAMP) debian

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

demo: setup
	$(VENV)/bin/hrmcode demo

test: setup
	$(VENV)/bin/python -m pytest -q

test-slow: setup
	$(VENV)/bin/python -m pytest -q -m slow

lint: setup
	$(VENV)/bin/ruff check hrmcode tests bench

doctor: setup
	$(VENV)/bin/hrmcode doctor

clean:
	rm -rf $(VENV) build *.egg-info
