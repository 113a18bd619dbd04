/**
 * The operation codes are written twice, in native/ops.h (C++) and ts/tensor/native.ts (the
 * binding's TypeScript view); this test keeps the two in step, name for name and number for number.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BinaryOp, ReduceOp, SolveMethod, UnaryOp } from '../ts/tensor/native';

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
