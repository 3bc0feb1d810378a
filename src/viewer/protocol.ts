/**
 * The JSON contract between the viewer server and the page. Shared by both sides (no `node:*` imports),
 * so a change to a field is a type error on whichever side forgot it.
 *
 * Numbers are compact: per-cell arrays are flat, row-major `[row][position]` (`[row][position][k]` for
 * top-k), rounded to 5 significant digits, with `null` where the value is undefined (NaN in the
 * computation, e.g. the cross-entropy at the last position, which has no next token).
 */
import type { ScaleChoices } from './colour-scales.js';

/** How the lenses are shown: one lens, both side by side, or the difference between them. */
export type LensMode = 'logit' | 'tuned' | 'compare' | 'diff';
export const LENS_MODES: readonly LensMode[] = ['logit', 'tuned', 'compare', 'diff'];

/**
 * How the grid reads the trajectory: the lens rows as they are ('lens'), each position's prediction depth
 * ('depth'), the change from each row to the next ('delta'), or the rows interleaved with sub-layer reads
 * after each block's attention ('sublayer'). 'delta' and 'sublayer' need a computation of their own.
 */
export type GridMode = 'lens' | 'depth' | 'delta' | 'sublayer';
export const GRID_MODES: readonly GridMode[] = ['lens', 'depth', 'delta', 'sublayer'];
/** The grid modes the server computes something extra for. */
export type ComputedGridMode = Extract<GridMode, 'delta' | 'sublayer'>;

/** Per-cell statistics of one trajectory (names as `PredictionTrajectory.statistic` spells them). */
export type BaseStatistic = 'entropy' | 'ce' | 'kl' | 'max-prob' | 'rank';
export const BASE_STATISTICS: readonly BaseStatistic[] = ['entropy', 'ce', 'kl', 'max-prob', 'rank'];

/** Distances between two trajectories (two lenses on one prompt, or one lens on two prompts). */
export type DistanceStatistic = 'kl' | 'js' | 'tv';
export const DISTANCE_STATISTICS: readonly DistanceStatistic[] = ['kl', 'js', 'tv'];

/** Hard limits the server enforces; the page reads them from /api/config to validate early. */
export interface ViewerLimits {
  /** Largest accepted request body in bytes (larger → 413). */
  maxBodyBytes: number;
  /** Longest accepted prompt in characters (longer → 400), checked before tokenizing. */
  maxPromptChars: number;
  /** Largest top-k per cell. */
  maxTopK: number;
}

export interface ConfigResponse {
  /** Models offered, in the order given to the server; requests name them by index. */
  models: { index: number; name: string; lenses: { index: number; name: string }[] }[];
  limits: ViewerLimits;
  /** The tuned-lens version serving the page (null where the build does not know it). */
  version: string | null;
}

/** Selects what to compute. `model` and `tunedLens` are indices into /api/config, never paths. */
export interface TrajectoryRequest {
  model: number;
  lens: LensMode;
  /** Index into the model's tuned lenses (default 0); ignored for `lens: 'logit'`. */
  tunedLens?: number;
  prompt: string;
  /** A second prompt to compare with the first, position by position (needs lens 'logit' or 'tuned'). */
  prompt2?: string;
  /** Top tokens kept per cell (default 10). */
  topK?: number;
  /** Extra per-grid data for a grid mode: layer differences or sub-layer reads (other modes need none). */
  mode?: ComputedGridMode;
}

/** One trajectory: one lens on one prompt (batch of one). */
export interface GridPayload {
  lens: 'logit' | 'tuned';
  /** Which prompt: 0 = the first, 1 = the second. */
  prompt: 0 | 1;
  /** Short display name, e.g. "tuned lens" or "prompt B". */
  label: string;
  rows: number;
  positions: number;
  topK: number;
  /** "0".."L-1", "output". */
  rowLabels: string[];
  inputIds: number[];
  /** Next-token targets (−1 at the last position). */
  targets: number[];
  entropy: (number | null)[];
  crossEntropy: (number | null)[];
  forwardKl: (number | null)[];
  maxProb: (number | null)[];
  rank: (number | null)[];
  topIds: number[];
  topProbs: number[];
}

/** Per-cell distances between two grids: D(self ‖ other). */
export interface DistancePayload {
  /** Grid indices into `TrajectoryResponse.grids`. */
  self: number;
  other: number;
  /** "lens" (tuned vs logit on one prompt), "prompt" (prompt A vs prompt B, one lens) or "ablation" (original vs a causal-basis direction ablated). */
  kind: 'lens' | 'prompt' | 'ablation';
  rows: number;
  /** The shorter of the two prompts when comparing prompts. */
  positions: number;
  kl: (number | null)[];
  js: (number | null)[];
  tv: (number | null)[];
  /** Tokens listed per cell in `changeIds` / `changes`. */
  changeK: number;
  /**
   * Per cell `[row][position][k]`, the tokens whose probability changed most between the two grids,
   * |p_self − p_other| largest first (over the whole vocabulary), and the signed change p_self − p_other.
   */
  changeIds: number[];
  changes: number[];
}

/** First-order layer differences of one grid: row r compared with row r − 1 (row 0 has none: null). */
export interface LayerDeltaPayload {
  rows: number;
  positions: number;
  /** Rising tokens kept per cell. */
  topK: number;
  /** D(row r ‖ row r − 1), flat [row][position]. */
  kl: (number | null)[];
  js: (number | null)[];
  tv: (number | null)[];
  /** The tokens whose probability rose most, [row][position][k] (−1 in row 0), and by how much (p_r − p_{r−1}). */
  riseIds: number[];
  rise: (number | null)[];
}

export interface ModelInfo {
  index: number;
  name: string;
  vocabSize: number;
  nLayers: number;
  /** Longest prompt in tokens the server accepts for this model. */
  maxTokens: number;
  /** Why the model has no sub-layer reads (parallel attention and MLP); absent when it has them. */
  sublayerUnavailable?: string;
  /** sha256 of the model's files, for exports' provenance (null where it is not computed, as in the browser). */
  sha256: string | null;
}

export interface TrajectoryResponse {
  model: ModelInfo;
  lens: LensMode;
  /** Display name of the tuned lens used, if any. */
  tunedLensName: string | null;
  /** sha256 of the tuned lens's files (null: no tuned lens, or not computed, as in the browser). */
  tunedLensSha256: string | null;
  /**
   * logit / tuned: one grid. compare / diff: [logit, tuned]. Two prompts: [prompt A, prompt B].
   */
  grids: GridPayload[];
  /** compare / diff: tuned ‖ logit. Two prompts: A ‖ B. Otherwise null. */
  distance: DistancePayload | null;
  /** Raw vocabulary piece (`tokenizer.idToPiece`) of every id that occurs in `grids` (and the mode data). */
  pieces: Record<string, string>;
  elapsedMs: number;
  /** mode 'delta': the layer differences of each grid (same order as `grids`). */
  layerDeltas?: LayerDeltaPayload[];
  /**
   * mode 'sublayer': per grid, the logit lens on each block's residual after attention (rows "ℓ.attn",
   * then the model output), on that grid's prompt. Absent when the model has no such point.
   */
  sublayerGrids?: GridPayload[];
  /** mode 'sublayer' on a model without a mid-block residual (parallel attention and MLP): why. */
  sublayerUnavailable?: string;
}

export interface PinRequest extends TrajectoryRequest {
  /** The token to track, by id … */
  tokenId?: number;
  /** … or as typed (`#id`, a vocabulary piece " She" / "▁She", or as shown "_She"), looked up by the server. */
  token?: string;
}

/** Probability and rank of one token in every cell of every grid of the matching trajectory. */
export interface PinResponse {
  tokenId: number;
  piece: string;
  /** Same order as `TrajectoryResponse.grids`. */
  series: { label: string; rows: number; positions: number; prob: (number | null)[]; rank: (number | null)[] }[];
}

/** How the page lays out the statistic; also sent with an export so the file matches the screen. */
export interface ViewSettings {
  /** Colour scale and log axis per statistic, where the user changed them (colour-scales.ts). */
  scales?: ScaleChoices;
  statistic: BaseStatistic;
  /** Distance shown by difference panels (diff mode, two prompts). */
  distance: DistanceStatistic;
  /** Keep every k-th lens layer (the output row always stays). */
  stride: number;
  /** Positions [from, to); `to` null = to the end. */
  from: number;
  to: number | null;
  /** Grid mode (default 'lens'). */
  mode?: GridMode;
}

export type ExportFormat = 'svg' | 'png' | 'html';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['svg', 'png', 'html'];

export interface ExportRequest extends TrajectoryRequest {
  view: ViewSettings;
  /** Which panel of the current view (0-based, in page order). */
  panel: number;
  format: ExportFormat;
}

/** Where the server is: polled by the page while a request runs. */
export interface ProgressResponse {
  busy: boolean;
  /** What runs now, e.g. "Loading model stories260K" or "Computing tuned lens". */
  task: string;
  /** 1-based step of the running request and how many it has (0 when idle). */
  step: number;
  steps: number;
  /** Requests waiting behind the running one. */
  queued: number;
  /** Milliseconds since the running task started. */
  elapsedMs: number;
  /** Download progress while a model or lens is fetched, in bytes. */
  download: { file: string; done: number; total: number | null } | null;
}

export interface ErrorResponse {
  error: string;
}

// ---------------------------------------------------------------------------------------------------
// Causal basis panel (`tuned-lens serve --bases DIR`; docs/causal.md)

/** One causal-basis direction as the panel lists it. */
export interface BasisDirectionInfo {
  index: number;
  /** Lens influence in nats (mean KL when the direction is mean-ablated from the lens input). */
  energy: number;
  /** Top token ids of +v and of −v read through the lens's linear part (as bases.json lists them). */
  plus: number[];
  minus: number[];
}

/** GET /api/bases: the causal bases the server was started with, per model (empty without --bases). */
export interface BasesResponse {
  bases: {
    model: number;
    /** The lens the bases were extracted for, and the ablation they were extracted with. */
    lensKind: 'logit' | 'tuned';
    mode: string;
    /** The folder's display name. */
    name: string;
    layers: { layer: number; k: number; directions: BasisDirectionInfo[] }[];
    /** Raw vocabulary piece of every id in the lists. */
    pieces: Record<string, string>;
  }[];
}

/** POST /api/ablate: the current prompt's trajectory with one direction of layer `layer`'s basis mean-ablated. */
export interface AblationRequest extends TrajectoryRequest {
  /** hidden_states index the direction is ablated in (the model runs on from there). */
  layer: number;
  /** Direction index in the layer's basis (0 = highest energy). */
  direction: number;
}

/**
 * grids = [original, ablated] (the request's lens; the tuned lens for compare/diff), distance = D(original ‖
 * ablated) in every cell (kind "ablation"): rows below `layer` are unchanged, row `layer` is the lens's own
 * reading of the edit, the output row the model's.
 */
export interface AblationResponse extends TrajectoryResponse {
  ablation: { layer: number; direction: number; energy: number; mode: 'mean' };
}
