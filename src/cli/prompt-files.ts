/** Reading JSON Lines inputs of the application commands, with errors that name the file and line. */
import { readFileSync } from 'node:fs';
import type { LanguageModel } from '../models/language-model.js';
import { CliError } from './common.js';

/** Parsed lines of a JSON Lines file (blank lines skipped; `line` is 1-based). */
export function readJsonLines(path: string, flag: string): { line: number; value: Record<string, unknown> }[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`${flag} ${path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const out: { line: number; value: Record<string, unknown> }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      throw new CliError(`${flag} ${path}, line ${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CliError(`${flag} ${path}, line ${i + 1}: expected a JSON object`);
    out.push({ line: i + 1, value: v as Record<string, unknown> });
  });
  if (out.length === 0) throw new CliError(`${flag} ${path}: the file has no examples`);
  return out;
}

/**
 * Prompts from JSON Lines with `text` (tokenized by the model) or pre-tokenized `input_ids`, each with its
 * 0-based line number in the file. Ids are checked against the vocabulary.
 */
export function readPrompts(path: string, flag: string, model: LanguageModel): { ids: number[]; index: number }[] {
  const V = model.config.vocabSize;
  return readJsonLines(path, flag).map(({ line, value }) => {
    const where = `${flag} ${path}, line ${line}`;
    if (Array.isArray(value.input_ids)) {
      const ids = value.input_ids as unknown[];
      if (ids.length === 0) throw new CliError(`${where}: input_ids is empty`);
      if (ids.some((v) => !Number.isInteger(v) || (v as number) < 0 || (v as number) >= V)) throw new CliError(`${where}: input_ids must be integers in 0..${V - 1}`);
      return { ids: ids as number[], index: line - 1 };
    }
    if (typeof value.text !== 'string') throw new CliError(`${where}: needs a "text" string or an "input_ids" array`);
    const ids = model.encode(value.text);
    if (ids.length === 0) throw new CliError(`${where}: the text produced no tokens`);
    return { ids, index: line - 1 };
  });
}
