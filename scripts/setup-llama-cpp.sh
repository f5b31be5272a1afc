#!/usr/bin/env bash
# Build llama.cpp (through the llama-cpp-python bindings, from the PyPI sdist)
# into a private virtualenv, for side-by-side speed comparisons with dich on
# the same GGUF file (see scripts/llama-compare.py).
#
#   scripts/setup-llama-cpp.sh            # build with $(nproc) jobs
#   JOBS=1 scripts/setup-llama-cpp.sh     # build with one job
#
# Installs into ${DICH_HOME:-$HOME/.cache/dich}/venv-llama and touches nothing
# outside that directory: pip runs with --no-cache-dir and its temporary build
# tree lives under the venv (removed afterwards).
#
# Environment:
#   DICH_HOME                 base dir (default: $HOME/.cache/dich)
#   JOBS                      build parallelism (default: nproc)
#   LLAMA_CPP_PYTHON_VERSION  override the pinned version below
#   PYTHON                    interpreter used to create the venv (default: python3)
#   CMAKE_ARGS_EXTRA          extra CMake flags appended to the ones below
#   LLAMA_SIMD=avx2           build for AVX2+FMA only (no AVX-512), into
#                             venv-llama-avx2: the comparison partner of
#                             `DICH_KERNELS=avx2` on an AVX-512 machine
#
# Idempotent: if the venv already imports llama_cpp, prints its version and
# exits 0. Delete the venv directory to force a rebuild.
set -euo pipefail

# Pinned: 0.3.36 (vendors a 2025 llama.cpp) built here with gcc 12.2 and the
# cmake/ninja wheels scikit-build-core pulls from PyPI.
PINNED_VERSION="0.3.36"
VERSION="${LLAMA_CPP_PYTHON_VERSION:-$PINNED_VERSION}"

DICH_HOME="${DICH_HOME:-$HOME/.cache/dich}"
VENV="$DICH_HOME/venv-llama"
if [ "${LLAMA_SIMD:-}" = avx2 ]; then
    VENV="$DICH_HOME/venv-llama-avx2"
fi
PYTHON="${PYTHON:-python3}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 1)}"

log() { printf 'setup-llama-cpp: %s\n' "$*" >&2; }

if ! [[ "$JOBS" =~ ^[1-9][0-9]*$ ]]; then
    log "JOBS must be a positive integer, got '$JOBS'"
    exit 2
fi

if [ -x "$VENV/bin/python" ] \
    && installed="$("$VENV/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null)"; then
    log "already installed in $VENV"
    echo "$installed"
    exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || { log "no '$PYTHON' on PATH"; exit 1; }
for tool in cc c++; do
    command -v "$tool" >/dev/null 2>&1 || { log "no C/C++ compiler ('$tool') on PATH (apt-get install build-essential)"; exit 1; }
done

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV"
    mkdir -p "$DICH_HOME"
    "$PYTHON" -m venv "$VENV"
fi

BUILD_TMP="$VENV/.build-tmp"
rm -rf "$BUILD_TMP"
mkdir -p "$BUILD_TMP"
trap 'rm -rf "$BUILD_TMP"' EXIT

# GGML_NATIVE=ON: -march=native, i.e. whatever SIMD this CPU has (AVX2,
# AVX-512, VNNI...). LLAVA_BUILD=OFF: skip the multimodal (mtmd) library,
# which the text-only comparison never loads; it only costs build time.
# On CPUs with AMX (Sapphire Rapids and later), the native build's AMX code
# path crashed with a segmentation fault in llama_decode on every model in
# this project's 2-core virtual machines (0.3.36; the same build without
# AMX and AVX512-BF16 runs): build for the CPU's vector extensions
# explicitly, without those two.
TARGET="-DGGML_NATIVE=ON"
if [ "${LLAMA_SIMD:-}" = avx2 ]; then
    TARGET="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF"
    log "LLAMA_SIMD=avx2: building for AVX2+FMA only"
elif grep -q -w amx_tile /proc/cpuinfo 2>/dev/null; then
    TARGET="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX_VNNI=ON -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AVX512_BF16=OFF"
    log "AMX CPU: building without AMX and AVX512-BF16 (the native build crashes here)"
fi
export CMAKE_ARGS="$TARGET -DLLAVA_BUILD=OFF ${CMAKE_ARGS_EXTRA:-}"
export CMAKE_BUILD_PARALLEL_LEVEL="$JOBS"
export MAKEFLAGS="-j$JOBS"
export TMPDIR="$BUILD_TMP"
export PIP_NO_CACHE_DIR=1

log "building llama-cpp-python==$VERSION from source (JOBS=$JOBS, CMAKE_ARGS='$CMAKE_ARGS')"
start=$(date +%s)
"$VENV/bin/python" -m pip install --quiet --no-cache-dir --upgrade pip >&2
"$VENV/bin/python" -m pip install --no-cache-dir --no-binary llama-cpp-python \
    --verbose "llama-cpp-python==$VERSION" > "$VENV/build.log" 2>&1 || {
    log "build failed; last lines of $VENV/build.log:"
    tail -n 40 "$VENV/build.log" >&2
    exit 1
}
end=$(date +%s)

installed="$("$VENV/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)')"
log "installed llama-cpp-python $installed into $VENV in $((end - start))s (build log: $VENV/build.log)"
log "python: $VENV/bin/python"
echo "$installed"
