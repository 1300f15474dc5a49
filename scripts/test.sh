#!/usr/bin/env bash
# The test suite, including the SciFact quality tests (they encode the corpus once: minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev   # the runtime plus the test, benchmark and developer tools
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/python -m ruff check src tests pipelines benchmarks
.venv/bin/python -m mypy src
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
