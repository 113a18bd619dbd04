/** `mg.tree`: pytree utilities.
 *
 * @module
 */
export { flatten, leaves, map, numLeaves, sameStructure, unflatten, type Tree, type TreeSpec } from './tree';
export * from './tree-math';
