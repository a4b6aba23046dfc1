# edgebench. `make bench` runs the built-in default model; `make test` runs the tests.
# Both create and fill the git-ignored virtual environment .venv first.
# User values (DEVICE, MODEL, DATA, FRAMEWORK, ARGS) reach Python through the environment, never
# through a shell string: see launcher/make_bench.py.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

DEVICE ?=
MODEL ?=
DATA ?=
FRAMEWORK ?=
ARGS ?=
TARGET ?=
EMULATE ?=
WHEELHOUSE ?=
export DEVICE MODEL DATA FRAMEWORK ARGS TARGET EMULATE WHEELHOUSE

# LAUNCHER_ONLY=1, on a board: `make bench DEVICE=...` then needs only the launcher (standard library, Docker SDK,
# rich: requirements/launcher.txt) in its own .venv-launcher, never the workstation toolchain of .venv (torch,
# TensorFlow...). The launcher runs from this checkout; bench itself runs in the device image.
# JetPack 4 (host Python 3.6): PYTHON=python3.8 (apt install python3.8 python3.8-venv).
LAUNCHER_ONLY ?=
LVENV := .venv-launcher
LSTAMP := $(LVENV)/.installed-stamp
ifeq ($(LAUNCHER_ONLY),1)
BENCH_DEPS := $(LSTAMP)
BENCH_PY := $(LVENV)/bin/python
ifneq ($(filter bench,$(MAKECMDGOALS)),)
ifeq ($(strip $(DEVICE)),)
$(error LAUNCHER_ONLY=1 runs edgebench in a device container. Fix: add DEVICE=auto or a profile name)
endif
endif
else
BENCH_DEPS := $(STAMP)
BENCH_PY := $(PY)
endif

.PHONY: venv bench compare experiments verify-device fleet-demo test mutation lint docs images base-images clean-venv

$(STAMP): pyproject.toml requirements/core.txt requirements/host.txt requirements/dev.txt requirements/nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/host.txt -r requirements/dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements/nodeps.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP)

$(LSTAMP): requirements/launcher.txt
	$(PYTHON) -m venv $(LVENV)
	$(LVENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/launcher.txt
	touch $@

## bench: no arguments -> built-in default on this machine; MODEL=... -> native run; DEVICE=... -> container
bench: $(BENCH_DEPS)
	$(BENCH_PY) -m launcher.make_bench

## compare: presets side by side (ARGS="--configs onnx,tflite --rounds 3", default --all); no MODEL -> the digits
## model; DEVICE=... -> in that device's container through the launcher (EMULATE=1 for a foreign architecture)
compare: $(STAMP)
	$(PY) -m launcher.make_bench compare

## experiments: the zoo (ResNet-50, MobileNetV2, EfficientNet-B0, random weights), compare --all on each, natively or
## on DEVICE, then results/experiments/report.md and plots/. Resumes when started again. Hours on a Raspberry Pi.
experiments: $(STAMP)
	$(PY) -m launcher.make_bench experiments

## verify-device: which paths of DEVICE's image work on this board (`edgebench verify`: the shipped digits model on
## every preset, outputs against a CPU reference, timing against published figures); JSON in results/verify/.
## No DEVICE: this machine. EMULATE=1 for a foreign architecture (timing then not checked).
verify-device: $(BENCH_DEPS)
	$(BENCH_PY) -m launcher.make_bench verify

## fleet-demo: `edgebench fleet` on two engines of this machine (a second dockerd as `host`, the system engine as
## `rpi5` under qemu), the digits model, then a merged report with plots in results/fleet-demo/. Root; docs/fleet.md
fleet-demo: $(STAMP)
	$(PY) -m launcher.fleet.demo

test: $(STAMP)
	$(PY) -m pytest -ra tests

## mutation: mutation score of every logic module of bench/ with its tests (mutmut; hours, low priority; not in CI)
mutation: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/mutation.txt
	nice -n 10 $(PY) benchmarks/mutation_score.py

lint: $(STAMP)
	$(PY) -m ruff check bench launcher tests benchmarks images tools
	$(PY) -m ruff format --check bench launcher tests benchmarks images tools
	$(PY) tools/structure.py
	$(VENV)/bin/hadolint images/*/Dockerfile

## docs: the documentation site in site/ (MkDocs, --strict). Writes the generated pages from the code's declarations
## first (docs/gen_pages.py: matrix, presets, peaks, profiles, CLI) and the matrix block of README.md.
docs: $(STAMP)
	$(PY) docs/gen_pages.py --readme
	$(PY) -m mkdocs build --strict

## images: docker-bake.hcl targets (TARGET=rpi,host; default: the default group); buildx bake if present, else
## one classic `docker build --platform` per target/platform. Reads TARGET and WHEELHOUSE from the environment.
images: $(STAMP)
	$(PY) images/build.py

## base-images: offline Debian bases (debootstrap; needs root, qemu-user-static for arm64); existing ones are reused
base-images:
	$(PYTHON) images/base/build.py

clean-venv:
	rm -rf $(VENV) $(LVENV)
