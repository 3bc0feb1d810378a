/** `tuned-lens lenses`: the pretrained lenses available in the reference's Hugging Face Space. */
import type { Command } from 'commander';
import { listPretrainedLenses, DEFAULT_LENS_REPO_ID } from '../../hub/lens-source.js';

export function registerLenses(program: Command): void {
  program
    .command('lenses')
    .description(`list the pretrained tuned lenses in the Hub Space ${DEFAULT_LENS_REPO_ID} (override with TUNED_LENS_REPO_ID / TUNED_LENS_REPO_TYPE); pass one as --lens <id>`)
    .action(async () => {
      const ids = await listPretrainedLenses();
      process.stdout.write(ids.length ? `${ids.join('\n')}\n` : 'no pretrained lenses found\n');
    });
}
