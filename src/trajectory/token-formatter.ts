/**
 * Turns raw vocabulary pieces ("Ġthe", "Ċ", "▁the", "<0x0A>") into short, readable labels for the
 * prediction-trajectory figure. Mirrors the reference's `tuned_lens.plotting.TokenFormatter` (spec §10.3)
 * so figures label tokens the same way, and adds the SentencePiece rules the reference lacks.
 *
 * Core code: no `node:*` imports, so the browser viewer can use it unchanged.
 */

export interface TokenFormatterOptions {
  /** Appended to truncated tokens. Reference default: "…". */
  ellipsis?: string;
  /** GPT-2 byte-level marker for "\n". Reference default: "Ċ". */
  newlineToken?: string;
  /** What a newline is shown as. Reference default: the two characters `\n`. */
  newlineReplacement?: string;
  /** GPT-2 byte-level marker for a leading space. Reference default: "Ġ". */
  whitespaceToken?: string;
  /** What a space is shown as. Reference default: "_" (a bare space would be invisible in a cell). */
  whitespaceReplacement?: string;
  /** SentencePiece word-boundary marker, shown like a space. Not in the reference; default "▁". */
  sentencePieceSpaceToken?: string;
  /**
   * Longest label in characters (Unicode code points, like Python's `len`); longer tokens become their
   * first `maxStringLen - ellipsis.length` characters plus the ellipsis. `null` disables truncation.
   * Reference default: 7.
   */
  maxStringLen?: number | null;
  /**
   * Decode SentencePiece byte-fallback pieces such as `<0x0A>` (newline) or `<0x41>` ("A") into what
   * they stand for. Not in the reference (which would print `<0x0A>` verbatim); default true.
   */
  decodeBytePieces?: boolean;
}

/** How each ASCII control byte is shown, for bytes that have a conventional escape. */
const CONTROL_ESCAPES: Readonly<Record<number, string>> = { 0x09: '\\t', 0x0d: '\\r', 0x0c: '\\f', 0x0b: '\\v' };

/** A whole SentencePiece byte-fallback piece, e.g. `<0x0A>`; these are always single tokens. */
const BYTE_PIECE = /<0x([0-9A-Fa-f]{2})>/g;

/** Splits into Unicode code points, so an emoji counts as one character as it does in Python. */
function codePoints(s: string): string[] {
  return Array.from(s);
}

function replaceAll(s: string, from: string, to: string): string {
  // `from` may be configured to "" by a caller who wants to turn a rule off; split("") would explode.
  return from === '' ? s : s.split(from).join(to);
}

export class TokenFormatter {
  readonly ellipsis: string;
  readonly newlineToken: string;
  readonly newlineReplacement: string;
  readonly whitespaceToken: string;
  readonly whitespaceReplacement: string;
  readonly sentencePieceSpaceToken: string;
  readonly maxStringLen: number | null;
  readonly decodeBytePieces: boolean;

  constructor(options: TokenFormatterOptions = {}) {
    this.ellipsis = options.ellipsis ?? '…';
    this.newlineToken = options.newlineToken ?? 'Ċ';
    this.newlineReplacement = options.newlineReplacement ?? '\\n';
    this.whitespaceToken = options.whitespaceToken ?? 'Ġ';
    this.whitespaceReplacement = options.whitespaceReplacement ?? '_';
    this.sentencePieceSpaceToken = options.sentencePieceSpaceToken ?? '▁';
    this.maxStringLen = options.maxStringLen === undefined ? 7 : options.maxStringLen;
    this.decodeBytePieces = options.decodeBytePieces ?? true;
    if (this.maxStringLen !== null) {
      const ell = codePoints(this.ellipsis).length;
      if (!Number.isInteger(this.maxStringLen) || this.maxStringLen <= ell) {
        throw new Error(`TokenFormatter: maxStringLen must be an integer greater than the ellipsis length (${ell}), or null; got ${this.maxStringLen}`);
      }
    }
  }

  /**
   * Formats one token for display. Anything that is not a string (a missing id, a number) becomes
   * "<unk>", as in the reference.
   *
   * Order matters and follows the reference: truncation happens *before* the marker replacement, so
   * "ĠĠĠĠĠĠĠĠ" becomes "______…" and a replaced "\n" may make a label one character longer than
   * `maxStringLen`. Byte pieces are decoded first because `<0x0A>` stands for a single character and
   * must not be truncated to "<0x0A…"-style garbage.
   */
  format(token: unknown): string {
    if (typeof token !== 'string') return '<unk>';
    let s = token;
    if (this.decodeBytePieces) s = s.replace(BYTE_PIECE, (_m, hex: string) => this.formatByte(parseInt(hex, 16)));
    s = this.truncate(s);
    s = replaceAll(s, this.newlineToken, this.newlineReplacement);
    s = replaceAll(s, this.whitespaceToken, this.whitespaceReplacement);
    s = replaceAll(s, this.sentencePieceSpaceToken, this.whitespaceReplacement);
    return s;
  }

  /** Formats every token of a sequence (the reference's `vectorized_format`). */
  formatAll(tokens: readonly unknown[]): string[] {
    return tokens.map((t) => this.format(t));
  }

  /**
   * Pads (or cuts) an already formatted label to exactly `maxStringLen` characters, so columns of a
   * monospace hover table line up. Identity when truncation is disabled.
   */
  padTokenReprToMaxLen(tokenRepr: string): string {
    if (this.maxStringLen === null) return tokenRepr;
    const cps = codePoints(tokenRepr).slice(0, this.maxStringLen);
    return cps.join('') + ' '.repeat(this.maxStringLen - cps.length);
  }

  private truncate(s: string): string {
    if (this.maxStringLen === null) return s;
    const cps = codePoints(s);
    if (cps.length <= this.maxStringLen) return s;
    return cps.slice(0, this.maxStringLen - codePoints(this.ellipsis).length).join('') + this.ellipsis;
  }

  /**
   * A single byte from a byte-fallback piece. Whitespace uses the same replacements as the markers so
   * "<0x0A>" and "Ċ" look identical; other printable ASCII is shown as itself; anything else (control
   * bytes, one byte of a multi-byte UTF-8 character) cannot be shown alone and is escaped as `\xNN`.
   */
  private formatByte(b: number): string {
    if (b === 0x0a) return this.newlineReplacement;
    if (b === 0x20) return this.whitespaceReplacement;
    const esc = CONTROL_ESCAPES[b];
    if (esc !== undefined) return esc;
    if (b > 0x20 && b < 0x7f) return String.fromCharCode(b);
    return `\\x${b.toString(16).padStart(2, '0')}`;
  }
}

/** A formatter with the reference defaults, for callers that do not customise anything. */
export const defaultTokenFormatter = new TokenFormatter();
