# Kedastral. `make help` lists the targets.

GO ?= go
BIN := $(CURDIR)/bin
MODULE := github.com/HatiCode/kedastral

# Prometheus and promtool are built from the same module version as our
# dependency, without service-discovery plugins (the tests only use
# static targets), which halves the build.
PROMETHEUS_VERSION := $(shell $(GO) list -m -f '{{.Version}}' github.com/prometheus/prometheus)
PROMETHEUS_STAMP := $(BIN)/.prometheus-$(PROMETHEUS_VERSION)
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT_STAMP := $(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
VERSION_PKG := github.com/prometheus/common/version
LDFLAGS := -s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
	-X $(VERSION_PKG).Branch=$(BRANCH) -X $(VERSION_PKG).BuildUser=$(shell whoami)@$(shell hostname) \
	-X $(VERSION_PKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the commands, static, into bin/.
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

.PHONY: tools
tools: $(PROMETHEUS_STAMP) $(GOLANGCI_LINT_STAMP) ## Build prometheus, promtool and golangci-lint into bin/ (once).

$(PROMETHEUS_STAMP):
	@mkdir -p $(BIN)
	@echo ">> building prometheus and promtool $(PROMETHEUS_VERSION) (a few minutes, once)"
	GOBIN=$(BIN) $(GO) install -tags remove_all_sd \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION) \
		github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_VERSION)
	@rm -f $(BIN)/.prometheus-* && touch $@

$(GOLANGCI_LINT_STAMP):
	@mkdir -p $(BIN)
	@echo ">> building golangci-lint $(GOLANGCI_LINT_VERSION) (once)"
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@rm -f $(BIN)/.golangci-lint-* && touch $@

# The Go modules: the main one, and deploy/, which holds the chart's tests
# and keeps Helm's and Kubernetes' packages out of the main one.
MODULES := . deploy

.PHONY: test
test: tools check ## Check formatting, vet, tidiness and lint, then run every test of both modules.
	@scripts/install-chromium.sh
	KEDASTRAL_TEST_ARTIFACTS=$(BIN)/test-artifacts $(GO) test -count=1 ./...
	$(GO) -C deploy test -count=1 ./...

.PHONY: check
check: $(GOLANGCI_LINT_STAMP) ## gofmt, file length, go vet, go mod tidy and golangci-lint must have nothing to say.
	@echo ">> gofmt"
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
		if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	@echo ">> files of at most 400 lines (tests excepted)"
	@long=$$(for f in $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*'); do \
		case $$f in *_test.go) continue;; esac; \
		n=$$(wc -l < $$f); [ $$n -le 400 ] || echo "$$f: $$n lines"; done); \
		if [ -n "$$long" ]; then echo "$$long"; exit 1; fi
	@for m in $(MODULES); do \
		echo ">> $$m: go vet, go mod tidy, golangci-lint"; \
		$(GO) -C $$m vet ./... && $(GO) -C $$m mod tidy -diff && (cd $$m && $(BIN)/golangci-lint run ./...) || exit 1; \
	done

.PHONY: lint
lint: $(GOLANGCI_LINT_STAMP) ## Run golangci-lint on both modules.
	@for m in $(MODULES); do (cd $$m && $(BIN)/golangci-lint run ./...) || exit 1; done

.PHONY: e2e
e2e: build $(PROMETHEUS_STAMP) ## KEDA and the HPA scaling Deployments ahead of the load on a real control plane; rewrites docs/e2e.md (the control plane is built once, about 18 minutes on 2 cores, into ~/.cache/kedastral-e2e; the run about 11).
	@bin=$$(scripts/e2e-build.sh) && \
		KEDASTRAL_E2E_BIN=$$bin KEDASTRAL_E2E_REPORT=$(CURDIR)/docs \
		$(GO) -C deploy test -count=1 -timeout 30m -v -run '^TestE2E$$' ./e2e

.PHONY: bench
bench: $(PROMETHEUS_STAMP) ## Run the benchmarks (the tick against a real local Prometheus among them).
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

.PHONY: benchmarks
benchmarks: ## Backtest every bundled trace and write docs/benchmarks.md (about 3 minutes).
	$(GO) run ./internal/benchmarks -traces data/traces -out docs/benchmarks.md

GOVULNCHECK_VERSION := v1.9.0
VULNDB := $(HOME)/.cache/kedastral-vulndb

.PHONY: vulncheck
vulncheck: ## Run govulncheck on both modules against a database built by scripts/vulndb.sh from a golang/vulndb copy: make vulncheck VULNDB_SRC=<git dir or source dir> (once; later runs reuse $(VULNDB)).
	@if [ -n "$(VULNDB_SRC)" ]; then scripts/vulndb.sh "$(VULNDB_SRC)" "$(VULNDB)"; fi
	@test -f "$(VULNDB)/index/db.json" || { echo "no vulnerability database in $(VULNDB): make vulncheck VULNDB_SRC=<a golang/vulndb copy>" >&2; exit 2; }
	GOBIN=$(BIN) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	$(BIN)/govulncheck -db file://$(VULNDB) ./...
	cd deploy && $(BIN)/govulncheck -db file://$(VULNDB) ./...

.PHONY: bench-scale
bench-scale: build $(PROMETHEUS_STAMP) ## Measure one forecaster with 1,000, 3,000 and 10,000 workloads in push and pull mode and write docs/scale.md (about 40 minutes).
	$(GO) run ./internal/scalebench -bin $(BIN) -out docs/scale.md

.PHONY: bench-ingest
bench-ingest: build $(PROMETHEUS_STAMP) ## Measure remote-write ingest against a real Prometheus and write docs/ingest-benchmark.md.
	$(GO) run ./internal/ingestbench -bin $(BIN) -out docs/ingest-benchmark.md

.PHONY: mixin
mixin: ## Render the monitoring mixin into mixin/generated and the Helm chart's files/ (committed; make test fails when they are stale).
	$(GO) run ./mixin/render

IMAGE_REPO ?= ghcr.io/haticode/kedastral
.PHONY: manifests
manifests: ## Render deploy/examples/install.yaml, the install without Helm, from the chart (committed; make test fails when it is stale).
	$(GO) -C deploy run ./render

.PHONY: docker
docker: ## Build the forecaster and scaler images (needs a Docker engine): IMAGE_REPO-forecaster:VERSION, IMAGE_REPO-scaler:VERSION.
	docker build -f deploy/docker/Dockerfile.forecaster --build-arg VERSION=$(VERSION) -t $(IMAGE_REPO)-forecaster:$(VERSION) .
	docker build -f deploy/docker/Dockerfile.scaler --build-arg VERSION=$(VERSION) -t $(IMAGE_REPO)-scaler:$(VERSION) .

.PHONY: demo
demo: build ## Run the forecaster on two weeks of real traffic, received by remote write into its embedded storage.
	$(BIN)/demo --bin-dir=$(BIN)

.PHONY: clean
clean: ## Remove bin/.
	rm -rf $(BIN)
