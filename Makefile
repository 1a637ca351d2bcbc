# Two commands on a fresh machine: `make demo` (a GLT search on Cora, with a plot) and `make test` (the test suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned, so pip takes the CPU wheel on disk instead of a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/graphsparse glt --dataset cora --model gcn --method teddy,ugs,random --rounds 5 --seeds 2 --epochs 100 --workers auto --plot runs/glt_cora_gcn.png

# every test but the `slow` ones (pyproject's addopts), each under pytest-timeout's limit, the 25 slowest reported;
# on TEST_WORKERS pytest-xdist workers of one torch thread each (the tests that share the pytest process's Ray run
# on one worker: tests/conftest.py)
TEST_WORKERS ?= 2
test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=25

# the docs site (mkdocs.yml): --strict fails on broken links, missing references and docstring warnings
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# the layer contract ([tool.importlinter] in pyproject.toml), then ruff's checks and formatting
lint: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# every hostile-input case of benchmarks/reliability.py run for real; docs/reliability.md regenerated; exit 1 on any
# traceback, silently wrong result, lost run or other outcome
reliability: install
	OMP_NUM_THREADS=1 MPLBACKEND=Agg $(PY) benchmarks/reliability.py --check

# execute every notebook in place (one thread, as the tests run them) so the committed files carry their outputs
notebooks: install
	OMP_NUM_THREADS=1 $(PY) notebooks/execute.py

.PHONY: install demo test lint docs notebooks reliability
