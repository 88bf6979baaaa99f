# kehu — the two commands a newcomer needs:
#   make run    the whole system locally (DynamoDB Local, local KMS, Mailpit, gateway on :3000)
#   make test   every test, starting and stopping the local servers itself
SHELL := /bin/bash
GO    ?= go
PKGS  := ./...
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'

.PHONY: deps run test unit bench fuzz vet lint build clean

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# Mailpit, the local mail catcher (make run, make test): built from the Go module proxy.
MAILPIT_VERSION := v1.27.11
bin/.mailpit-$(MAILPIT_VERSION):
	GOBIN=$(CURDIR)/bin $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)
	@touch $@

deps: node_modules/.installed bin/.mailpit-$(MAILPIT_VERSION) ## Go modules, DynamoDB Local and Mailpit
	$(GO) mod download

run: deps ## start everything locally; Ctrl-C stops it all
	$(GO) run ./cmd/devstack

test: deps vet ## unit, integration and end-to-end tests (race detector on) against the local stack
	$(GO) run ./cmd/devstack -in-memory -exec -- $(GO) test -race -count=1 $(PKGS)

unit: ## tests that need no servers (integration tests skip)
	$(GO) test -count=1 $(PKGS)

vet: ## go vet, and gofmt over every Go file (no git needed, so it works in a source tarball)
	$(GO) vet $(PKGS)
	@bad="$$(find . -name '*.go' -not -path './node_modules/*' -not -path './.*' -print0 | xargs -0 gofmt -l)" || exit 1; \
	test -z "$$bad" || { printf 'gofmt needed:\n%s\n' "$$bad"; exit 1; }

bench: deps ## figures: KMS calls, write units, overhead ratio, allocations, binary size
	$(GO) run ./cmd/devstack -in-memory -exec -- $(GO) test -run '^$$' -bench . -benchmem -benchtime 1000x ./shared/intake/ ./shared/httpapi/
	$(GO) run ./cmd/devstack -in-memory -exec -- $(GO) test -run '^$$' -bench . -benchtime 200x ./shared/segmenter/
	@$(MAKE) --no-print-directory size

size: ## bootstrap sizes for linux/arm64
	@mkdir -p bin && for fn in form-intake webhook-intake setup segmenter sweep survey-intake survey-sender privacy privacy-sweep; do \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o bin/$$fn/bootstrap ./functions/$$fn || exit 1; \
		echo "$$fn bootstrap (linux/arm64): $$(stat -c %s bin/$$fn/bootstrap) bytes"; \
	done

fuzz: ## run each fuzz target for a short while
	$(GO) test -run '^$$' -fuzz FuzzOpen -fuzztime 20s ./shared/envelope/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 20s ./shared/httpapi/
	$(GO) test -run '^$$' -fuzz FuzzJSONEscapes -fuzztime 20s ./shared/httpapi/
	$(GO) test -run '^$$' -fuzz FuzzNormalise -fuzztime 20s ./shared/customer/
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime 20s ./shared/webhook/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 20s ./shared/link/
	for f in FuzzMapIntercom FuzzMapZendesk FuzzMapSlack FuzzMapWeCom FuzzMapStandard FuzzHTMLToText FuzzMapSurvey; do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 10s ./shared/webhook/ || exit 1; done

# sam build calls build-<LogicalId> with ARTIFACTS_DIR set (BuildMethod: makefile).
build-FormIntakeFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/form-intake

build-WebhookIntakeFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook-intake

build-SetupFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/setup

build-SegmenterFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/segmenter

build-SweepFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sweep

build-SurveyIntakeFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/survey-intake

build-SurveySenderFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/survey-sender

build-PrivacyFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/privacy

build-PrivacySweepFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/privacy-sweep

clean:
	rm -rf bin .local .aws-sam
