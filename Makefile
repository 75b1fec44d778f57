# Common developer tasks. `make test` is what CI runs (scripts/test).

GO_BIN_DIR := /usr/local/go/bin
export PATH := $(GO_BIN_DIR):$(shell PATH=$(GO_BIN_DIR):$$PATH go env GOPATH)/bin:$(PATH)

GO            ?= go
GOLANGCI_LINT ?= golangci-lint

# make fuzz runs every fuzz target for FUZZTIME; FUZZ=FuzzName and/or PKG=./dir narrow it.
FUZZTIME ?= 1m
FUZZ     ?=
PKG      ?=

.PHONY: all build test quick lint fmt bench fuzz cross clean

all: build

build:
	$(GO) build -o bin/vigil ./cmd/vigil

test:
	./scripts/test

quick:
	./scripts/test --quick

lint:
	$(GOLANGCI_LINT) run ./...

fmt:
	$(GOLANGCI_LINT) fmt ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./engine/...

fuzz:
	@set -e; \
	find . \( -name testdata -o -name vendor -o -name node_modules -o -name '.?*' -o -name '_*' \) -prune \
		-o -type f -name '*_test.go' -print | xargs -r grep -H -o -E '^func Fuzz[A-Za-z0-9_]*\(' | \
		sed -E 's|^(.*)/[^/]*:func (Fuzz[A-Za-z0-9_]*)\($$|\1 \2|' | sort -u | \
	{ n=0; while read -r dir name; do \
		if [ -n "$(FUZZ)" ] && [ "$$name" != "$(FUZZ)" ]; then continue; fi; \
		if [ -n "$(PKG)" ] && [ "$$dir" != "./$(PKG:./%=%)" ]; then continue; fi; \
		n=$$((n + 1)); \
		echo "--- fuzz $$dir $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$dir" </dev/null; \
	done; \
	if [ "$$n" -eq 0 ]; then echo "no fuzz target matched" >&2; exit 1; fi; }

cross:
	GOOS=windows GOARCH=amd64 $(GO) build ./...
	GOOS=darwin GOARCH=arm64 $(GO) build ./...

clean:
	rm -rf bin/
	rm -f vigil vigil.exe coverage.out coverage.html
	find . -name '*.test' -type f -delete
