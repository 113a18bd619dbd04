/** PyTorch-style printing of tensor values (`tensor([[-0.0369,  0.0248]])`). */
import { type TypedArray, dtypeOf, isFloating } from './dtype';

const PRECISION = 4;
const LINEWIDTH = 80;
const THRESHOLD = 1000;
const EDGEITEMS = 3;

/** Extra digits that tell an exact decimal tie from a near one for any double (the gap is > 1e-25 relative). */
const TIE_DIGITS = 30;

/**
 * Rounds like Python's format(): half to even on the exact binary value, and -0 keeps its sign.
 * JS's toFixed/toExponential round exact ties away from zero (0.03125 → "0.0313", Python "0.0312").
 */
function pyRound(v: number, render: (a: number, digits: number) => string): string {
  const a = Math.abs(v);
  let s = render(a, PRECISION);
  const long = render(a, PRECISION + TIE_DIGITS);
  const e = long.indexOf('e');
  const mant = e < 0 ? long : long.slice(0, e);
  if (/^50*$/.test(mant.slice(mant.length - TIE_DIGITS))) {
    const truncated = mant.slice(0, mant.length - TIE_DIGITS).replace(/\.$/, '');
    if (Number(truncated[truncated.length - 1]) % 2 === 0) s = truncated + (e < 0 ? '' : long.slice(e));
  }
  return v < 0 || Object.is(v, -0) ? `-${s}` : s;
}

/** Python's `{:.4f}`. */
function fixed(v: number): string {
  return pyRound(v, (a, d) => a.toFixed(d));
}

/** Python's `{:.4e}` (two-digit exponent at least). */
function sci(v: number): string {
  if (!Number.isFinite(v)) return fmtNonFinite(v);
  return pyRound(v, (a, d) => a.toExponential(d)).replace(/e([+-])(\d)$/, 'e$10$2');
}

function fmtNonFinite(v: number): string {
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}

/** Chooses int / fixed / scientific mode and a common width, as torch/_tensor_str.py does. */
class Formatter {
  intMode = true;
  sciMode = false;
  width = 1;

  constructor(values: number[]) {
    // Only nonzero finite values set the mode and width (nan/inf are padded, never widen), as in PyTorch.
    const finite = values.filter((v) => Number.isFinite(v) && v !== 0);
    if (finite.length === 0) return;
    const abs = finite.map(Math.abs);
    const min = Math.min(...abs);
    const max = Math.max(...abs);
    this.intMode = finite.every((v) => v === Math.ceil(v));
    if (this.intMode) {
      if (max / min > 1000 || max > 1e8) {
        this.sciMode = true;
        for (const v of finite) this.width = Math.max(this.width, sci(v).length);
      } else {
        for (const v of finite) this.width = Math.max(this.width, v.toFixed(0).length + 1);
      }
    } else if (max / min > 1000 || max > 1e8 || min < 1e-4) {
      this.sciMode = true;
      for (const v of finite) this.width = Math.max(this.width, sci(v).length);
    } else {
      for (const v of finite) this.width = Math.max(this.width, fixed(v).length);
    }
  }

  format(v: number): string {
    let s: string;
    if (!Number.isFinite(v)) s = fmtNonFinite(v);
    else if (this.sciMode) s = sci(v);
    else if (this.intMode) s = `${(Object.is(v, -0) ? '-0' : v.toFixed(0))}.`;
    else s = fixed(v);
    return s.padStart(this.width);
  }
}

function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

/** Integer and bool values: `str(value)` padded to the widest shown one, as PyTorch prints them. */
class ExactFormatter {
  width = 1;

  constructor(values: number[], private readonly bool: boolean) {
    for (const v of values) this.width = Math.max(this.width, this.text(v).length);
  }

  private text(v: number): string {
    return this.bool ? (v !== 0 ? 'True' : 'False') : String(v);
  }

  format(v: number): string {
    return this.text(v).padStart(this.width);
  }
}

/** Values that will be shown (all of them, or the summarised edges). */
function shownValues(data: TypedArray, shape: readonly number[], summarize: boolean): number[] {
  if (!summarize) return Array.from(data);
  const st = strides(shape);
  const out: number[] = [];
  const walk = (dim: number, offset: number): void => {
    if (dim === shape.length) {
      out.push(data[offset]);
      return;
    }
    const n = shape[dim];
    const idx = n > 2 * EDGEITEMS ? [0, 1, 2, n - 3, n - 2, n - 1] : [...Array(n).keys()];
    for (const i of idx) walk(dim + 1, offset + i * st[dim]);
  };
  walk(0, 0);
  return out;
}

/** The bracketed body of a tensor's repr, `[[1., 2.], [3., 4.]]` with PyTorch's line breaks. */
export function formatValues(data: TypedArray, shape: readonly number[], indent: number): string {
  const summarize = data.length > THRESHOLD;
  const shown = shownValues(data, shape, summarize);
  const dtype = dtypeOf(data);
  const f = isFloating(dtype) ? new Formatter(shown) : new ExactFormatter(shown, dtype === 'bool');
  if (shape.length === 0) return f.format(data[0]).trim();
  const st = strides(shape);
  const rec = (dim: number, offset: number, ind: number): string => {
    const n = shape[dim];
    const cut = summarize && n > 2 * EDGEITEMS;
    const idx = cut ? [0, 1, 2, -1, n - 3, n - 2, n - 1] : [...Array(n).keys()];
    if (dim === shape.length - 1) {
      const items = idx.map((i) => (i < 0 ? ' ...' : f.format(data[offset + i * st[dim]])));
      const perLine = Math.max(1, Math.floor((LINEWIDTH - ind) / (f.width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(ind + 1)}`)}]`;
    }
    const parts = idx.map((i) => (i < 0 ? '...' : rec(dim + 1, offset + i * st[dim], ind + 1)));
    const sep = `,${'\n'.repeat(shape.length - dim - 1)}${' '.repeat(ind + 1)}`;
    return `[${parts.join(sep)}]`;
  };
  return rec(0, 0, indent);
}

/**
 * Appends `, suffix` items (dtype, grad_fn, …) and the closing parenthesis, moving a suffix to a new
 * line indented by `indent` when it would pass the line width (torch/_tensor_str.py's _add_suffixes,
 * including its count of the last line's length).
 */
export function addSuffixes(text: string, suffixes: readonly string[], indent: number): string {
  let out = text;
  let lastLineLen = text.length - text.lastIndexOf('\n') + 1;
  for (const suffix of suffixes) {
    if (lastLineLen + suffix.length + 2 > LINEWIDTH) {
      out += `,\n${' '.repeat(indent)}${suffix}`;
      lastLineLen = indent + suffix.length;
    } else {
      out += `, ${suffix}`;
      lastLineLen += suffix.length + 2;
    }
  }
  return `${out})`;
}
