/**
 * The types every optimizer shares: Optax/TorchOpt gradient transformations (a pure `init` and
 * `update` pair), learning-rate schedules, and the flat form the built-in transforms work on.
 */
import type { Tensor } from '../tensor/tensor';
import type { TreeSpec } from '../tree/tree';

/** An optimizer state: whatever a transformation's `init` returns (plain objects, arrays, tensors, numbers). */
export type OptState = unknown;

/** A scalar hyperparameter: a number, or a one-element tensor (which may require grad, e.g. a meta-learned learning rate). */
export type Scalar = number | Tensor;

/** A schedule: maps the number of updates done so far (0 on the first update) to a value. */
export type Schedule = (count: number) => Scalar;

/** A fixed scalar or a schedule, accepted wherever a learning rate is. */
export type ScalarOrSchedule = Scalar | Schedule;

/** Options of {@link GradientTransformation.update}. */
export interface UpdateOptions {
  /** The current parameters (a tree like the updates); needed by weight decay. */
  params?: unknown;
  /**
   * Update the updates and the state tensors in place (default true), as TorchOpt. Any single
   * write that autograd could not record (a tensor that requires grad, while grad mode is on)
   * is done out of place instead, so the result stays graph-connected.
   */
  inplace?: boolean;
}

/**
 * A gradient transformation (TorchOpt's `GradientTransformation`): `init(params)` builds the
 * state; `update(updates, state, { params, inplace })` returns the transformed updates (a tree
 * like `updates`) and the new state. The updates of the built-in optimizers already include the
 * −lr factor: add them to the parameters with `applyUpdates`.
 */
export interface GradientTransformation<S = OptState> {
  /** Builds the initial state for a tree of parameters. */
  init(params: unknown): S;
  /** Transforms a tree of updates (usually gradients; null leaves are skipped). */
  update(updates: unknown, state: S, opts?: UpdateOptions): [unknown, S];
}

/** A tensor leaf, or null where a parameter has no gradient. @internal */
export type Leaf = Tensor | null;

/** What a flat transformation's `update` gets besides the updates and the state. @internal */
export interface FlatContext {
  /** The parameters, aligned with the updates, or null when the caller gave none. */
  readonly params: readonly Leaf[] | null;
  /** The caller's `inplace` flag. */
  readonly inplace: boolean;
  /** The structure of the caller's tree (for masks given as trees or functions). */
  readonly spec: TreeSpec;
  /** Name of the public function, for error messages (e.g. `adam.update`). */
  readonly fn: string;
}

/**
 * The form the built-in transformations are written in (TorchOpt's `chain_flat` default): lists of
 * leaves aligned with the flattened parameters, so a chain flattens the trees once. @internal
 */
export interface FlatTransformation<S = OptState> {
  /** Initial state from the flattened parameters. */
  init(params: readonly Leaf[], spec: TreeSpec): S;
  /** New updates (aligned with `updates`) and new state. */
  update(updates: readonly Leaf[], state: S, ctx: FlatContext): [Leaf[], S];
}
