/**
 * ECharts in the page: the UMD bundle (/echarts.min.js, loaded before app.js) defines the global
 * `echarts`. Only its types are imported here, so the 1 MB library is not bundled a second time.
 */
import type * as EChartsModule from 'echarts';

export type ECharts = EChartsModule.ECharts;
export type EChartsOption = EChartsModule.EChartsOption;

export function echartsLib(): typeof EChartsModule {
  const lib = (globalThis as unknown as { echarts?: typeof EChartsModule }).echarts;
  if (!lib) throw new Error('ECharts did not load (/echarts.min.js); reload the page.');
  return lib;
}
