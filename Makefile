# One command each for a fresh Debian machine (Python 3.11, gcc/g++, root):
#   make demo   render the built-in demo song to out/demo.wav
#   make test   run the whole test suite
#   make bench  run the benchmarks; JSON, REPORT.md and plots in bench/results/
#   make soak-streams  the live stream tests RUNS (20) times, each in a fresh process;
#               prints the count of failed runs (logs in out/soak-streams/)
# Each creates .venv, installs the system packages it needs (when run as root
# with apt-get), and installs the project with its test extras in editable mode.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SRC    := $(shell find fmcore fmcore_rt -name '*.pyx' -o -name '*.pxd' -o -name '*.h' -o -name '*.hpp' -o -name '*.c' 2>/dev/null | grep -v '\.cpp$$')
# Debian packages: PortAudio headers for PyAudio and the native stream, JACK's
# dummy server for the live tests, libsndfile comes inside the soundfile wheel.
APT_PACKAGES := portaudio19-dev jackd2 libjack-jackd2-dev

.PHONY: demo test bench sysdeps clean soak-streams

$(VENV)/.sysdeps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "installing system packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  fi; \
	else echo "not root: skipping system packages ($(APT_PACKAGES)); install them yourself if a step fails"; fi
	@mkdir -p $(VENV) && touch $@

$(VENV)/.installed: $(VENV)/.sysdeps pyproject.toml setup.py $(SRC)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $@

sysdeps: $(VENV)/.sysdeps

demo: $(VENV)/.installed
	@mkdir -p out
	$(VENV)/bin/fmcore render -o out/demo.wav

test: $(VENV)/.installed
	$(PY) -m pytest -q

bench: $(VENV)/.installed
	@mkdir -p bench/results
	$(PY) -m pytest bench -q -p no:cacheprovider -o python_files="bench_*.py" --benchmark-json=bench/results/benchmarks.json
	$(PY) bench/report.py bench/results/benchmarks.json

RUNS ?= 20
soak-streams: $(VENV)/.installed
	@mkdir -p out/soak-streams; fail=0; \
	for i in $$(seq 1 $(RUNS)); do \
	  t0=$$(date +%s); log=out/soak-streams/run-$$i.log; \
	  if $(PY) -m pytest -q -p no:cacheprovider tests/test_streams.py >$$log 2>&1; then r=pass; \
	  else r=FAIL; fail=$$((fail + 1)); fi; \
	  echo "run $$i/$(RUNS): $$r in $$(( $$(date +%s) - t0 )) s: $$(tail -n 1 $$log)"; \
	done; \
	echo "stream tests: $$fail of $(RUNS) runs failed (logs in out/soak-streams/)"; \
	test $$fail -eq 0

clean:
	rm -rf $(VENV) build out bench/results .pytest_cache
	find fmcore fmcore_rt \( -name '*.so' -o -name '*.cpp' \) -delete
