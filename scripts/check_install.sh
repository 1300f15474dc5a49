#!/usr/bin/env bash
# Check the runtime install from scratch: copy this checkout to a temporary folder, run the
# README's setup there (scripts/setup.sh --cpu: the runtime only), then check that
#   - `import ragkit` and `import faiss` work, with faiss-cpu and no CUDA wheels,
#   - no test, benchmark, notebook or developer package was installed,
#   - a BM25 collection of docs/ can be built and queried with the `ragkit` command,
#   - a second setup.sh run only checks (its stamp matches) and takes seconds.
# Prints one JSON line with the install's time, size and package count.
#
#   bash scripts/check_install.sh [WORK_DIR]     # WORK_DIR is kept when given (default: a temporary folder)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work=${1:-$(mktemp -d)}
[ $# -ge 1 ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo"
# tracked files and new ones git does not ignore (no .venv, no indexes)
git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && tar --null -T - -cf -) | tar -x -C "$work/repo"
cd "$work/repo"
start=$(date +%s)
bash scripts/setup.sh --cpu
seconds=$(( $(date +%s) - start ))
py=.venv/bin/python
$py -c "import ragkit, faiss; assert not hasattr(faiss, 'StandardGpuResources'), 'a GPU build of FAISS'"
forbidden='^(pytest|hypothesis|rank[-_]bm25|bm25s|pandas|matplotlib|ray|ruff|mypy|import[-_]linter|ipykernel|nbclient|nbformat|notebook|pytrec[-_]eval[-_]terrier|opentelemetry[-_]sdk|psutil|faiss[-_]gpu|nvidia[-_].*)=='
extra=$($py -m pip list --format=freeze 2>/dev/null | grep -iE "$forbidden" || true)
if [ -n "$extra" ]; then echo "check_install: the runtime install holds test/dev packages:" $extra >&2; exit 1; fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/ragkit --version
.venv/bin/ragkit index docs "$work/docs-bm25" --no-vectors --no-progress > /dev/null
query_start=$(date +%s%N)
hits=$(.venv/bin/ragkit search "$work/docs-bm25" "how do I save a collection and open it again?" -k 1 --mode bm25 --json)
query_ms=$(( ($(date +%s%N) - query_start) / 1000000 ))
echo "$hits" | $py -c "import json, sys; hit = json.loads(sys.stdin.readline()); assert hit['rank'] == 1 and hit['doc_id'].endswith('.md'), hit"
again_start=$(date +%s%N)
bash scripts/setup.sh --cpu
again_ms=$(( ($(date +%s%N) - again_start) / 1000000 ))
[ "$again_ms" -lt 30000 ] || { echo "check_install: a second setup.sh took ${again_ms} ms (it should only check)" >&2; exit 1; }
size_mb=$(du -sm .venv | cut -f1)
packages=$($py -m pip list --format=freeze 2>/dev/null | wc -l)
printf '{"install_seconds": %d, "venv_mb": %d, "packages": %d, "bm25_search_ms": %d, "second_setup_ms": %d}\n' \
  "$seconds" "$size_mb" "$packages" "$query_ms" "$again_ms"
