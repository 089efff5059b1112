// The native kernels (kernels.h): convolution gradients on oneDNN, the MaxPool gradient as a loop.
#include "kernels.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace dk {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

bool Conv2d::operator==(const Conv2d& o) const { return std::memcmp(this, &o, sizeof(Conv2d)) == 0; }

std::string Conv2d::describe() const {
  std::ostringstream s;
  s << "X [" << N << ", " << C << ", " << H << ", " << W << "], W [" << M << ", " << (group ? C / group : C) << ", " << kh << ", " << kw
    << "], strides [" << sh << ", " << sw << "], pads [" << pt << ", " << pl << ", " << pb << ", " << pr << "], group " << group;
  return s.str();
}

void conv2dCheck(Conv2d& p) {
  auto bad = [&](const char* what) { throw std::invalid_argument(std::string("convolution ") + p.describe() + ": " + what); };
  if (p.N < 1 || p.C < 1 || p.H < 1 || p.W < 1 || p.M < 1 || p.kh < 1 || p.kw < 1) bad("every size must be at least 1");
  if (p.sh < 1 || p.sw < 1) bad("strides must be at least 1");
  if (p.pt < 0 || p.pl < 0 || p.pb < 0 || p.pr < 0) bad("pads must not be negative");
  if (p.group < 1 || p.C % p.group != 0 || p.M % p.group != 0) bad("group must divide both channel counts");
  const int64_t hs = p.H + p.pt + p.pb - p.kh, ws = p.W + p.pl + p.pr - p.kw;
  if (hs < 0 || ws < 0) bad("the kernel is larger than the padded input");
  p.Ho = hs / p.sh + 1;
  p.Wo = ws / p.sw + 1;
}

void pool2dCheck(Pool2d& p) {
  auto bad = [&](const char* what) {
    std::ostringstream s;
    s << "MaxPool over [" << p.N << ", " << p.C << ", " << p.H << ", " << p.W << "], kernel [" << p.kh << ", " << p.kw << "]: " << what;
    throw std::invalid_argument(s.str());
  };
  if (p.N < 1 || p.C < 1 || p.H < 1 || p.W < 1 || p.kh < 1 || p.kw < 1 || p.sh < 1 || p.sw < 1) bad("sizes and strides must be at least 1");
  if (p.pt < 0 || p.pl < 0 || p.pb < 0 || p.pr < 0 || p.pt >= p.kh || p.pb >= p.kh || p.pl >= p.kw || p.pr >= p.kw) bad("pads must be in [0, kernel)");
  const int64_t hs = p.H + p.pt + p.pb - p.kh, ws = p.W + p.pl + p.pr - p.kw;
  if (hs < 0 || ws < 0) bad("the kernel is larger than the padded input");
  p.Ho = hs / p.sh + 1;
  p.Wo = ws / p.sw + 1;
}

namespace {

dnnl::engine& cpu() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// Blocked copies live only during a call, in buffers taken from a process-wide pool and given
// back: a training graph has a kernel per convolution per unrolled step (the resnet's 8-step
// graph: ~150), and buffers kept per kernel would hold every blocked activation at once.
class BufferPool {
 public:
  struct Buf {
    float* p;
    size_t bytes;
  };
  Buf take(size_t bytes) {
    {
      std::lock_guard<std::mutex> hold(lock_);
      size_t best = free_.size();
      for (size_t i = 0; i < free_.size(); i++)
        if (free_[i].bytes >= bytes && (best == free_.size() || free_[i].bytes < free_[best].bytes)) best = i;
      if (best < free_.size()) {
        Buf b = free_[best];
        free_.erase(free_.begin() + best);
        return b;
      }
    }
    const size_t rounded = (bytes + 63) / 64 * 64;
    float* p = static_cast<float*>(std::aligned_alloc(64, rounded ? rounded : 64));
    if (!p) throw std::bad_alloc();
    return {p, rounded};
  }
  // Free every idle buffer (a session was released: its sizes may not come back).
  void trim() {
    std::lock_guard<std::mutex> hold(lock_);
    for (Buf& b : free_) std::free(b.p);
    free_.clear();
  }
  void give(Buf b) {
    std::lock_guard<std::mutex> hold(lock_);
    free_.push_back(b);
    // keep a few: as many as concurrent calls need (three each), not one per size ever seen
    while (free_.size() > 12) {
      auto smallest = std::min_element(free_.begin(), free_.end(), [](const Buf& a, const Buf& c) { return a.bytes < c.bytes; });
      std::free(smallest->p);
      free_.erase(smallest);
    }
  }

 private:
  std::mutex lock_;
  std::vector<Buf> free_;
};
BufferPool& pool() {
  static BufferPool* p = new BufferPool;  // never destroyed: kernels may run until exit
  return *p;
}

// A blocked buffer for one call (none where the primitive takes the user's layout).
struct Scratch {
  memory mem;
  BufferPool::Buf buf{nullptr, 0};
  Scratch(const memory::desc& want, const memory::desc& user) {
    if (want == user) return;
    buf = pool().take(want.get_size());
    mem = memory(want, cpu(), buf.p);
  }
  ~Scratch() {
    if (buf.p) pool().give(buf);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// One shape's primitive descriptors.
struct Plan {
  Conv2d p{};
  memory::desc x, w, y;     // the user's layouts (NCHW, [g,] OIHW)
  memory::desc xa, wa, ya;  // the same shapes in any layout (the primitives choose)
  dnnl::convolution_forward::primitive_desc fwd;
  dnnl::convolution_backward_data::primitive_desc bwdData;
  dnnl::convolution_backward_weights::primitive_desc bwdWeights;
  bool haveData = false, haveWeights = false;
};

memory::dims weightDims(const Conv2d& p) {
  if (p.group == 1) return {p.M, p.C, p.kh, p.kw};
  return {p.group, p.M / p.group, p.C / p.group, p.kh, p.kw};
}

}  // namespace

void releaseIdleBuffers() { pool().trim(); }

struct ConvGrad::Impl {
  std::vector<std::unique_ptr<Plan>> plans;

  Plan& plan(const Conv2d& p, int threads) {
    for (auto& q : plans)
      if (q->p == p) return *q;
    // Primitives pick their implementation for the thread count in force when they are made.
    omp_set_num_threads(threads);
    auto q = std::make_unique<Plan>();
    q->p = p;
    q->x = memory::desc({p.N, p.C, p.H, p.W}, dt::f32, tag::nchw);
    q->w = memory::desc(weightDims(p), dt::f32, p.group == 1 ? tag::oihw : tag::goihw);
    q->y = memory::desc({p.N, p.M, p.Ho, p.Wo}, dt::f32, tag::nchw);
    q->xa = memory::desc({p.N, p.C, p.H, p.W}, dt::f32, tag::any);
    q->wa = memory::desc(weightDims(p), dt::f32, tag::any);
    q->ya = memory::desc({p.N, p.M, p.Ho, p.Wo}, dt::f32, tag::any);
    const memory::desc ba({p.M}, dt::f32, tag::x);
    const memory::dims st{p.sh, p.sw}, pl{p.pt, p.pl}, pr{p.pb, p.pr};
    q->fwd = dnnl::convolution_forward::primitive_desc(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, q->xa, q->wa, ba, q->ya, st, pl, pr), cpu());
    plans.push_back(std::move(q));
    // A training run feeds every batch size once or twice (the last batch is smaller): few plans.
    if (plans.size() > 8) plans.erase(plans.begin());
    return *plans.back();
  }
};

ConvGrad::ConvGrad() : impl_(new Impl) {}
ConvGrad::~ConvGrad() = default;

namespace {
// The user's array as `user`, reordered into the scratch buffer when it has one.
memory in(dnnl::stream& s, const memory::desc& user, const float* data, Scratch& blocked) {
  memory u(user, cpu(), const_cast<float*>(data));
  if (!blocked.mem) return u;
  dnnl::reorder(u, blocked.mem).execute(s, u, blocked.mem);
  return blocked.mem;
}
memory outBuf(const memory::desc& user, float* data, Scratch& blocked) { return blocked.mem ? blocked.mem : memory(user, cpu(), data); }
void outDone(dnnl::stream& s, const memory::desc& user, float* data, Scratch& blocked) {
  if (!blocked.mem) return;
  memory u(user, cpu(), data);
  dnnl::reorder(blocked.mem, u).execute(s, blocked.mem, u);
}
}  // namespace

void ConvGrad::forward(const Conv2d& p, const float* X, const float* W, const float* B, float* Y, int threads) {
  Plan& q = impl_->plan(p, threads);
  omp_set_num_threads(threads);
  dnnl::stream s(cpu());
  std::vector<float> zero;
  if (!B) zero.assign(p.M, 0.0f);
  memory b(memory::desc({p.M}, dt::f32, tag::x), cpu(), const_cast<float*>(B ? B : zero.data()));
  Scratch bx(q.fwd.src_desc(), q.x), bw(q.fwd.weights_desc(), q.w), by(q.fwd.dst_desc(), q.y);
  memory x = in(s, q.x, X, bx), w = in(s, q.w, W, bw), y = outBuf(q.y, Y, by);
  dnnl::convolution_forward(q.fwd).execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}});
  outDone(s, q.y, Y, by);
  s.wait();
}

void ConvGrad::data(const Conv2d& p, const float* G, const float* W, float* dX, int threads) {
  Plan& q = impl_->plan(p, threads);
  omp_set_num_threads(threads);
  if (!q.haveData) {
    q.bwdData = dnnl::convolution_backward_data::primitive_desc(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, q.xa, q.wa, q.ya, {p.sh, p.sw}, {p.pt, p.pl}, {p.pb, p.pr}), cpu(), q.fwd);
    q.haveData = true;
  }
  dnnl::stream s(cpu());
  Scratch bg(q.bwdData.diff_dst_desc(), q.y), bw(q.bwdData.weights_desc(), q.w), bx(q.bwdData.diff_src_desc(), q.x);
  memory g = in(s, q.y, G, bg), w = in(s, q.w, W, bw), dx = outBuf(q.x, dX, bx);
  dnnl::convolution_backward_data(q.bwdData).execute(s, {{DNNL_ARG_DIFF_DST, g}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}});
  outDone(s, q.x, dX, bx);
  s.wait();
}

void ConvGrad::weights(const Conv2d& p, const float* X, const float* G, float* dW, int threads) {
  Plan& q = impl_->plan(p, threads);
  omp_set_num_threads(threads);
  if (!q.haveWeights) {
    q.bwdWeights = dnnl::convolution_backward_weights::primitive_desc(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, q.xa, q.wa, q.ya, {p.sh, p.sw}, {p.pt, p.pl}, {p.pb, p.pr}), cpu(), q.fwd);
    q.haveWeights = true;
  }
  dnnl::stream s(cpu());
  Scratch bx(q.bwdWeights.src_desc(), q.x), bg(q.bwdWeights.diff_dst_desc(), q.y), bw(q.bwdWeights.diff_weights_desc(), q.w);
  memory x = in(s, q.x, X, bx), g = in(s, q.y, G, bg), dw = outBuf(q.w, dW, bw);
  dnnl::convolution_backward_weights(q.bwdWeights).execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, g}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
  outDone(s, q.w, dW, bw);
  s.wait();
}

namespace {
// 2×2 windows at stride 2 tiling the plane (the zoo's pools): every cell of dX is written once.
void maxPoolGrad2x2(const Pool2d& p, const float* X, const float* G, float* dX, int threads) {
  const int64_t planes = p.N * p.C, hw = p.H * p.W, ohw = p.Ho * p.Wo, W = p.W;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t pc = 0; pc < planes; pc++) {
    const float* x = X + pc * hw;
    const float* g = G + pc * ohw;
    float* d = dX + pc * hw;
    for (int64_t oh = 0; oh < p.Ho; oh++) {
      const float* r0 = x + 2 * oh * W;
      const float* r1 = r0 + W;
      float* d0 = d + 2 * oh * W;
      float* d1 = d0 + W;
      const float* go = g + oh * p.Wo;
      for (int64_t ow = 0; ow < p.Wo; ow++) {
        const int64_t w = 2 * ow;
        const float a = r0[w], b = r0[w + 1], c = r1[w], e = r1[w + 1];
        // the first maximum in row-major order: a, b, c, e
        int j = 0;
        float m = a;
        if (b > m) { m = b; j = 1; }
        if (c > m) { m = c; j = 2; }
        if (e > m) { j = 3; }
        const float v = go[ow];
        d0[w] = j == 0 ? v : 0.0f;
        d0[w + 1] = j == 1 ? v : 0.0f;
        d1[w] = j == 2 ? v : 0.0f;
        d1[w + 1] = j == 3 ? v : 0.0f;
      }
    }
  }
}
}  // namespace

namespace {
// The per-row sums of batchNormGrad's first pass, shifted by x0 (so that Σ(x − x0)² keeps its
// precision when |μ| ≫ σ): eight float lanes, so that the loop vectorizes without reassociation flags.
struct RowSums {
  double sx = 0, sxx = 0, sg = 0, sgx = 0;
};
typedef float v8 __attribute__((vector_size(32)));
inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((target_clones("avx2", "default"))) void rowSums(const float* x, const float* g, int64_t S, float x0, RowSums& r) {
  v8 a = {0}, b = {0}, c = {0}, d = {0};
  const v8 z = {x0, x0, x0, x0, x0, x0, x0, x0};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8 v = load8(x + i) - z, w = load8(g + i);
    a += v;
    b += v * v;
    c += w;
    d += w * v;
  }
  double sx = 0, sxx = 0, sg = 0, sgx = 0;
  for (; i < S; i++) {
    const float v = x[i] - x0, w = g[i];
    sx += v;
    sxx += v * v;
    sg += w;
    sgx += w * v;
  }
  for (int l = 0; l < 8; l++) {
    sx += a[l];
    sxx += b[l];
    sg += c[l];
    sgx += d[l];
  }
  r.sx += sx;
  r.sxx += sxx;
  r.sg += sg;
  r.sgx += sgx;
}
__attribute__((target_clones("avx2", "default"))) void rowAffine(const float* x, const float* g, float* o, int64_t S, float A, float D, float M, float E) {
  const v8 a = {A, A, A, A, A, A, A, A}, d = {D, D, D, D, D, D, D, D}, m = {M, M, M, M, M, M, M, M}, e = {E, E, E, E, E, E, E, E};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8 v = a * load8(g + i) + d * (load8(x + i) - m) + e;
    std::memcpy(o + i, &v, sizeof v);
  }
  for (; i < S; i++) o[i] = A * g[i] + D * (x[i] - M) + E;
}
}  // namespace

void batchNormGrad(const Norm& p, const float* X, const float* G, const float* scale, float* dX, float* dScale, float* dBias, int threads) {
  const int64_t CS = p.C * p.S;
  const double n = static_cast<double>(p.N * p.S);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < p.C; c++) {
    const float x0 = X[c * p.S];
    RowSums r;
    for (int64_t b = 0; b < p.N; b++) rowSums(X + b * CS + c * p.S, G + b * CS + c * p.S, p.S, x0, r);
    const double mu = x0 + r.sx / n;                                 // μ
    const double var = std::max(0.0, r.sxx / n - (r.sx / n) * (r.sx / n));  // σ² = E[(x − x0)²] − (μ − x0)²
    const double inv = 1.0 / std::sqrt(var + p.eps);
    const double sgxc = r.sgx - (mu - x0) * r.sg;                   // Σ G·(x − μ)
    dBias[c] = static_cast<float>(r.sg);
    dScale[c] = static_cast<float>(inv * sgxc);
    const double a = scale[c] * inv, d = -a * inv * inv * sgxc / n, e = -a * r.sg / n;
    // dX = a·G + d·(x − μ) + e
    const float A = static_cast<float>(a), D = static_cast<float>(d), M = static_cast<float>(mu), E = static_cast<float>(e);
    for (int64_t b = 0; b < p.N; b++) rowAffine(X + b * CS + c * p.S, G + b * CS + c * p.S, dX + b * CS + c * p.S, p.S, A, D, M, E);
  }
}

namespace {
__attribute__((target_clones("avx2", "default"))) void maskRange(const float* x, const float* g, float lo, float hi, float* o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = (x[i] > lo && x[i] < hi) ? g[i] : 0.0f;
}
__attribute__((target_clones("avx2", "default"))) void maskAbove(const float* x, const float* g, float lo, float* o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = x[i] > lo ? g[i] : 0.0f;
}
}  // namespace

namespace {
__attribute__((target_clones("avx2", "default"))) void rowStats(const float* x, int64_t S, float x0, double& sx, double& sxx) {
  v8 a = {0}, b = {0};
  const v8 z = {x0, x0, x0, x0, x0, x0, x0, x0};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8 v = load8(x + i) - z;
    a += v;
    b += v * v;
  }
  for (; i < S; i++) {
    const float v = x[i] - x0;
    sx += v;
    sxx += v * v;
  }
  for (int l = 0; l < 8; l++) {
    sx += a[l];
    sxx += b[l];
  }
}
__attribute__((target_clones("avx2", "default"))) void rowScale(const float* x, float* y, int64_t S, float A, float M, float B) {
  const v8 a = {A, A, A, A, A, A, A, A}, m = {M, M, M, M, M, M, M, M}, b = {B, B, B, B, B, B, B, B};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8 v = a * (load8(x + i) - m) + b;
    std::memcpy(y + i, &v, sizeof v);
  }
  for (; i < S; i++) y[i] = A * (x[i] - M) + B;
}
__attribute__((target_clones("avx2", "default"))) void rowScaleClamp(const float* x, float* y, int64_t S, float A, float M, float B, float lo, float hi) {
  const v8 a = {A, A, A, A, A, A, A, A}, m = {M, M, M, M, M, M, M, M}, b = {B, B, B, B, B, B, B, B};
  const v8 l = {lo, lo, lo, lo, lo, lo, lo, lo}, h = {hi, hi, hi, hi, hi, hi, hi, hi};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    v8 v = a * (load8(x + i) - m) + b;
    v = v > l ? v : l;  // (a NaN fails the comparison: lo)
    v = v < h ? v : h;
    std::memcpy(y + i, &v, sizeof v);
  }
  for (; i < S; i++) {
    float v = A * (x[i] - M) + B;
    v = v > lo ? v : lo;
    y[i] = v < hi ? v : hi;
  }
}
}  // namespace

void batchNormTrain(const Norm& p, double momentum, const float* X, const float* scale, const float* bias, const float* mean, const float* var, float* Y,
                    float* newMean, float* newVar, float lo, float hi, int threads) {
  const bool clamp = !(std::isinf(lo) && lo < 0 && std::isinf(hi) && hi > 0);
  const int64_t CS = p.C * p.S;
  const double n = static_cast<double>(p.N * p.S);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < p.C; c++) {
    const float x0 = X[c * p.S];
    double sx = 0, sxx = 0;
    for (int64_t b = 0; b < p.N; b++) rowStats(X + b * CS + c * p.S, p.S, x0, sx, sxx);
    const double mu = x0 + sx / n, v = std::max(0.0, sxx / n - (sx / n) * (sx / n));
    const double inv = 1.0 / std::sqrt(v + p.eps);
    newMean[c] = static_cast<float>(momentum * mean[c] + (1 - momentum) * mu);
    newVar[c] = static_cast<float>(momentum * var[c] + (1 - momentum) * v);
    const float A = static_cast<float>(scale[c] * inv), M = static_cast<float>(mu), B = bias[c];
    for (int64_t b = 0; b < p.N; b++) {
      if (clamp) rowScaleClamp(X + b * CS + c * p.S, Y + b * CS + c * p.S, p.S, A, M, B, lo, hi);
      else rowScale(X + b * CS + c * p.S, Y + b * CS + c * p.S, p.S, A, M, B);
    }
  }
}

void globalAveragePoolGrad(int64_t planes, int64_t S, const float* G, float* dX, int threads) {
  const float inv = 1.0f / static_cast<float>(S);
#pragma omp parallel for num_threads(threads) schedule(static) if (planes * S > 16384)
  for (int64_t pc = 0; pc < planes; pc++) {
    const float v = G[pc] * inv;
    std::fill(dX + pc * S, dX + (pc + 1) * S, v);
  }
}

void maskGrad(int64_t n, const float* X, const float* G, float lo, float hi, bool upper, float* dX, int threads) {
  // chunks of 16K floats (64 KB): enough work per chunk, and the threads split large tensors evenly
  const int64_t chunk = 16384, chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; c++) {
    const int64_t a = c * chunk, b = std::min(n, a + chunk);
    if (upper) maskRange(X + a, G + a, lo, hi, dX + a, b - a);
    else maskAbove(X + a, G + a, lo, dX + a, b - a);
  }
}

void maxPoolGrad(const Pool2d& p, const float* X, const float* G, float* dX, int threads) {
  if (p.kh == 2 && p.kw == 2 && p.sh == 2 && p.sw == 2 && p.pt == 0 && p.pl == 0 && p.pb == 0 && p.pr == 0 && p.H == 2 * p.Ho && p.W == 2 * p.Wo)
    return maxPoolGrad2x2(p, X, G, dX, threads);
  const int64_t planes = p.N * p.C, hw = p.H * p.W, ohw = p.Ho * p.Wo;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t pc = 0; pc < planes; pc++) {
    const float* x = X + pc * hw;
    const float* g = G + pc * ohw;
    float* d = dX + pc * hw;
    std::memset(d, 0, sizeof(float) * hw);
    for (int64_t oh = 0; oh < p.Ho; oh++) {
      const int64_t h0 = oh * p.sh - p.pt;
      const int64_t ha = h0 < 0 ? 0 : h0, hb = h0 + p.kh > p.H ? p.H : h0 + p.kh;
      for (int64_t ow = 0; ow < p.Wo; ow++) {
        const int64_t w0 = ow * p.sw - p.pl;
        const int64_t wa = w0 < 0 ? 0 : w0, wb = w0 + p.kw > p.W ? p.W : w0 + p.kw;
        int64_t best = ha * p.W + wa;
        float m = x[best];
        for (int64_t h = ha; h < hb; h++)
          for (int64_t w = wa; w < wb; w++) {
            const float v = x[h * p.W + w];
            if (v > m) {  // strictly greater: the first maximum in row-major order wins
              m = v;
              best = h * p.W + w;
            }
          }
        d[best] += g[oh * p.Wo + ow];
      }
    }
  }
}

}  // namespace dk
