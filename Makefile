# Bulwark: the two commands a user needs are `make run` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
# An execution count, not a duration: a duration races Go's fuzz coordinator at its
# deadline and fails a clean run with "context deadline exceeded" (golang/go#51484).
FUZZTIME ?= 200000x
LISTEN ?= 127.0.0.1:9696
DB ?= sqlite:./var/bulwark.db
AUTH ?= keystone

.PHONY: all build run test unit fuzz vet bench-api bench-agent bench-scale clean

all: build

build:
	@scripts/setup.sh
	$(GO) build -o bin/bulwark ./cmd/bulwark

# Build and serve the API on 127.0.0.1:9696 with its data in ./var
# (AUTH=noauth for a server that trusts every request as admin).
run: build
	mkdir -p var
	./bin/bulwark server --listen $(LISTEN) --db $(DB) --auth $(AUTH)

# Every test: vet, unit + API + store tests, then a short seeded fuzz run.
test: build vet unit fuzz

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

# Each fuzz target runs FUZZTIME (executions, or a duration such as 1m by hand) on top of its checked-in seeds.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# API throughput/latency against Neutron's recorded numbers (see docs/benchmarks.md).
bench-api: build
	bash scripts/bench-api.sh

# Agent dataplane (compiler + applier in a scratch netns) vs the iptables floor and Neutron (docs/benchmarks.md).
bench-agent: build
	bash scripts/bench-agent.sh

# 3 servers on one private PostgreSQL + N simulated agents; write -> applied latencies (docs/scale.md).
bench-scale: build
	bash scripts/bench-scale.sh

clean:
	rm -rf bin
