/** `tuned-lens depth`: token-level prediction depth of a text (paper Fig. 11) as a figure and JSON. */
import * as nodePath from 'node:path';
import type { Command } from 'commander';
import { tokenPredictionDepths } from '../../applications/depth.js';
import { LogitLens, type Lens } from '../../lens/lens.js';
import type { LanguageModel } from '../../models/language-model.js';
import { nodeFileSystem } from '../../node/file-system.js';
import { provenance, writeResultJson } from '../../node/provenance.js';
import { normalizePiece } from '../../trajectory/token-display.js';
import { writeSvgOrPng } from '../../viz/chart-file.js';
import { renderTokenDepthHtml, renderTokenDepthSvg } from '../../viz/token-depth-figure.js';
import { CliError, inputIds, loadModelForCli, MODEL_OPTION_HELP } from '../common.js';
import { loadLensForCli } from '../lens-loading.js';

export const DEPTH_SCHEMA_VERSION = 1;
const OUT_EXTENSIONS = ['.svg', '.png', '.html', '.htm'];

/** A token as text: the vocabulary piece with its spaces and newlines (byte-level markers undone). */
export function tokenText(model: LanguageModel, id: number): string {
  const p = normalizePiece(model.tokenizer.idToPiece(id));
  return /^<[^<>\s]+>$/.test(p) ? p : p.replace(/Ġ/g, ' ').replace(/Ċ/g, '\n').replace(/▁/g, ' ');
}

interface DepthOptions {
  model?: string;
  ids?: string;
  lens?: string;
  logit?: boolean;
  out?: string;
  json?: string;
  title?: string;
}

export function registerDepth(program: Command): void {
  program
    .command('depth')
    .description('token-level prediction depth: the layer from which the lens\'s top-1 stays the model\'s final top-1; the text coloured by depth (.html, .svg or .png) and/or JSON')
    .argument('[text]', 'input text')
    .option('-m, --model <model>', MODEL_OPTION_HELP)
    .option('--ids <ids>', 'comma-separated token ids instead of text')
    .option('-l, --lens <lens>', 'tuned lens folder or pretrained lens id')
    .option('--logit', 'use the logit lens')
    .option('-o, --out <file>', 'figure: .html, .svg or .png')
    .option('--json <file>', 'also write {"input_ids", "tokens", "depth"} (depth[t] = depth of the prediction made at position t)')
    .option('--title <title>', 'figure title')
    .action(async (text: string | undefined, opts: DepthOptions) => {
      if (!opts.out && !opts.json) throw new CliError('give --out <file> (.html, .svg or .png) and/or --json <file>');
      if (opts.out && !OUT_EXTENSIONS.includes(nodePath.extname(opts.out).toLowerCase())) throw new CliError(`--out ${opts.out}: the file name must end in .html, .svg or .png`);
      if (opts.lens && opts.logit) throw new CliError('give either --lens or --logit, not both');
      if (!opts.lens && !opts.logit) throw new CliError('give --lens <lens> (tuned lens) or --logit');
      if (text !== undefined && opts.ids !== undefined) throw new CliError('give either text or --ids, not both');
      const model = await loadModelForCli(opts.model);
      const ids = inputIds(model, text, opts.ids);
      const lens: Lens = opts.lens ? await loadLensForCli(model, opts.lens) : new LogitLens(model);
      const r = await tokenPredictionDepths(lens, ids);
      const tokens = ids.map((id) => tokenText(model, id));
      if (opts.out) {
        const fig = {
          title: opts.title ?? `Prediction depth — ${model.name}, ${opts.lens ? 'tuned lens' : 'logit lens'}`,
          tokens,
          depth: r.depth,
          maxDepth: r.nLayers,
          notes: r.finalTop1.map((id) => `final top-1 next token: ${JSON.stringify(tokenText(model, id))}`),
        };
        const ext = nodePath.extname(opts.out).toLowerCase();
        if (ext === '.html' || ext === '.htm') await nodeFileSystem.writeAtomic(opts.out, renderTokenDepthHtml(fig));
        else await writeSvgOrPng(opts.out, renderTokenDepthSvg(fig));
        process.stdout.write(`${nodePath.resolve(opts.out)}\n`);
      }
      if (opts.json) {
        await writeResultJson(opts.json, {
          provenance: await provenance({ command: 'depth', schemaVersion: DEPTH_SCHEMA_VERSION, model: opts.model ?? 'stories260K', lens: opts.lens ?? null, settings: { lens_kind: lens.kind, n_layers: r.nLayers } }),
          input_ids: ids,
          tokens,
          depth: r.depth,
          final_top1: r.finalTop1,
          n_layers: r.nLayers,
        });
        process.stdout.write(`${nodePath.resolve(opts.json)}\n`);
      }
    });
}
