#!/usr/bin/env bash
# GPU benchmark: forward, lens training and trajectory on GPT-2-small shapes, on every available provider
# (cpu; webgpu where a GPU with a Vulkan driver exists — built into onnxruntime-node, no download; cuda where
# onnxruntime-node's CUDA files are installed), each with the matmul ceiling of the same provider. Prints a table
# and writes bench/out/gpu.json. Every case runs in its own process with TUNED_LENS_DEVICE_FALLBACK=0, so a
# provider that cannot start is reported as unavailable instead of silently timing the CPU.
#   bash bench/gpu.sh                 # all providers
#   PROVIDERS="cpu webgpu" bash bench/gpu.sh
# BENCH_CHILD overrides how a case is run (default: node --import tsx bench/child.ts), e.g. a bundled child.
set -uo pipefail
cd "$(dirname "$0")/.."
CHILD=${BENCH_CHILD:-"node --expose-gc --import tsx bench/child.ts"}
PROVIDERS=${PROVIDERS:-"cpu webgpu cuda"}
CASES=${CASES:-"matmul forward train-gpt2 trajectory"}
PER_CASE_TIMEOUT=${PER_CASE_TIMEOUT:-240}
mkdir -p bench/out
out=bench/out/gpu.jsonl
: >"$out"
for p in $PROVIDERS; do
  for c in $CASES; do
    echo "[$p] $c …" >&2
    line=$(TUNED_LENS_DEVICE=$p TUNED_LENS_DEVICE_FALLBACK=0 timeout "$PER_CASE_TIMEOUT" $CHILD "$c" 2>"bench/out/gpu-$p-$c.err" | tail -n 1)
    rc=$?
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
      why=$(grep -m1 -E '^[A-Za-z]*Error: ' "bench/out/gpu-$p-$c.err" | cut -c1-240 | tr '"' "'")
      [ $rc -eq 124 ] && why="timed out after ${PER_CASE_TIMEOUT}s"
      line="{\"name\":\"$c\",\"provider\":\"$p\",\"error\":\"${why:-exit $rc}\"}"
    fi
    echo "{\"requested\":\"$p\",\"case\":\"$c\",\"result\":$line}" >>"$out"
  done
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const ceil = {};
for (const r of rows) if (r.case === "matmul" && typeof r.result.gflops === "number") ceil[r.requested] = r.result.gflops;
const f = (v, d = 3) => (typeof v === "number" ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(d)) : "–");
console.log("| provider | case | seconds | tokens/s | GFLOP/s | % of ceiling | peak RSS MB | note |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const x = r.result;
  const pct = typeof x.gflops === "number" && ceil[r.requested] && r.case !== "matmul" ? f((100 * x.gflops) / ceil[r.requested]) : "–";
  const note = x.error ? "unavailable: " + x.error : r.case === "matmul" ? x.detail : r.case === "trajectory" ? "forward " + f(x.forwardSeconds) + " s, ratio " + f(x.ratioToForward) : "";
  console.log(`| ${r.requested} | ${r.case} | ${f(x.seconds)} | ${f(x.tokensPerSecond)} | ${f(x.gflops)} | ${pct} | ${f(x.peakRssMb)} | ${note} |`);
}
require("fs").writeFileSync("bench/out/gpu.json", JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
' "$out"
