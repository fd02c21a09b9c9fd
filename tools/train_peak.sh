#!/usr/bin/env bash
# Training memory and speed of this project's train-time model against the PyTorch peer, side by side:
# `mobileone bench --train` and tools/train_peak_torch.py run alternately, each in its own process (so
# that each peak RSS is that of one measurement), for float32 and bfloat16, and a table of the medians
# over the rounds is printed with the ratios ours / PyTorch.
#
#   tools/train_peak.sh [--rounds 3] [--variant s0] [--batch 32] [--size 224] [--threads 1] [--warmup 2] [--steps 5] [--precisions "fp32 bf16"]
#                       [--ours-env "NAME=value ..."]
#
# --ours-env also measures ours under those environment variables (a third row, "ours+env"): a way to
# test allocator settings such as GLIBC_TUNABLES=glibc.malloc.tcache_count=0 side by side.
#
# MOBILEONE names our launcher (default ./mobileone; another checkout's, to measure an older version).
# PYTHON names the interpreter that has torch (default /usr/bin/python3, Debian's python3-torch).
# The raw JSON lines are kept in $OUT (default a temporary file, whose name is printed).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-/usr/bin/python3}"
mobileone="${MOBILEONE:-$root/mobileone}"
rounds=3 variant=s0 batch=32 size=224 threads=1 warmup=2 steps=5 precisions="fp32 bf16" ours_env=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2" ;;
    --variant) variant="$2" ;;
    --batch) batch="$2" ;;
    --size) size="$2" ;;
    --threads) threads="$2" ;;
    --warmup) warmup="$2" ;;
    --steps) steps="$2" ;;
    --precisions) precisions="$2" ;;
    --ours-env) ours_env="$2" ;;
    *) echo "train_peak.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
out="${OUT:-$(mktemp --suffix=.jsonl)}"
: > "$out"

ours() { # precision
  local flag=(); [ "$1" = bf16 ] && flag=(--bf16)
  # shellcheck disable=SC2086 # NAME=value words on purpose
  env ${extra_env:-} "$mobileone" bench --train --variant "$variant" --batch "$batch" --input-size "$size" --threads "$threads" \
    --warmup "$warmup" --runs "$steps" "${flag[@]}" --json 2>/dev/null | sed 's/^{/{"engine":"mobileone.net",/'
}
ours_env_run() { # precision: ours under the --ours-env variables
  extra_env="$ours_env" ours "$1" | sed 's/"engine":"mobileone.net"/"engine":"ours+env"/'
}
peer() { # precision
  local flag=(); [ "$1" = bf16 ] && flag=(--bf16)
  OMP_NUM_THREADS="$threads" "$python" "$root/tools/train_peak_torch.py" --variant "$variant" --batch "$batch" --size "$size" \
    --threads "$threads" --warmup "$warmup" --steps "$steps" "${flag[@]}" | sed 's/"engine": "pytorch[^"]*"/"engine": "pytorch"/'
}

"$mobileone" --version >/dev/null 2>&1 || true # build once, outside the measurements
for ((r = 1; r <= rounds; r++)); do
  for p in $precisions; do
    # Alternate which runs first, so that neither always meets the machine in the same state.
    if ((r % 2)); then order=(ours peer); else order=(peer ours); fi
    [ -n "$ours_env" ] && order+=(ours_env_run)
    for who in "${order[@]}"; do
      echo "round $r/$rounds: $who $p" >&2
      "$who" "$p" >> "$out"
    done
  done
done
echo "raw results: $out" >&2

"$python" - "$out" <<'EOF'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
med = lambda xs: statistics.median(xs)
def pick(engine, precision, key):
    return [r[key] for r in rows if r["engine"] == engine and r["precision"] == precision]
print(f"{'precision':<9} {'engine':<14} {'runs':>4} {'peak RSS MiB':>13} {'step ms':>9} {'img/s':>7}")
for precision in dict.fromkeys(r["precision"] for r in rows):
    stats = {}
    for engine in [e for e in ("mobileone.net", "ours+env", "pytorch") if pick(e, precision, "peak_rss_mib")]:
        peak, ms, ips = (med(pick(engine, precision, k)) for k in ("peak_rss_mib", "median_ms", "images_per_s"))
        stats[engine] = (peak, ms)
        print(f"{precision:<9} {engine:<14} {len(pick(engine, precision, 'peak_rss_mib')):>4} {peak:>13.0f} {ms:>9.0f} {ips:>7.2f}")
    pt, mt = stats["pytorch"]
    for engine in [e for e in stats if e != "pytorch"]:
        po, mo = stats[engine]
        print(f"{precision:<9} {engine.replace('mobileone.net', 'ours') + '/pytorch':<14} {'':>4} {po / pt:>13.2f} {mo / mt:>9.2f}")
EOF
