import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import type { FileSystem, RandomAccessFile } from '../io/file-system.js';

class NodeRandomAccessFile implements RandomAccessFile {
  constructor(
    readonly path: string,
    readonly size: number,
    private readonly handle: fsp.FileHandle,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || offset + length > this.size) {
      throw new Error(`${this.path}: read of ${length} bytes at offset ${offset} goes past the end of the file (${this.size} bytes); the file is truncated or corrupt`);
    }
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw new Error(`${this.path}: unexpected end of file at byte ${offset + done}`);
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

let tmpCounter = 0;

/**
 * Only regular files are read: opening a FIFO blocks until something writes to it (a hang), and a device or
 * folder is never a model or lens file. Checked with stat before open, which does not block.
 */
async function requireRegularFile(path: string): Promise<void> {
  const st = await fsp.stat(path);
  if (!st.isFile()) {
    const kind = st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a named pipe (FIFO)' : st.isSocket() ? 'a socket' : 'a device or other special file';
    throw new Error(`${path}: is ${kind}, not a regular file`);
  }
}

/** What went wrong in a write, in words, naming the file the caller asked for (not our temporary file). */
function writeError(path: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    ENOTDIR: 'a folder in the path is a file',
    EISDIR: 'it is a folder',
    EEXIST: 'a folder or file in the way already exists',
    ENAMETOOLONG: 'the name is too long',
  };
  const reason = (code && why[code]) ?? (e as Error).message;
  return new Error(`${path}: cannot write it: ${reason}${code && why[code] ? ` (${code})` : ''}`, { cause: e });
}

export class NodeFileSystem implements FileSystem {
  async open(path: string): Promise<RandomAccessFile> {
    await requireRegularFile(path);
    const handle = await fsp.open(path, 'r');
    const { size } = await handle.stat();
    return new NodeRandomAccessFile(path, size, handle);
  }
  async readBytes(path: string): Promise<Uint8Array> {
    await requireRegularFile(path);
    const b = await fsp.readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  async readText(path: string): Promise<string> {
    await requireRegularFile(path);
    return fsp.readFile(path, 'utf8');
  }
  async exists(path: string): Promise<boolean> {
    try {
      await fsp.stat(path);
      return true;
    } catch {
      return false;
    }
  }
  async isDirectory(path: string): Promise<boolean> {
    try {
      return (await fsp.stat(path)).isDirectory();
    } catch {
      return false;
    }
  }
  list(dir: string): Promise<string[]> {
    return fsp.readdir(dir);
  }
  async writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
    const tmp = `${path}.tmp-${process.pid}-${tmpCounter++}`;
    try {
      await fsp.mkdir(nodePath.dirname(path), { recursive: true });
      await fsp.writeFile(tmp, data);
      await fsp.rename(tmp, path);
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => {});
      throw writeError(path, e);
    }
  }
  async remove(path: string): Promise<void> {
    await fsp.rm(path, { force: true });
  }
  async mkdirp(dir: string): Promise<void> {
    await fsp.mkdir(dir, { recursive: true });
  }
  join(...parts: string[]): string {
    return nodePath.join(...parts);
  }
}

export const nodeFileSystem = new NodeFileSystem();
