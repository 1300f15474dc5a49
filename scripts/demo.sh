#!/usr/bin/env bash
# The main job: index ragkit's own docs/ with the default model (offline), then answer queries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/ragkit index docs indexes/ragkit-docs
.venv/bin/ragkit search indexes/ragkit-docs -k 3 \
  "how do I save an index and open it again?" \
  "which fusion methods combine BM25 and vector search?" \
  "what guarantees does a chunk give about character offsets?"
