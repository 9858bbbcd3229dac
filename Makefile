# fkd builds against LibTorch: by default Debian's libtorch-dev (1.13, from
# "make deps"), or the one LIBTORCH names:
#
#	make deps                                  # apt packages this needs
#	make build test                            # against /usr (Debian)
#	LIBTORCH=python make build                 # the PyTorch that python3 imports (pip)
#	LIBTORCH=$PWD/third_party/libtorch make build test   # an official archive
#
# cmd/libtorch-config finds it, derives the cgo flags (with an rpath, and
# with its CUDA libraries forced in when it has them) and writes them to
# bin/libtorch.env, which every go command below sources.
#
# Targets: deps, deps-bench, deps-onnx, deps-browser, build, test, bench, fuzz, check-libtorch2, gpu-check,
# check-slurm, clean, train, compare, submission, best, kaggle-download, kaggle-submit.

GO ?= go
# A LibTorch chosen with LIBTORCH is remembered (bin/libtorch.choice) for
# the make commands after it, until LIBTORCH is given again (LIBTORCH= for
# Debian's).
LT_CHOICE := bin/libtorch.choice
LIBTORCH_REMEMBERED := $(if $(filter undefined,$(origin LIBTORCH)),yes)
LIBTORCH ?= $(shell cat $(LT_CHOICE) 2>/dev/null)
PYTHON ?=
# go test's per-binary limit; the whole suite should take minutes.
TEST_TIMEOUT ?= 20m
# Extra go test flags, e.g. TEST_FLAGS=-v.
TEST_FLAGS ?=

# Debian packages: what build and test need, and what the benchmarks add.
# OpenCV (face detection, videos) comes through gocv; a build without it
# (no opencv4 in pkg-config) gets the tag noopencv, whose fkd says what to
# install when a command needs it. dlib (the default face detector, HOG)
# comes through cgo from libdlib-dev; a build without it (no dlib-1 in
# pkg-config) gets the tag nodlib, whose fkd falls back to the cascade
# with a warning.
DEPS_PKGS := g++ libtorch-dev libopenblas0-pthread libopencv-dev opencv-data libdlib-dev libdlib-data
DEPS_PKGS_LIBTORCH_SET := g++ libopencv-dev opencv-data libdlib-dev libdlib-data
DEPS_BENCH_PKGS := python3-torch python3-pandas
# What the ONNX checks add (package onnx, python/): Node for ONNX Runtime
# (onnxruntime-node, installed by npm into onnx/ort/node_modules), ONNX's
# checker and PyTorch for the loader python/fkd_torch.py. Debian's npm
# only where no npm is on PATH (NodeSource's nodejs bundles its own and
# conflicts with Debian's).
DEPS_ONNX_PKGS := nodejs python3-onnx python3-torch $(if $(shell command -v npm 2>/dev/null),,npm)
ORT_NODE := onnx/ort/node_modules/onnxruntime-node/package.json
# What the browser tests of serve's page add (serve/browser_test.go, run
# by chromedp; they skip without it).
DEPS_BROWSER_PKGS := chromium

export LIBTORCH PYTHON

# WITH_LT runs the rest of a recipe line with the cgo flags of the LibTorch
# that "make libtorch" found.
LT_ENV := bin/libtorch.env
WITH_LT := set -a && . ./$(LT_ENV) && set +a && fkd_tags= && \
	{ pkg-config --exists opencv4 2>/dev/null || fkd_tags=noopencv; } && \
	{ pkg-config --exists dlib-1 2>/dev/null || fkd_tags="$${fkd_tags:+$$fkd_tags,}nodlib"; } && \
	{ [ -z "$$fkd_tags" ] || export GOFLAGS="$$GOFLAGS -tags=$$fkd_tags"; } &&

.PHONY: all deps deps-bench deps-onnx deps-browser build test bench fuzz check-libtorch2 gpu-check check-slurm libtorch clean train compare submission best kaggle-download kaggle-submit

all: build

# deps installs the missing packages with apt-get (as root, or through
# sudo). "make deps-bench" adds what bench/torch needs for its Python column.
deps:
	@$(call install_missing,$(if $(strip $(LIBTORCH)),$(DEPS_PKGS_LIBTORCH_SET),$(DEPS_PKGS)))

deps-bench: deps
	@$(call install_missing,$(DEPS_BENCH_PKGS))

# deps-onnx adds what the ONNX and PyTorch checks of make test need, so
# that they run rather than skip: Debian's packages, then ONNX Runtime for
# Node (its CPU library ships in the npm package; --ignore-scripts skips
# the download of GPU files).
deps-onnx: deps
	@$(call install_missing,$(DEPS_ONNX_PKGS))
	@[ -f $(ORT_NODE) ] || npm install --ignore-scripts --no-package-lock --no-audit --no-fund --prefix onnx/ort
	@echo "deps-onnx: onnxruntime-node in onnx/ort/node_modules"

# deps-browser adds Chromium, so that make test opens fkd serve's page in
# a headless browser rather than skipping that test.
deps-browser: deps
	@$(call install_missing,$(DEPS_BROWSER_PKGS))

# install_missing lists the packages of $(1) that dpkg does not have, and
# installs them after one apt-get update. Without root or sudo, or when apt
# fails, it says in one line what is missing and stops.
define install_missing
set -e; \
missing=""; \
for p in $(1); do \
	dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
done; \
if [ -z "$$missing" ]; then echo "deps: installed: $(strip $(1))"; exit 0; fi; \
if [ "$$(id -u)" = 0 ]; then sudo=""; \
elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
else echo "deps: missing Debian packages:$$missing; install them as root: apt-get update && apt-get install$$missing" >&2; exit 1; fi; \
echo "deps: installing$$missing"; \
if ! { $$sudo apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; }; then \
	echo "deps: apt-get could not install$$missing; install them by hand (apt-get install$$missing) or set LIBTORCH to an unpacked LibTorch" >&2; \
	exit 1; \
fi
endef

# libtorch finds the LibTorch to build against (LIBTORCH, else /usr),
# writes its cgo flags to bin/libtorch.env and prints one line naming it.
# Without one, or with one it cannot use, it stops with one line saying
# what to do.
libtorch:
	@command -v $(GO) >/dev/null 2>&1 || { echo "$(GO) not found: install Go 1.26 and put it on PATH (e.g. PATH=/usr/local/go/bin:\$$PATH), or name it with GO=/path/to/go" >&2; exit 1; }
	@[ "$$($(GO) env CGO_ENABLED)" = 1 ] || { echo "cgo is off ($(GO) env CGO_ENABLED is not 1): the torch package needs it and a C++ compiler (make deps)" >&2; exit 1; }
	@mkdir -p bin
	@$(GO) build -o bin/libtorch-config ./cmd/libtorch-config
	@bin/libtorch-config >$(LT_ENV).tmp || { rm -f $(LT_ENV).tmp; exit 1; }
	@printf '%s\n' "$(LIBTORCH)" >$(LT_CHOICE)
	@mv $(LT_ENV).tmp $(LT_ENV)
	@. ./$(LT_ENV) && echo "libtorch: $$FKD_LIBTORCH_DESC$(if $(and $(LIBTORCH_REMEMBERED),$(LIBTORCH)), (LIBTORCH=$(LIBTORCH) as chosen before; LIBTORCH= for Debian's))"

# build checks that a LibTorch with CUDA really got its CUDA library linked:
# a binary without it would run on the CPU only, saying nothing.
build: libtorch
	@$(WITH_LT) echo "$(GO) build -o bin/fkd ./cmd/fkd" && $(GO) build -buildvcs=auto -ldflags "$$FKD_GO_LDFLAGS" -o bin/fkd ./cmd/fkd
	@$(WITH_LT) if [ "$$FKD_LIBTORCH_CUDA" = 1 ] && ! readelf -d bin/fkd | grep -q 'libtorch_cuda'; then \
		echo "build: bin/fkd does not link libtorch_cuda although the LibTorch has it: CUDA would not work; report this with the output of make build" >&2; exit 1; fi

test: deps libtorch
	$(WITH_LT) $(GO) vet ./...
	$(WITH_LT) $(GO) test $(TEST_FLAGS) -timeout $(TEST_TIMEOUT) ./...

# bench runs every bench/*/run.sh in turn but the GPU check (make
# gpu-check); each prints its own table.
bench: libtorch
	@set -e; for s in $(filter-out bench/gpu/run.sh,$(wildcard bench/*/run.sh)); do \
		echo "== $$s"; \
		$(WITH_LT) bash "$$s"; \
	done

# fuzz runs every fuzz target of the repository for FUZZTIME (60s) each and
# prints its executions per second (bench/fuzz/fuzz.sh); not part of CI.
fuzz: libtorch
	@$(WITH_LT) bash bench/fuzz/fuzz.sh

# gpu-check builds fkd against the PyTorch that python3 imports and checks
# it on the GPU: CUDA tests, training speed in fp32/bf16/fp16 beside
# PyTorch, one table (bench/gpu/run.sh); it fails when no CUDA device is
# seen. GPU_CHECK_DEVICE=cpu runs the same on the CPU with small sizes.
# With OUT=DIR in the environment the table and every log stay in DIR.
# bench/gpu/test.sh tests the script (CI runs it); bench/gpu/README.md has
# the one command for a lent GPU machine.
gpu-check:
	bash bench/gpu/run.sh

# check-libtorch2 builds fkd and runs the whole test suite against Debian
# trixie's LibTorch 2.6 in a Debian root (mmdebstrap, kept in
# /var/cache/fkd and reused), and compiles the shim (torch/*.cpp) against the
# newest libtorch-dev Debian has (sid), headers only. It needs root. See
# third_party/check-libtorch2.sh.
check-libtorch2:
	@$(call install_missing,mmdebstrap git)
	GO=$(GO) bash third_party/check-libtorch2.sh

# check-slurm runs cloud/compare-slurm.sh on a one-node Slurm it starts on
# this machine (installing Debian's slurmctld, slurmd, slurm-client and
# munge where missing): two shards, one cancelled while it trains and
# resubmitted, which resumes it. It needs root. See cloud/check-slurm.sh.
check-slurm: build
	bash cloud/check-slurm.sh

# ---- The main job: train on data/, write the model, its history and a
# submission to output/. With no Kaggle files in data/, it trains on a
# synthetic demo set (fkd synth) instead and says so.
DATA ?= data
OUT ?= output
MODEL ?= cnn3
# Extra fkd train flags, e.g. TRAIN_FLAGS="--epochs 60 --device cuda".
TRAIN_FLAGS ?=
KAGGLE_COMPETITION := facial-keypoints-detection

# first_file returns the first of its arguments that exists.
first_file = $(firstword $(wildcard $(1)))
TRAIN_DATA = $(call first_file,$(DATA)/training.csv $(DATA)/training.zip $(DATA)/$(KAGGLE_COMPETITION).zip)
TEST_DATA = $(call first_file,$(DATA)/test.csv $(DATA)/test.zip $(DATA)/$(KAGGLE_COMPETITION).zip)
LOOKUP = $(DATA)/IdLookupTable.csv

# find_data sets the shell variables train, test and lookup to the Kaggle
# files in DATA, or, when there are none, to a synthetic demo set that it
# makes once in DATA/synth, saying so. $(1) names the target.
define find_data
train="$(TRAIN_DATA)"; test="$(TEST_DATA)"; lookup="$(LOOKUP)"; \
if [ -z "$$train" ]; then \
	echo "make $(1): no Kaggle training data in $(DATA)/ (training.csv, training.zip or $(KAGGLE_COMPETITION).zip);"; \
	echo "make $(1): using a SYNTHETIC demo set in $(DATA)/synth instead (make kaggle-download fetches the real files)"; \
	[ -f $(DATA)/synth/training.csv ] || bin/fkd synth --out $(DATA)/synth; \
	train=$(DATA)/synth/training.csv; test=$(DATA)/synth/test.csv; lookup=$(DATA)/synth/IdLookupTable.csv; \
fi
endef

train: deps build
	@set -e; mkdir -p $(OUT); \
	$(call find_data,train); \
	bin/fkd train --train "$$train" --test "$$test" --lookup "$$lookup" \
		--arch $(MODEL) --out $(OUT)/model.pt --submission $(OUT)/submission.csv $(TRAIN_FLAGS)

# compare trains the model zoo on one split and seed (reusing finished
# runs) and writes a report with charts to output/report.
COMPARE_MODELS ?= cnn3,tinyresnet,fpn,fpnheat
COMPARE_FLAGS ?= --epochs 60 --augment default

compare: deps build
	@set -e; $(call find_data,compare); \
	bin/fkd compare --archs $(COMPARE_MODELS) --train "$$train" --out $(OUT)/report $(COMPARE_FLAGS)

# submission writes output/submission.csv from the last model.
submission: build
	@set -e; test -f $(OUT)/model.pt || { echo "make submission: no $(OUT)/model.pt: run make train first" >&2; exit 1; }; \
	test="$(TEST_DATA)"; lookup="$(LOOKUP)"; \
	if [ -z "$$test" ] && [ -f $(DATA)/synth/test.csv ]; then test=$(DATA)/synth/test.csv; lookup=$(DATA)/synth/IdLookupTable.csv; fi; \
	[ -n "$$test" ] || { echo "make submission: no test data in $(DATA)/ (test.csv or test.zip)" >&2; exit 1; }; \
	bin/fkd submit --model $(OUT)/model.pt --test "$$test" --lookup "$$lookup" --out $(OUT)/submission.csv

# best reproduces docs/results/fkd-ytf-best.csv from the fkd-ytf files
# (BEST_DATA, default ../shared/data/fkd-ytf) into output/best: it trains
# the ensemble's members two at a time, fits their weights and submits.
# An interrupted run picks up where it stopped. See docs/results/best.sh.
best: build
	bash docs/results/best.sh

# kaggle-download and kaggle-submit use the kaggle command-line tool
# (pip install kaggle, with an API token in ~/.kaggle/kaggle.json).
KAGGLE_HELP := get them by hand from https://www.kaggle.com/c/$(KAGGLE_COMPETITION)/data (accept the rules, then download training.zip, test.zip and IdLookupTable.csv into $(DATA)/), or install the kaggle CLI: pip install kaggle, and put your API token in ~/.kaggle/kaggle.json

kaggle-download:
	@command -v kaggle >/dev/null 2>&1 || { echo "kaggle-download: the kaggle CLI is not installed; $(KAGGLE_HELP)" >&2; exit 1; }
	mkdir -p $(DATA)
	kaggle competitions download -c $(KAGGLE_COMPETITION) -p $(DATA)
	cd $(DATA) && unzip -o $(KAGGLE_COMPETITION).zip

kaggle-submit:
	@command -v kaggle >/dev/null 2>&1 || { echo "kaggle-submit: the kaggle CLI is not installed; upload $(OUT)/submission.csv by hand at https://www.kaggle.com/c/$(KAGGLE_COMPETITION)/submit, or: pip install kaggle" >&2; exit 1; }
	@test -f $(OUT)/submission.csv || { echo "kaggle-submit: no $(OUT)/submission.csv: run make train or make submission first" >&2; exit 1; }
	kaggle competitions submit -c $(KAGGLE_COMPETITION) -f $(OUT)/submission.csv -m "fkd $(MODEL)"

clean:
	rm -rf bin bench/torch/build
