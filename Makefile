# Thin wrapper over Meson for the common verbs.  See README.md.
#
#   make            build (./build)
#   make test       install dependencies, build, run every test (also under
#                   AddressSanitizer + UndefinedBehaviorSanitizer)
#   make demo       install dependencies, build, show mtasts at work
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS (default 60)
#   make bench      run the benchmarks
#   make install    install under PREFIX (default /usr/local), honouring DESTDIR
#   make lab-up / lab-down   start / stop the lab network
#   make deb        build the Debian package into DEB_DIR (default build-deb)

PREFIX ?= /usr/local
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
DEB_DIR ?= build-deb
MESON ?= meson
NINJA ?= ninja

.PHONY: all build deps deps-lab deps-bench test test-unit test-asan demo fuzz bench \
	install uninstall clean lab-up lab-down deb

all: build

deps:
	@scripts/install-deps --check 2>/dev/null || scripts/install-deps

deps-lab:
	@scripts/install-deps --lab --check 2>/dev/null || scripts/install-deps --lab

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --prefix=$(PREFIX)

build: deps $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	$(MESON) setup $(ASAN_BUILD) -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug \
		-Dc_args=-fno-sanitize-recover=all

test: deps-lab
	scripts/run-tests

demo: deps-lab build
	scripts/demo

$(FUZZ_BUILD)/build.ninja:
	CC=clang $(MESON) setup $(FUZZ_BUILD) -Dfuzzing=true -Db_lundef=false \
		-Dbuildtype=debugoptimized

fuzz: deps $(FUZZ_BUILD)/build.ninja
	$(NINJA) -C $(FUZZ_BUILD)
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run-fuzzers

deps-bench:
	@scripts/install-deps --lab --bench --check 2>/dev/null || scripts/install-deps --lab --bench

bench: deps-bench build
	scripts/run-bench $(BUILD)

install: build
	$(MESON) configure $(BUILD) -Dprefix=$(PREFIX)
	$(NINJA) -C $(BUILD)
	$(MESON) install -C $(BUILD) $(if $(DESTDIR),--destdir $(DESTDIR))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

lab-up: deps-lab build
	tests/lab/lab up

lab-down:
	tests/lab/lab down

deb:
	@scripts/install-deps --deb --check 2>/dev/null || scripts/install-deps --deb
	packaging/build-deb $(DEB_DIR)
