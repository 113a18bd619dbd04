/**
 * TorchOpt's implicit-differentiation tutorial (functional API), in TypeScript: iMAML's inner
 * problem on a linear model, differentiated by customRoot with 5 normal-CG iterations (or a
 * Neumann series), compared with the closed form.
 *
 *   npx tsx examples/imaml-functional.ts
 */
import * as mg from 'metagrad';

/** Params of the inner problem: [weight [1, 4], bias [1]] of nn.Linear(4, 1). */
type Params = mg.Tensor[];
type Data = [mg.Tensor, mg.Tensor, mg.func.FunctionalModel<mg.nn.Linear>];

/** Inner objective: MSE + ½‖params − metaParams‖². */
export const imamlObjective = (params: Params, metaParams: Params, data: Data): mg.Tensor => {
  const [x, y, fmodel] = data;
  let reg = mg.tensor(0);
  params.forEach((p, i) => {
    reg = reg.add(p.view(-1).sub(metaParams[i].view(-1)).square().sum().mul(0.5));
  });
  return mg.nn.functional.mseLoss(fmodel(params, x) as mg.Tensor, y).add(reg);
};

/** The inner solver wrapped by customRoot; `solve` picks the backward linear solver. */
export function makeInnerSolver(solve: mg.diff.implicit.LinearSolver) {
  return mg.diff.implicit.customRoot(
    mg.func.grad(imamlObjective, { argnums: 0 }), // optimality: the inner objective's gradient is 0
    // 100 SGD steps leave the inner problem 1.6e-2 from its root (relative to ‖x*‖), as in TorchOpt's
    // tutorial, whose numbers these are; the root check would otherwise (rightly) refuse it.
    { argnums: 1, solve, rootTol: 0.05 },
  )((params: Params, metaParams: Params, data: Data): Params => {
    const optimizer = mg.sgd({ lr: 2e-2 });
    let optState = optimizer.init(params);
    return mg.enableGrad(() => {
      for (let i = 0; i < 100; i++) {
        const loss = imamlObjective(params, metaParams, data);
        const grads = mg.autograd.grad(loss, params) as mg.Tensor[];
        let updates;
        [updates, optState] = optimizer.update(grads, optState, { inplace: true });
        params = mg.applyUpdates(params, updates, { inplace: true }) as Params;
      }
      return params;
    });
  });
}

/** Detached leaf copies that require grad (the tutorial's `clone`). */
export const clone = (params: Params): Params => params.map((p) => p.clone().detach().requiresGrad_(true));

/** The tutorial's data and model: x [20, 4], y = x·w + b + 0.5·noise, nn.Linear(4, 1). */
export function tutorialSetup(seed = 0): { x: mg.Tensor; y: mg.Tensor; fmodel: mg.func.FunctionalModel<mg.nn.Linear>; metaParams: Params } {
  mg.manualSeed(seed);
  const x = mg.randn(20, 4);
  const w = mg.randn(4, 1);
  const b = mg.randn(1);
  const y = x.matmul(w).add(b).add(mg.randn(20, 1).mul(0.5));
  const model = new mg.nn.Linear(4, 1);
  const [fmodel, metaParams] = mg.func.makeFunctional(model);
  return { x, y, fmodel, metaParams };
}

/** Meta-gradient of mean(fmodel(optimal, x)) with respect to the meta-parameters. */
export function metaGradient(solve: mg.diff.implicit.LinearSolver, seed = 0): mg.Tensor[] {
  const { x, y, fmodel, metaParams } = tutorialSetup(seed);
  const innerSolver = makeInnerSolver(solve);
  const optimal = innerSolver(clone(metaParams), metaParams, [x, y, fmodel]);
  return mg.autograd.grad((fmodel(optimal, x) as mg.Tensor).mean(), metaParams) as mg.Tensor[];
}

if (require.main === module) {
  const cg = metaGradient(mg.linearSolve.solveNormalCg({ maxiter: 5, atol: 0 }));
  const ns = metaGradient(mg.linearSolve.solveInv({ ns: true, maxiter: 100, alpha: 0.1 }));
  console.log('meta-gradient (normal CG, 5 iterations):', cg.map((g) => g.toString()).join(' '));
  console.log('meta-gradient (Neumann series, 100 terms):', ns.map((g) => g.toString()).join(' '));
  console.log('backward solve:', mg.diff.implicit.lastSolveInfo());
}
