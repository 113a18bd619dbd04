/** Markdown tables: what `npm run bench` prints and what goes into the README. */

/** Column alignment: numbers read best right-aligned. */
export type Align = 'left' | 'right';

/** A titled table plus notes printed under it. */
export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
  align?: Align[];
  notes?: string[];
}

/** Renders one table as GitHub-flavoured markdown, columns padded so the raw text lines up too. */
export function renderTable(t: Table): string {
  const cols = t.headers.length;
  const cells = [t.headers, ...t.rows].map((r) => Array.from({ length: cols }, (_, i) => (r[i] ?? '').replace(/\|/g, '\\|')));
  const width = Array.from({ length: cols }, (_, i) => Math.max(3, ...cells.map((r) => [...r[i]].length)));
  const align = t.align ?? t.headers.map((_, i) => (i === 0 ? 'left' : 'right'));
  const pad = (s: string, i: number): string => {
    const fill = ' '.repeat(width[i] - [...s].length);
    return align[i] === 'right' ? fill + s : s + fill;
  };
  const line = (r: string[]): string => `| ${r.map(pad).join(' | ')} |`;
  const sep = `|${width.map((w, i) => (align[i] === 'right' ? ` ${'-'.repeat(w - 1)}: ` : ` ${'-'.repeat(w)} `)).join('|')}|`;
  const out = [`### ${t.title}`, '', line(cells[0]), sep, ...cells.slice(1).map(line)];
  if (t.notes && t.notes.length > 0) out.push('', ...t.notes.map((n) => `- ${n}`));
  return out.join('\n');
}
