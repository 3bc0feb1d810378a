/** Hub failures: one error class with a code callers can react to (e.g. list available lenses on `not-found`). */

export type HubErrorCode = 'not-found' | 'unreachable' | 'offline' | 'incomplete' | 'access-denied' | 'http' | 'invalid' | 'unverified';

/** Every failure of this module; `code` lets callers react (e.g. list available lenses on `not-found`). */
export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HubError';
  }
}

export function causeText(e: unknown): string {
  // undici wraps the real reason (ECONNREFUSED, ENOTFOUND, ...) in `cause`.
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    if (cur instanceof Error) {
      const code = (cur as { code?: unknown }).code;
      parts.push(typeof code === 'string' && !cur.message.includes(code) ? `${cur.message} (${code})` : cur.message);
      cur = cur.cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': ');
}
