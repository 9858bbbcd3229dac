# fkd builds against LibTorch: by default Debian's libtorch-dev (1.13, from
# "make deps"), or an unpacked official LibTorch named by LIBTORCH, e.g.
#
#	make deps                                  # apt packages this needs
#	make build test                            # against /usr (Debian)
#	LIBTORCH=$PWD/third_party/libtorch make build test
#
# Targets: deps, deps-bench, build, test, bench, check-libtorch2, clean,
# train, compare, submission, kaggle-download, kaggle-submit.

GO ?= go
LIBTORCH ?=
# go test's per-binary limit; the whole suite should take minutes.
TEST_TIMEOUT ?= 20m

# Debian packages: what build and test need, and what the benchmarks add.
DEPS_PKGS := g++ libtorch-dev libopenblas0-pthread
DEPS_PKGS_LIBTORCH_SET := g++
DEPS_BENCH_PKGS := python3-torch python3-pandas

# Where Debian's libtorch-dev puts the header that says which LibTorch it is.
SYSTEM_TORCH_HEADER := /usr/include/torch/csrc/api/include/torch/version.h

comma := ,

ifneq ($(strip $(LIBTORCH)),)
# An official LibTorch: headers and libraries from there, found again at run
# time through the rpath. Linking the CUDA libraries unconditionally
# (--no-as-needed) makes their kernels register even though no symbol of
# theirs is referenced.
override LIBTORCH := $(abspath $(strip $(LIBTORCH)))
LIBTORCH_CUDA_LIBS := $(if $(wildcard $(LIBTORCH)/lib/libtorch_cuda.so),-Wl$(comma)--no-as-needed -ltorch_cuda -lc10_cuda -Wl$(comma)--as-needed)
export CGO_CXXFLAGS := -O2 -g -I$(LIBTORCH)/include -I$(LIBTORCH)/include/torch/csrc/api/include $(CGO_CXXFLAGS)
export CGO_LDFLAGS := -O2 -g -L$(LIBTORCH)/lib -Wl,-rpath,$(LIBTORCH)/lib $(LIBTORCH_CUDA_LIBS) $(CGO_LDFLAGS)
export LIBTORCH
endif

.PHONY: all deps deps-bench build test bench check-libtorch2 libtorch clean train compare submission kaggle-download kaggle-submit

all: build

# deps installs the missing packages with apt-get (as root, or through
# sudo). "make deps-bench" adds what bench/torch needs for its Python column.
deps:
	@$(call install_missing,$(if $(strip $(LIBTORCH)),$(DEPS_PKGS_LIBTORCH_SET),$(DEPS_PKGS)))

deps-bench: deps
	@$(call install_missing,$(DEPS_BENCH_PKGS))

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

# libtorch stops early, with one line saying what to do, when the LibTorch
# to build against is not there.
libtorch:
ifneq ($(strip $(LIBTORCH)),)
	@if [ ! -f "$(LIBTORCH)/lib/libtorch.so" ] || [ ! -d "$(LIBTORCH)/include" ]; then \
		echo "LIBTORCH=$(LIBTORCH) has no lib/libtorch.so: unpack an official LibTorch there (third_party/fetch-libtorch.sh)" >&2; \
		exit 1; \
	fi
else
	@if [ ! -f "$(SYSTEM_TORCH_HEADER)" ]; then \
		echo "LibTorch not found ($(SYSTEM_TORCH_HEADER) is missing): run 'make deps', or set LIBTORCH=/path/to/libtorch" >&2; \
		exit 1; \
	fi
endif
	@command -v $(GO) >/dev/null 2>&1 || { echo "$(GO) not found: install Go 1.26 and put it on PATH (e.g. PATH=/usr/local/go/bin:\$$PATH)" >&2; exit 1; }
	@[ "$$($(GO) env CGO_ENABLED)" = 1 ] || { echo "cgo is off ($(GO) env CGO_ENABLED is not 1): the torch package needs it and a C++ compiler (make deps)" >&2; exit 1; }

build: libtorch
	$(GO) build -o bin/fkd ./cmd/fkd

test: deps libtorch
	$(GO) vet ./...
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

# bench runs every bench/*/run.sh in turn; each prints its own table.
bench: libtorch
	@set -e; for s in bench/*/run.sh; do \
		echo "== $$s"; \
		bash "$$s"; \
	done

# check-libtorch2 checks that torch/shim.cpp compiles against LibTorch 2.x
# headers: Debian trixie's libtorch-dev 2.6, fetched with apt-get download
# from a private sources list and unpacked under third_party/ (nothing is
# installed). It fails if any LibTorch header would come from /usr/include.
LT2_DIR := third_party/libtorch2-headers
LT2_APT := -o Dir::Etc::SourceList=$(CURDIR)/$(LT2_DIR)/apt/sources.list \
	-o Dir::Etc::SourceParts=/dev/null \
	-o Dir::State::Lists=$(CURDIR)/$(LT2_DIR)/apt/lists \
	-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
	-o APT::Sandbox::User=root
LT2_INC := -I$(LT2_DIR)/root/usr/include -I$(LT2_DIR)/root/usr/include/torch/csrc/api/include
LT2_CXXFLAGS := -std=c++17 -Wno-deprecated-declarations $(LT2_INC)

check-libtorch2:
	@mkdir -p $(LT2_DIR)/apt/lists/partial $(LT2_DIR)/debs
	@echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
		>$(LT2_DIR)/apt/sources.list
	apt-get $(LT2_APT) -qq update
	@rm -rf $(LT2_DIR)/debs/* $(LT2_DIR)/root
	cd $(LT2_DIR)/debs && apt-get $(LT2_APT) -qq download libtorch-dev
	dpkg -x $(LT2_DIR)/debs/libtorch-dev_*.deb $(LT2_DIR)/root
	@v=$$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH)/ {printf "%s%s", sep, $$3; sep="."}' \
		$(LT2_DIR)/root/usr/include/torch/csrc/api/include/torch/version.h); \
	echo "check-libtorch2: LibTorch $$v headers from $$(basename $(LT2_DIR)/debs/libtorch-dev_*.deb)"
	g++ $(LT2_CXXFLAGS) -fsyntax-only torch/shim.cpp
	@leaks=$$(g++ $(LT2_CXXFLAGS) -M torch/shim.cpp | tr ' \\' '\n\n' | grep -E '^/usr/include/(ATen|c10|caffe2|torch)/' | head -3); \
	if [ -n "$$leaks" ]; then echo "check-libtorch2: shim.cpp also read system LibTorch headers, e.g. $$leaks" >&2; exit 1; fi
	@echo "check-libtorch2: torch/shim.cpp compiles against LibTorch 2 headers"

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
		--model $(MODEL) --out $(OUT)/model.pt --outfile $(OUT)/submission.csv $(TRAIN_FLAGS)

# compare trains the model zoo on one split and seed (reusing finished
# runs) and writes a report with charts to output/report.
COMPARE_MODELS ?= cnn3,tinyresnet,fpn,fpnheat
COMPARE_FLAGS ?= --epochs 60 --augment default

compare: deps build
	@set -e; $(call find_data,compare); \
	bin/fkd compare --models $(COMPARE_MODELS) --train "$$train" --out $(OUT)/report $(COMPARE_FLAGS)

# submission writes output/submission.csv from the last model.
submission: build
	@set -e; test -f $(OUT)/model.pt || { echo "make submission: no $(OUT)/model.pt: run make train first" >&2; exit 1; }; \
	test="$(TEST_DATA)"; lookup="$(LOOKUP)"; \
	if [ -z "$$test" ] && [ -f $(DATA)/synth/test.csv ]; then test=$(DATA)/synth/test.csv; lookup=$(DATA)/synth/IdLookupTable.csv; fi; \
	[ -n "$$test" ] || { echo "make submission: no test data in $(DATA)/ (test.csv or test.zip)" >&2; exit 1; }; \
	bin/fkd submit --model $(OUT)/model.pt --test "$$test" --lookup "$$lookup" --outfile $(OUT)/submission.csv

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
