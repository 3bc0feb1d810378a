/**
 * Messages for Hub failures: what was wanted, where it was looked for and how to fix it (the usual cause is a
 * machine without internet access, and the user then needs to know where to put the files by hand).
 */
import { causeText, HubError } from './hub-errors.js';
import { cachePath, describeRepo, hfCacheHint, hubEndpoint, type HubOptions, type RepoOptions } from './hub-locations.js';

export function describeWant(repo: string, path: string, opts: RepoOptions): string {
  return `"${path}" from ${describeRepo(repo, opts.repoType ?? 'model')} at revision ${opts.revision ?? 'main'}`;
}

export function lookedIn(repo: string, path: string, opts: RepoOptions): string {
  const lines = [`  ${cachePath(repo, path, opts)}`];
  const hf = hfCacheHint(repo, opts);
  if (hf) lines.push(`  ${hf}/${path} (Hugging Face cache)`);
  return lines.join('\n');
}

export function unreachableError(url: string, what: string, looked: string, opts: HubOptions, e: unknown): HubError {
  return new HubError(
    'unreachable',
    `Could not reach the Hugging Face Hub at ${hubEndpoint(opts)} (${causeText(e)}) while requesting ${url}.\n` +
      `Wanted: ${what}.\n` +
      `No cached copy was found at:\n${looked}\n` +
      `To fix this: copy the file to the first path above; or set HF_ENDPOINT to a reachable Hub mirror; ` +
      `or pass a local folder instead of a Hub id.`,
    { cause: e },
  );
}

export function offlineError(what: string, looked: string): HubError {
  return new HubError(
    'offline',
    `HF_HUB_OFFLINE is set, so the network is not used, and ${what} is not cached.\n` +
      `Looked at:\n${looked}\n` +
      `To fix this: copy the file to the first path above, unset HF_HUB_OFFLINE, or pass a local folder instead of a Hub id.`,
  );
}

/** `notFound` names the missing thing for the 404 message, e.g. `File "config.json"`. */
export function httpError(res: Response, url: string, what: string, notFound: string, repo: string, opts: RepoOptions): HubError {
  const repoDesc = describeRepo(repo, opts.repoType ?? 'model');
  const revision = opts.revision ?? 'main';
  if (res.status === 404) {
    return new HubError('not-found', `${notFound} not found in ${repoDesc} at revision ${revision} (${url} returned 404).`);
  }
  if (res.status === 401 || res.status === 403) {
    // The Hub answers 401 both for private/gated repos and for repos that do not exist at all.
    return new HubError(
      'access-denied',
      `Access to ${repoDesc} was denied (HTTP ${res.status} for ${url}) while requesting ${what}. The repo may be ` +
        `private or gated, or may not exist. If you have access, set HF_TOKEN to a Hugging Face access token.`,
    );
  }
  return new HubError('http', `Request for ${what} failed: HTTP ${res.status} ${res.statusText} from ${url}.`);
}

