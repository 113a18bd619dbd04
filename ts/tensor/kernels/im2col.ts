/**
 * im2col and col2im over raw buffers: the patches of a [B, C, H, W] image as columns
 * [B, C·kh·kw, oh·ow] (PyTorch's `unfold` layout) and the adjoint, summing columns back into the
 * image. Padding is given per side; padded positions read `padValue` (0, or −∞ for max pooling)
 * and are dropped by col2im. Small sweeps run as the JavaScript loops here, larger ones (and every
 * sweep under mg.jit, which records and replays them) as native/im2col.h; both give the same
 * values bit for bit (copies, and sums of two floats in the same order).
 */
import { type FloatArray, native } from '../native';
import { useNative } from './dispatch';

/** Geometry of one unfold. @internal */
export interface Im2colGeometry {
  batch: number;
  channels: number;
  height: number;
  width: number;
  kh: number;
  kw: number;
  /** Padding: top, bottom, left, right. */
  pad: [number, number, number, number];
  stride: [number, number];
  dilation: [number, number];
  oh: number;
  ow: number;
}

/** Output spatial size of a window sweep. @internal */
export function sweepSize(size: number, padBefore: number, padAfter: number, kernel: number, stride: number, dilation: number): number {
  return Math.floor((size + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** The x range [lo, hi) whose taps land inside the image row (the rest read padding). */
function validRange(ow: number, width: number, sw: number, offset: number): [number, number] {
  // ix = x·sw + offset ∈ [0, width)
  const lo = Math.min(ow, Math.max(0, Math.ceil(-offset / sw)));
  const hi = Math.max(lo, Math.min(ow, Math.ceil((width - offset) / sw)));
  return [lo, hi];
}

/** The geometry words of the native kernels (native/im2col.h). */
function geometryWords(g: Im2colGeometry): Int32Array {
  return Int32Array.of(g.batch, g.channels, g.height, g.width, g.kh, g.kw, g.pad[0], g.pad[2], g.stride[0], g.stride[1], g.dilation[0], g.dilation[1], g.oh, g.ow);
}

/**
 * The walk both kernels share: for each column row (its start `o` in cols, ow entries long),
 * whether it reads the image at all (`inside`: false when the whole row is padding), the image
 * element of tap x = 0 (`row`, possibly before the image row's start) and the valid taps [lo, hi).
 */
function forEachRow(g: Im2colGeometry, visit: (o: number, inside: boolean, row: number, lo: number, hi: number) => void): void {
  const { batch, channels, height, width, kh, kw, oh, ow } = g;
  const [pt, , pl] = g.pad;
  const [sh, sw] = g.stride;
  const [dh, dw] = g.dilation;
  let o = 0;
  for (let bc = 0; bc < batch * channels; bc++) {
    const base = bc * height * width;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const offset = j * dw - pl;
        const [lo, hi] = validRange(ow, width, sw, offset);
        for (let y = 0; y < oh; y++, o += ow) {
          const iy = y * sh - pt + i * dh;
          visit(o, iy >= 0 && iy < height, base + iy * width + offset, lo, hi);
        }
      }
    }
  }
}

/** cols[b, (c·kh + i)·kw + j, y·ow + x] = img[b, c, y·sh − pt + i·dh, x·sw − pl + j·dw]. @internal */
export function im2colInto(img: FloatArray, cols: FloatArray, g: Im2colGeometry, padValue: number): void {
  if (useNative('im2col', cols.length)) {
    native.im2col(img, cols, geometryWords(g), padValue);
    return;
  }
  const { ow } = g;
  const sw = g.stride[1];
  forEachRow(g, (o, inside, row, lo, hi) => {
    if (!inside) {
      cols.fill(padValue, o, o + ow);
      return;
    }
    if (lo > 0) cols.fill(padValue, o, o + lo);
    if (hi < ow) cols.fill(padValue, o + hi, o + ow);
    if (sw === 1) cols.set(img.subarray(row + lo, row + hi), o + lo);
    else for (let x = lo; x < hi; x++) cols[o + x] = img[row + x * sw];
  });
}

/** The adjoint of {@link im2colInto}: img (zeroed by the caller) += the columns at their positions. @internal */
export function col2imInto(cols: FloatArray, img: FloatArray, g: Im2colGeometry): void {
  if (useNative('im2col', cols.length)) {
    native.col2im(cols, img, geometryWords(g));
    return;
  }
  const sw = g.stride[1];
  forEachRow(g, (o, inside, row, lo, hi) => {
    if (!inside) return;
    for (let x = lo; x < hi; x++) img[row + x * sw] += cols[o + x];
  });
}
