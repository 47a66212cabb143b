# DigitLab: reproduce the JETIR 2021 handwritten-digit CNN study in Swift.
#
#   make reproduce     set up, build, check the data, train the paper's eight cases here (into
#                      results-local/, seed 0; SEEDS=N for 0..N-1), then say whether this machine
#                      reproduces the committed record (exit status 3 when it does not)
#   make record        (maintainers) train the record's seeds into results/ and rewrite its tables and verdicts
#   make test          set up, build, run the test suite and the smoke run's golden diff
#   make test-slurm    a one-node Slurm cluster on this machine: a sweep as a job array, requeue on timeout
#
# MNIST is read from $(DIGITLAB_DATA) (default data/mnist); `make data` downloads it there.

SHELL := /bin/bash
DIGITLAB_DATA ?= data/mnist
# Absolute before anything uses it: the tool and the tests run in other directories than this one
# (`make test DIGITLAB_DATA=../shared/data/mnist` works as written).
override DIGITLAB_DATA := $(abspath $(DIGITLAB_DATA))
export DIGITLAB_DATA
SEEDS ?=
CASE ?= 1
SWIFT ?= swift
BIN := .build/release/digitlab

# The engine's own loops (im2col, col2im, pooling, ReLU, Adam) are 16-lane SIMD; built for the
# x86-64 baseline they run as SSE, four lanes at a time. Where the build machine has AVX2 and FMA
# (x86 servers since 2013-2015) they are built for Haswell's instruction set: 4% faster training on
# the project's Zen 5 (`make bench`), same numbers. `make CPU=` builds for the baseline (for a
# binary that must run on older CPUs), `make CPU=native` for this CPU exactly.
# The convolution kernels multiply and add in one fused instruction when the build targets FMA
# (DIGITLAB_FMA; a baseline build would make each fused lane a library call).
# Where the machine has AVX-512 (Intel since Skylake-SP, AMD since Zen 4) the build targets
# Skylake-AVX512's instruction set and defines DIGITLAB_AVX512: the direct convolution kernels then
# hold their sums in 512-bit registers, thirty-two columns a tile, and take the convolutions from
# OpenBLAS's AVX-512 products (`digitlab blas` says which kernels run; `make bench` measures them).
AVX512 := $(shell f=$$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null); for x in avx512f avx512bw avx512dq avx512vl avx512cd fma; do echo " $$f " | grep -qw $$x || exit 0; done; echo yes)
CPU ?= $(if $(AVX512),skylake-avx512,$(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && echo haswell))
FMA := $(if $(CPU),$(shell grep -qw fma /proc/cpuinfo 2>/dev/null && echo -Xswiftc -DDIGITLAB_FMA))
WIDE := $(if $(filter skylake-avx512 sapphirerapids icelake-server cascadelake cooperlake znver4 znver5 native,$(CPU)),$(if $(AVX512),-Xswiftc -DDIGITLAB_AVX512))
SWIFTFLAGS := -c release $(if $(CPU),-Xswiftc -target-cpu -Xswiftc $(CPU)) $(FMA) $(WIDE)

# Debian packages the build needs: OpenBLAS (CBLAS), LAPACKE, zlib, libpng, libjpeg, OpenSSL's
# libcrypto (MD5), pkg-config;
# and Fashion-MNIST (in /usr/share/datasets/fashion-mnist) for the study beyond the paper;
# Chromium and its WebDriver, for the test of `digitlab serve`'s pages in a headless browser.
PACKAGES := libopenblas-dev liblapacke-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev libssl-dev pkg-config dataset-fashion-mnist \
  chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Public mirrors of the four MNIST files; the checksums of their uncompressed contents are checked.
MIRRORS := https://ossci-datasets.s3.amazonaws.com/mnist https://storage.googleapis.com/cvdf-datasets/mnist
MNIST_FILES := train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte
MD5_train-images-idx3-ubyte := 6bbc9ace898e44ae57da46a324031adb
MD5_train-labels-idx1-ubyte := a25bea736e30d166cdddb491f175f624
MD5_t10k-images-idx3-ubyte := 2646ac647ad5339dbf082846283269ea
MD5_t10k-labels-idx1-ubyte := 27ae3e4e09519cfbb04c329615203637

PREFIX ?= /usr/local

.PHONY: all setup build build-info install record test test-slurm serve load reproduce reproduce-fashion report case data data-check bench vs-peers jobs-throughput smoke-check clean help fuzz fuzz-build

all: build

help:
	@echo "make reproduce   train the eight cases here (results-local/, SEEDS=N for seeds 0..N-1) and check them against the record"
	@echo "make record      (maintainers) train the seeds of experiments/base.yaml into results/ and rewrite tables, verdicts, README"
	@echo "make reproduce-fashion   the eight cases on Fashion-MNIST (results/fashion-mnist/)"
	@echo "make test        run the test suite and the smoke run's golden diff"
	@echo "make test-slurm  start a one-node Slurm cluster here (root), run the smoke sweep and a requeue through it"
	@echo "make case CASE=N train one case"
	@echo "make report      rebuild tables and plots from existing runs"
	@echo "make serve       the study, runs, sweeps and the model in a browser: http://127.0.0.1:8080/ (PORT=N)"
	@echo "make load        wrk against digitlab serve on loopback; writes results/bench/serve.md"
	@echo "make bench       measure speed (see results/bench/)"
	@echo "make vs-peers    time Keras and PyTorch beside DigitLab (needs their venvs: scripts/vs-peers.sh)"
	@echo "make jobs-throughput   time two 1-thread runs at once against one 2-thread run (for --jobs auto)"
	@echo "make fuzz        fuzz the readers, FUZZ_SECONDS each (default 600); make -j2 fuzz runs two at once"
	@echo "make data        download MNIST into data/mnist"
	@echo "make setup       install the Debian packages the build needs"
	@echo "make install     the binary into PREFIX/bin (now: $(PREFIX)) and its bash, zsh and fish completions"
	@echo "MNIST is read from DIGITLAB_DATA (now: $(DIGITLAB_DATA))"

setup:
	@command -v $(SWIFT) >/dev/null || { echo "error: swift not found; install Swift 6 from swift.org and put it on PATH" >&2; exit 1; }
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

build: setup build-info
	$(SWIFT) build $(SWIFTFLAGS)

# The commit `digitlab --version` and each run's provenance.txt name: written into a git-ignored
# header only when it changes (the C file that includes it is touched so it is recompiled);
# "-dirty" when tracked files differ from the commit. `swift build` alone says "unknown".
BUILD_INFO := Sources/CBuildInfo/build_info.generated.h
build-info:
	@commit=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown); \
	if [ "$$commit" != unknown ] && [ -n "$$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$$commit-dirty"; fi; \
	line="#define DIGITLAB_COMMIT \"$$commit\""; \
	if [ "$$(cat $(BUILD_INFO) 2>/dev/null)" != "$$line" ]; then echo "$$line" > $(BUILD_INFO); touch Sources/CBuildInfo/build_info.c; fi

# Downloads MNIST into data/mnist (needs network), checking each file's MD5.
data:
	@mkdir -p data/mnist
	@for f in $(MNIST_FILES); do \
	  if [ -f data/mnist/$$f.gz ] && [ "$$(gzip -dc data/mnist/$$f.gz | md5sum | cut -d' ' -f1)" = "$(MD5_$$f)" ]; then continue; fi; \
	  ok=; for m in $(MIRRORS); do \
	    if curl -fsSL --retry 2 -o data/mnist/$$f.gz.part $$m/$$f.gz 2>/dev/null; then ok=1; break; fi; \
	  done; \
	  if [ -z "$$ok" ]; then \
	    rm -f data/mnist/$$f.gz.part; \
	    echo "error: could not download $$f.gz from any mirror ($(MIRRORS))." >&2; \
	    echo "If you have a copy of MNIST, point the harness at it instead: make reproduce DIGITLAB_DATA=/path/to/mnist" >&2; \
	    echo "(on the project's machines: DIGITLAB_DATA=../shared/data/mnist)" >&2; \
	    exit 1; \
	  fi; \
	done
	@for f in $(MNIST_FILES); do \
	  [ -f data/mnist/$$f.gz.part ] || continue; \
	  sum=$$(gzip -dc data/mnist/$$f.gz.part | md5sum | cut -d' ' -f1); \
	  [ "$$sum" = "$(MD5_$$f)" ] || { echo "error: $$f.gz downloaded with MD5 $$sum, expected $(MD5_$$f)" >&2; rm -f data/mnist/$$f.gz.part; exit 1; }; \
	  mv data/mnist/$$f.gz.part data/mnist/$$f.gz; \
	done
	@echo "MNIST is in data/mnist (checksums verified)"

# Makes sure MNIST is where DIGITLAB_DATA says; downloads it only to the default location.
data-check:
	@if [ ! -f "$(DIGITLAB_DATA)/train-images-idx3-ubyte.gz" ] && [ ! -f "$(DIGITLAB_DATA)/train-images-idx3-ubyte" ]; then \
	  if [ "$(DIGITLAB_DATA)" = "$(CURDIR)/data/mnist" ]; then $(MAKE) --no-print-directory data; \
	  else echo "error: no MNIST files in DIGITLAB_DATA=$(DIGITLAB_DATA)" >&2; exit 1; fi; \
	fi

# Trains the eight cases on this machine into results-local/ (never the committed record), then
# checks each against the record's interval for one run: exit status 3 when one is outside.
LOCAL ?= results-local
reproduce: build data-check
	$(BIN) reproduce --out $(LOCAL) --seeds $(or $(SEEDS),1)
	$(BIN) verify --local $(LOCAL) --record results

# The reverse, for maintainers: trains the seeds experiments/base.yaml lists (SEEDS=N: 0..N-1) into
# results/, skipping finished runs, and rewrites the summary, the verdicts and the README's tables.
record: build data-check
	$(BIN) reproduce $(if $(SEEDS),--seeds $(SEEDS))
	$(BIN) report

report: build
	$(BIN) report
	$(BIN) report --experiments experiments/fashion --out results/fashion-mnist

# The eight cases on Fashion-MNIST, one seed each (results/fashion-mnist/).
reproduce-fashion: build
	$(BIN) reproduce --experiments experiments/fashion --out results/fashion-mnist

case: build data-check
	$(BIN) run experiments/case$(CASE).yaml

# The README's test command: the whole suite (Keras reference, gradient checks, readers, specs,
# training, the CLI), then the smoke run diffed against its golden summary.
# The suite runs under the OpenBLAS kernels the tool itself would use (see `digitlab blas`).
# The server's suites (routes, a live run, the pages in headless Chromium) run second, on their
# own: the long synchronous training tests would otherwise hold Swift's concurrency threads while
# the live-run test polls a run that must still be training.
test: build data-check
	OPENBLAS_CORETYPE=$$($(BIN) blas --core-type) $(SWIFT) test $(SWIFTFLAGS) --skip DigitLabServerTests
	OPENBLAS_CORETYPE=$$($(BIN) blas --core-type) $(SWIFT) test $(SWIFTFLAGS) --filter DigitLabServerTests
	$(MAKE) --no-print-directory smoke-check

# The results directory as web pages (docs/serve.md): binds to 127.0.0.1.
PORT ?= 8080
serve: build
	$(BIN) serve --port $(PORT)

# Load test of the server (study page and predict, 50 connections, 30 s each) with Debian's wrk.
load: build
	@command -v wrk >/dev/null || { echo "installing wrk"; $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	scripts/load-serve.sh

# Installs Debian's slurm-wlm and munge, starts a one-node cluster as root, submits the smoke
# sweep as a job array and a run longer than its time limit, and checks both against local runs
# (about 10 minutes; see scripts/test-slurm.sh).
test-slurm: build data-check
	scripts/test-slurm.sh

smoke-check:
	@rm -rf .build/smoke && mkdir -p .build/smoke
	$(BIN) run experiments/smoke.yaml --out .build/smoke
	$(BIN) diff results/golden/smoke-summary.csv .build/smoke/runs/smoke/seed-0/summary.csv \
	  --tolerance 1 --columns min_train_acc max_train_acc test_acc

bench: build data-check
	$(BIN) bench

# Optional, beside `make bench` (never in `make test`): the peers side by side, in venvs outside the
# project (TF_VENV, TORCH_VENV), and whether several runs at once train faster here. Idle machine only.
vs-peers: build data-check
	scripts/vs-peers.sh

jobs-throughput: build data-check
	scripts/jobs-throughput.sh

# Coverage-guided fuzzing (libFuzzer) of the readers: IDX, safetensors, specs, images. The fuzzers are
# a package of their own in Fuzz/, built with -sanitize=fuzzer,address (linked by lld: gold fails on
# the sanitizers' objects). Each runs FUZZ_SECONDS on a working copy of its seeds (Fuzz/Corpus/NAME);
# a crash stops it and leaves the input in Fuzz/.build/artifacts/NAME/ (see Fuzz/README.md).
FUZZ_SECONDS ?= 600
FUZZERS := idx safetensors spec image
FUZZ_BUILD := -c release --package-path Fuzz --toolset Fuzz/toolset.json \
  -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address

fuzz: $(addprefix fuzz-,$(FUZZERS))

fuzz-build: setup
	$(SWIFT) build $(FUZZ_BUILD)

$(addprefix fuzz-,$(FUZZERS)): fuzz-%: fuzz-build
	@mkdir -p Fuzz/.build/corpus/$* Fuzz/.build/artifacts/$*
	@echo "fuzz-$*: $(FUZZ_SECONDS) s (log: Fuzz/.build/fuzz-$*.log)"
	@SWIFT_BACKTRACE=enable=no nice -n 5 Fuzz/.build/release/fuzz-$* -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1536 -timeout=10 \
	  -artifact_prefix=Fuzz/.build/artifacts/$*/ -print_final_stats=1 Fuzz/.build/corpus/$* Fuzz/Corpus/$* \
	  > Fuzz/.build/fuzz-$*.log 2>&1 \
	  || { tail -n 30 Fuzz/.build/fuzz-$*.log; echo "error: fuzz-$* found a crash; the input is in Fuzz/.build/artifacts/$*/" >&2; exit 1; }
	@grep -E "^stat::(number_of_executed_units|peak_rss_mb)" Fuzz/.build/fuzz-$*.log | tr '\n' ' ' | sed 's/^/fuzz-$*: no crash; /'; echo

# The binary and the shell completions ArgumentParser writes for it, under PREFIX (DESTDIR for
# packaging). The binary reads OpenBLAS from the system, as the build did.
install: build
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/digitlab
	mkdir -p $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(BIN) --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/digitlab
	$(BIN) --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_digitlab
	$(BIN) --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/digitlab.fish
	@echo "installed $(DESTDIR)$(PREFIX)/bin/digitlab and its completions; check: digitlab --version"

clean:
	rm -rf .build Fuzz/.build
