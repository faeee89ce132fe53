#!/usr/bin/env bash
# One command for a machine with nvcc and an NVIDIA GPU (issue 14, "When a GPU is present"):
#   bash bench/gpu-check.sh
# 1. builds the addon with cmake-js into build-gpu/ (CUDA kernels, since nvcc is present; your build/ is
#    left alone), 2. asks the addon whether a CUDA device is usable, and if so 3. runs the op and addon test
#    suites with the CUDA backend on the device and 4. the three op benchmarks (knn, mrconv, roi), whose
#    tables then have CUDA rows. Prints one summary line per step and a last line
#    "gpu-check: <verdict>". Each step has a time limit; the whole run fits in 8 minutes.
# Exit status: 0 all passed, 1 a step failed, 2 no GPU (or no nvcc): nothing could be checked on a device.
set -uo pipefail
cd "$(dirname "$0")/.."

ADDON=build-gpu/Release/sacl_au.node
started=$(date +%s)
summary=()
elapsed() { echo "$(( $(date +%s) - started )) s"; }
say() { summary+=("$1"); echo "gpu-check: $1"; }
finish() {
  echo
  echo "== gpu-check summary ($(elapsed)) =="
  printf '  %s\n' "${summary[@]}"
  echo "gpu-check: $2"
  exit "$1"
}

if ! command -v nvcc >/dev/null; then
  say "nvcc: not found on PATH"
  finish 2 "no nvcc: install the CUDA toolkit to build the CUDA kernels"
fi
say "nvcc: $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -1)"

[ -d node_modules ] || { say "node_modules missing: run npm ci first"; finish 1 "not set up"; }
[ -f dist/index.js ] || timeout 120 npm run -s build:ts >/dev/null 2>&1 || { say "TypeScript build failed"; finish 1 "build failed"; }

log=$(mktemp)
if ! timeout 300 npx --no-install cmake-js compile --out build-gpu >"$log" 2>&1; then
  tail -20 "$log"
  say "cmake-js build (build-gpu/): FAILED, see above"
  finish 1 "the CUDA build failed"
fi
if ! grep -q "CUDA kernels" "$log"; then
  say "cmake-js build (build-gpu/): built, but without CUDA kernels (cmake found no CUDA compiler)"
else
  say "cmake-js build (build-gpu/): $(grep -m1 "sacl-au: CUDA" "$log" | sed 's/^-- //')"
fi

status=$(SACL_ADDON="$ADDON" node -e "
  const a = require('./' + process.env.SACL_ADDON);
  const c = a.info().cuda;
  console.log(JSON.stringify({ compiled: c.compiled, available: c.available, devices: c.devices, reason: c.reason }));
" 2>&1) || { say "the build-gpu addon does not load: $status"; finish 1 "addon does not load"; }
say "CUDA status: $status"
if ! node -e "process.exit(JSON.parse(process.argv[1]).available ? 0 : 1)" "$status"; then
  finish 2 "no GPU present (see the CUDA status above): the device tests and CUDA benchmarks need one"
fi

tests=$(mktemp)
SACL_ADDON="$ADDON" SACL_TEST_BACKENDS=cuda timeout 240 node node_modules/uvu/bin.js test "(ops|native)/.*\.test\.js$" >"$tests" 2>&1
rc=$?
counts=$(sed -e 's/\x1b\[[0-9;]*m//g' "$tests" | awk '/^ *Total:/ { t = $2 } /^ *Passed:/ { p = $2 } END { printf "%d passed of %d", p, t }')
say "CUDA tests on the device: $counts (exit $rc)"
[ "$rc" -eq 0 ] || { tail -30 "$tests"; finish 1 "CUDA tests failed"; }

for b in knn mrconv roi; do
  out=$(mktemp)
  if SACL_ADDON="$ADDON" timeout 60 node "bench/$b.js" --quick >"$out" 2>&1; then
    rows=$(grep -cE '^[^#].*  cuda  ' "$out" || true)
    say "bench/$b.js --quick: $rows CUDA rows"
    grep -E '^[^#].*  cuda  ' "$out" | sed 's/^/    /'
  else
    tail -10 "$out"
    say "bench/$b.js --quick: FAILED"
    finish 1 "a benchmark failed"
  fi
done
finish 0 "all checks passed on the GPU"
