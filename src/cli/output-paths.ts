/**
 * Up-front checks of the files and folders a command will write (`--out`, `--output`), so that a path that can
 * never be written fails before a long run, with the path as the user typed it, not with a raw EACCES/ENOTDIR
 * about an internal temporary file at the end.
 */
import { constants, promises as fsp, type Stats } from 'node:fs';
import * as nodePath from 'node:path';
import { CliError } from './common.js';

async function statOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.stat(p);
  } catch {
    return null;
  }
}

async function writable(p: string): Promise<boolean> {
  try {
    await fsp.access(p, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A folder that does not exist yet can be created iff its nearest existing ancestor is a writable folder. */
async function checkCreatable(dir: string, what: string): Promise<void> {
  let parent = nodePath.dirname(dir);
  for (;;) {
    const st = await statOrNull(parent);
    if (st) {
      if (!st.isDirectory()) throw new CliError(`${what}: cannot be created, because ${parent} is a file, not a folder`);
      if (!(await writable(parent))) throw new CliError(`${what}: cannot be created: no permission to write in ${parent}`);
      return;
    }
    const up = nodePath.dirname(parent);
    if (up === parent) throw new CliError(`${what}: cannot be created (no existing folder above it)`);
    parent = up;
  }
}

/** `flag path` names a file the command may create or replace. */
export async function checkOutputFile(flag: string, path: string): Promise<void> {
  const what = `${flag} ${path}`;
  const abs = nodePath.resolve(path);
  const st = await statOrNull(abs);
  if (st) {
    if (st.isDirectory()) throw new CliError(`${what}: is a folder; give a file name`);
    if (!st.isFile()) throw new CliError(`${what}: exists and is not a regular file`);
  }
  const dir = nodePath.dirname(abs);
  const dirSt = await statOrNull(dir);
  if (!dirSt) return checkCreatable(dir, what);
  if (!dirSt.isDirectory()) throw new CliError(`${what}: cannot be written, because ${dir} is a file, not a folder`);
  if (!(await writable(dir))) throw new CliError(`${what}: no permission to write in ${dir}`);
}

/** `flag dir` names a folder the command fills (created when missing). */
export async function checkOutputDir(flag: string, dir: string): Promise<void> {
  const what = `${flag} ${dir}`;
  const abs = nodePath.resolve(dir);
  const st = await statOrNull(abs);
  if (!st) return checkCreatable(abs, what);
  if (!st.isDirectory()) throw new CliError(`${what}: exists and is not a folder`);
  if (!(await writable(abs))) throw new CliError(`${what}: no permission to write in it`);
}
