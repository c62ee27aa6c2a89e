# Cairn: the two commands (and a few more). See README.md.
#
#   make run    install what is missing, build Release, start a local cluster
#   make test   install, build with ASan+UBSan, run unit + integration tests
#   make lint   clang-format check and cppcheck
#   make bench  build Release, run the benchmark suite on a throw-away
#               cluster (BENCH_QUICK=1 for a one-minute run; tools/bench.sh)
#   make clean  remove build trees (never ./data)

JOBS        ?= $(shell nproc)
RELEASE_DIR := build/release
SANITIZE_DIR := build/sanitize
PYTHON      := /usr/bin/python3
CMAKE_FLAGS := -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: all deps test-deps bench-deps release sanitize run test unit integration lint clean bench

all: release

deps:
	@./deploy/install-deps.sh

test-deps:
	@./deploy/install-deps.sh --test

release: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS)

sanitize: test-deps
	@cmake -S . -B $(SANITIZE_DIR) -DCMAKE_BUILD_TYPE=Sanitize $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(SANITIZE_DIR) -j $(JOBS)

run: release
	@./deploy/run-local.sh $(RELEASE_DIR)

# Sanitizer settings shared by unit tests and the daemons under test: leaks
# fail, UBSan stops at the first report.
export ASAN_OPTIONS  := detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1

unit: sanitize
	@ctest --test-dir $(SANITIZE_DIR) --output-on-failure -j $(JOBS)

integration: sanitize
	@CAIRN_BUILD_DIR=$(abspath $(SANITIZE_DIR)) $(PYTHON) -m pytest -p no:cacheprovider tests/integration -v --tb=short

test: release unit integration

bench-deps:
	@./deploy/install-deps.sh --bench

bench: release bench-deps
	@./tools/bench.sh $(RELEASE_DIR)

lint: deps
	@command -v clang-format >/dev/null || { echo "lint: clang-format missing"; exit 1; }
	@git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	  --suppress=missingIncludeSystem --inline-suppr -I common \
	  $$(git ls-files '*.c')

clean:
	rm -rf build
