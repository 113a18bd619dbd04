/** The command line's main() run in the test process, capturing what it prints (faster than a child process). */
import { main } from '../../cli/ts/main';

/** What a run printed and returned. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `metagrad <args>` in this process. */
export async function inProcess(args: string[]): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const [w1, w2] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string | Uint8Array) => out.push(String(s)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => err.push(String(s)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'metagrad', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}
