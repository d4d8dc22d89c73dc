# IGNY8 Integrations — developer and CI entry points.
# `make help` lists the targets. Needs GNU make and Go 1.26; the SAM CLI and
# the linters are installed on demand into ./.venv and ./bin.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

GO      ?= go
PYTHON  ?= python3
BIN     := $(CURDIR)/bin
VENV    := $(CURDIR)/.venv

# Pinned tool versions. staticcheck 2026.2.2 (module v0.8.2) supports Go 1.26.
STATICCHECK_VERSION := v0.8.2
SAM_CLI_VERSION     := 1.170.0
RIE_VERSION         := v0.0.0-20261030222936-bef5c4ba774d

STATICCHECK := $(BIN)/staticcheck
SAM         := $(VENV)/bin/sam
RIE         := $(BIN)/aws-lambda-rie

# Lambda build flags (shared by the SAM build targets, `make build` and the
# cold-start benchmark). lambda.norpc drops the legacy net/rpc runtime, which
# provided.al2023 never uses.
GO_BUILD_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"
LAMBDA_ENV     := GOOS=linux GOARCH=arm64 CGO_ENABLED=0

# The four functions: <LogicalId in template.yaml>:<folder in functions/>.
FUNCTIONS := ApiFunction:api WebhookFunction:webhook SyncWorkerFunction:syncworker PublisherFunction:publisher

# SAM CLI: no telemetry; `sam validate` needs a region even though it does
# not call AWS.
export SAM_CLI_TELEMETRY := 0
AWS_REGION ?= us-east-1
SAM_BUILD_FLAGS ?=

# Every bench-<name> target in this Makefile; `make bench` runs them all.
BENCH_TARGETS := $(sort $(patsubst %:,%,$(shell grep -hoE '^bench-[A-Za-z0-9_-]+:' $(MAKEFILE_LIST))))

.PHONY: help tools sam-cli build test fuzz e2e console-test wordpress wordpress-stop plugin php-lint lint fmt validate sam-build dev token bench $(BENCH_TARGETS) clean \
	build-ApiFunction build-WebhookFunction build-SyncWorkerFunction build-PublisherFunction

help: ## List the targets
	@echo "Usage: make <target> [VAR=value]"
	@echo
	@grep -hE '^[A-Za-z0-9_%-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-26s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- SAM build ---
# `sam build` runs these with ARTIFACTS_DIR set (Metadata BuildMethod: makefile).

build-ApiFunction: ## (sam build) the API function into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(GO_BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api

build-WebhookFunction: ## (sam build) the webhook function into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(GO_BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook

build-SyncWorkerFunction: ## (sam build) the sync worker into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(GO_BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/syncworker

build-PublisherFunction: ## (sam build) the publisher into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(GO_BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/publisher

# ------------------------------------------------------------- development ---

build: ## Build all four functions for Lambda (linux/arm64) into bin/<name>/bootstrap
	@for f in $(FUNCTIONS); do \
		dir=$${f#*:}; \
		echo "go build ./functions/$$dir -> bin/$$dir/bootstrap"; \
		$(LAMBDA_ENV) $(GO) build $(GO_BUILD_FLAGS) -o $(BIN)/$$dir/bootstrap ./functions/$$dir; \
	done

# The end-to-end tier (infra/e2e) runs inside `make test` only when a
# WordPress is configured in the environment (E2E_WP_ENV=<env file>, or
# E2E_WP_URL, E2E_WP_USERNAME and E2E_WP_APP_PASSWORD); `make e2e` starts the
# loopback WordPress and requires it.
WP_STATE     = $(or $(WP_STATE_DIR),$(CURDIR)/.local/wordpress)
WP_ENV_FILE  = $(WP_STATE)/env
# The sync tests and benchmarks want a site bigger than one page of 100.
E2E_BULK_POSTS ?= 250

test: ## Run the tests (unit, integration on the embedded emulator, template; end to end when a WordPress is configured)
	go test -race -count=1 ./...
	@if [ -z "$${E2E_WP_ENV:-}$${E2E_WP_URL:-}" ]; then \
		echo "NOTE: the end-to-end tier (infra/e2e) was SKIPPED: no WordPress configured. Run 'make e2e' to start one and run it."; \
	else echo "The end-to-end tier ran against $${E2E_WP_URL:-the WordPress in $${E2E_WP_ENV}}."; fi

wordpress: ## Start (or reuse) a real WordPress on http://127.0.0.1:8089 from Debian's packages
	bash infra/wordpress/start.sh

wordpress-stop: ## Stop the loopback WordPress (PURGE=1 also deletes its data)
	bash infra/wordpress/stop.sh $(if $(PURGE),--purge)

# The end-to-end site runs the companion plugin installed from `make plugin`'s
# zip (as a user would install it), not the development symlink `make
# wordpress` makes; E2E_PLUGIN_ZIP lets the tests check that it did.
e2e: plugin ## Start WordPress with the plugin installed from its zip (and E2E_BULK_POSTS bulk posts) and run the end-to-end tier against it
	WP_PLUGIN_ZIPS=$(PLUGIN_ZIP) bash infra/wordpress/start.sh
	IGNY8_WP_STATE=$(WP_STATE) php infra/wordpress/bulk.php $(E2E_BULK_POSTS)
	E2E_WP_ENV=$(WP_ENV_FILE) E2E_REQUIRED=1 E2E_PLUGIN_ZIP=$(PLUGIN_ZIP) $(GO) test -race -count=1 -v ./infra/e2e/...

# ------------------------------------------------------ WordPress plugin ---

PLUGIN_SRC := infra/wordpress/plugins/igny8-connector
PLUGIN_ZIP := $(CURDIR)/dist/igny8-connector.zip

plugin: ## Build the companion plugin's installable zip: dist/igny8-connector.zip (reproducible)
	$(PYTHON) infra/wordpress/plugin-zip.py $(PLUGIN_SRC) $(PLUGIN_ZIP)

php-lint: ## php -l on every PHP file in the repository
	@command -v php >/dev/null || { echo "php not found (Debian: apt-get install php-cli)" >&2; exit 1; }
	@n=0; failed=0; \
	while IFS= read -r -d '' f; do \
		n=$$((n + 1)); \
		out=$$(php -l "$$f" 2>&1) || { echo "$$out"; failed=$$((failed + 1)); }; \
	done < <(find . \( -path './.*' -o -path './dist' -o -path '*/node_modules' \) -prune -o -type f -name '*.php' -print0 | LC_ALL=C sort -z); \
	echo "php -l: $$n files, $$failed with errors"; \
	[ $$n -gt 0 ] && [ $$failed -eq 0 ]

# Browser tests of the console (infra/console-tests): Debian's Chromium driven
# by playwright-core against the local stack (built here, started by the
# tests on random ports, in memory) and the loopback WordPress. Screenshots
# and the stack's log go to CONSOLE_ARTIFACTS. The stack is built with the
# race detector: the browser scenario checks it for data races too (a race
# fails the run), and the build reuses the packages `make test` compiled
# with -race (about 6 s instead of about 150 s cold on CI's 2 cores).
CHROMIUM          ?= /usr/bin/chromium
CONSOLE_ARTIFACTS ?= $(CURDIR)/.ci/artifacts/console

console-test: wordpress ## Browser tests of the console (Chromium + playwright-core) against the local stack and the real WordPress
	@command -v $(CHROMIUM) >/dev/null || { echo "console-test needs Chromium at $(CHROMIUM) (Debian: apt-get install chromium)" >&2; exit 1; }
	IGNY8_WP_STATE=$(WP_STATE) php infra/wordpress/bulk.php $(E2E_BULK_POSTS)
	$(GO) build -race -o $(BIN)/localstack ./infra/local/cmd/localstack
	cd infra/console-tests && npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(CONSOLE_ARTIFACTS) && mkdir -p $(CONSOLE_ARTIFACTS)
	cd infra/console-tests && CHROMIUM=$(CHROMIUM) CONSOLE_STACK_BIN=$(BIN)/localstack CONSOLE_WP_ENV=$(WP_ENV_FILE) \
		CONSOLE_ARTIFACTS=$(CONSOLE_ARTIFACTS) node --test --test-concurrency=1 console.test.mjs
	@echo "Screenshots: $(CONSOLE_ARTIFACTS)"

FUZZTIME ?= 10s

fuzz: ## Fuzz the webhook request parser and signature verifier for FUZZTIME (default 10s)
	$(GO) test -run '^$$' -fuzz '^FuzzParseAndVerify$$' -fuzztime $(FUZZTIME) ./shared/webhook/

fmt: ## Format the Go code in place
	gofmt -w $$(find . -type f -name '*.go' -not -path './.*/*' -not -path '*/node_modules/*')

lint: $(STATICCHECK) ## gofmt check, go vet and staticcheck
	@echo "gofmt -l"
	@out=$$(gofmt -l $$(find . -type f -name '*.go' -not -path './.*/*' -not -path '*/node_modules/*')); \
		if [ -n "$$out" ]; then echo "These files need gofmt (run 'make fmt'):"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# DATA_DIR=<folder> keeps the emulator's data there (DATA_DIR= keeps it in
# memory; default .local/data), PUBLISH_EVERY=30s speeds up the publisher's
# schedule, DEV_ARGS passes any other flag (go run ./infra/local/cmd/localstack -h).
DEV_FLAGS = $(if $(filter command line environment,$(origin DATA_DIR)),-data-dir '$(DATA_DIR)') \
	$(if $(PUBLISH_EVERY),-publish-every $(PUBLISH_EVERY)) $(DEV_ARGS)

dev: ## Run the whole system locally without Docker or AWS [DATA_DIR=… PUBLISH_EVERY=30s DEV_ARGS=…]
	$(GO) run ./infra/local/cmd/localstack $(strip $(DEV_FLAGS))

token: ## Print a development token: make token ACCOUNT=<id> [ADMIN=1]
	@if [ -z "$(ACCOUNT)" ]; then echo "usage: make token ACCOUNT=<account-id> [ADMIN=1]" >&2; exit 2; fi
	@$(GO) run ./infra/local/cmd/localstack token -account $(ACCOUNT) $(if $(ADMIN),-admin)

# ----------------------------------------------------------------- SAM CLI ---

tools: $(SAM) $(STATICCHECK) $(RIE) ## Install the SAM CLI (.venv), staticcheck and the Lambda RIE (bin/)

sam-cli: $(SAM) ## Install the SAM CLI into .venv (pinned version)

# Each tool is (re)installed when its pinned version changes: the stamp file
# names the version.
$(SAM): $(VENV)/.aws-sam-cli-$(SAM_CLI_VERSION)
$(VENV)/.aws-sam-cli-$(SAM_CLI_VERSION):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check --quiet 'aws-sam-cli==$(SAM_CLI_VERSION)'
	@touch $@

$(STATICCHECK): $(BIN)/.staticcheck-$(STATICCHECK_VERSION)
$(BIN)/.staticcheck-$(STATICCHECK_VERSION):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@touch $@

$(RIE): $(BIN)/.aws-lambda-rie-$(RIE_VERSION)
$(BIN)/.aws-lambda-rie-$(RIE_VERSION):
	GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)
	@touch $@

validate: $(SAM) ## sam validate --lint (SAM translation + cfn-lint)
	$(SAM) validate --lint --region $(AWS_REGION)

sam-build: $(SAM) ## sam build (no containers; builds in the repository, see samconfig.toml)
	$(SAM) build $(SAM_BUILD_FLAGS)

# ------------------------------------------------------------- benchmarks ---

bench: $(BENCH_TARGETS) ## Run every benchmark (bench-*)

bench-coldstart: $(RIE) ## Cold-start INIT and binary size per function vs a bare binary, under the Lambda RIE
	$(GO) run ./infra/bench/coldstart -rie $(RIE) $(BENCH_ARGS)

bench-sync: ## Sync benchmark on a fake WordPress (10,000 posts, 50 ms latency); BENCH_SYNC_FLAGS="-real-wp-env .local/wordpress/env" adds the real one
	$(GO) run ./infra/bench/sync $(BENCH_SYNC_FLAGS)

bench-publisher: ## Publisher benchmark: one run over 1,000 sites × 100 approved items, 10% open windows (BENCH_PUBLISHER_FLAGS="-sites 100 -items 10" to shrink)
	$(GO) test -run '^$$' -bench BenchmarkPublisherRun -benchtime 1x -timeout 30m ./infra/bench/publisher $(if $(BENCH_PUBLISHER_FLAGS),-args $(BENCH_PUBLISHER_FLAGS))

bench-webhook: ## Webhook receiver benchmark: signed deliveries at 500/s for 30 s over 100 integrations through the local function URL [BENCH_WEBHOOK_FLAGS=…]
	$(GO) run ./infra/bench/webhook $(BENCH_WEBHOOK_FLAGS)

clean: ## Remove build outputs (bin/, .aws-sam/, dist/)
	rm -rf $(BIN) .aws-sam dist
