/** The Node entry: the portable core plus model/lens loading from disk or the Hub, and figure files. */
export * from './core.js';
export { loadModel, DEFAULT_MODEL } from './node/load-model.js';
export { loadTunedLens } from './node/load-lens.js';
export { nodeFileSystem } from './node/file-system.js';
export { defaultRuntime, createRuntime } from './node/runtime.js';
export { writeFigure, renderSvg, renderPng, renderHtml } from './viz/render.js';
export { resolveModel } from './hub/model-source.js';
export { resolveLens, listPretrainedLenses } from './hub/lens-source.js';
export { startViewer } from './viewer/server.js';
