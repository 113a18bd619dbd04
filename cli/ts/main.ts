#!/usr/bin/env node
/**
 * The `metagrad` executable: `imaml` (meta-learning with implicit gradients), `fewshot` (iMAML on
 * few-shot digits), `deq` (a deep equilibrium layer), `hyperopt` (learned L2 weights) and `worker`
 * (runs queued jobs of `imaml --queue`). Input errors end with a one-line message
 * and a non-zero exit code, never a stack trace.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { intArg, intListArg, positiveArg } from './args';
import { CliError } from './errors';
import { DEQ_BACKWARDS, DEQ_DEFAULTS, DEQ_MNIST_DEFAULTS, DEQ_SOLVERS, type DeqConfig, runDeq } from './deq';
import { FEWSHOT_DEFAULTS, type FewshotConfig } from './fewshot/config';
import { runFewshot } from './fewshot/run';
import { HYPEROPT_DEFAULTS, type HyperoptConfig, runHyperopt } from './hyperopt';
import { IMAML_DEFAULTS, type ImamlConfig } from './imaml/config';
import type { JobSettings } from './job-settings';
import { runImaml } from './imaml/run';
import { runWorker } from './queue';

/** The CLI package's version (its package.json is one level up from both cli/ts and cli/dist). */
function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Default worker threads: one per core, at most 8 (more only adds start-up and memory). */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, os.availableParallelism()));
}

const d = IMAML_DEFAULTS;

/**
 * The flags every training job has (see job-settings.ts): intervals, output directory, resume,
 * worker threads, the queue and JSON output. `what` names the job's unit of work in the help.
 */
function jobOptions(cmd: Command, j: Omit<JobSettings, 'workers'>, what: string): Command {
  return cmd
    .option('--log-every <n>', 'a JSON progress line every n iterations', intArg(1), j.logEvery)
    .option('--checkpoint-every <n>', 'write DIR/checkpoint.safetensors every n iterations', intArg(1), j.checkpointEvery)
    .option('--out <dir>', 'output directory', j.out)
    .option('--resume', 'continue from DIR/checkpoint.safetensors', false)
    .option('--force', 'start a fresh run even if DIR holds an earlier one (its files are replaced)', false)
    .addOption(new Option('--workers <n>', `worker threads for the ${what} (0: main thread only)`).argParser(intArg(0)).default(defaultWorkers(), 'one per core, at most 8'))
    .option('--queue <url>', `send the ${what} to \`metagrad worker\` processes through a BullMQ queue on this Redis (redis://[:password@]host:port/db, or rediss:// for TLS)`)
    .option('--queue-name <name>', 'the queue (one per run, the same for the workers)', j.queueName)
    .option('--chunk-size <n>', `${what} per queue job`, intArg(1), j.chunkSize)
    .option('--json', 'one JSON object per line instead of a progress bar and a table', false);
}


function imamlCommand(onExit: (code: number) => void): Command {
  const cmd = new Command('imaml')
    .description('iMAML (Rajeswaran et al. 2019) on few-shot sinusoid regression (Finn et al. 2017), with implicit meta-gradients')
    .option('--iterations <n>', 'meta-training iterations', intArg(0), d.iterations)
    .option('--meta-batch <n>', 'tasks per meta-batch', intArg(1), d.metaBatch)
    .option('--inner-steps <n>', 'gradient steps of the inner problem', intArg(1), d.innerSteps)
    .option('--inner-lr <x>', 'initial step size of the inner steps (halved when a step does not decrease the objective)', positiveArg(), d.innerLr)
    .option('--lambda <x>', 'proximal strength λ of the inner problem', positiveArg(), d.lambda)
    .option('--cg-iterations <n>', 'normal-CG iterations of the implicit backward', intArg(1), d.cgIterations)
    .option('--meta-lr <x>', 'Adam learning rate on the meta-parameters', positiveArg(), d.metaLr)
    .option('--meta-lr-half-life <n>', 'iterations over which the meta learning rate halves (0: constant)', intArg(0), d.metaLrHalfLife)
    .option('--shots <n>', 'support points per task (K)', intArg(1), d.shots)
    .option('--queries <n>', 'query points per task', intArg(1), d.queries)
    .addOption(new Option('--hidden <list>', 'hidden layer widths, comma-separated').argParser(intListArg).default(d.hidden, d.hidden.join(',')))
    .option('--seed <n>', 'seed of every random draw', intArg(0), d.seed)
    .option('--eval-tasks <n>', 'held-out tasks for evaluation', intArg(1), d.evalTasks)
    .option('--eval-every <n>', 'held-out evaluation every n iterations (for curve.svg)', intArg(1), d.evalEvery)
    .addOption(new Option('--batching <mode>', "the tasks of a meta-batch in one vmapped pass ('vmap') or one after the other ('loop')").choices(['vmap', 'loop']).default(d.batching))
    .addOption(new Option('--jit', "with --batching vmap, replay each meta-batch's meta-gradient from its mg.jit recording (the adaptation stays eager)").default(d.jit))
    .option('--no-jit', 'compute each meta-gradient eagerly');
  return jobOptions(cmd, d, 'tasks of a meta-batch')
    .action(async (opts: ImamlConfig, self: Command) => {
      const explicit = new Set(Object.keys(opts).filter((k) => self.getOptionValueSource(k) === 'cli'));
      const cores = os.availableParallelism();
      if (opts.workers > cores) {
        process.stderr.write(`metagrad imaml: warning: --workers ${opts.workers} is more than this machine's ${cores} cores; the extra workers only take turns\n`);
      }
      onExit(await runImaml({ ...opts }, explicit));
    });
}

function workerCommand(onExit: (code: number) => void): Command {
  return new Command('worker')
    .description('run the jobs of `metagrad imaml --queue` from a BullMQ queue on Redis until SIGINT/SIGTERM (any number of workers, on any machine)')
    .requiredOption('--queue <url>', 'the Redis URL (redis://[:password@]host:port/db, or rediss:// for TLS)')
    .option('--queue-name <name>', 'the queue (as given to the coordinator)', d.queueName)
    .option('--concurrency <n>', 'jobs at once in this process', intArg(1), 1)
    .option('--json', 'JSON lines', false)
    .action(async (opts: { queue: string; queueName: string; concurrency: number; json: boolean }) => {
      onExit(await runWorker(opts));
    });
}

function fewshotCommand(onExit: (code: number) => void): Command {
  const c = FEWSHOT_DEFAULTS;
  const cmd = new Command('fewshot')
    .description('iMAML on N-way K-shot MNIST digits (the mnist package): meta-trained on digits 0-4, tested on 5-9 against a pretrained net, scratch and prototypes')
    .option('--iterations <n>', 'meta-training iterations', intArg(0), c.iterations)
    .option('--meta-batch <n>', 'episodes per meta-batch', intArg(1), c.metaBatch)
    .option('--ways <n>', 'classes per episode (N, at most 5)', intArg(2), c.ways)
    .option('--shots <n>', 'support images per class (K)', intArg(1), c.shots)
    .option('--queries <n>', 'query images per class', intArg(1), c.queries)
    .option('--inner-steps <n>', 'gradient steps of the inner problem', intArg(1), c.innerSteps)
    .option('--inner-lr <x>', 'initial step size of the inner steps (halved when a step does not decrease the objective)', positiveArg(), c.innerLr)
    .option('--lambda <x>', 'proximal strength λ of the inner problem', positiveArg(), c.lambda)
    .option('--solve-iterations <n>', 'GMRES steps (Hessian-vector products) of the implicit backward', intArg(1), c.solveIterations)
    .option('--meta-lr <x>', 'Adam learning rate on the meta-parameters', positiveArg(), c.metaLr)
    .option('--channels <n>', 'channels of each of the four conv blocks', intArg(1), c.channels)
    .option('--seed <n>', 'seed of every random draw', intArg(0), c.seed)
    .option('--test-episodes <n>', 'test episodes of the final evaluation', intArg(1), c.testEpisodes)
    .option('--curve-episodes <n>', 'held-out episodes of the evaluations during training (curve.svg)', intArg(1), c.curveEpisodes)
    .option('--eval-every <n>', 'a held-out evaluation every n iterations', intArg(1), c.evalEvery);
  return jobOptions(cmd, c, 'episodes')
    .action(async (opts: FewshotConfig, self: Command) => {
      const explicit = new Set(Object.keys(opts).filter((k) => self.getOptionValueSource(k) === 'cli'));
      onExit(await runFewshot({ ...opts }, explicit));
    });
}

function deqCommand(onExit: (code: number) => void): Command {
  const c = DEQ_DEFAULTS;
  return new Command('deq')
    .description('a deep equilibrium layer z = tanh(Wz + Ux + b) (nn.DEQ): forward by a fixed-point solver, gradients by implicit differentiation or its approximations')
    .option('--epochs <n>', 'training epochs', intArg(1), c.epochs)
    .option('--width <n>', 'size of the equilibrium state z', intArg(1), c.width)
    .option('--samples <n>', 'training samples', intArg(2), c.samples)
    .option('--lr <x>', 'Adam learning rate', positiveArg(), c.lr)
    .option('--seed <n>', 'seed of every random draw', intArg(0), c.seed)
    .addOption(new Option('--solver <name>', 'forward solver').choices([...DEQ_SOLVERS]).default(c.solver))
    .addOption(new Option('--backward <mode>', "gradient: 'ift' (implicit function theorem), 'phantom' (5 damped unrolled steps) or 'jfb' (one step)").choices([...DEQ_BACKWARDS]).default(c.backward))
    .option('--jac-reg <weight>', 'weight of the Hutchinson Jacobian regulariser ‖∂f/∂z‖²_F / numel in the loss', positiveArg(true), c.jacReg)
    .option('--compare', 'train once per solver (IFT gradient) and per gradient mode (Anderson) and print forward iterations per epoch and the test MSE reached', false)
    .addOption(new Option('--data <name>', "'synthetic' (a 2-d regression) or 'mnist' (a digit classifier on the mnist package's 9,803 digits, 80 % train / 20 % test; defaults then 15 epochs, width 256, lr 0.001, batch size 64)").choices(['synthetic', 'mnist']).default(c.data))
    .option('--batch-size <n>', 'mini-batch size with --data mnist', intArg(1), c.batchSize)
    .option('--shift <pixels>', 'with --data mnist: translate the training digits by up to this many pixels, afresh each epoch (default 2 there)', intArg(0), c.shift)
    .option('--json', 'one JSON object per line', false)
    .action((opts: DeqConfig, self: Command) => {
      const cfg = { ...opts };
      if (cfg.data === 'mnist') {
        // The regression's defaults do not fit the classifier: take the mnist ones unless given.
        for (const [k, v] of Object.entries(DEQ_MNIST_DEFAULTS)) if (self.getOptionValueSource(k) !== 'cli') (cfg as unknown as Record<string, unknown>)[k] = v;
      }
      onExit(runDeq(cfg));
    });
}

function hyperoptCommand(onExit: (code: number) => void): Command {
  const c = HYPEROPT_DEFAULTS;
  return new Command('hyperopt')
    .description('per-feature L2 weights of a logistic regression on Iris, learned by implicit differentiation of a validation loss')
    .option('--outer-steps <n>', 'steps on the L2 weights', intArg(1), c.outerSteps)
    .option('--outer-lr <x>', 'Adam learning rate on the log L2 weights', positiveArg(), c.outerLr)
    .option('--inner-steps <n>', 'maximum Newton steps per inner solve', intArg(1), c.innerSteps)
    .option('--noise-features <n>', 'pure-noise features appended to the four of Iris', intArg(0), c.noiseFeatures)
    .option('--seed <n>', 'seed of the train/validation split', intArg(0), c.seed)
    .option('--json', 'one JSON object per line', false)
    .action((opts: HyperoptConfig) => {
      onExit(runHyperopt({ ...opts }));
    });
}

/** The command-line program; `onExit` receives the exit code of the sub-command that ran. */
export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command('metagrad')
    .description('metagrad: implicit differentiation for Node.js — example workloads')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true });
  // Errors throw (exitOverride) instead of exiting, on every command, so main() decides the exit.
  program.exitOverride();
  for (const c of [imamlCommand(onExit), fewshotCommand(onExit), deqCommand(onExit), hyperoptCommand(onExit), workerCommand(onExit)]) {
    c.showHelpAfterError('(add --help for usage)').exitOverride();
    program.addCommand(c);
  }
  program.version(packageVersion(), '-v, --version', 'print the version');
  return program;
}

/** Runs the CLI on `argv` (as process.argv) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return 2;
    }
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has printed its message; help and version are not errors.
      return e.exitCode === 0 ? 0 : 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`metagrad: error: ${msg}\n`);
    return e instanceof CliError ? e.exitCode : 1;
  }
}

if (require.main === module) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`metagrad: error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
