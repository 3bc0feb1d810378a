import { cliDownloadProgress } from '../hub/progress.js';
import type { TunedLens } from '../lens/lens.js';
import type { LanguageModel } from '../models/language-model.js';
import { loadTunedLens } from '../node/load-lens.js';

export async function loadLensForCli(model: LanguageModel, spec: string): Promise<TunedLens> {
  const progress = cliDownloadProgress();
  try {
    return await loadTunedLens(model, spec, { onProgress: progress });
  } finally {
    progress.stop();
  }
}
