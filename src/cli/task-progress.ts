/** A progress bar on stderr for long analysis loops (plain periodic lines when stderr is not a terminal). */
import cliProgress from 'cli-progress';

export interface TaskProgress {
  update(done: number, total?: number): void;
  stop(): void;
}

export function taskProgress(label: string, total: number): TaskProgress {
  const bar = new cliProgress.SingleBar(
    { format: `${label} |{bar}| {value}/{total}`, stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (done, t) => {
      if (t !== undefined && t !== bar.getTotal()) bar.setTotal(t);
      bar.update(done);
    },
    stop: () => bar.stop(),
  };
}
