/**
 * The page's calls to the viewer server. Every failure becomes an Error whose message is fit to show
 * the user (the server's own message where it sent one).
 */
import type { AblationRequest, AblationResponse, BasesResponse, ConfigResponse, ExportRequest, PinRequest, PinResponse, ProgressResponse, TrajectoryRequest, TrajectoryResponse } from '../protocol.js';
import { buildHeatmapOption } from '../../viz/heatmap-chart.js';
import { figureHtmlPage } from '../../viz/figure-html.js';
import { buildViewPanels } from '../grid-modes.js';
import type { ViewPanel } from '../view-model.js';
import { echartsLib } from './echarts.js';
import { callWorker, isWebBuild } from './worker-client.js';

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

// The static web build answers the same calls from its compute worker instead of a server.
const web = isWebBuild();
export const fetchConfig = (): Promise<ConfigResponse> => (web ? callWorker('config') : call('/api/config'));
export const fetchProgress = (): Promise<ProgressResponse> => (web ? callWorker('progress') : call('/api/progress'));
export const fetchTrajectory = (req: TrajectoryRequest): Promise<TrajectoryResponse> => (web ? callWorker('trajectory', req) : call('/api/trajectory', req));
export const fetchPin = (req: PinRequest): Promise<PinResponse> => (web ? callWorker('pin', req) : call('/api/pin', req));
// The causal basis panel needs the server (`serve --bases DIR`); the static web build has none.
export const fetchBases = (): Promise<BasesResponse> => (web ? Promise.resolve({ bases: [] }) : call('/api/bases'));
export const fetchAblation = (req: AblationRequest): Promise<AblationResponse> => call('/api/ablate', req);

export function saveBlob(blob: Blob, name: string): string {
  const url = URL.createObjectURL(blob);
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

let echartsBundle: Promise<string> | undefined;

/** The ECharts bundle the page itself loaded (same origin), inlined into HTML exports. */
function echartsBundleText(): Promise<string> {
  echartsBundle ??= fetch(document.querySelector<HTMLScriptElement>('script[src$="echarts.min.js"]')?.src ?? 'echarts.min.js').then((res) => {
    if (!res.ok) throw new Error(`HTML export could not read the chart library (echarts.min.js: HTTP ${res.status})`);
    return res.text();
  });
  echartsBundle.catch(() => (echartsBundle = undefined));
  return echartsBundle;
}

/**
 * Exports rendered in the page (the web build, and views the server cannot redo): ECharts' SVG renderer,
 * a canvas for PNG, and for HTML the same self-contained page as `tuned-lens plot … --out f.html`.
 */
async function exportInPage(req: ExportRequest, drawn?: ViewPanel): Promise<string> {
  const panel = drawn ?? buildViewPanels(await fetchTrajectory(req), req.view)[req.panel ?? 0];
  if (!panel) throw new Error('no such panel in this view');
  const figure = buildHeatmapOption(panel.data, {});
  const name = `tuned-lens-${panel.title.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'figure'}`;
  if (req.format === 'html') {
    const page = figureHtmlPage(figure, panel.data.title || `${panel.data.statisticName} — tuned lens`, await echartsBundleText());
    return saveBlob(new Blob([page], { type: 'text/html' }), `${name}.html`);
  }
  const chart = echartsLib().init(null, null, { renderer: 'svg', ssr: true, width: figure.width, height: figure.height });
  let svg: string;
  try {
    chart.setOption(figure.option);
    svg = chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
  if (req.format === 'svg') return saveBlob(new Blob([svg], { type: 'image/svg+xml' }), `${name}.svg`);
  const img = new Image();
  img.src = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = figure.width * 2;
  canvas.height = figure.height * 2;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  URL.revokeObjectURL(img.src);
  const png = await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser could not make a PNG'))), 'image/png'));
  return saveBlob(png, `${name}.png`);
}

/**
 * Asks the server to render a panel and saves the file through a temporary download link. `drawn`, the
 * panel as on screen, is rendered in the page instead where the server could not redo it (a tracked
 * target's colours come from pins the export request does not carry).
 */
export async function downloadExport(req: ExportRequest, drawn?: ViewPanel): Promise<string> {
  if (web || drawn) return exportInPage(req, drawn);
  let res: Response;
  try {
    res = await fetch('/api/export', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req) });
  } catch {
    throw new Error('The viewer server cannot be reached. Is `tuned-lens serve` still running?');
  }
  if (!res.ok) throw await errorOf(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? `tuned-lens.${req.format}`;
  return saveBlob(await res.blob(), name);
}
