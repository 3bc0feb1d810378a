/**
 * `npm run bench:compare`: the issue-13 table in one command — our workloads, the PyTorch baseline
 * (../shared/bench/torch-baseline, where torch is installed) and our matmul ceiling, all measured in
 * this run, each with the load average it started under. Our cases run in their own processes
 * (bench/child.ts, so peak RSS is per case); the whole-process case alternates ours and the baseline.
 * Writes bench/out/compare-baseline.md (the table) and bench/out/compare-baseline.json (everything).
 * `npm run bench:compare` compiles first: our cases and the whole-process case run the compiled code.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { CaseResult } from './cases/common.js';
import { torchBaseline } from './cases/startup.js';

const OUT = join(import.meta.dirname, 'out');
const ROOT = join(import.meta.dirname, '..');
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' / ');

interface Measured<T> {
  result: T | null;
  error?: string;
  loadAtStart: string;
  loadAtEnd: string;
}

/** glibc's transparent huge pages for malloc (docs/benchmarks.md: fresh pages are what costs on these VMs). */
const HUGE_PAGES = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' };

function ours(name: string, env: Record<string, string> = {}): Measured<CaseResult> {
  process.stderr.write(`ours: ${name}${Object.keys(env).length ? ` (${JSON.stringify(env)})` : ''}… (load ${load()})\n`);
  const loadAtStart = load();
  // The compiled case (this script compiles first), as users run the package: no TypeScript loader in
  // the process (tsx adds ~45 MiB to peak RSS and its own startup).
  const r = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'dist', 'bench', 'child.js'), name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24, env: { ...process.env, ...env } });
  const loadAtEnd = load();
  if (r.status !== 0) return { result: null, error: `exit ${r.status}`, loadAtStart, loadAtEnd };
  return { result: JSON.parse(r.stdout.trim().split('\n').pop()!) as CaseResult, loadAtStart, loadAtEnd };
}

function baseline(script: string | null, args: string[]): Measured<Record<string, unknown>> {
  const loadAtStart = load();
  if (!script) return { result: null, error: 'torch is not installed here', loadAtStart, loadAtEnd: loadAtStart };
  process.stderr.write(`baseline: ${args[0]}… (load ${loadAtStart})\n`);
  const r = spawnSync('/usr/bin/python3', [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  const loadAtEnd = load();
  if (r.status !== 0) return { result: null, error: `exit ${r.status}`, loadAtStart, loadAtEnd };
  return { result: JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>, loadAtStart, loadAtEnd };
}

const script = torchBaseline();
const started = new Date().toISOString();
// `npm run bench:compare -- stories` measures only what has a key containing an argument (the rest show –);
// keys: ours:matmul-gpt2, ours:forward-gpt2, ours:train-gpt2, ours:trajectory-gpt2, ours:huge-pages:{forward,train,trajectory}-gpt2, ours:train-stories,
// baseline:gpt2, baseline:train-stories, ours+baseline:startup-stories.
const wanted = process.argv.slice(2);
const skipped = <T>(): Measured<T> => ({ result: null, error: 'not selected', loadAtStart: load(), loadAtEnd: load() });
const maybe = <T>(key: string, fn: () => Measured<T>): Measured<T> => (!wanted.length || wanted.some((w) => key.includes(w)) ? fn() : skipped<T>());
const m = {
  matmul: maybe('ours:matmul-gpt2', () => ours('matmul')),
  forward: maybe('ours:forward-gpt2', () => ours('forward')),
  trainGpt2: maybe('ours:train-gpt2', () => ours('train-gpt2')),
  trajectory: maybe('ours:trajectory-gpt2', () => ours('trajectory')),
  forwardHuge: maybe('ours:huge-pages:forward-gpt2', () => ours('forward', HUGE_PAGES)),
  trainGpt2Huge: maybe('ours:huge-pages:train-gpt2', () => ours('train-gpt2', HUGE_PAGES)),
  trajectoryHuge: maybe('ours:huge-pages:trajectory-gpt2', () => ours('trajectory', HUGE_PAGES)),
  trainStories: maybe('ours:train-stories', () => ours('train-stories')),
  baselineGpt2: maybe('baseline:gpt2', () => baseline(script, ['gpt2-small', '--threads', '2', '--openblas-coretype', 'SkylakeX', '--repeats', '3', '--lens-repeats', '2'])),
  baselineStories: maybe('baseline:train-stories', () => baseline(script, ['train-stories', '--threads', '2', '--blas-threads', '1', '--openblas-coretype', 'SkylakeX', '--repeats', '3'])),
  wholeProcess: maybe('ours+baseline:startup-stories', () => ours('startup-stories')),
};

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const f = (v: number | null, digits = 0): string => (v === null ? '–' : v.toFixed(digits));
const ratio = (a: number | null, b: number | null): string => (a === null || b === null ? '–' : `${(a / b).toFixed(2)}×`);
const pct = (a: number | null, b: number | null): string => (a === null || b === null ? '–' : `${((100 * a) / b).toFixed(0)}%`);
const r = <T>(x: Measured<T>): T | Record<string, undefined> => x.result ?? {};
const loads = (...xs: Measured<unknown>[]): string => xs.map((x) => x.loadAtStart).join('; ');

const mm = r(m.matmul) as CaseResult;
const fw = r(m.forward) as CaseResult;
const tg = r(m.trainGpt2) as CaseResult;
const tj = r(m.trajectory) as CaseResult;
const ts = r(m.trainStories) as CaseResult;
const fwH = r(m.forwardHuge) as CaseResult;
const tgH = r(m.trainGpt2Huge) as CaseResult;
const tjH = r(m.trajectoryHuge) as CaseResult;
const wp = r(m.wholeProcess) as CaseResult;
const bg = r(m.baselineGpt2) as { forward_tokens_per_s?: { median: number }; lens_train_step_tokens_per_s?: { median: number }; matmul_gflop_per_s?: { median: number } };
const bs = r(m.baselineStories) as { tokens_per_s_median?: number };
// The workloads' own ceiling: the largest shape (2048×768 · 768×50257), as measured in the matmul case.
const unembedCeiling = num(Number(/2048x768x50257: ([\d.]+)/.exec(String(mm.detail ?? ''))?.[1]));
const bestCeiling = num(mm.gflops);
const bgFwd = bg.forward_tokens_per_s?.median ?? null;
const bgLens = bg.lens_train_step_tokens_per_s?.median ?? null;
const bgMm = bg.matmul_gflop_per_s?.median ?? null;

const rows: string[][] = [
  ['fp32 matmul 2048×768 · 768×50257 (GFLOP/s)', f(unembedCeiling, 1), f(bgMm, 1), ratio(unembedCeiling, bgMm), `best shape ${f(bestCeiling, 1)}`, loads(m.matmul, m.baselineGpt2)],
  ['GPT-2-small forward, 1024 tokens (tokens/s)', `${f(num(fw.tokensPerSecond))} (${f(num(fw.gflops), 1)} GFLOP/s)`, f(bgFwd), ratio(num(fw.tokensPerSecond), bgFwd), `${pct(num(fw.gflops), unembedCeiling)} of 2048×768·768×50257, ${pct(num(fw.gflops), num(fw.ceilingGflops))} of the same process's`, loads(m.forward)],
  ['… forward writing into the previous result (`into`)', `${f(num(fw.reusedTokensPerSecond))} (${f(num(fw.reusedGflops), 1)} GFLOP/s)`, f(bgFwd), ratio(num(fw.reusedTokensPerSecond), bgFwd), `${pct(num(fw.reusedGflops), unembedCeiling)} of 2048×768·768×50257, ${pct(num(fw.reusedGflops), num(fw.ceilingGflops))} of the same process's`, loads(m.forward)],
  ['GPT-2-small forward peak RSS', `${f(num(fw.peakRssMb))} MiB = ${ratio(num(fw.peakRssMb), num(fw.checkpointMb))} the checkpoint (with \`into\` runs: ${f(num(fw.reusedPeakRssMb))} MiB = ${ratio(num(fw.reusedPeakRssMb), num(fw.checkpointMb))})`, '–', '–', '–', loads(m.forward)],
  ['GPT-2-small lens training, seq 1024 (tokens/s)', `${f(num(tg.tokensPerSecond), 1)} (${f(num(tg.gflops), 1)} GFLOP/s)`, f(bgLens, 1), ratio(num(tg.tokensPerSecond), bgLens), `${pct(num(tg.gflops), unembedCeiling)}, ${pct(num(tg.gflops), num(tg.ceilingGflops))} of the same process's`, loads(m.trainGpt2)],
  ['GPT-2-small trajectory, 1024 tokens, logit lens, all statistics + top-10 (s)', `${f(num(tj.seconds), 2)} = ${f(num(tj.ratioToForward), 1)}× its forward`, '–', '–', `floor ${f(num(tj.floorSeconds), 2)} s → ${pct(num(tj.floorSeconds), num(tj.seconds))} of it`, loads(m.trajectory)],
  ['… forward with huge pages (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`)', `${f(num(fwH.tokensPerSecond))} (${f(num(fwH.gflops), 1)} GFLOP/s), peak RSS ${f(num(fwH.peakRssMb))} MiB = ${ratio(num(fwH.peakRssMb), num(fwH.checkpointMb))}`, f(bgFwd), ratio(num(fwH.tokensPerSecond), bgFwd), `${pct(num(fwH.gflops), unembedCeiling)}, ${pct(num(fwH.gflops), num(fwH.ceilingGflops))} of the same process's`, loads(m.forwardHuge)],
  ['… lens training with huge pages', `${f(num(tgH.tokensPerSecond), 1)} (${f(num(tgH.gflops), 1)} GFLOP/s)`, f(bgLens, 1), ratio(num(tgH.tokensPerSecond), bgLens), `${pct(num(tgH.gflops), unembedCeiling)}, ${pct(num(tgH.gflops), num(tgH.ceilingGflops))} of the same process's`, loads(m.trainGpt2Huge)],
  ['… trajectory with huge pages (s)', `${f(num(tjH.seconds), 2)} = ${f(num(tjH.ratioToForward), 1)}× its forward`, '–', '–', `floor ${f(num(tjH.floorSeconds), 2)} s → ${pct(num(tjH.floorSeconds), num(tjH.seconds))} of it`, loads(m.trajectoryHuge)],
  ['stories260K reference recipe, in process (tokens/s)', f(num(ts.tokensPerSecond)), f(bs.tokens_per_s_median ?? null), ratio(num(ts.tokensPerSecond), bs.tokens_per_s_median ?? null), '–', loads(m.trainStories, m.baselineStories)],
  ['stories260K `tuned-lens train`, whole process (s, median)', `${f(num(wp.seconds), 2)} (CPU ${f(num(wp.cpuSeconds), 2)}, --help ${f(num(wp.cliHelpSeconds), 2)})`, `${f(num(wp.baselineSeconds), 2)} (CPU ${f(num(wp.baselineCpuSeconds), 2)})`, wp.speedupOverBaseline === undefined ? '–' : `${f(num(wp.speedupOverBaseline), 2)}× faster`, '–', String(wp.loadAverage1m ?? m.wholeProcess.loadAtStart)],
];
const md = [
  `# Benchmarks against the PyTorch baseline, ${started}`,
  '',
  `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}; load average (1 / 5 / 15 min) at the start of each measurement in the last column (the whole-process row: 1-min load at each run).`,
  '',
  '| workload | ours | PyTorch baseline | ours / baseline | our matmul ceiling (same run) | load average |',
  '|---|---|---|---|---|---|',
  ...rows.map((row) => `| ${row.join(' | ')} |`),
  '',
  ...Object.entries(m).filter(([, x]) => x.error).map(([k, x]) => `* ${k}: ${x.error}`),
  '',
].join('\n');
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'compare-baseline.json'), JSON.stringify({ started, finished: new Date().toISOString(), cpus: cpus().length, cpu: cpus()[0]?.model, ...m }, null, 2));
writeFileSync(join(OUT, 'compare-baseline.md'), md);
process.stdout.write(md);
