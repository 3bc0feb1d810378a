/**
 * Hugging Face `config.json`. Typed loosely: each architecture has its own field names (`n_embd`, `hidden_size`,
 * `d_model`, ...), which the model builders interpret; here we only guarantee it is a JSON object with a `model_type`.
 */
import type { FileSystem } from '../io/file-system.js';

export interface HfConfig {
  model_type: string;
  [key: string]: unknown;
}

/** Reads and checks `<dir>/config.json`. Errors name the file. */
export async function readHfConfig(fs: FileSystem, dir: string): Promise<HfConfig> {
  const path = fs.join(dir, 'config.json');
  if (!(await fs.exists(path))) {
    throw new Error(`${path}: not found (a Hugging Face model folder needs a config.json)`);
  }
  return parseHfConfig(await fs.readText(path), path);
}

/** Parses config.json text; `path` is only used in error messages. */
export function parseHfConfig(text: string, path = 'config.json'): HfConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${path}: expected a JSON object`);
  }
  const mt = (parsed as Record<string, unknown>).model_type;
  if (typeof mt !== 'string' || mt === '') {
    throw new Error(`${path}: has no "model_type" string, so the architecture cannot be determined`);
  }
  return parsed as HfConfig;
}
