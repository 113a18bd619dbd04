/**
 * Long synchronous loops stay flat: heap growth per step after warm-up, for an
 * ImplicitMetaGradientModule meta-step, a customRoot loop and a plain training loop. The
 * benchmark (`npm run bench -- --only steady`) runs the same loops over 10⁴ steps.
 */
import * as assert from 'node:assert/strict';
import { STEADY_LOOPS, heapGrowthPerStep } from '../bench/steady-loops';

describe('steady state: no per-step heap growth', () => {
  for (const loop of STEADY_LOOPS) {
    it(`${loop.name}: under 1 KB per step`, () => {
      const bytes = heapGrowthPerStep(loop, 1500, 300);
      assert.ok(bytes < 1024, `${loop.name}: ${bytes.toFixed(1)} bytes retained per step`);
    });
  }
});
