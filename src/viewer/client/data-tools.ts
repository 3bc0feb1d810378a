/**
 * The data tools bar: downloads of the view's numbers (data-export.ts builds the files) and "Copy
 * link" — the URL already holds the whole state, so the link is the view. Where the clipboard is not
 * available (an insecure origin, a denied permission) the link is shown selected in a field instead.
 */
import { buildDataExport, pinsCsv, statisticsCsv, topKCsv, type DataExportSource } from '../data-export.js';
import { saveBlob } from './api.js';

function fileStem(s: DataExportSource): string {
  return `tuned-lens-${s.resp.model.name}-${s.resp.lens}`.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 80);
}

export function initDataTools(root: HTMLElement, source: () => DataExportSource | null): { update(): void } {
  const status = root.querySelector<HTMLElement>('#data-status')!;
  const field = root.querySelector<HTMLInputElement>('#link-field')!;
  const say = (text: string): void => {
    status.textContent = text;
  };
  for (const b of Array.from(root.querySelectorAll<HTMLButtonElement>('button[data-data-export]'))) {
    b.addEventListener('click', () => {
      const s = source();
      if (!s) return;
      const data = buildDataExport(s);
      const stem = fileStem(s);
      const kind = b.dataset.dataExport;
      const name =
        kind === 'json'
          ? saveBlob(new Blob([JSON.stringify(data, null, 1)], { type: 'application/json' }), `${stem}.json`)
          : kind === 'stats-csv'
            ? saveBlob(new Blob([statisticsCsv(data)], { type: 'text/csv' }), `${stem}-statistics.csv`)
            : kind === 'topk-csv'
              ? saveBlob(new Blob([topKCsv(data)], { type: 'text/csv' }), `${stem}-top-k.csv`)
              : saveBlob(new Blob([pinsCsv(data)], { type: 'text/csv' }), `${stem}-pins.csv`);
      say(`Saved ${name}.`);
    });
  }
  root.querySelector<HTMLButtonElement>('#copy-link')!.addEventListener('click', async () => {
    const link = location.href;
    field.value = link;
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(link);
      field.hidden = true;
      say('Link copied: it reopens this view.');
    } catch {
      field.hidden = false;
      field.focus();
      field.select();
      say('The browser did not allow copying: the link is selected in the field, press Ctrl+C.');
    }
  });
  return {
    update(): void {
      const s = source();
      root.hidden = s === null;
      const pinsButton = root.querySelector<HTMLButtonElement>('button[data-data-export="pins-csv"]')!;
      pinsButton.disabled = !s || s.pins.length === 0;
      pinsButton.title = pinsButton.disabled ? 'Pin a token first (click it in the side panel).' : '';
    },
  };
}
