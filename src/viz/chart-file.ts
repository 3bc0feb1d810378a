/** Writes a built chart (line chart or any {option, width, height}) as .svg or .png, atomically. */
import * as nodePath from 'node:path';
import type { FileSystem } from '../io/file-system.js';
import { nodeFileSystem } from '../node/file-system.js';
import type { HeatmapFigure } from './heatmap-chart.js';
import { renderFigureSvg, svgToPng } from './render.js';

export async function writeChart(path: string, figure: HeatmapFigure, fs: FileSystem = nodeFileSystem): Promise<void> {
  const ext = nodePath.extname(path).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new Error(`writeChart: "${path}" must end in .svg or .png`);
  const svg = renderFigureSvg(figure);
  await fs.writeAtomic(path, ext === '.svg' ? svg : svgToPng(svg));
}

/** Writes an SVG document as .svg, or rasterised as .png, atomically. */
export async function writeSvgOrPng(path: string, svg: string, fs: FileSystem = nodeFileSystem): Promise<void> {
  const ext = nodePath.extname(path).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new Error(`"${path}" must end in .svg or .png`);
  await fs.writeAtomic(path, ext === '.svg' ? svg : svgToPng(svg));
}
