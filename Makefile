# premortem: every target installs what it needs on a fresh Debian 12 machine (as root).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PREMORTEM := $(VENV)/bin/premortem
PYTHON ?= python3
SARIF_MULTITOOL_VERSION := 5.7.0
SARIF_MULTITOOL := .tools/node_modules/.bin/sarif-multitool

.PHONY: install deps test test-unit lint fuzz demo bench-check bench-diagnose bench-deploy bench-replay bench-watch bench-faults bench-logs bench-fleet bench-soak bench-hostile clean

install: $(VENV)/.installed

# Re-install when the dependency pins change.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && \
	  $(PYTHON) -m venv $(VENV); }
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev,fleet]'
	touch $@

# Debian packages for the lab and the demo (apache2, mod_php, MariaDB, WordPress...).
deps: install
	$(PY) -m premortem.ops.packages

# ... and the tools only the tests use (Chromium, Puppet, more PHP applications, the SARIF
# multitool that validates check's SARIF).
test-deps: install $(SARIF_MULTITOOL)
	$(PY) -m premortem.ops.packages --tests

# Microsoft's SARIF validator (npm package, pinned), in .tools/ of the checkout.
$(SARIF_MULTITOOL):
	@command -v npm >/dev/null || { \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	npm install --no-audit --no-fund --loglevel=error --prefix .tools \
	  @microsoft/sarif-multitool@$(SARIF_MULTITOOL_VERSION)
	chmod u+x .tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool

# Lint first: ruff and mypy clean is part of green. The labs mostly wait (on servers, SSH,
# watch windows), so the files run on PYTEST_WORKERS workers; a file stays on one worker
# (its module-scoped lab starts once); tests/conftest.py orders the fleet-lab files.
PYTEST_WORKERS ?= 3
test: install test-deps lint
	$(VENV)/bin/pytest -q -ra -n $(PYTEST_WORKERS) --dist loadfile

# The unit tests: no `lab` test, so no server starts (tests/lab_guard.py fails a run that
# starts one); they still run php, Chromium, Puppet and strace, which this installs first.
test-unit: install $(SARIF_MULTITOOL)
	$(PY) -m premortem.ops.packages --unit
	$(VENV)/bin/pytest -q -ra -m "not lab"

# The property tests (tests/test_fuzz_*.py) with the fuzz profile: 10,000 examples per
# parser (whole commands: 300, recorded diagnoses: 2,000); prints each test's seconds and
# examples, and the total.
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(VENV)/bin/pytest -q -p no:cacheprovider tests/test_fuzz_*.py

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

demo: install deps
	$(PREMORTEM) demo

bench-check: install test-deps
	$(PY) bench/bench_check.py

bench-diagnose: install deps
	$(PY) bench/bench_diagnose.py

bench-deploy: install deps
	$(PY) bench/bench_deploy.py

# Seconds the replay of 200 users' URLs on the stage adds to a deploy (goal <= 5 s).
bench-replay: install deps
	$(PY) bench/bench_replay.py

bench-watch: install deps
	$(PY) bench/bench_watch.py

# A 3-host fleet lab: premortem's Ansible settings against Ansible's defaults, fleet diagnose.
bench-fleet: install deps
	$(PY) bench/bench_fleet.py

# 2 h of a busy site replayed in 5 minutes against the real `premortem watch` (outages,
# rotations, a hanging webhook, SIGTERM/SIGKILL restarts, the store's disk full): RSS growth,
# incidents and events against what was injected.
bench-soak: install
	$(PY) bench/bench_soak.py

# check / check --server-config / impact over hostile trees, configs and logs (a 200,000-file
# tree, a 2 GB file, symlink loops, Include cycles, IncludeOptional /*, a 10 MB log line):
# time, peak RSS, exit code and message of each.
bench-hostile: install
	$(PY) bench/bench_hostile.py

# 1M and 10M-line access logs: premortem impact against GoAccess and awk, same run; and
# what watch costs following 2,000 lines/s.
bench-logs: install
	$(PY) -m premortem.ops.packages --bench
	$(PY) bench/bench_logs.py; a=$$?; $(PY) bench/bench_watch_load.py; b=$$?; exit $$((a || b))

# The three lab flavours; fails when any misses its targets.
bench-faults: install deps
	$(PY) bench/faultbench.py; a=$$?; \
	$(PY) bench/faultbench.py --server nginx --dir /srv/premortem-lab-faultbench-nginx --port 8097; \
	b=$$?; \
	$(PY) bench/faultbench.py --server apache-fpm --dir /srv/premortem-lab-faultbench-apache-fpm \
	  --port 8096; c=$$?; exit $$((a || b || c))

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
