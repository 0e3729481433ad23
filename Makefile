# make test: everything CI runs. As root it installs the tools the kernel tests
# use as oracles when they are missing, and requires every kernel test to run
# (CTMATCH_E2E=1); as another user the kernel tests skip with their reason.

SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 30000x
ROOT := $(shell [ "$$(id -u)" = 0 ] && echo 1)
CTMATCH_E2E ?= $(ROOT)
export CTMATCH_E2E
TOOLS := nft iptables iptables-translate conntrack ip nsenter

.PHONY: test deps vet fuzz unit build

test: deps vet fuzz unit

build:
	$(GO) build ./...

deps:
	@missing=; for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$(ROOT)" = 1 ]; then \
		echo "installing what the tests need (missing:$$missing)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables iptables conntrack iproute2 util-linux; \
	else \
		echo "missing:$$missing (not root: the kernel tests that need them will skip)"; \
	fi

vet:
	$(GO) vet ./...

# A bounded run of every fuzz target: FUZZTIME executions each (a count, not a
# duration, so that a growing corpus in the build cache cannot run out the
# clock while the fuzzer is still reading it). The whole output of a failing
# run is printed.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			if ! $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg > .fuzz.log 2>&1; then \
				cat .fuzz.log; rm -f .fuzz.log; exit 1; \
			fi; \
			grep -E 'execs:' .fuzz.log | tail -1; rm -f .fuzz.log; \
		done; \
	done

# Every test, with the race detector; the summary counts kernel tests, and with
# CTMATCH_E2E=1 a skipped kernel test, or fewer than .ci/kernel-test-floor,
# fails the run.
unit:
	@set -o pipefail; $(GO) test -race -count=1 -json ./... | \
		$(GO) run ./internal/testcount $(if $(filter 1,$(CTMATCH_E2E)),-require-kernel -floor .ci/kernel-test-floor)
