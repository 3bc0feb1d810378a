/**
 * Text in figures: width estimates (ECharts' server-side renderer has no canvas to measure text, and the layout
 * must be known before rendering, so we estimate DejaVu Sans advance widths), fitting labels into cells, wrapping,
 * and escaping for ECharts' HTML tooltips and string templates.
 */
// (margins, cell width) must be known before rendering, so we estimate DejaVu Sans advance widths.

const NARROW = new Set([..."iljI.,:;'!|`()[]{}ft "]);
/** Zero-width characters (e.g. the U+200C the reference appends to de-duplicate labels). */
const ZERO_WIDTH = new Set(['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff']);
const WIDE = new Set([...'mwMW@%…']);

/** Approximate rendered width in px of `text` in DejaVu Sans (a wide font, so this errs large elsewhere). */
export function estimateTextWidth(text: string, fontSize: number, bold = false): number {
  let em = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ZERO_WIDTH.has(ch)) continue;
    if (NARROW.has(ch)) em += 0.34;
    else if (WIDE.has(ch)) em += 0.95;
    else if (cp >= 0x1100) em += 1.0; // CJK and other full-width scripts
    else if (ch >= 'A' && ch <= 'Z') em += 0.7;
    else em += 0.62;
  }
  return em * fontSize * (bold ? 1.1 : 1);
}



/** Escapes HTML, and also braces: ECharts treats `{b}`, `{c}`, `{@x}` in string formatters as templates. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'{}]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Cell labels go through ECharts' string-formatter templating, which replaces `{a}`…`{e}`, `{a0}` and
 * `{@dim}`. A token such as "{c}" must print literally, so a zero-width space is slipped after the
 * brace — invisible, and it breaks the template match.
 */
export function escapeLabelTemplate(s: string): string {
  return s.replace(/\{(?=[a-e]\d*\}|@)/g, '{\u200b');
}

/**
 * The cell text that fits in `width` px: the whole label, else its longest prefix (≥ 2 characters)
 * plus "…", else "" (hidden). Doing this ourselves, rather than ECharts' `overflow: 'truncate'`, avoids
 * cells that show nothing but "…", and uses our DejaVu-based widths, which match the PNG fonts.
 */
export function fitLabel(text: string, width: number, fontSize: number, bold = true): string {
  if (estimateTextWidth(text, fontSize, bold) <= width) return text;
  const cps = Array.from(text);
  for (let n = cps.length - 1; n >= 2; n--) {
    const candidate = cps.slice(0, n).join('') + '…';
    if (estimateTextWidth(candidate, fontSize, bold) <= width) return candidate;
  }
  return '';
}

