/** The BatchNorm net of the safetensors fixtures (scripts/fixtures/metagrad_safetensors.ts). */
import * as mg from '../../ts/index';

/** Sequential(Linear(3, 4), BatchNorm1d(4)) from seed 2 after two training-mode batches. */
export function bnNet(): mg.nn.Sequential {
  mg.manualSeed(2);
  const bn = new mg.nn.Sequential(new mg.nn.Linear(3, 4), new mg.nn.BatchNorm1d(4));
  mg.noGrad(() => {
    bn.forward(mg.linspace(-1, 2, 15).reshape(5, 3));
    bn.forward(mg.linspace(3, -0.5, 15).reshape(5, 3));
  });
  return bn;
}
