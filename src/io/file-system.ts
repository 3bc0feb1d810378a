/**
 * The only way core code touches files. Node gets `NodeFileSystem` (io/node-file-system.ts); a browser
 * build can supply one backed by fetch/File objects. Nothing under graph/, models/, lens/, formats/ or
 * trajectory/ may import `node:*` modules directly.
 */
export interface RandomAccessFile {
  readonly path: string;
  readonly size: number;
  /** Reads exactly `length` bytes at `offset`; throws if the file is shorter. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface FileSystem {
  open(path: string): Promise<RandomAccessFile>;
  readBytes(path: string): Promise<Uint8Array>;
  readText(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
  isDirectory(path: string): Promise<boolean>;
  list(dir: string): Promise<string[]>;
  /** Writes to a temporary file beside `path`, then renames it: readers never see half a file. */
  writeAtomic(path: string, data: Uint8Array | string): Promise<void>;
  mkdirp(dir: string): Promise<void>;
  /** Deletes a file (no error when it is absent). Optional: read-only file systems leave it out. */
  remove?(path: string): Promise<void>;
  join(...parts: string[]): string;
}
