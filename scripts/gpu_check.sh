#!/usr/bin/env bash
# GPU checks: the gpu-marked tests and a short GPU benchmark, everything written under one folder.
#
#   bash scripts/gpu_check.sh [OUT_DIR]     # OUT_DIR: default $OUT, else a new temporary folder
#
# Without a GPU (no nvidia-smi, no GPU listed, or neither FAISS nor torch sees one) it prints one
# line, writes OUT_DIR/gpu_check.json = {"gpu": false, "reason": ...} and exits 0, installing nothing.
#
# With a GPU it runs, each step under `timeout` (about 8 minutes in all):
#   1. installs the wheels carried in the working tree (GPU_WHEELS, else .gpu-wheels/, else
#      shared/wheels/) into a fresh folder put first on PYTHONPATH; with none carried it uses what is
#      installed. Fill the folder on any machine with pip (Python version of the GPU machine):
#        pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#          --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .gpu-wheels \
#          faiss-gpu==1.15.1 nvidia-cublas-cu12 nvidia-cuda-runtime-cu12 nvidia-curand-cu12 PyStemmer xxhash
#      A folder holding both faiss-gpu and faiss-cpu wheels is refused: both own the faiss package.
#   2. the gpu-marked tests:  pytest -m gpu <every test file with a gpu mark>
#   3. benchmarks/gpu_bench.py (FAISS Flat/IVF on the GPU, embedding throughput); it writes
#      benchmarks/results/gpu.{json,md} and copies under OUT_DIR.
# Writes OUT_DIR/gpu_check.json (steps, exit codes, seconds) and the logs; exits 1 if a step failed.
#
# Environment: PYTHON (default .venv/bin/python, else python3), GPU_WHEELS, GPU_BENCH_ARGS (extra
# arguments of gpu_bench.py, e.g. "--n 200000"), GPU_CHECK_SITE (install folder).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-${OUT:-}}
[[ -n $out ]] || out=$(mktemp -d "${TMPDIR:-/tmp}/ragkit-gpu-check.XXXXXX")
if ! mkdir -p "$out" || ! out=$(cd "$out" && pwd); then echo "gpu_check: cannot create $out" >&2; exit 2; fi
record=$out/gpu_check.json
started=$SECONDS

json_string() {  # $1 as a JSON string (one line)
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\t'/ }
    printf '"%s"' "${s//$'\n'/ }"
}

no_gpu() {
    echo "gpu_check: no GPU ($1); nothing run, record in $record"
    printf '{"gpu": false, "reason": %s}\n' "$(json_string "$1")" >"$record"
    exit 0
}

# -- is there a GPU? (nothing installed, nothing heavy imported, before this is known) --------------
command -v nvidia-smi >/dev/null 2>&1 || no_gpu "nvidia-smi not found"
gpus=$(timeout 20 nvidia-smi -L 2>&1) || no_gpu "nvidia-smi failed: ${gpus:0:200}"
grep -q '^GPU ' <<<"$gpus" || no_gpu "nvidia-smi lists no GPU"

py=${PYTHON:-}
if [[ -z $py ]]; then
    if [[ -x $root/.venv/bin/python ]]; then py=$root/.venv/bin/python; else py=python3; fi
fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
cd "$root" || exit 2

# -- 1. carried wheels ----------------------------------------------------------------------------------
wheels=${GPU_WHEELS:-}
if [[ -z $wheels ]]; then
    for candidate in "$root/.gpu-wheels" "$root/shared/wheels"; do
        if compgen -G "$candidate/*.whl" >/dev/null; then wheels=$candidate; break; fi
    done
elif ! compgen -G "$wheels/*.whl" >/dev/null; then
    echo "gpu_check: GPU_WHEELS=$wheels holds no wheels"
    wheels=
fi
install_rc=null
if [[ -n $wheels ]]; then
    if compgen -G "$wheels/faiss_gpu*.whl" >/dev/null && compgen -G "$wheels/faiss_cpu*.whl" >/dev/null; then
        echo "gpu_check: $wheels holds both faiss-gpu and faiss-cpu wheels; keep only faiss-gpu" >&2
        exit 2
    fi
    site=${GPU_CHECK_SITE:-${TMPDIR:-/tmp}/ragkit-gpu-site}
    rm -rf "$site"  # a fresh folder: a carried faiss-gpu never lands over an installed faiss-cpu
    carried=("$wheels"/*.whl)
    echo "gpu_check: installing ${#carried[@]} wheels from $wheels"
    timeout 90 "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" \
        "${carried[@]}" >"$out/install.log" 2>&1
    install_rc=$?
    [[ $install_rc == 0 ]] || { echo "gpu_check: wheel install failed (rc $install_rc), see $out/install.log" >&2; }
    export PYTHONPATH=$site:$root/src${PYTHONPATH:+:$PYTHONPATH}
else
    echo "gpu_check: no wheels carried (.gpu-wheels/, shared/wheels/): using the installed packages"
    export PYTHONPATH=$root/src${PYTHONPATH:+:$PYTHONPATH}
fi

# -- what the libraries see ------------------------------------------------------------------------
probe=$(timeout 45 "$py" - <<'EOF' 2>"$out/probe.log"
import json
seen = {"faiss": None, "faiss_file": None, "faiss_gpus": 0, "torch_cuda": False, "device": None}
try:
    import faiss
    seen["faiss"], seen["faiss_file"] = faiss.__version__, faiss.__file__
    seen["faiss_gpus"] = int(faiss.get_num_gpus()) if hasattr(faiss, "StandardGpuResources") else 0
except ImportError as exc:
    seen["faiss_error"] = str(exc)[:200]
try:
    import torch
    seen["torch"] = torch.__version__
    seen["torch_cuda"] = bool(torch.cuda.is_available())
    if seen["torch_cuda"]:
        seen["device"] = torch.cuda.get_device_name(0)
except ImportError as exc:
    seen["torch_error"] = str(exc)[:200]
print(json.dumps(seen))
EOF
) || no_gpu "the library probe failed: $(tail -n 1 "$out/probe.log")"
if ! grep -q '"faiss_gpus": [1-9]' <<<"$probe" && ! grep -q '"torch_cuda": true' <<<"$probe"; then
    no_gpu "nvidia-smi lists a GPU but neither FAISS (faiss.get_num_gpus() == 0) nor torch sees it"
fi
echo "gpu_check: $(head -n 1 <<<"$gpus"); libraries: $probe"

# -- 2. gpu-marked tests --------------------------------------------------------------------------------
mapfile -t test_files < <(grep -rl --include='*.py' 'mark\.gpu' tests | sort)
timeout 150 "$py" -m pytest -q -p no:cacheprovider -m gpu "${test_files[@]}" >"$out/gpu_tests.log" 2>&1
tests_rc=$?
echo "gpu_check: tests rc $tests_rc: $(tail -n 1 "$out/gpu_tests.log")"

# -- 3. benchmark -----------------------------------------------------------------------------------------
# shellcheck disable=SC2086  # GPU_BENCH_ARGS is a list of arguments
timeout 170 "$py" benchmarks/gpu_bench.py --out "$out" ${GPU_BENCH_ARGS:-} >"$out/gpu_bench.log" 2>&1
bench_rc=$?
echo "gpu_check: benchmark rc $bench_rc: $(tail -n 1 "$out/gpu_bench.log")"

status=0
if [[ $install_rc != null && $install_rc != 0 ]] || [[ $tests_rc != 0 || $bench_rc != 0 ]]; then status=1; fi
printf '{"gpu": true, "nvidia_smi": %s, "libraries": %s, "wheels": %s, "steps": {"install": %s, "tests": %s, "bench": %s}, "seconds": %d, "ok": %s}\n' \
    "$(json_string "$gpus")" "$probe" "$(json_string "${wheels:-}")" "$install_rc" "$tests_rc" "$bench_rc" \
    $((SECONDS - started)) "$([[ $status == 0 ]] && echo true || echo false)" >"$record"
echo "gpu_check: done in $((SECONDS - started)) s (124 = a step timed out); record in $record"
exit $status
