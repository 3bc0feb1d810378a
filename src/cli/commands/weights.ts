/** `tuned-lens weights`: static analysis of weights through the logit and tuned lens (App. E.1, Table 3, Fig. 21). */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { nodeFileSystem } from '../../node/file-system.js';
import { provenance, writeResultJson } from '../../node/provenance.js';
import { loadWordVectors } from '../../node/word-vectors.js';
import { renderFigureSvg } from '../../viz/render.js';
import { analyzeWeights, boxStats, TABLE_ROWS, type DecodedVector } from '../../weights/analysis.js';
import { layerDistributionFigure, tableFigure, vectorBrowserHtml } from '../../weights/figures.js';
import { SOURCE_TITLES, SOURCES, type SourceName } from '../../weights/sources.js';
import { CliError, loadModelForCli, MODEL_OPTION_HELP, parsePositiveInt } from '../common.js';
import { loadLensForCli } from '../lens-loading.js';

interface WeightsFlags {
  model?: string;
  lens: string;
  output: string;
  k: number;
  embeddings?: string;
  corpus?: string[];
  seed: number;
  sources?: string;
  layers?: string;
}

function parseList<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of items) if (!allowed.includes(s as T)) throw new CliError(`${flag}: unknown "${s}" (choose from ${allowed.join(', ')})`);
  return items as T[];
}

function textTable(rows: Record<string, Partial<Record<SourceName, number | null>>>, sources: SourceName[]): string {
  const width = (s: SourceName): number => Math.max(10, SOURCE_TITLES[s].length + 2);
  const head = `${''.padEnd(14)}${sources.map((s) => SOURCE_TITLES[s].padStart(width(s))).join('')}`;
  const lines = [head];
  for (const r of TABLE_ROWS) {
    if (!sources.some((s) => rows[r]![s] !== undefined)) continue;
    lines.push(`${r.padEnd(14)}${sources.map((s) => (rows[r]![s] == null ? 'n/a' : rows[r]![s]!.toFixed(4)).padStart(width(s))).join('')}`);
  }
  return lines.join('\n');
}

export function registerWeights(program: Command): void {
  program
    .command('weights')
    .description('decode weight vectors (OV/QK circuit SVD, MLP in/out SVD, rows and columns) through the logit and tuned lens and score their top tokens for interpretability (paper App. E, Table 3)')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .requiredOption('-l, --lens <lens>', 'tuned lens folder or pretrained id')
    .requiredOption('-o, --output <dir>', 'folder for table3.json, vectors.jsonl, figures')
    .option('-k, --k <k>', 'top tokens per vector', parsePositiveInt('--k'), 10)
    .option('--embeddings <file>', 'word vectors in word2vec or GloVe text format (default: PPMI + SVD vectors built from the shared corpora, cached)')
    .option('--corpus <files...>', 'text files to build the default word vectors from (instead of the shared corpora)')
    .option('--seed <n>', 'seed of the random baseline', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new CliError(`--seed must be a non-negative integer, got "${v}"`);
      return n;
    }, 0)
    .option('--sources <list>', `comma-separated subset of ${SOURCES.join(', ')}`)
    .option('--layers <list>', 'comma-separated blocks to analyse (default: all)')
    .action(async (f: WeightsFlags) => {
      if (f.k < 2) throw new CliError('--k must be at least 2 (a score compares pairs of tokens)');
      const sources = parseList('--sources', f.sources, SOURCES);
      const layers = f.layers?.split(',').map((s) => {
        const n = Number(s.trim());
        if (!Number.isInteger(n) || n < 0) throw new CliError(`--layers: "${s}" is not a block index`);
        return n;
      });
      const model = await loadModelForCli(f.model);
      if (layers) for (const l of layers) if (l >= model.nLayers) throw new CliError(`--layers: block ${l} does not exist (${model.name} has blocks 0..${model.nLayers - 1})`);
      const lens = await loadLensForCli(model, f.lens);
      const { vectors: words, source: wordSource } = await loadWordVectors({ embeddings: f.embeddings, corpus: f.corpus, onStatus: (m) => process.stderr.write(`${m}\n`) });

      const fs = nodeFileSystem;
      await fs.mkdirp(f.output);
      const out = (name: string): string => fs.join(f.output, name);
      // vectors.jsonl can be large: stream it to a temporary file, rename when complete.
      const tmp = out(`vectors.jsonl.tmp-${process.pid}`);
      const stream = createWriteStream(tmp);
      const browse: DecodedVector[] = [];
      const bar = new cliProgress.SingleBar({ format: 'weights {value}/{total} layers |{bar}|', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 }, cliProgress.Presets.shades_classic);
      bar.start(layers?.length ?? model.nLayers, 0);
      let analysis;
      try {
        analysis = await analyzeWeights(model, lens, words, {
          k: f.k,
          seed: f.seed,
          sources,
          layers,
          onLayer: (d) => bar.update(d),
          onVector: async (v) => {
            if (!stream.write(`${JSON.stringify(v)}\n`)) await new Promise<void>((r) => stream.once('drain', () => r()));
            if (v.matrix === 'real' && browse.length < 50000) browse.push(v);
          },
        });
        await new Promise<void>((resolve, reject) => {
          stream.once('error', reject);
          stream.end(() => resolve());
        });
        await rename(tmp, out('vectors.jsonl'));
      } catch (e) {
        stream.destroy();
        await rm(tmp, { force: true });
        throw e;
      } finally {
        bar.stop();
      }

      const prov = await provenance({
        command: 'weights',
        schemaVersion: 1,
        model: f.model ?? 'stories260K',
        lens: f.lens,
        data: wordSource.kind === 'file' ? [wordSource.path] : (wordSource.corpus ?? []),
        seed: f.seed,
        settings: { k: f.k, sources: analysis.sources, layers: analysis.layers, word_vectors: wordSource },
      });
      const perLayer: Record<string, Record<string, unknown[]>> = {};
      for (const r of TABLE_ROWS) {
        perLayer[r] = {};
        for (const s of analysis.sources) {
          const layersScores = analysis.perLayer[r][s];
          if (layersScores) perLayer[r][s] = layersScores.map((xs, i) => ({ layer: analysis.layers[i], ...(boxStats(xs) ?? { n: 0 }) }));
        }
      }
      await writeResultJson(out('table3.json'), {
        rows: analysis.rows,
        columns: Object.fromEntries(analysis.sources.map((s) => [s, SOURCE_TITLES[s]])),
        counts: analysis.counts,
        per_layer: perLayer,
        skipped_tokens: analysis.skippedTokens,
        decoded_tokens: analysis.decodedTokens,
        description:
          'Mean interpretability score (mean cosine similarity of the distinct words of each top-k list under the word vectors) over every vector of every layer. Rows: logit/tuned lens × real weights/random matrices of the same shapes and norms. Tokens without a word vector are skipped (skipped_tokens); lists with fewer than two words are unscored (counts).',
        provenance: prov,
      });
      const title = `${model.name}: interpretability of weight vectors (k = ${f.k})`;
      const writeSvg = async (name: string, fig: { option: unknown; width: number; height: number }): Promise<void> => {
        await fs.writeAtomic(out(name), renderFigureSvg(fig as Parameters<typeof renderFigureSvg>[0]));
      };
      await writeSvg('table3.svg', tableFigure(analysis, title));
      for (const s of analysis.sources) await writeSvg(`layers_${s}.svg`, layerDistributionFigure(analysis, s, `${model.name}: ${SOURCE_TITLES[s]} scores per layer`));
      await fs.writeAtomic(out('vectors.html'), vectorBrowserHtml(`${model.name}: top tokens of weight vectors`, browse));
      process.stdout.write(`${textTable(analysis.rows, analysis.sources)}\nwrote ${f.output}/table3.json, vectors.jsonl, vectors.html, table3.svg, layers_<source>.svg\n`);
    });
}
