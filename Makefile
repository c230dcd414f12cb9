# roomcast's build. Every Go tool is pinned in go.mod and run with `go
# tool`; the TypeScript client's tools (protoc-gen-es, tsc) are pinned in
# clients/typescript/package-lock.json and installed with npm ci. Go, Node
# 20 and npm, with the Go module proxy and the npm registry, are all that
# is needed.

GO ?= go
NPM ?= npm
TS := clients/typescript

.PHONY: all build generate check-generate breaking lint test test-ts serve

all: build

build:
	$(GO) build -o roomcast ./cmd/roomcast

# The TypeScript client's npm packages, as the lockfile pins them. npm
# writes node_modules/.package-lock.json on every install, so its date
# tells whether node_modules is missing or older than the lockfile.
$(TS)/node_modules/.package-lock.json: $(TS)/package.json $(TS)/package-lock.json
	$(NPM) ci --prefix $(TS) --no-audit --no-fund
	@touch $@

# Regenerate gen/ (Go) and clients/typescript/src/gen/ (TypeScript) from
# proto/ with buf and local protoc plugins.
generate: $(TS)/node_modules/.package-lock.json
	$(GO) tool buf generate
	$(GO) tool buf generate --template buf.gen.ts.yaml

GENERATED := gen/ $(TS)/src/gen/

# Fail when the generated code is not what `make generate` produces from proto/.
check-generate: generate
	@git diff --exit-code --stat -- $(GENERATED) || { echo "generated code is stale: run make generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- $(GENERATED))" || { git status --porcelain -- $(GENERATED); echo "generated code not committed"; exit 1; }

lint: breaking
	$(GO) tool buf lint
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run gofmt -w"; exit 1; }

# Wire compatibility: the protos must not break what the previous commit
# published (buf's FILE rules). A clone without history has nothing to
# compare with.
breaking:
	@if git rev-parse -q --verify HEAD~1 >/dev/null; then \
		$(GO) tool buf breaking --against '.git#ref=HEAD~1'; \
	else echo "no previous commit: buf breaking skipped"; fi

# The README's test command: lint, the generated-code check, every Go test
# with the race detector (the end-to-end tests a second time on grpc-go's
# transport, which embedders may serve with), and the TypeScript client's
# interop test.
test: lint check-generate
	$(GO) test -race -count=1 ./...
	ROOMCAST_TEST_TRANSPORT=grpc-go $(GO) test -race -count=1 ./e2e/
	$(MAKE) test-ts

# The TypeScript client: tsc type-checks and builds it, then node's test
# runner runs it against the Go server and `roomcast chat`, which the test
# builds itself.
test-ts: $(TS)/node_modules/.package-lock.json
	$(NPM) test --prefix $(TS)

serve:
	$(GO) run ./cmd/roomcast serve
