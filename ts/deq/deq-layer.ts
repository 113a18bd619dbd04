/**
 * `mg.nn.DEQ`: a deep equilibrium layer (Bai et al. 2019). Its forward finds z* = f(z*, x) with a
 * fixed-point solver from `mg.solvers`; its gradient is one of TorchDEQ's modes, interchangeable
 * over the same forward:
 * - `'ift'`: the implicit function theorem, through the solver's `run` (customRoot; any linear
 *   solver via `implicitDiffSolve`): exact at the fixed point, memory independent of the iterations;
 * - `'phantom'`: k damped steps z ← τ f(z, x) + (1 − τ) z from z* (detached), differentiated by
 *   backpropagation (Geng et al. 2021);
 * - `'jfb'`: one step z = f(z*, x) from the detached z*, the Jacobian-free gradient (Fung et al. 2022).
 */
import { isGradEnabled, noGrad } from '../autograd/grad-mode';
import { typeError } from '../errors';
import { Module } from '../nn/module';
import { functionalCall } from '../nn/functional-call';
import { add, mul } from '../ops/elementwise';
import { zerosLike } from '../ops/creation';
import { detach } from '../ops/inplace';
import type { Tensor } from '../tensor/tensor';
import { isTensor } from '../tensor/tensor';
import type { LinearSolver } from '../diff/implicit/types';
import { AndersonAcceleration } from '../solvers/anderson';
import { Broyden } from '../solvers/broyden';
import { FixedPointIteration } from '../solvers/fixed-point-iteration';
import type { IterativeSolver, SolverOptions, SolverState } from '../solvers/base';

/** How the gradient through the equilibrium is computed. */
export type DEQBackward = 'ift' | 'phantom' | 'jfb';

/** A fixed-point solver class of `mg.solvers` (constructed with `{ fixedPointFun, ... }`). */
export type FixedPointSolverClass = new (opts: { fixedPointFun: (z: Tensor, ...args: never[]) => unknown } & SolverOptions & Record<string, unknown>) => IterativeSolver<Tensor, SolverState>;

/**
 * The equilibrium map: a module whose forward is (z, x) => z', or a function (z, x, ...parameters)
 * => z' that receives the `parameters` option's tensors as its trailing arguments.
 */
export type EquilibriumMap = Module | ((z: Tensor, x: Tensor, ...parameters: Tensor[]) => Tensor);

/** Options of {@link DEQ}. */
export interface DEQOptions {
  /** The forward solver: a class of `mg.solvers` or its name (default `AndersonAcceleration`). */
  solver?: FixedPointSolverClass | 'anderson' | 'fixedPoint' | 'broyden';
  /** Options passed to the solver (maxiter, tol, historySize, …; `throw: false` to train through failures). */
  solverOptions?: SolverOptions & Record<string, unknown>;
  /** Gradient mode (default 'ift'). */
  backward?: DEQBackward;
  /** The implicit backward's linear solver for 'ift' (default: customRoot's normal CG). */
  implicitDiffSolve?: LinearSolver;
  /** Unrolled steps of the phantom gradient (default 5). */
  phantomSteps?: number;
  /** Damping τ of the phantom gradient, in (0, 1] (default 0.5). */
  tau?: number;
  /** The tensors a plain function f takes after (z, x), differentiated like a module's parameters. */
  parameters?: Tensor[];
  /** The initial state z0 from x (default zeros shaped like x; `forward(x, z0)` overrides it). */
  init?: (x: Tensor) => Tensor;
}

const SOLVERS: Record<string, FixedPointSolverClass> = {
  anderson: AndersonAcceleration as unknown as FixedPointSolverClass,
  fixedPoint: FixedPointIteration as unknown as FixedPointSolverClass,
  broyden: Broyden as unknown as FixedPointSolverClass,
};

const KEYS = ['solver', 'solverOptions', 'backward', 'implicitDiffSolve', 'phantomSteps', 'tau', 'parameters', 'init'];

/** A deep equilibrium layer z* = f(z*, x); see the file comment for the gradient modes. */
export class DEQ extends Module {
  /** The equilibrium map (a registered sub-module when it is a Module). */
  readonly f: EquilibriumMap;
  /** The gradient mode. */
  readonly backward: DEQBackward;
  /** Phantom-gradient steps k. */
  readonly phantomSteps: number;
  /** Phantom-gradient damping τ. */
  readonly tau: number;
  /** The state of the last forward solve (iterations, error, convergence). */
  lastSolve: SolverState | null = null;
  declare private readonly solver: IterativeSolver<Tensor, SolverState>;
  declare private readonly extra: Tensor[];
  declare private readonly init: ((x: Tensor) => Tensor) | undefined;

  /** Checks the options and builds the solver. */
  constructor(f: EquilibriumMap, opts: DEQOptions = {}) {
    super();
    const fn = 'new nn.DEQ';
    if (!(f instanceof Module) && typeof f !== 'function') throw typeError(fn, 'f', 'an nn.Module or a function (z, x) => Tensor', f);
    if (typeof opts !== 'object' || opts === null) throw typeError(fn, 'options', 'an options object', opts);
    for (const k of Object.keys(opts)) if (!KEYS.includes(k)) throw new TypeError(`${fn}: unknown option '${k}' (valid options: ${KEYS.join(', ')})`);
    this.f = f;
    const backward = opts.backward ?? 'ift';
    if (!['ift', 'phantom', 'jfb'].includes(backward)) throw typeError(fn, 'backward', "'ift', 'phantom' or 'jfb'", backward);
    this.backward = backward;
    const k = opts.phantomSteps ?? 5;
    if (!Number.isInteger(k) || k < 1) throw typeError(fn, 'phantomSteps', 'an integer >= 1', k);
    this.phantomSteps = k;
    const tau = opts.tau ?? 0.5;
    if (typeof tau !== 'number' || !(tau > 0 && tau <= 1)) throw typeError(fn, 'tau', 'a number in (0, 1]', tau);
    this.tau = tau;
    const extra = opts.parameters ?? [];
    if (!Array.isArray(extra) || !extra.every(isTensor)) throw typeError(fn, 'parameters', 'an array of Tensors', extra);
    if (!(f instanceof Module) && extra.length === 0 && backward === 'ift') {
      throw new TypeError(`${fn}: with a plain function f and backward 'ift', pass the tensors f depends on as 'parameters' (f receives them after (z, x), and the implicit gradient is taken with respect to them), or make f an nn.Module`);
    }
    Object.defineProperty(this, 'extra', { value: extra, enumerable: false });
    if (opts.init !== undefined && typeof opts.init !== 'function') throw typeError(fn, 'init', 'a function x => z0', opts.init);
    Object.defineProperty(this, 'init', { value: opts.init, enumerable: false });
    const S = typeof opts.solver === 'string' ? SOLVERS[opts.solver] : (opts.solver ?? SOLVERS.anderson);
    if (typeof S !== 'function') throw typeError(fn, 'solver', "a solver class of mg.solvers or 'anderson' | 'fixedPoint' | 'broyden'", opts.solver);
    const fixedPointFun = (z: Tensor, x: Tensor, ...ps: Tensor[]): Tensor => this.callWith(z, x, ps);
    const solver = new S({ ...(opts.solverOptions ?? {}), fixedPointFun: fixedPointFun as never, implicitDiffSolve: opts.implicitDiffSolve });
    Object.defineProperty(this, 'solver', { value: solver, enumerable: false });
  }

  /** The tensors the implicit gradient is taken with respect to. */
  private differentiable(): Tensor[] {
    return this.f instanceof Module ? this.f.parameters() : this.extra;
  }

  /** f(z, x) with the differentiated tensors replaced by `ps` (a module's parameters). */
  private callWith(z: Tensor, x: Tensor, ps: Tensor[]): Tensor {
    if (this.f instanceof Module) return functionalCall(this.f, ps, [z, x]) as Tensor;
    return (this.f as (z: Tensor, x: Tensor, ...p: Tensor[]) => Tensor)(z, x, ...ps);
  }

  /** f(z, x) with the current parameters. */
  private step(z: Tensor, x: Tensor): Tensor {
    return this.f instanceof Module ? (this.f.forward(z, x) as Tensor) : (this.f as (z: Tensor, x: Tensor, ...p: Tensor[]) => Tensor)(z, x, ...this.extra);
  }

  /** z* = f(z*, x), differentiable in x and in f's parameters by the chosen mode. */
  override forward(x: Tensor, z0?: Tensor): Tensor {
    if (!isTensor(x)) throw typeError('DEQ.forward', 'x', 'a Tensor', x);
    const start = z0 ?? (this.init ? this.init(x) : zerosLike(x));
    if (this.backward === 'ift' || !isGradEnabled()) {
      const { params, state } = this.solver.run(start, x, ...this.differentiable());
      this.lastSolve = state;
      return params;
    }
    const { params, state } = noGrad(() => this.solver.run(detach(start), detach(x), ...this.differentiable().map((t) => detach(t))));
    this.lastSolve = state;
    let z = detach(params);
    if (this.backward === 'jfb') return this.step(z, x);
    for (let i = 0; i < this.phantomSteps; i++) {
      const fz = this.step(z, x);
      z = this.tau === 1 ? fz : add(mul(fz, this.tau), mul(z, 1 - this.tau));
    }
    return z;
  }
}
