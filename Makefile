# Every target bootstraps .venv itself with Python 3.12 and reinstalls only when pyproject.toml changes.
PYTHON_BOOT := $(shell command -v python3.12 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= configs/baseline.yaml

.PHONY: run test bench ui lint docs validate clean

$(PY):
	@$(PYTHON_BOOT) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "tierlab needs Python >= 3.12 (found " + sys.version.split()[0] + ")")'
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev,dask]'
	@touch $@ $(VENV)/.installed-run

# The browser UI's JavaScript, put into solara's local cache so the page works offline (idempotent).
$(VENV)/.installed-ui-assets: scripts/install_ui_assets.py sim/ui/assets.py $(VENV)/.installed-run
	$(PY) scripts/install_ui_assets.py
	@touch $@

run: $(VENV)/.installed-run
	$(VENV)/bin/tierlab run $(CONFIG)

test: $(VENV)/.installed-dev $(VENV)/.installed-ui-assets
	$(PY) -m pytest -q

ui: $(VENV)/.installed-run $(VENV)/.installed-ui-assets
	$(VENV)/bin/tierlab ui $(CONFIG)

# Every benchmark runs and records its figures; the sweep benchmark's status (1 below its targets) is make's.
bench: $(VENV)/.installed-dev $(VENV)/.installed-ui-assets
	$(PY) benchmarks/model_bench.py
	$(PY) benchmarks/sweep_bench.py; status=$$?; $(PY) benchmarks/ui_bench.py && exit $$status

# docs/parameters.md, the parameter tables of docs/ODD.md and docs/schema/, generated from the config
# models (tests check they are current).
docs: $(VENV)/.installed-run
	$(VENV)/bin/tierlab config docs --out docs/parameters.md
	$(PY) scripts/odd_parameters.py docs/ODD.md
	$(VENV)/bin/tierlab config schema --out docs/schema/run.schema.json
	$(VENV)/bin/tierlab config schema --sweep --out docs/schema/sweep.schema.json

# The model against the stylised facts and market figures (about 3 minutes on 2 cores); the report
# goes to docs/validation/.
validate: $(VENV)/.installed-run
	$(VENV)/bin/tierlab validate --seeds 20 --out docs/validation

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check sim agents tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
