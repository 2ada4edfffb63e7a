# oneonone — build, test and check. "make test" is what CI runs.

GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo devel)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN      ?= ./oneonone
FUZZTIME ?= 10s
BENCHTIME ?= 1s

.PHONY: all build run test test-deps bench fuzz lint

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/oneonone

run:
	$(GO) run ./cmd/oneonone serve

# Installs the external programs that integration tests start (PostgreSQL,
# Radicale, Xandikos, Chromium, promtool, coturn, python3-icalendar) when
# they are missing, then runs every test with the race detector.
test: test-deps
	$(GO) test -race -count=1 -timeout 20m ./...

test-deps:
	scripts/test-deps.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

# A short run of every Fuzz function, one at a time (go test allows one
# -fuzz target per package and run).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for fn in $$(grep -hoE '^func (Fuzz[A-Za-z0-9_]*)' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
			echo "== $$pkg $$fn"; \
			$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
