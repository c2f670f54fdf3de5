# build-watcher: Tekton building blocks that feed finished container builds into Thoth.
# `make demo` runs the main job against local stand-ins; `make test` runs what CI runs.

MODULE     := github.com/thoth-station/build-watcher
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
LDFLAGS    := -s -w -X $(MODULE)/internal/version.Version=$(VERSION)
BINARIES   := collect-build mirror-image submit-thoth build-watcher
TOOLS      := thoth-standin demo-cluster
GOBIN      ?= $(shell go env GOPATH)/bin
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(GOBIN)/staticcheck
KO_VERSION := v0.19.1
KO         := $(GOBIN)/ko
FUZZTIME   ?= 5s
# -vet=off: make lint runs go vet in full on the same packages; go test's own subset would
# type-check every dependency again for the race build (about 140 s of CPU).
GOTEST_FLAGS ?= -race -vet=off -count=1 -timeout 30m

export VERSION

.PHONY: all build test unit lint lint-vet lint-staticcheck fuzz bench demo tools testenv deps clean release catalog

all: build

## build: all binaries into bin/
build:
	@mkdir -p bin
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(addprefix ./cmd/,$(BINARIES)) $(addprefix ./hack/,$(TOOLS))

## test: everything CI runs: lint, unit and integration tests with -race, short fuzz runs
test: lint unit fuzz

# hack/tools/monitoring's test builds static and with -trimpath, as testenv builds: the
# standard library and the packages they share come from its build cache.
unit: $(KO)
	KO=$(KO) BUILD_WATCHER_TESTENV="$$(hack/testenv.sh | tail -n 1)" go test $(GOTEST_FLAGS) ./...
	cd hack/tools/monitoring && CGO_ENABLED=0 go test -trimpath -count=1 ./...

## testenv: build the pinned etcd, kube-apiserver, Tekton controller, Argo workflow-controller and tools (hack/tools) in one go build, into ~/.cache/build-watcher
testenv:
	hack/testenv.sh

## lint: gofmt, go vet, staticcheck of the main module and of our tools in hack/tools (static and
## with -trimpath, as testenv and ko build: the packages testenv compiled serve from the cache)
# go vet and staticcheck run at once: staticcheck keeps about one core busy, vet two.
lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	@$(MAKE) --no-print-directory -j2 lint-vet lint-staticcheck

lint-vet:
	CGO_ENABLED=0 GOFLAGS='$(strip $(GOFLAGS) -trimpath)' go vet ./...
	cd hack/tools && CGO_ENABLED=0 GOFLAGS='$(strip $(GOFLAGS) -trimpath)' go vet ./argolint ./kustomizebuild

lint-staticcheck: $(STATICCHECK)
	CGO_ENABLED=0 GOFLAGS='$(strip $(GOFLAGS) -trimpath)' $(STATICCHECK) ./...
	cd hack/tools && CGO_ENABLED=0 GOFLAGS='$(strip $(GOFLAGS) -trimpath)' $(STATICCHECK) ./argolint ./kustomizebuild

## fuzz: a short run (FUZZTIME, default 5s) of every Fuzz target, after the seed corpora (which go test runs too)
fuzz:
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

## bench: Go benchmarks as a table, submit-thoth vs jq+curl on a 1 GiB log (LOG_MIB=), mirror-image vs crane and skopeo (MIRROR_MIB=)
bench: build
	hack/bench.sh
	hack/bench-submit.sh
	hack/bench-mirror.sh

## demo: build, start the Thoth stand-in, submit builds, show ids, caching, retries, cutting, redaction
demo: build
	hack/demo.sh

tools: $(STATICCHECK) $(KO)

## release: build and push the step images with ko, write catalog/ for Artifact Hub (VERSION=x.y.z required;
## KO_DOCKER_REPO=, KO_DEFAULTBASEIMAGE=, PLATFORMS=, CATALOG_DIR=; see hack/release.sh)
release: $(KO)
	KO=$(KO) hack/release.sh $(if $(filter file,$(origin VERSION)),,$(VERSION))

## catalog: write catalog/ but the Task and Pipeline YAML (READMEs, samples, tests, artifacthub-repo.yml); no images
catalog:
	hack/release.sh --docs-only

## deps: Debian packages the tests use (docker-registry, apache2-utils); needs root or sudo
deps:
	hack/install-deps.sh

$(STATICCHECK):
	CGO_ENABLED=0 go install -trimpath honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(KO):
	CGO_ENABLED=0 go install -trimpath github.com/google/ko@$(KO_VERSION)

clean:
	rm -rf bin
