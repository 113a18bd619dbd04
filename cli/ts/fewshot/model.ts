/**
 * The few-shot network of MAML (Finn et al. 2017) for 28×28 images, narrowed for two cores: four
 * blocks of conv 3×3 (padding 1) → batch norm → ReLU → 2×2 max pooling (28 → 14 → 7 → 3 → 1),
 * then a linear head on the `channels` features. Batch norm uses the statistics of the batch it
 * is given (no running statistics), as MAML does. The parameters are a list of tensors named and
 * ordered like PyTorch's `nn.Sequential(Conv2d, BatchNorm2d(track_running_stats=False), ReLU,
 * MaxPool2d, …, Flatten, Linear)` state dict, so a saved model loads there.
 */
import { type Generator, type Tensor, nn, ones, zeros } from 'metagrad';
import type { ParamSpec } from '../params';

/** Conv blocks. */
export const BLOCKS = 4;
/** Sequential modules per block (conv, batch norm, ReLU, pool). */
const PER_BLOCK = 4;

/** The parameters, in PyTorch's order and names. */
export function convNetSpecs(channels: number, ways: number): ParamSpec[] {
  const specs: ParamSpec[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const at = b * PER_BLOCK;
    specs.push({ name: `${at}.weight`, shape: [channels, b === 0 ? 1 : channels, 3, 3] }, { name: `${at}.bias`, shape: [channels] });
    specs.push({ name: `${at + 1}.weight`, shape: [channels] }, { name: `${at + 1}.bias`, shape: [channels] });
  }
  // Flatten sits at BLOCKS·PER_BLOCK, the head after it.
  const head = BLOCKS * PER_BLOCK + 1;
  specs.push({ name: `${head}.weight`, shape: [ways, channels] }, { name: `${head}.bias`, shape: [ways] });
  return specs;
}

/** PyTorch's default initialisation drawn from `generator`: conv and linear weights kaiming-uniform(a = √5), biases uniform ±1/√fan_in; batch norm γ = 1, β = 0. */
export function initConvNet(channels: number, ways: number, generator: Generator): Tensor[] {
  const specs = convNetSpecs(channels, ways);
  const params: Tensor[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    params.push(...initLayer(specs[4 * b].shape, generator));
    params.push(ones(specs[4 * b + 2].shape), zeros(specs[4 * b + 3].shape));
  }
  params.push(...initLayer(specs[4 * BLOCKS].shape, generator));
  return params;
}

/** A conv or linear layer's weight of `shape` and its bias, drawn as PyTorch does (weight first). */
export function initLayer(shape: readonly number[], generator: Generator): [Tensor, Tensor] {
  const [weight, bias] = [zeros([...shape]), zeros([shape[0]])];
  nn.init.kaimingUniform_(weight, { a: Math.sqrt(5), generator });
  const bound = 1 / Math.sqrt(weight.numel / weight.shape[0]);
  nn.init.uniform_(bias, -bound, bound, { generator });
  return [weight, bias];
}

/** The `channels` features of images [N, 784] (or [N, 1, 28, 28]). */
export function convFeatures(params: readonly Tensor[], x: Tensor): Tensor {
  const F = nn.functional;
  let h = x.reshape(x.shape[0], 1, 28, 28);
  for (let b = 0; b < BLOCKS; b++) {
    const [w, bias, gamma, beta] = params.slice(4 * b, 4 * b + 4);
    h = F.conv2d(h, w, bias, { padding: 1 });
    h = F.batchNorm(h, null, null, { weight: gamma, bias: beta, training: true });
    h = F.maxPool2d(F.relu(h), 2);
  }
  return h.flatten(1);
}

/** Logits [N, ways] of images. */
export function convLogits(params: readonly Tensor[], x: Tensor): Tensor {
  const n = params.length;
  return nn.functional.linear(convFeatures(params, x), params[n - 2], params[n - 1]);
}
