# roomcast's build. Every tool is pinned in go.mod and run with `go tool`,
# so nothing but Go and the Go module proxy is needed.

GO ?= go

.PHONY: all build generate check-generate lint test serve

all: build

build:
	$(GO) build -o roomcast ./cmd/roomcast

# Regenerate gen/ from proto/ with buf and local protoc plugins.
generate:
	$(GO) tool buf generate

# Fail when gen/ is not what `make generate` produces from proto/.
check-generate: generate
	@git diff --exit-code --stat -- gen/ || { echo "gen/ is stale: run make generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- gen/)" || { git status --porcelain -- gen/; echo "gen/ has files not committed"; exit 1; }

lint:
	$(GO) tool buf lint
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run gofmt -w"; exit 1; }

# The README's test command: lint, the generated-code check, and every test
# with the race detector.
test: lint check-generate
	$(GO) test -race -count=1 ./...

serve:
	$(GO) run ./cmd/roomcast serve
