/**
 * The side panel's room. Beside the heatmaps it fills the window from its top edge down (so the pin
 * chart at its bottom is on screen without scrolling the page), its width can be dragged, and so can
 * the split between the cell's top-k lists and the pin chart. In narrow windows (the CSS in
 * layout-css.ts) it is a drawer along the bottom of the window, which stays in view while the heatmaps
 * are hovered and can be folded away. Sizes the user chose are remembered in localStorage.
 */

/** Must match the narrow-window media query in layout-css.ts. */
const NARROW = '(max-width: 900px)';
const MIN_SIDE = 280;
const MIN_CHART = 160;
const KEY_WIDTH = 'tuned-lens.viewer.sideWidth';
const KEY_CHART = 'tuned-lens.viewer.pinChartHeight';

export interface SideLayoutElements {
  main: HTMLElement;
  side: HTMLElement;
  sideResize: HTMLElement;
  pinSplit: HTMLElement;
  toggle: HTMLButtonElement;
}

function stored(key: string): number | null {
  try {
    const v = Number(localStorage.getItem(key));
    return Number.isFinite(v) && v > 0 ? v : null;
  } catch {
    return null; // storage can be switched off
  }
}

function store(key: string, v: number): void {
  try {
    localStorage.setItem(key, String(Math.round(v)));
  } catch {
    // not remembered, still applied
  }
}

/** Follows a pointer drag on `handle`, reporting the movement since the drag began. */
function onDrag(handle: HTMLElement, start: () => void, move: (dx: number, dy: number) => void, end: () => void): void {
  let origin: { x: number; y: number } | null = null;
  handle.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0) return;
    ev.preventDefault();
    handle.setPointerCapture(ev.pointerId);
    origin = { x: ev.clientX, y: ev.clientY };
    start();
  });
  handle.addEventListener('pointermove', (ev) => {
    if (origin) move(ev.clientX - origin.x, ev.clientY - origin.y);
  });
  const stop = (): void => {
    if (!origin) return;
    origin = null;
    end();
  };
  handle.addEventListener('pointerup', stop);
  handle.addEventListener('pointercancel', stop);
}

/**
 * Wires the side panel's sizing. `relayout` is called after the side panel's width changed (the
 * heatmaps then have another width to fill).
 */
export function initSideLayout(e: SideLayoutElements, relayout: () => void): void {
  const root = document.documentElement;
  const narrow = window.matchMedia(NARROW);
  let chartHeight = stored(KEY_CHART);
  let sideWidth = stored(KEY_WIDTH);

  const maxSide = (): number => Math.max(MIN_SIDE, Math.floor(window.innerWidth * 0.6));
  const applyWidth = (): void => {
    if (sideWidth !== null) root.style.setProperty('--side-width', `${Math.min(maxSide(), Math.max(MIN_SIDE, sideWidth))}px`);
  };
  /** The panel's height: from its top edge on screen (below the controls until they scroll away) to the window's bottom. */
  const fitHeight = (): void => {
    if (narrow.matches) {
      e.side.style.height = '';
      return;
    }
    const top = Math.max(0, e.main.getBoundingClientRect().top);
    e.side.style.height = `${Math.max(200, window.innerHeight - top)}px`;
  };
  /** Unless the user chose a height, the chart takes what the window leaves below ~12 list rows. */
  const applyChart = (): void => {
    const room = window.innerHeight - Math.max(0, e.main.getBoundingClientRect().top + window.scrollY);
    const h = chartHeight ?? Math.max(MIN_CHART, Math.min(420, room - 345));
    root.style.setProperty('--pin-chart-height', `${Math.round(Math.max(MIN_CHART, Math.min(window.innerHeight * 0.8, h)))}px`);
  };

  let frame = 0;
  const schedule = (): void => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      fitHeight();
    });
  };
  window.addEventListener('scroll', schedule, { passive: true });
  window.addEventListener('resize', () => {
    applyWidth();
    applyChart();
    schedule();
  });
  narrow.addEventListener('change', schedule);
  // The controls above the panels change height (a notice, an error, the web build's sources).
  new ResizeObserver(schedule).observe(document.body);

  // Side panel width: drag its left edge (or arrow keys on it).
  let widthAtStart = 0;
  const setWidth = (w: number): void => {
    sideWidth = Math.min(maxSide(), Math.max(MIN_SIDE, w));
    applyWidth();
  };
  onDrag(
    e.sideResize,
    () => (widthAtStart = e.side.getBoundingClientRect().width),
    (dx) => setWidth(widthAtStart - dx),
    () => {
      store(KEY_WIDTH, sideWidth ?? 0);
      relayout();
    },
  );
  e.sideResize.addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight') return;
    ev.preventDefault();
    setWidth(e.side.getBoundingClientRect().width + (ev.key === 'ArrowLeft' ? 24 : -24));
    store(KEY_WIDTH, sideWidth ?? 0);
    relayout();
  });

  // Pin chart height: drag the bar above it (or arrow keys on it).
  let chartAtStart = 0;
  const setChart = (h: number): void => {
    chartHeight = Math.max(MIN_CHART, Math.min(window.innerHeight * 0.8, h));
    applyChart();
  };
  onDrag(
    e.pinSplit,
    () => (chartAtStart = document.getElementById('pin-chart')?.getBoundingClientRect().height || 300),
    (_, dy) => setChart(chartAtStart - dy),
    () => store(KEY_CHART, chartHeight ?? 0),
  );
  e.pinSplit.addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') return;
    ev.preventDefault();
    const now = document.getElementById('pin-chart')?.getBoundingClientRect().height || 300;
    setChart(now + (ev.key === 'ArrowUp' ? 24 : -24));
    store(KEY_CHART, chartHeight ?? 0);
  });

  // The drawer of narrow windows folds down to its title bar.
  e.toggle.addEventListener('click', () => {
    const collapsed = e.side.classList.toggle('collapsed');
    e.main.classList.toggle('drawer-collapsed', collapsed);
    e.toggle.textContent = collapsed ? 'Show' : 'Hide';
    e.toggle.setAttribute('aria-expanded', String(!collapsed));
  });

  applyWidth();
  applyChart();
  fitHeight();
}
