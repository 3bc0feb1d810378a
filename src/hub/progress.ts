/**
 * Download progress for the CLI: a cli-progress bar on stderr when stderr is a terminal, otherwise one
 * plain line per file (bars written to a log file or CI output are just noise).
 */
import cliProgress from 'cli-progress';
import type { ProgressCallback } from './hub-client.js';

export interface CliDownloadProgress extends ProgressCallback {
  /** Stops a bar left running (e.g. after a failed download) so the terminal line is restored. */
  stop(): void;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export interface CliDownloadProgressOptions {
  /** Default `process.stderr`. */
  stream?: NodeJS.WriteStream;
  /** Force bar (true) or line (false) mode; default: bar exactly when the stream is a TTY. */
  tty?: boolean;
}

/** Returns an `onProgress` callback for `downloadFile` / `resolveModel` / `resolveLens`. */
export function cliDownloadProgress(options: CliDownloadProgressOptions = {}): CliDownloadProgress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  let bar: cliProgress.SingleBar | null = null;
  let current: string | null = null;
  let lastDone = 0;

  const stop = () => {
    bar?.stop();
    bar = null;
    current = null;
    lastDone = 0;
  };

  const cb = ((done: number, total: number | undefined, fileName: string) => {
    // Start afresh for another file, or when the count went back (the same file downloaded again).
    if (fileName !== current || done < lastDone) {
      stop();
      current = fileName;
      if (tty) {
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: `{file} [{bar}] {percentage}% | {done} / {size} | ETA {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total ?? 0, 0, { file: fileName, done: formatBytes(0), size: total === undefined ? '?' : formatBytes(total) });
      } else {
        stream.write(`Downloading ${fileName}${total === undefined ? '' : ` (${formatBytes(total)})`}\n`);
      }
    }
    lastDone = done;
    if (bar) {
      if (total !== undefined && bar.getTotal() !== total) bar.setTotal(total);
      bar.update(done, { done: formatBytes(done), size: total === undefined ? '?' : formatBytes(total) });
    }
    // The final call of a successful download has done === total.
    if (total !== undefined && done === total && current === fileName) stop();
  }) as CliDownloadProgress;
  cb.stop = stop;
  return cb;
}
