#!/usr/bin/env bash
# Create .venv and install ragkit. Idempotent: a second run with the same choices only checks.
#
#   bash scripts/setup.sh [--dev] [--cpu | --gpu]
#
#   (none)   the runtime only: what indexing and search need (scripts/demo.sh)
#   --dev    also the test and developer tools: pytest, hypothesis, ruff, mypy, Ray, notebook runner (scripts/test.sh)
#   --cpu    faiss-cpu and the CPU build of PyTorch: no CUDA wheels are downloaded
#   --gpu    faiss-gpu and the CUDA build of PyTorch
#            default: --gpu when `nvidia-smi -L` lists a GPU, else --cpu
#
# faiss-cpu and faiss-gpu install the same faiss/ package, so never both: the one not chosen is
# uninstalled (with the NVIDIA wheels only faiss-gpu needed). RAGKIT_TORCH_INDEX overrides the
# PyTorch wheel index (default: download.pytorch.org's cpu or cu128 index).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
extras="" variant=""
for arg in "$@"; do
  case $arg in
    --dev) extras="[dev]" ;;
    --cpu) variant=cpu ;;
    --gpu) variant=gpu ;;
    *) echo "usage: bash scripts/setup.sh [--dev] [--cpu | --gpu]" >&2; exit 2 ;;
  esac
done
if [ -z "$variant" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q "^GPU"; then variant=gpu; else variant=cpu; fi
fi
stamp=.venv/.ragkit-installed
want="$(sha256sum pyproject.toml | cut -c1-16) $variant"
# The stamp holds "<pyproject hash> <variant> <extras>"; a dev install also satisfies a runtime request.
if [ -f "$stamp" ] && .venv/bin/python -c "import ragkit" 2>/dev/null; then
  read -r have_hash have_variant have_extras < "$stamp" || true
  if [ "$have_hash $have_variant" = "$want" ] && { [ -z "$extras" ] || [ "${have_extras:-}" = "$extras" ]; }; then
    exit 0
  fi
  # keep the dev tools of an earlier install when only the runtime is asked for now
  [ -z "$extras" ] && [ "${have_extras:-}" = "[dev]" ] && extras="[dev]"
fi
echo "setting up .venv: ragkit${extras:+ with $extras}, $variant build of FAISS and PyTorch (first run: a few minutes)" >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip=(.venv/bin/python -m pip)
"${pip[@]}" install -q --upgrade pip
installed() { "${pip[@]}" show "$1" >/dev/null 2>&1; }
# PyTorch first, from the index of the chosen build: PyPI's Linux torch wheels are the CUDA ones.
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  index=${RAGKIT_TORCH_INDEX:-https://download.pytorch.org/whl/$([ "$variant" = gpu ] && echo cu128 || echo cpu)}
  host=$(echo "$index" | sed -E 's#^[a-z]+://([^/:]+).*#\1#')
  if [ -z "${RAGKIT_TORCH_INDEX:-}" ] && ! .venv/bin/python -c "import socket, sys; socket.getaddrinfo(sys.argv[1], 443)" "$host" 2>/dev/null; then
    # no route to PyTorch's index (e.g. a mirror-only network): take torch from the configured indexes
    echo "setup: $host is unreachable; installing torch==2.13.0 from the configured package indexes" >&2
    "${pip[@]}" install -q "torch==2.13.0"
  else
    "${pip[@]}" install -q --retries 2 "torch==2.13.0" --index-url "$index" --extra-index-url https://pypi.org/simple
  fi
fi
"${pip[@]}" install -q -e ".$extras"
# ragkit depends on faiss-cpu; the GPU build replaces it in place.
if [ "$variant" = gpu ]; then
  keep=faiss-gpu drop=faiss-cpu
else
  keep=faiss-cpu drop=faiss-gpu
fi
if installed "$drop"; then
  nvidia=$("${pip[@]}" show "$drop" | sed -n 's/^Requires: //p' | tr ',' '\n' | tr -d ' ' | grep '^nvidia-' || true)
  "${pip[@]}" uninstall -q -y "$drop"
  for dep in $nvidia; do  # the CUDA wheels nothing else needs any more
    if [ -z "$("${pip[@]}" show "$dep" 2>/dev/null | sed -n 's/^Required-by: //p')" ]; then "${pip[@]}" uninstall -q -y "$dep"; fi
  done
  if installed "$keep"; then  # the uninstall removed the faiss/ files both wheels share: put the kept ones back
    "${pip[@]}" install -q --force-reinstall --no-deps "$keep==$("${pip[@]}" show "$keep" | sed -n 's/^Version: //p')"
  fi
fi
installed "$keep" || "${pip[@]}" install -q "$keep>=1.9"
.venv/bin/python -c "import faiss" || { echo "setup: faiss does not import after installing $keep" >&2; exit 1; }
echo "$want $extras" > "$stamp"
