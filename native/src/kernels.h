// Kernels of dark-knowledge's native operators (domain "dk.native"), independent of onnxruntime:
// plain float32 arrays in NCHW / ONNX layouts in, out. kernels.cc implements them with oneDNN
// (the convolution gradients) and plain loops (the pooling gradient).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace dk {

// A 2-D convolution as ONNX's Conv describes it: X [N, C, H, W], W [M, C/group, kh, kw],
// Y [N, M, Ho, Wo]; pads are begin (top, left) then end (bottom, right).
struct Conv2d {
  int64_t N, C, H, W, M, kh, kw, sh, sw, pt, pl, pb, pr, group, Ho, Wo;
  bool operator==(const Conv2d& o) const;
  std::string describe() const;
};

// Ho, Wo from the rest; throws std::invalid_argument naming what does not fit.
void conv2dCheck(Conv2d& p);

// The convolution gradients for one shape: primitives built once, reused by every call with the
// same shape. Not for concurrent calls on one object (a kernel instance runs one node).
class ConvGrad {
 public:
  ConvGrad();
  ~ConvGrad();
  // dW[M, C/g, kh, kw] = Σ_(n, y) G[n, m, y] · X[n, c, y·s + o − p]
  void weights(const Conv2d& p, const float* X, const float* G, float* dW, int threads);
  // dX[N, C, H, W] = the transposed convolution of G with W
  void data(const Conv2d& p, const float* G, const float* W, float* dX, int threads);
  // Y = Conv(X, W) + B (B may be null)
  void forward(const Conv2d& p, const float* X, const float* W, const float* B, float* Y, int threads);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The convolutions' blocked copies come from a process-wide pool of buffers, kept between calls;
// this frees the idle ones (called when a session is released).
void releaseIdleBuffers();

// A 2-D MaxPool (ONNX semantics, no dilation, no ceil mode): X [N, C, H, W] → Y [N, C, Ho, Wo].
struct Pool2d {
  int64_t N, C, H, W, kh, kw, sh, sw, pt, pl, pb, pr, Ho, Wo;
};
void pool2dCheck(Pool2d& p);

// dX = 0, then for every output cell the gradient G goes to its window's first maximum of X
// (row-major within the window, padding never wins) — the cell MaxPool's Indices output names,
// and the one PyTorch's max_pool2d backward picks.
void maxPoolGrad(const Pool2d& p, const float* X, const float* G, float* dX, int threads);

// BatchNormalization in training mode over X [N, C, S] (S: the product of the spatial dims, 1
// for [N, C]), statistics over N·S per channel (biased variance, as the forward uses):
//   x̂ = (x − μ)·inv, inv = 1/√(σ² + ε), y = γ·x̂ + β
//   dβ = Σ G, dγ = inv·Σ G·(x − μ), dX = γ·inv·(G − ΣG/n) − γ·inv³·(x − μ)·Σ G·(x − μ)/n
// μ and σ² are computed again from X (one pass for them and the gradient's sums, accumulated per
// row in float and across rows in double; a second pass writes dX).
struct Norm {
  int64_t N, C, S;
  double eps;
};
void batchNormGrad(const Norm& p, const float* X, const float* G, const float* scale, float* dX, float* dScale, float* dBias, int threads);

// The training-mode forward (onnxruntime's semantics, checked against it): y = γ·(x − μ)·inv + β
// with the batch's μ and biased σ², and the running statistics
// mean' = momentum·mean + (1 − momentum)·μ, var' = momentum·var + (1 − momentum)·σ².
// With lo ≤ hi other than (−∞, +∞), y is clamped to [lo, hi] as well (a Relu or Clip fused in;
// a NaN y comes out as lo).
void batchNormTrain(const Norm& p, double momentum, const float* X, const float* scale, const float* bias, const float* mean, const float* var, float* Y,
                    float* newMean, float* newVar, float lo, float hi, int threads);

// GlobalAveragePool's gradient: dX[n, c, ·] = G[n, c] / S over the S spatial cells of each plane.
void globalAveragePoolGrad(int64_t planes, int64_t S, const float* G, float* dX, int threads);

// dX[i] = G[i] where lo < X[i] (and, with `upper`, X[i] < hi), else 0 (NaN: 0) — Relu's gradient
// from its output (lo = 0, no upper bound), and Clip's from its input.
void maskGrad(int64_t n, const float* X, const float* G, float lo, float hi, bool upper, float* dX, int threads);

}  // namespace dk
