/**
 * The viewer's static files, a fixed whitelist: the page (in memory), the bundled page script
 * (dist/viewer/app.js and its source map) and the ECharts browser bundle from node_modules. Nothing
 * else on disk is ever served.
 *
 * In a dev checkout (the sources and scripts/build-viewer.mjs present) the bundle is rebuilt with
 * esbuild whenever it is missing or older than any source file that went into it, so editing the
 * client and reloading the page just works. An installed package ships the prebuilt bundle.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import * as nodePath from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../hub/model-source.js';

const BUILD_SCRIPT = 'scripts/build-viewer.mjs';
const CLIENT_ENTRY = 'src/viewer/client/main.ts';
const BUNDLE = 'dist/viewer/app.js';
const INPUTS = 'dist/viewer/app.inputs.json';

export interface Asset {
  body: Buffer;
  contentType: string;
}

async function mtimeMs(path: string): Promise<number | null> {
  try {
    return (await fsp.stat(path)).mtimeMs;
  } catch {
    return null;
  }
}

export class ViewerAssets {
  private building: Promise<void> | null = null;
  private echarts: Buffer | null = null;

  constructor(private readonly root: string = packageRoot()) {}

  /** True when the client sources and the build script are here, so the bundle can be (re)built. */
  get isDevCheckout(): boolean {
    return existsSync(nodePath.join(this.root, BUILD_SCRIPT)) && existsSync(nodePath.join(this.root, CLIENT_ENTRY));
  }

  /** Whether the bundle is missing or older than one of its inputs. */
  async isStale(): Promise<boolean> {
    const bundleTime = await mtimeMs(nodePath.join(this.root, BUNDLE));
    if (bundleTime === null) return true;
    let inputs: string[];
    try {
      inputs = (JSON.parse(await fsp.readFile(nodePath.join(this.root, INPUTS), 'utf8')) as { inputs: string[] }).inputs;
    } catch {
      return true; // no record of what went in: rebuild once to get one
    }
    for (const rel of inputs) {
      const t = await mtimeMs(nodePath.join(this.root, rel));
      // A deleted input means the import graph changed; a newer one means an edit.
      if (t === null || t > bundleTime) return true;
    }
    return false;
  }

  /** Builds the bundle if needed (dev checkouts only); concurrent callers share one build. */
  async ensureBundle(): Promise<void> {
    if (!this.isDevCheckout) return;
    if (!this.building) {
      this.building = (async () => {
        if (!(await this.isStale())) return;
        const script = pathToFileURL(nodePath.join(this.root, BUILD_SCRIPT)).href;
        const mod = (await import(script)) as { buildViewer(o: { root: string }): Promise<string[]> };
        await mod.buildViewer({ root: this.root });
      })().finally(() => {
        this.building = null;
      });
    }
    await this.building;
  }

  async appScript(): Promise<Asset> {
    try {
      await this.ensureBundle();
    } catch (e) {
      // A stale bundle still beats none (e.g. esbuild missing); only fail when there is nothing at all.
      if (!existsSync(nodePath.join(this.root, BUNDLE))) throw new Error(`could not build the viewer bundle: ${(e as Error).message}`);
    }
    try {
      return { body: await fsp.readFile(nodePath.join(this.root, BUNDLE)), contentType: 'text/javascript; charset=utf-8' };
    } catch {
      throw new Error(`the viewer bundle ${BUNDLE} is missing; build it with \`npm run build:viewer\``);
    }
  }

  async appSourceMap(): Promise<Asset | null> {
    try {
      return { body: await fsp.readFile(nodePath.join(this.root, `${BUNDLE}.map`)), contentType: 'application/json; charset=utf-8' };
    } catch {
      return null;
    }
  }

  async echartsScript(): Promise<Asset> {
    if (!this.echarts) {
      const require = createRequire(import.meta.url);
      this.echarts = await fsp.readFile(require.resolve('echarts/dist/echarts.min.js'));
    }
    return { body: this.echarts, contentType: 'text/javascript; charset=utf-8' };
  }
}
