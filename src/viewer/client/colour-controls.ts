/**
 * The colour menus: for each kind of panel on screen (the statistic or tracked target of the lens
 * panels, the distance of a difference panel), a scale menu and a log switch. Choices are remembered per
 * statistic (colour-scales.ts), so switching from entropy to KL and back keeps each one's colours.
 */
import type { ColorScaleName } from '../../viz/heatmap-data.js';
import { COLOUR_SCALE_LABELS, canLog, resolveScale, type ScaleChoices, type ScaleKey } from '../colour-scales.js';
import type { ViewSettings } from '../protocol.js';
import { BASE_STATISTIC_LABELS, DISTANCE_LABELS, TARGET_MEASURES, type TargetMeasure, type ViewPanel } from '../view-model.js';

/** The scale keys of the panels drawn, in page order, with a short name for the menu's label. */
export function scaleKeysOnScreen(panels: readonly ViewPanel[], view: ViewSettings, target: TargetMeasure | null): { key: ScaleKey; name: string }[] {
  const out: { key: ScaleKey; name: string }[] = [];
  const add = (key: ScaleKey, name: string): void => {
    if (!out.some((k) => k.key === key)) out.push({ key, name });
  };
  for (const p of panels) {
    // The depth and layer-difference modes have colours of their own (grid-modes.ts).
    if (p.key.startsWith('depth-') || p.key.startsWith('delta-')) continue;
    if (p.key === 'distance') add(`dist-${view.distance}`, DISTANCE_LABELS[view.distance].short);
    else if (target) add(`target-${target}`, `target ${TARGET_MEASURES[target].label}`);
    else add(view.statistic, BASE_STATISTIC_LABELS[view.statistic].toLowerCase());
  }
  return out;
}

/** Fills `root` with one menu + log switch per key; `onChange` gets the new choices. */
export function renderColourControls(root: HTMLElement, keys: readonly { key: ScaleKey; name: string }[], choices: ScaleChoices, onChange: (next: ScaleChoices) => void): void {
  const focused = document.activeElement instanceof HTMLElement && root.contains(document.activeElement) ? document.activeElement.id : null;
  root.replaceChildren();
  for (const { key, name } of keys) {
    const { scale, log } = resolveScale(choices, key);
    const label = document.createElement('label');
    // Named by statistic only when two kinds of panel are on screen (a difference under its prompts).
    label.append(keys.length > 1 ? `Colours (${name}) ` : 'Colours ');
    label.title = `Colour scale for ${name}`;
    const select = document.createElement('select');
    select.id = `scale-${key}`;
    select.dataset.scaleKey = key;
    select.replaceChildren(...(Object.keys(COLOUR_SCALE_LABELS) as ColorScaleName[]).map((s) => new Option(COLOUR_SCALE_LABELS[s], s)));
    select.value = scale;
    select.addEventListener('change', () => onChange({ ...choices, [key]: { ...choices[key], scale: select.value as ColorScaleName } }));
    label.append(select);
    root.append(label);

    const logLabel = document.createElement('label');
    logLabel.className = 'log';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.id = `log-${key}`;
    box.dataset.logKey = key;
    box.checked = log;
    box.disabled = !canLog(key);
    logLabel.title = box.disabled ? 'This measure can be negative: no log axis.' : 'Colour by log10 of the value (zeros are left blank).';
    box.addEventListener('change', () => onChange({ ...choices, [key]: { ...choices[key], log: box.checked } }));
    logLabel.append(box, 'log');
    root.append(logLabel);
  }
  if (focused) document.getElementById(focused)?.focus();
}
