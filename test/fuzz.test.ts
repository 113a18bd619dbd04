/**
 * The fuzzer (test/fuzz/api-fuzz.ts) in a child process, seeded and time-bounded: random shapes
 * (0-size, rank 0, rank > 8, huge), wrong dtypes, non-tensors, detached buffers, NaN/Inf data,
 * against the public API and the raw binding. A crash or hang of the child fails the test; every
 * call must return or throw an Error naming the function.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const SECONDS = 20;

describe('fuzz: the public API and the raw binding', function () {
  this.timeout((SECONDS + 60) * 1000);

  it(`every call returns or throws an Error naming its function (${SECONDS} s, seed 20261201)`, () => {
    const script = path.join(__dirname, 'fuzz', 'api-fuzz.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--seed', '20261201', '--seconds', String(SECONDS)], {
      encoding: 'utf8',
      timeout: (SECONDS + 45) * 1000,
      maxBuffer: 16 << 20,
    });
    assert.equal(r.signal, null, `the fuzz process died by ${r.signal} (a crash or a hang); stderr:\n${r.stderr}`);
    assert.equal(r.status, 0, `the fuzz process exited with ${r.status}; stderr:\n${r.stderr}`);
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { calls: number; returned: number; threw: number; failures: { call: string; problem: string }[] };
    assert.deepEqual(report.failures, [], `${report.failures.length} bad outcomes, e.g. ${JSON.stringify(report.failures.slice(0, 3), null, 1)}`);
    assert.ok(report.calls > 10_000 && report.returned > 1000 && report.threw > 1000, JSON.stringify({ ...report, failures: undefined }));
  });
});
