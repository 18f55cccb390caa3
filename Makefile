# One command each for a fresh Debian machine (Python 3.11, gcc/g++, root):
#   make demo   render the built-in demo song to out/demo.wav
#   make test   run the whole test suite
#   make bench  run the benchmarks; JSON, REPORT.md and plots in bench/results/
#   make fuzz   the fuzz suite, FUZZ_SCALE (20) times longer than in make test
#   make tsan   ThreadSanitizer build of fmcore_rt's primitives under a stress driver
#   make soak-streams  the live stream tests RUNS (20) times, each in a fresh process;
#               prints the count of failed runs (logs in out/soak-streams/)
# Each creates .venv and installs the project in editable mode: `make demo` with only
# what rendering needs; the others also the system packages (when run as root with
# apt-get) and the test (and bench) extras.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SRC    := $(shell find fmcore fmcore_rt -name '*.pyx' -o -name '*.pxd' -o -name '*.h' -o -name '*.hpp' -o -name '*.c' 2>/dev/null | grep -v '\.cpp$$')
# Debian packages: PortAudio headers for PyAudio and the native stream, its runtime for
# sounddevice, JACK's dummy server for the live tests; spin for the parameter store's model
# check; libsndfile comes inside the soundfile wheel; lilv for LV2 hosting and real LV2
# plugins for its tests (effects: swh-lv2, x42-plugins; instruments: setbfree, avldrums.lv2).
APT_PACKAGES := portaudio19-dev libportaudio2 jackd2 libjack-jackd2-dev spin liblilv-dev swh-lv2 x42-plugins \
                setbfree avldrums.lv2

FUZZ_SCALE ?= 20
FUZZ_SEED  ?= 1
RUNS       ?= 20

.PHONY: demo test bench fuzz tsan sysdeps clean

# $(call apt_install,packages): install the missing ones when root with apt-get, else say so
define apt_install
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "installing system packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  fi; \
	else echo "not root: skipping system packages ($(1)); install them yourself if a step fails"; fi
endef

$(VENV)/.sysdeps: Makefile
	$(call apt_install,$(APT_PACKAGES))
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

# FluidSynth and its GM SoundFont: the reference player bench/bench_fluidsynth.py times
BENCH_APT_PACKAGES := fluidsynth fluid-soundfont-gm

$(VENV)/.bench: $(VENV)/.test
	$(call apt_install,$(BENCH_APT_PACKAGES))
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $@ $(VENV)/.installed

sysdeps: $(VENV)/.sysdeps

demo: $(VENV)/.installed
	@mkdir -p out
	$(VENV)/bin/fmcore render -o out/demo.wav

test: $(VENV)/.test $(VENV)/.installed
	$(PY) -m pytest -q

fuzz: $(VENV)/.test $(VENV)/.installed
	$(PY) tests/fuzzing.py --scale $(FUZZ_SCALE) --seed $(FUZZ_SEED)

bench: $(VENV)/.bench $(VENV)/.installed
	@mkdir -p bench/results
	$(PY) -m pytest bench -q -p no:cacheprovider -o python_files="bench_*.py" --benchmark-json=bench/results/benchmarks.json
	$(PY) bench/report.py bench/results/benchmarks.json

# ThreadSanitizer: fmcore_rt built with -fsanitize=thread in build/tsan (its own copy of
# the sources, so the normal build is untouched), run by tools/tsan_stress.py with
# libtsan preloaded into Python; first a planted race that must be reported, then
# the stress, which must report none. setarch -R: TSan needs the address space
# layout that address randomisation can break on recent kernels.
TSAN_MODULES := fmcore_rt.params,fmcore_rt.spsc,fmcore_rt.pool,fmcore_rt.clock,fmcore_rt.timing,fmcore_rt.processor,fmcore_rt._stress
TSAN_RUN = env LD_PRELOAD="$$($(CC) -print-file-name=libtsan.so)" \
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" PYTHONPATH=build/tsan setarch "$$(uname -m)" -R $(PY)

build/tsan/.built: $(VENV)/.test $(SRC)
	rm -rf build/tsan && mkdir -p build/tsan
	cp -r fmcore_rt build/tsan/ && find build/tsan \( -name '*.so' -o -name '*.cpp' \) -delete
	cd build/tsan && FMCORE_SANITIZE=thread FMCORE_ONLY=$(TSAN_MODULES) ../../$(PY) ../../setup.py -q build_ext --inplace
	@touch $@

tsan: build/tsan/.built
	@rc=0; $(TSAN_RUN) tools/tsan_stress.py --planted >build/tsan/planted.log 2>&1 || rc=$$?; \
	if [ $$rc -ne 66 ] || ! grep -q "ThreadSanitizer: data race" build/tsan/planted.log; then \
	  cat build/tsan/planted.log; echo "tsan: the planted race was not reported (exit $$rc)"; exit 1; fi; \
	echo "tsan: the planted race is reported (control)"
	$(TSAN_RUN) tools/tsan_stress.py

soak-streams: $(VENV)/.test $(VENV)/.installed
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
