# `make test` is the whole suite: unit tests, then the end-to-end tests that
# drive a real server with the aws CLI, aws-sdk-go-v2 and docker.

GO ?= go
BIN := bin/berth
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# staticcheck 2026.2.2: the first release line that understands Go 1.26.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Everything under test/ needs a server, Docker or real clients; it has its
# own targets.
UNIT_PKGS = $(shell $(GO) list -e ./... | grep -v '^github.com/berth/berth/test/')
# Extra `go test` flags, e.g. TESTFLAGS='-run TestX -v'.
TESTFLAGS ?=

.PHONY: build test test-unit test-e2e lint bench-registry bench-tasks bench-scheduler bench-logs bench-iam bench-alb bench-dns conformance examples

# -buildvcs=false: the version comes from VERSION, and a checkout git refuses
# to read (owned by another user) must not fail the build.
# CGO_ENABLED=0: a static binary, which the agent also runs inside every
# task's network holder container (`berth pause`) as it is; a berth built
# with cgo works too, its holder image then carries the loader and libc.
build:
	CGO_ENABLED=0 $(GO) build -buildvcs=false -ldflags '-X main.version=$(VERSION)' -o $(BIN) ./cmd/berth

test: test-unit test-e2e

test-unit:
	$(GO) test $(TESTFLAGS) $(UNIT_PKGS)

# The e2e tests run the binary `make build` produced. -count=1: their results
# depend on Docker and the clients, which the test cache does not see.
test-e2e: build
	BERTH_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 45m $(TESTFLAGS) ./test/e2e/...

# The aws CLI's documented examples replayed against the binary `make build`
# produced (part of test-e2e too), then the table per service.
examples: build
	BERTH_BIN=$(CURDIR)/$(BIN) BERTH_EXAMPLES_REPORT=$(CURDIR)/bin/examples-report.txt \
		$(GO) test -count=1 -run '^TestAWSCLIExamples$$' $(TESTFLAGS) ./test/e2e/
	@cat bin/examples-report.txt

lint:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "not gofmt'ed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Push/pull MB/s and manifest GETs/s of the binary `make build` produced,
# with blobs encrypted and (--unencrypted-blobs) in plaintext in alternating
# runs, and the ratio: what encryption at rest costs. DISTRIBUTION_BIN (distribution's cmd/registry, built by hand) adds it as a
# measured baseline; without it the issue's reference figures are shown.
bench-registry: build
	$(GO) run ./test/bench/registry --berth-bin $(CURDIR)/$(BIN) \
		$(if $(DISTRIBUTION_BIN),--baseline-distribution --distribution-bin $(DISTRIBUTION_BIN)) $(ARGS)

# RunTask -> RUNNING latency of the binary `make build` produced, beside the
# plain docker commands that give the same result (needs dockerd, as root).
bench-tasks: build
	$(GO) run ./test/bench/tasks --berth-bin $(CURDIR)/$(BIN) $(ARGS)

# ECS service scheduler of the binary `make build` produced: placements/s of
# 20,000 service tasks over 500 hollow agents (goal >= 5,000/s), then
# UpdateService -> steady of a 10-task service on Docker (needs dockerd, as
# root; ARGS='--docker=false' skips it).
bench-scheduler: build
	$(GO) run ./test/bench/scheduler --berth-bin $(CURDIR)/$(BIN) $(ARGS)

# CloudWatch Logs of the binary `make build` produced: PutLogEvents
# events/s from 8 streams (goal >= 200,000/s); a container's 1,000,000
# lines end to end through awslogs (goal: all stored within 10 s of its
# exit; needs dockerd, as root; ARGS='--docker=false' skips it);
# GetLogEvents latency on a 10,000,000-event stream (goal: newest page
# p99 < 5 ms; ARGS='--events 1000000' shrinks it); FilterLogEvents and an
# Insights query over that stream.
bench-logs: build
	$(GO) run ./test/bench/logs --berth-bin $(CURDIR)/$(BIN) $(ARGS)

# What IAM enforcement costs the binary `make build` produced:
# DescribeServices p50/p99 and calls/s of a user with ten managed policies
# and an inline one, against a server with --iam-enforce=true and one with
# --iam-enforce=false measured in turn (goal: p99 within 1.10 of
# unenforced); then go test's BenchmarkEvaluate and
# BenchmarkDirectoryAuthorize. No Docker needed.
bench-iam: build
	$(GO) run ./test/bench/iam --berth-bin $(CURDIR)/$(BIN) $(ARGS)

# berth's application load balancer of the binary `make build` produced,
# beside nginx (proxy_pass with upstream keep-alive) to the same two tasks:
# requests/s and p50/p99 with wrk, small and 64 KiB responses, 64
# connections, rounds alternating (goal: >= 0.9x nginx's requests/s, p99
# no worse). Needs dockerd, nginx and wrk (apt-get install nginx-light wrk),
# as root.
bench-alb: build
	$(GO) run ./test/bench/alb --berth-bin $(CURDIR)/$(BIN) $(ARGS)

# bench-dns: berth's DNS server (--dns-listen) answering a Cloud Map name
# with three healthy instances, beside unbound serving the same records as
# a local zone: queries/s and p50/p99 with dnsperf, rounds alternating
# (goal: >= 1.0x unbound's queries/s, p99 no worse). Needs dnsperf and
# unbound (apt-get install dnsperf unbound); no Docker.
bench-dns: build
	$(GO) run ./test/bench/dns --berth-bin $(CURDIR)/$(BIN) $(ARGS)

conformance: build
	BERTH_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 $(TESTFLAGS) -run TestOCIConformance ./test/e2e/
