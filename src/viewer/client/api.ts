/**
 * The page's calls to the viewer server. Every failure becomes an Error whose message is fit to show
 * the user (the server's own message where it sent one).
 */
import type { ConfigResponse, ExportRequest, PinRequest, PinResponse, ProgressResponse, TrajectoryRequest, TrajectoryResponse } from '../protocol.js';

async function errorOf(res: Response): Promise<Error> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: string };
    if (body.error) message = body.error;
  } catch {
    /* not JSON: keep the status line */
  }
  return new Error(message);
}

async function call<T>(path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  } catch {
    throw new Error('The viewer server cannot be reached. Is `tuned-lens serve` still running?');
  }
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

export const fetchConfig = (): Promise<ConfigResponse> => call('/api/config');
export const fetchProgress = (): Promise<ProgressResponse> => call('/api/progress');
export const fetchTrajectory = (req: TrajectoryRequest): Promise<TrajectoryResponse> => call('/api/trajectory', req);
export const fetchPin = (req: PinRequest): Promise<PinResponse> => call('/api/pin', req);

/** Asks the server to render a panel and saves the file through a temporary download link. */
export async function downloadExport(req: ExportRequest): Promise<string> {
  let res: Response;
  try {
    res = await fetch('/api/export', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req) });
  } catch {
    throw new Error('The viewer server cannot be reached. Is `tuned-lens serve` still running?');
  }
  if (!res.ok) throw await errorOf(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? `tuned-lens.${req.format}`;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoke later: some browsers start the download asynchronously after click().
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
  return name;
}
