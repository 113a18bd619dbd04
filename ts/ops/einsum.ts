/**
 * `einsum` (PyTorch's / NumPy's notation without ellipsis or repeated indices within an operand):
 * operands are contracted pairwise, left to right; each pair becomes one batched matrix product
 * (batch letters, kept letters of each side, contracted letters), after summing out letters that
 * no other operand or the output needs. Built from permute, reshape, sum and matmul, so it is
 * differentiable to any order and batches under vmap.
 */
import { requireFloating } from '../tensor/dtype';
import { typeError } from '../errors';
import type { Tensor } from '../tensor/tensor';
import { matmul } from './matmul';
import { sum } from './reduce';
import { permute, reshape } from './shape';
import { checkTensor } from './util';

interface Term {
  t: Tensor;
  letters: string[];
}

function parse(eq: string, n: number): { inputs: string[][]; output: string[] } {
  if (typeof eq !== 'string') throw typeError('einsum', 'equation', "a string such as 'ij,jk->ik'", eq);
  const e = eq.replace(/\s+/g, '');
  if (e.includes('.')) throw new RangeError("einsum: ellipsis ('...') is not supported; name every dimension");
  const [lhs, rhs] = e.split('->');
  const inputs = lhs.split(',').map((s) => s.split(''));
  if (inputs.length !== n) throw new RangeError(`einsum: the equation '${eq}' has ${inputs.length} operand(s), but ${n} tensor(s) were given`);
  for (const s of inputs) {
    for (const c of s) if (!/[a-zA-Z]/.test(c)) throw new RangeError(`einsum: '${c}' in '${eq}' is not a letter`);
    if (new Set(s).size !== s.length) throw new RangeError(`einsum: a repeated index within one operand ('${s.join('')}': a diagonal or trace) is not supported`);
  }
  let output: string[];
  if (rhs === undefined) {
    // Implicit output: the letters that appear exactly once, in alphabetical order.
    const count = new Map<string, number>();
    for (const s of inputs) for (const c of s) count.set(c, (count.get(c) ?? 0) + 1);
    output = [...count].filter(([, k]) => k === 1).map(([c]) => c).sort();
  } else {
    output = rhs.split('');
    if (new Set(output).size !== output.length) throw new RangeError(`einsum: the output '${rhs}' repeats an index`);
    const all = new Set(inputs.flat());
    for (const c of output) if (!all.has(c)) throw new RangeError(`einsum: the output index '${c}' appears in no operand`);
  }
  return { inputs, output };
}

/** Sums out the letters of `a` that `needed` does not contain. */
function sumOut(a: Term, needed: Set<string>): Term {
  const dims = a.letters.map((c, i) => (needed.has(c) ? -1 : i)).filter((i) => i >= 0);
  if (dims.length === 0) return a;
  return { t: sum(a.t, dims), letters: a.letters.filter((c) => needed.has(c)) };
}

/** Reorders a term's dims to `order`. */
function arrange(a: Term, order: string[]): Tensor {
  const perm = order.map((c) => a.letters.indexOf(c));
  return perm.every((p, i) => p === i) ? a.t : permute(a.t, perm);
}

/** One pairwise contraction keeping the letters in `keep`. */
function contract(a: Term, b: Term, keep: Set<string>, size: Map<string, number>): Term {
  const inB = new Set(b.letters);
  const inA = new Set(a.letters);
  a = sumOut(a, new Set([...keep, ...b.letters]));
  b = sumOut(b, new Set([...keep, ...a.letters]));
  const batch = a.letters.filter((c) => inB.has(c) && keep.has(c));
  const inner = a.letters.filter((c) => inB.has(c) && !keep.has(c));
  const left = a.letters.filter((c) => !inB.has(c));
  const right = b.letters.filter((c) => !inA.has(c));
  const prod = (cs: string[]): number => cs.reduce((p, c) => p * (size.get(c) as number), 1);
  const A = reshape(arrange(a, [...batch, ...left, ...inner]), [prod(batch), prod(left), prod(inner)]);
  const B = reshape(arrange(b, [...batch, ...inner, ...right]), [prod(batch), prod(inner), prod(right)]);
  const C = matmul(A, B);
  const letters = [...batch, ...left, ...right];
  return { t: reshape(C, letters.map((c) => size.get(c) as number)), letters };
}

/** Einstein summation over the operands: `einsum('ij,jk->ik', a, b)` is a·b. */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  operands.forEach((t, i) => requireFloating('einsum', `operands[${i}]`, checkTensor('einsum', `operands[${i}]`, t).dtype));
  if (operands.length === 0) throw new RangeError('einsum: at least one operand is needed');
  const { inputs, output } = parse(equation, operands.length);
  const size = new Map<string, number>();
  inputs.forEach((s, k) => {
    if (s.length !== operands[k].ndim) throw new RangeError(`einsum: operand ${k} has ${operands[k].ndim} dims but '${s.join('')}' names ${s.length}`);
    s.forEach((c, i) => {
      const n = operands[k].shape[i];
      const known = size.get(c);
      if (known !== undefined && known !== n) throw new RangeError(`einsum: index '${c}' has size ${known} in one operand and ${n} in operand ${k}`);
      size.set(c, n);
    });
  });
  let acc: Term = { t: operands[0], letters: inputs[0] };
  for (let k = 1; k < operands.length; k++) {
    // Letters still needed: the output's and those of the operands not yet contracted.
    const later = new Set([...output, ...inputs.slice(k + 1).flat()]);
    acc = contract(acc, { t: operands[k], letters: inputs[k] }, later, size);
  }
  acc = sumOut(acc, new Set(output));
  return output.length === 0 ? reshape(acc.t, []) : arrange(acc, output);
}
