/** The README's first example runs and prints what it says (1.5·√5 for the implicit derivative). */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

describe('README example', () => {
  it('runs as written and gives dy/dx = 1.5·√5', () => {
    const root = path.resolve(__dirname, '..');
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme);
    assert.ok(block, 'README has a ts code block');
    const code = block[1].replace("from 'metagrad'", `from ${JSON.stringify(path.join(root, 'ts', 'index'))}`);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mg-readme-')), 'example.ts');
    fs.writeFileSync(file, code);
    const out = execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8' }).trim().split('\n');
    assert.ok(Math.abs(Number(out[out.length - 1]) - 1.5 * Math.sqrt(5)) < 1e-9, out.join('\n'));
  });
});
