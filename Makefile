# One command each for a fresh Debian machine (Python 3.11, gcc/g++, root):
#   make demo   render the built-in demo song to out/demo.wav
#   make test   run the whole test suite
#   make bench  run the benchmarks; JSON, REPORT.md and plots in bench/results/
# Each creates .venv and installs the project in editable mode: `make demo` with only
# what rendering needs; `make test` and `make bench` also the system packages (when run
# as root with apt-get) and the test (and bench) extras.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SRC    := $(shell find fmcore fmcore_rt -name '*.pyx' -o -name '*.pxd' -o -name '*.h' -o -name '*.hpp' -o -name '*.c' 2>/dev/null | grep -v '\.cpp$$')
# Debian packages: PortAudio headers for PyAudio and the native stream, its runtime for
# sounddevice, JACK's dummy server for the live tests; libsndfile comes inside the soundfile
# wheel; lilv for LV2 hosting and real LV2 plugins for its tests (effects: swh-lv2,
# x42-plugins; instruments: setbfree, avldrums.lv2).
APT_PACKAGES := portaudio19-dev libportaudio2 jackd2 libjack-jackd2-dev liblilv-dev swh-lv2 x42-plugins setbfree avldrums.lv2

.PHONY: demo test bench sysdeps clean

$(VENV)/.sysdeps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "installing system packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  fi; \
	else echo "not root: skipping system packages ($(APT_PACKAGES)); install them yourself if a step fails"; fi
	@mkdir -p $(VENV) && touch $@

# The package and what rendering needs (numpy, mido, soundfile, tqdm): all `make demo` installs.
$(VENV)/.installed: pyproject.toml setup.py $(SRC)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $@

# The test extras, installed after the system packages so the native stream builds
# against PortAudio's headers (the package is rebuilt with them).
$(VENV)/.test: $(VENV)/.sysdeps pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@ $(VENV)/.installed

$(VENV)/.bench: $(VENV)/.test
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $@ $(VENV)/.installed

sysdeps: $(VENV)/.sysdeps

demo: $(VENV)/.installed
	@mkdir -p out
	$(VENV)/bin/fmcore render -o out/demo.wav

test: $(VENV)/.test $(VENV)/.installed
	$(PY) -m pytest -q

bench: $(VENV)/.bench $(VENV)/.installed
	@mkdir -p bench/results
	$(PY) -m pytest bench -q -p no:cacheprovider -o python_files="bench_*.py" --benchmark-json=bench/results/benchmarks.json
	$(PY) bench/report.py bench/results/benchmarks.json

clean:
	rm -rf $(VENV) build out bench/results .pytest_cache
	find fmcore fmcore_rt \( -name '*.so' -o -name '*.cpp' \) -delete
