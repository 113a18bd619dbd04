/**
 * DEQ diagnostics and regularisers. `jacobianRegularization` is the Hutchinson estimate of
 * ‖∂f/∂z‖²_F at the equilibrium (Bai et al. 2021, "Stabilizing Equilibrium Models by Jacobian
 * Regularization"): E_v ‖vᵀ J‖² with v ~ N(0, I), differentiable (added to a loss, it keeps f's
 * Jacobian small and the fixed point easy to find). `spectralRadius` estimates the largest
 * |eigenvalue| of ∂f/∂z by power iteration, a number to monitor (below 1: plain iteration converges).
 */
import { grad } from '../autograd/engine';
import { enableGrad, noGrad } from '../autograd/grad-mode';
import { typeError } from '../errors';
import { jvp } from '../func/transforms';
import { randn } from '../ops/creation';
import { add, div, mul } from '../ops/elementwise';
import { detach } from '../ops/inplace';
import { sum } from '../ops/reduce';
import { type Generator } from '../tensor/generator';
import { type Tensor, isTensor } from '../tensor/tensor';
import { Module } from '../nn/module';

/** f(z, x): a module or a function. */
export type EquilibriumFunction = Module | ((z: Tensor, x: Tensor) => Tensor);

function call(f: EquilibriumFunction, z: Tensor, x: Tensor): Tensor {
  return f instanceof Module ? (f.forward(z, x) as Tensor) : f(z, x);
}

/** Options of {@link jacobianRegularization}. */
export interface JacobianRegularizationOptions {
  /** Number of probe vectors v (default 1). */
  samples?: number;
  /** 'sum' (default): the estimate of ‖J‖²_F; 'mean': divided by z's number of elements (TorchDEQ's `jac_reg`). */
  reduction?: 'sum' | 'mean';
  /** Generator of the probes (default: the global one). */
  generator?: Generator;
}

/**
 * The Hutchinson estimate of ‖∂f/∂z‖²_F at (z, x), averaged over `samples` probes, as a 0-d tensor
 * differentiable in f's parameters (and in z and x when they require grad).
 */
export function jacobianRegularization(f: EquilibriumFunction, z: Tensor, x: Tensor, opts: JacobianRegularizationOptions = {}): Tensor {
  const fn = 'nn.deq.jacobianRegularization';
  if (!(f instanceof Module) && typeof f !== 'function') throw typeError(fn, 'f', 'an nn.Module or a function (z, x) => Tensor', f);
  if (!isTensor(z)) throw typeError(fn, 'z', 'a Tensor', z);
  if (!isTensor(x)) throw typeError(fn, 'x', 'a Tensor', x);
  const samples = opts.samples ?? 1;
  if (!Number.isInteger(samples) || samples < 1) throw typeError(fn, 'samples', 'an integer >= 1', samples);
  const reduction = opts.reduction ?? 'sum';
  if (reduction !== 'sum' && reduction !== 'mean') throw typeError(fn, 'reduction', "'sum' or 'mean'", reduction);
  return enableGrad(() => {
    const zz = z.requiresGrad ? z : detach(z).requiresGrad_(true);
    const fz = call(f, zz, x);
    let total: Tensor | null = null;
    for (let s = 0; s < samples; s++) {
      const v = randn(fz.shape, { dtype: fz.dtype, generator: opts.generator });
      const [vJ] = grad(fz, [zz], { gradOutputs: v, createGraph: true, retainGraph: true }) as Tensor[];
      const sq = sum(mul(vJ, vJ));
      total = total === null ? sq : add(total, sq);
    }
    const mean = div(total as Tensor, samples);
    return reduction === 'mean' ? div(mean, z.numel) : mean;
  });
}

/** Options of {@link spectralRadius}. */
export interface SpectralRadiusOptions {
  /** Power iterations (default 30). */
  iterations?: number;
  /** Generator of the starting vector. */
  generator?: Generator;
}

/**
 * An estimate of the spectral radius of ∂f/∂z at (z, x) by power iteration on J·v (forward mode):
 * ‖J v_k‖ with v_k normalised. For monitoring (a number, no graph); power iteration converges to
 * the largest |eigenvalue| when it is unique (for a non-normal J it may oscillate).
 */
export function spectralRadius(f: EquilibriumFunction, z: Tensor, x: Tensor, opts: SpectralRadiusOptions = {}): number {
  const fn = 'nn.deq.spectralRadius';
  if (!isTensor(z)) throw typeError(fn, 'z', 'a Tensor', z);
  const iterations = opts.iterations ?? 30;
  if (!Number.isInteger(iterations) || iterations < 1) throw typeError(fn, 'iterations', 'an integer >= 1', iterations);
  return noGrad(() => {
    const z0 = detach(z);
    const x0 = detach(x);
    let v = randn(z0.shape, { dtype: z0.dtype, generator: opts.generator });
    v = div(v, Math.sqrt(sum(mul(v, v)).item()));
    let rho = 0;
    for (let k = 0; k < iterations; k++) {
      const jv = jvp((zz: Tensor) => call(f, zz, x0), [z0], [v])[1] as Tensor;
      rho = Math.sqrt(sum(mul(jv, jv)).item());
      if (!(rho > 0)) return rho;
      v = div(jv, rho);
    }
    return rho;
  });
}
