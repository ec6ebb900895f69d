# initkit: the two commands are `make demo` and `make test`; both set up
# everything they need (Debian packages, configure, build) first.
JOBS ?= $(shell nproc)
CMAKE_GEN := -G Ninja

.PHONY: all deps build tools static image asan test test-release test-asan demo bench format tidy clean
.PHONY: fuzz fuzz-ci reference standalone-check

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B build $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

asan: deps
	@cmake -S . -B build-asan $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DINITKIT_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

# `make static` builds for this machine into build-static/; `make static
# ARCH=arm64` cross-builds into build-static-arm64/ (images/build-static.sh).
# `make image` builds both and the two-platform OCI image from them:
# build-image/initkit.oci.tar (images/build-image.sh, buildah, offline).
static: deps
	@$(if $(ARCH),ARCH=$(ARCH)) images/build-static.sh

IMAGE_PLATFORMS ?= amd64 arm64

image: deps
	@for a in $(IMAGE_PLATFORMS); do ARCH=$$a images/build-static.sh || exit 1; done
	@PLATFORMS="$(IMAGE_PLATFORMS)" images/build-image.sh

test-release: build
	@cd build && ctest --output-on-failure -j $(JOBS)

test-asan: asan
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)

# The tests run once, under AddressSanitizer + UBSan (what CI requires);
# `make test-release` runs the same tests against the optimised build.
# The image steps: every platform's config, size and SBOM, and the smoke
# test in its exported root filesystem (arm64 under qemu-aarch64-static).
test: test-asan image
	@scripts/image-check.sh
	@scripts/validate-examples.sh build-static/bin
	@scripts/standalone-check.sh
	@$(MAKE) --no-print-directory fuzz-ci

# Fuzzing with clang's libFuzzer in build-fuzz/ (fuzz/run.sh): `make fuzz` runs
# every target FUZZ_SECONDS; `make fuzz-ci` 30 s each, two at a time, and
# fails on any crash, leak, timeout or broken invariant.
FUZZ_SECONDS ?= 600

fuzz:
	@scripts/deps.sh clang libclang-rt-14-dev
	@fuzz/run.sh build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh run

fuzz-ci:
	@scripts/deps.sh clang libclang-rt-14-dev
	@fuzz/run.sh build
	@FUZZ_SECONDS=30 FUZZ_JOBS=2 fuzz/run.sh run

tools: deps
	@cmake -S . -B build $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS) --target initkit-tools

demo: tools
	@scripts/demo.sh

# Every bench runs even when one fails; the target fails if any did.
bench: deps
	@cmake -S . -B build $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS) --target initkit-tools bench_fake_api
	@status=0; for b in bench/*.sh; do echo "== $$b"; $$b || status=1; done; exit $$status

# The flag reference, man pages and completions are generated from the flag
# tables; run this after changing a flag (a test fails until you do).
reference: tools
	@scripts/reference.sh build/bin

# A copy of the tracked files alone in an empty directory runs `make demo`:
# the repository needs nothing beside it.
standalone-check:
	@scripts/standalone-check.sh

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

# clang-tidy reads a compile database of its own: clang cannot load the
# precompiled headers gcc made for build/.
tidy: deps
	@cmake -S . -B build-tidy $(CMAKE_GEN) -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON -DINITKIT_TESTS=OFF >/dev/null
	@clang-tidy -p build-tidy --quiet $$(git ls-files 'common/*.cc' 'tools/*.cc' 'tools/*/*.cc')

clean:
	rm -rf build build-asan build-static build-static-* build-image build-tidy build-fuzz
