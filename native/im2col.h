// im2col and col2im over raw buffers (conv and pooling; the TypeScript twin is
// ts/tensor/kernels/im2col.ts, which documents the layout): the patches of a [B, C, H, W] image as
// columns [B, C·kh·kw, oh·ow] and the adjoint, summing columns back into the image. Shared by the
// eager binding and the replay, which check the geometry and the buffer extents first.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace mg {

// The 14 geometry words, in this order (ts/tensor/kernels/im2col.ts writes them).
struct Im2colGeometry {
  int64_t batch, channels, height, width, kh, kw, padTop, padLeft, strideH, strideW, dilationH,
      dilationW, oh, ow;
};
constexpr int kIm2colWords = 14;

inline Im2colGeometry im2colGeometry(const int32_t* w) {
  return {w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11], w[12], w[13]};
}

// Every count >= 0, strides and dilations >= 1, pads >= 0; "" when valid, else what is wrong.
inline const char* im2colInvalid(const Im2colGeometry& g) {
  if (g.batch < 0 || g.channels < 0 || g.height < 0 || g.width < 0 || g.kh < 0 || g.kw < 0 ||
      g.oh < 0 || g.ow < 0)
    return "im2col sizes must be >= 0";
  if (g.padTop < 0 || g.padLeft < 0) return "im2col padding must be >= 0";
  if (g.strideH < 1 || g.strideW < 1 || g.dilationH < 1 || g.dilationW < 1)
    return "im2col strides and dilations must be >= 1";
  return "";
}

// Element counts of the image and of the columns (each term is < 2^31, so the products of the
// 32-bit fields fit in 64 bits as long as no more than two of them multiply unchecked; the
// caller checks the totals against its buffers with overflow-safe arithmetic).
inline bool im2colSizes(const Im2colGeometry& g, size_t* image, size_t* cols) {
  const auto mul = [](size_t a, size_t b, size_t* out) {
    if (b != 0 && a > SIZE_MAX / b) return false;
    *out = a * b;
    return true;
  };
  size_t bc, hw, kk, ohw, t;
  if (!mul(size_t(g.batch), size_t(g.channels), &bc) || !mul(size_t(g.height), size_t(g.width), &hw) ||
      !mul(size_t(g.kh), size_t(g.kw), &kk) || !mul(size_t(g.oh), size_t(g.ow), &ohw))
    return false;
  if (!mul(bc, hw, image) || !mul(bc, kk, &t) || !mul(t, ohw, cols)) return false;
  return true;
}

// The x range [lo, hi) whose taps land inside an image row (the rest read padding).
inline void im2colValidRange(int64_t ow, int64_t width, int64_t sw, int64_t offset, int64_t* lo,
                             int64_t* hi) {
  // ix = x·sw + offset in [0, width)
  const auto ceilDiv = [](int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
  *lo = std::min(ow, std::max<int64_t>(0, ceilDiv(-offset, sw)));
  *hi = std::max(*lo, std::min(ow, ceilDiv(width - offset, sw)));
}

// The walk both kernels share: for each column row (its start o in cols, ow entries long),
// whether it reads the image at all (inside), the offset of tap x = 0 in the image (row: relative
// to the image's start, possibly before its image row's start) and the valid taps [lo, hi).
template <class F>
void im2colRows(const Im2colGeometry& g, F visit) {
  size_t o = 0;
  const size_t ow = size_t(g.ow);
  for (int64_t bc = 0; bc < g.batch * g.channels; ++bc) {
    const int64_t base = bc * g.height * g.width;
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t offset = j * g.dilationW - g.padLeft;
        int64_t lo, hi;
        im2colValidRange(g.ow, g.width, g.strideW, offset, &lo, &hi);
        for (int64_t y = 0; y < g.oh; ++y, o += ow) {
          const int64_t iy = y * g.strideH - g.padTop + i * g.dilationH;
          visit(o, iy >= 0 && iy < g.height, base + iy * g.width + offset, lo, hi);
        }
      }
  }
}

// cols[b, (c·kh + i)·kw + j, y·ow + x] = img[b, c, y·sh − pt + i·dh, x·sw − pl + j·dw], padded
// positions reading padValue.
template <class T>
void im2col(const T* img, T* cols, const Im2colGeometry& g, T padValue) {
  const size_t ow = size_t(g.ow);
  im2colRows(g, [&](size_t o, bool inside, int64_t row, int64_t lo, int64_t hi) {
    T* dst = cols + o;
    if (!inside) {
      std::fill(dst, dst + ow, padValue);
      return;
    }
    std::fill(dst, dst + lo, padValue);
    std::fill(dst + hi, dst + ow, padValue);
    // row may be < 0 (left padding); row + lo·sw is not.
    if (g.strideW == 1)
      std::copy(img + (row + lo), img + (row + hi), dst + lo);
    else
      for (int64_t x = lo; x < hi; ++x) dst[x] = img[row + x * g.strideW];
  });
}

// The adjoint of im2col: img += the columns at their positions (padded positions dropped).
template <class T>
void col2im(const T* cols, T* img, const Im2colGeometry& g) {
  im2colRows(g, [&](size_t o, bool inside, int64_t row, int64_t lo, int64_t hi) {
    if (!inside) return;
    const T* src = cols + o;
    for (int64_t x = lo; x < hi; ++x) img[row + x * g.strideW] += src[x];
  });
}

}  // namespace mg
