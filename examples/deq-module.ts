/**
 * A deep-equilibrium layer as an ImplicitMetaGradientModule (TorchOpt's tutorial program, which
 * fails there with a grad_output shape mismatch): x* = f(x*) for a meta network f, differentiated
 * with respect to f's parameters by the implicit function theorem.
 *
 *   npx tsx examples/deq-module.ts
 */
import * as mg from 'metagrad';

/** Inner module: its parameter x is driven to the fixed point of the meta network. */
export class FixedPoint extends mg.diff.implicit.ImplicitMetaGradientModule {
  declare metaNet: mg.nn.Module;
  declare x: mg.Tensor;

  constructor(metaNet: mg.nn.Module, readonly iterations = 10) {
    super(metaNet);
    this.metaNet = metaNet;
  }

  /** Sets the starting point x (shape [1, 4]) as the inner parameter. */
  registerX(x: mg.Tensor): void {
    this.x = new mg.nn.Parameter(x);
  }

  override forward(x: mg.Tensor): mg.Tensor {
    return this.metaNet.forward(x) as mg.Tensor;
  }

  /** The fixed-point residual x − f(x), aligned with parameters(). */
  override optimality(): mg.Tensor[] {
    return [this.x.sub(this.forward(this.x))];
  }

  /** Plain fixed-point iteration (not differentiated). */
  solve(): this {
    for (let i = 0; i < this.iterations; i++) this.x = new mg.nn.Parameter(this.forward(this.x));
    return this;
  }
}

/** The tutorial's meta network: Linear(4, 4) → ReLU → Linear(4, 4). */
export function makeMetaNet(): mg.nn.Sequential {
  return new mg.nn.Sequential(new mg.nn.Linear(4, 4), new mg.nn.ReLU(), new mg.nn.Linear(4, 4));
}

if (require.main === module) {
  mg.manualSeed(0);
  const metaNet = makeMetaNet();
  const inner = new FixedPoint(metaNet);
  inner.registerX(mg.randn(1, 4));
  inner.solve();
  const grads = mg.autograd.grad(inner.x.mean(), metaNet.parameters()) as mg.Tensor[];
  console.log('x* =', inner.x.toString());
  metaNet.namedParameters().forEach(([name], i) => console.log(`d mean(x*) / d ${name} =`, grads[i].toString()));
}
