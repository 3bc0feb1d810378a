/**
 * The server's admission control for compute requests: one job at a time (the engine serialises compute
 * anyway), at most `maxPending` admitted (running + waiting; beyond that a request is refused with 429 and a
 * Retry-After estimate), and a waiting job whose client has gone is dropped before it computes anything.
 */

/** Thrown for a request that is not admitted; `retryAfterSeconds` goes into the Retry-After header. */
export class GateFullError extends Error {
  override name = 'GateFullError';
  constructor(readonly retryAfterSeconds: number) {
    super(`The viewer is busy with other requests; try again in ${retryAfterSeconds} s.`);
  }
}

/** Rejects a waiting job whose client disconnected. */
export class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

export class JobGate {
  private admitted = 0;
  private tail: Promise<unknown> = Promise.resolve();
  /** Mean duration of finished jobs (ms), for Retry-After. */
  private meanMs = 1000;
  waiting = 0;

  constructor(readonly maxPending: number) {
    if (!Number.isInteger(maxPending) || maxPending < 1) throw new Error(`maxPending must be a positive integer, got ${maxPending}`);
  }

  run<T>(job: () => Promise<T>, signal: AbortSignal): Promise<T> {
    if (this.admitted >= this.maxPending) return Promise.reject(new GateFullError(Math.max(1, Math.ceil((this.admitted * this.meanMs) / 1000))));
    this.admitted++;
    this.waiting++;
    const result = this.tail.then(async () => {
      this.waiting--;
      if (signal.aborted) throw new ClientGoneError('the client disconnected before its job started');
      const t0 = Date.now();
      try {
        return await job();
      } finally {
        this.meanMs = 0.8 * this.meanMs + 0.2 * (Date.now() - t0);
      }
    });
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.tail = settled;
    void settled.then(() => this.admitted--);
    return result;
  }
}
