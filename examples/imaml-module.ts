/**
 * TorchOpt's implicit-differentiation tutorial, object-oriented part: the same iMAML inner problem
 * as `imaml-functional.ts`, written as an ImplicitMetaGradientModule.
 *
 *   npx tsx examples/imaml-module.ts
 */
import * as mg from 'metagrad';
import { tutorialSetup } from './imaml-functional';

/** Inner network: its parameters are adapted to (x, y), regularised towards the meta network's. */
export class InnerNet extends mg.diff.implicit.ImplicitMetaGradientModule {
  static override linearSolve = mg.linearSolve.solveNormalCg({ maxiter: 5, atol: 0 });
  // The tutorial's 100 SGD steps stop 1.6e-2 (relative) from the root: accept that, as its numbers do.
  static override implicitOptions = { rootTol: 0.05 };
  declare metaNet: mg.nn.Module;
  declare net: mg.nn.Module;
  declare nInnerIter: number;
  declare regParam: number;

  constructor(metaNet: mg.nn.Module, nInnerIter: number, regParam: number) {
    super(metaNet, nInnerIter, regParam);
    this.metaNet = metaNet;
    this.net = mg.moduleClone(metaNet, { by: 'deepcopy', detachBuffers: true });
    this.nInnerIter = nInnerIter;
    this.regParam = regParam;
  }

  override forward(x: mg.Tensor): mg.Tensor {
    return this.net.forward(x) as mg.Tensor;
  }

  /** MSE + ½·reg·Σ‖p − p_meta‖². */
  override objective(x: mg.Tensor, y: mg.Tensor): mg.Tensor {
    const loss = mg.nn.functional.mseLoss(this.forward(x), y);
    const meta = this.metaParameters();
    let reg = mg.tensor(0);
    this.parameters().forEach((p, i) => {
      reg = reg.add(p.view(-1).sub(meta[i].view(-1)).square().sum().mul(0.5 * this.regParam));
    });
    return loss.add(reg);
  }

  /** 100 steps of SGD on the objective; afterwards the parameters are the implicit solution. */
  solve(x: mg.Tensor, y: mg.Tensor): this {
    const params = this.parameters();
    const optimizer = new mg.SGD(params, { lr: 2e-2 });
    mg.enableGrad(() => {
      for (let i = 0; i < this.nInnerIter; i++) {
        const loss = this.objective(x, y);
        optimizer.zeroGrad();
        loss.backward({ inputs: params });
        optimizer.step();
      }
    });
    return this;
  }
}

/** Meta-gradient of mean(inner.solve(x, y).forward(x)) with respect to the meta network's parameters. */
export function metaGradientOO(seed = 0): mg.Tensor[] {
  const { x, y } = tutorialSetup(seed);
  // Same initialisation as the functional version: re-seed and build the same nn.Linear(4, 1).
  mg.manualSeed(seed);
  mg.randn(20, 4);
  mg.randn(4, 1);
  mg.randn(1);
  mg.randn(20, 1);
  const metaNet = new mg.nn.Linear(4, 1);
  const inner = new InnerNet(metaNet, 100, 1);
  const outer = (inner.solve(x, y) as InnerNet).forward(x).mean();
  return mg.autograd.grad(outer, metaNet.parameters()) as mg.Tensor[];
}

if (require.main === module) {
  const g = metaGradientOO();
  console.log('meta-gradient (ImplicitMetaGradientModule):', g.map((t) => t.toString()).join(' '));
}
