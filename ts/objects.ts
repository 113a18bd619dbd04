/** Object classification shared by every layer (option bags, pytrees, optimizer states). */

/** True for `{ … }` literals and null-prototype objects: not arrays, typed arrays, tensors or class instances. */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}
