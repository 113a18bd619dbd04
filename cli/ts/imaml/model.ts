/**
 * The regression network of the sinusoid benchmark as a list of parameter tensors: an MLP with
 * ReLU between layers (1 → 40 → 40 → 1 by default). Parameters are named and ordered like PyTorch's
 * `nn.Sequential(Linear, ReLU, Linear, ReLU, Linear)` state dict, so a checkpoint loads there.
 */
import { type Generator, type Tensor, nn, zeros } from 'metagrad';
import type { ParamSpec } from '../params';


/** The parameters of an MLP with layer widths `sizes` (input first), in PyTorch's order. */
export function mlpParamSpecs(sizes: readonly number[]): ParamSpec[] {
  const specs: ParamSpec[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    // Sequential indices count the ReLUs in between: Linear layers sit at 0, 2, 4, …
    specs.push({ name: `${2 * l}.weight`, shape: [sizes[l + 1], sizes[l]] });
    specs.push({ name: `${2 * l}.bias`, shape: [sizes[l + 1]] });
  }
  return specs;
}

/** PyTorch's default `nn.Linear` initialisation drawn from `generator` (weights then bias, per layer). */
export function initMlp(sizes: readonly number[], generator: Generator): Tensor[] {
  const params = mlpParamSpecs(sizes).map((s) => zeros(s.shape));
  for (let i = 0; i < params.length; i += 2) {
    const [w, b] = [params[i], params[i + 1]];
    nn.init.kaimingUniform_(w, { a: Math.sqrt(5), generator });
    const bound = 1 / Math.sqrt(w.shape[1]);
    nn.init.uniform_(b, -bound, bound, { generator });
  }
  return params;
}

/** The network's output [N, out] for inputs [N, in]. */
export function mlpForward(params: readonly Tensor[], x: Tensor): Tensor {
  let h = x;
  for (let i = 0; i < params.length; i += 2) {
    h = nn.functional.linear(h, params[i], params[i + 1]);
    if (i + 2 < params.length) h = nn.functional.relu(h);
  }
  return h;
}
