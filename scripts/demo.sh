#!/usr/bin/env bash
# The main job: index ragkit's own docs/ with the default model (offline), then answer three questions.
# One process (pipelines/demo.py): the model loads once, and the index is rebuilt only when docs/ changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh   # the runtime only (no test tools); --cpu/--gpu chosen from nvidia-smi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/python pipelines/demo.py "$@"
