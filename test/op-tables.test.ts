/**
 * The operation codes are written twice, in native/ops.h (C++) and ts/tensor/native.ts (the
 * binding's TypeScript view); this test keeps the two in step, name for name and number for number.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../ts/index';
import * as el from '../ts/ops/elementwise';
import { BinaryOp, ReduceOp, SolveMethod, UnaryOp } from '../ts/tensor/native';
import { BufType, Instr } from '../ts/tensor/trace';

const header = fs.readFileSync(path.join(__dirname, '..', 'native', 'ops.h'), 'utf8');

function cppEnum(name: string): Record<string, number> {
  const m = new RegExp(`enum class ${name} : int \\{([^}]*)\\}`).exec(header);
  assert.ok(m, `enum ${name} in native/ops.h`);
  return Object.fromEntries(m[1].split(',').map((e) => e.trim()).filter(Boolean).map((e) => {
    const [k, v] = e.split('=').map((s) => s.trim());
    return [k, Number(v)];
  }));
}

function tsEnum(e: Record<string, string | number>): Record<string, number> {
  return Object.fromEntries(Object.entries(e).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
}

describe('operation codes: native/ops.h and ts/tensor/native.ts agree', () => {
  for (const [name, e, count] of [['UnaryOp', UnaryOp, 'kUnaryOpCount'], ['BinaryOp', BinaryOp, 'kBinaryOpCount'], ['ReduceOp', ReduceOp, 'kReduceOpCount'], ['SolveMethod', SolveMethod, 'kSolveMethodCount']] as const) {
    it(name, () => {
      const cpp = cppEnum(name);
      assert.deepEqual(tsEnum(e as unknown as Record<string, string | number>), cpp);
      const n = new RegExp(`constexpr int ${count} = (\\d+);`).exec(header);
      assert.ok(n, `${count} in native/ops.h`);
      assert.equal(Number(n[1]), Object.keys(cpp).length, `${count} counts the enum`);
    });
  }
});

describe('replay instruction codes: native/replay.h and ts/tensor/trace.ts agree', () => {
  const replay = fs.readFileSync(path.join(__dirname, '..', 'native', 'replay.h'), 'utf8');
  const parse = (name: string, type: string): Record<string, number> => {
    const m = new RegExp(`enum class ${name} : ${type} \\{([^}]*)\\}`).exec(replay);
    assert.ok(m, `enum ${name} in native/replay.h`);
    const body = m[1].replace(/\/\/[^\n]*/g, '');
    return Object.fromEntries(body.split(',').map((e) => e.trim()).filter(Boolean).map((e) => {
      const [k, v] = e.split('=').map((x) => x.trim());
      return [k, Number(v)];
    }));
  };
  it('Instr', () => {
    const cpp = parse('Instr', 'int32_t');
    assert.deepEqual(tsEnum(Instr as unknown as Record<string, string | number>), cpp);
    const n = /constexpr int32_t kInstrCount = (\d+);/.exec(replay);
    assert.ok(n);
    assert.equal(Number(n[1]), Object.keys(cpp).length);
  });
  it('BufType', () => {
    assert.deepEqual(tsEnum(BufType as unknown as Record<string, string | number>), parse('BufType', 'int32_t'));
  });
});

describe('elementwise ops: the package index and the Tensor methods list every op', () => {
  // What the op file exports is the one list; the index's export list and the method table in
  // ts/methods.ts are checked against it here. `step` and the `…Mask` comparisons are internal
  // (float masks for arithmetic), `where` a free function with the condition first.
  const notMethods = new Set(['where']);
  const internal = new Set(['step', ...Object.keys(el).filter((n) => n.endsWith('Mask'))]);
  const x = mg.tensor([0.25, -1.5, 2], { dtype: 'float64' });
  const y = mg.tensor([1.5, 0.5, -0.75], { dtype: 'float64' });
  for (const [name, op] of Object.entries(el)) {
    if (internal.has(name)) continue;
    it(name, () => {
      assert.equal((mg as unknown as Record<string, unknown>)[name], op, `mg.${name} is the op`);
      if (notMethods.has(name)) return;
      const method = (mg.Tensor.prototype as unknown as Record<string, (...a: unknown[]) => mg.Tensor>)[name];
      assert.equal(typeof method, 'function', `Tensor.prototype.${name}`);
      // The method computes the op (binary ops with y, clamp with bounds, unary ops alone).
      const args = (op as (...a: unknown[]) => unknown).length >= 2 ? (name === 'clamp' ? [-1, 1] : [y]) : [];
      const viaOp = (op as (...a: unknown[]) => mg.Tensor)(x, ...args);
      const viaMethod = method.apply(x, args);
      assert.deepEqual(Array.from(viaMethod.data), Array.from(viaOp.data));
    });
  }
});
