// The native kernels (kernels.h): convolution gradients on oneDNN, the MaxPool gradient as a loop.
#include "kernels.h"

#include <omp.h>

#include <cstring>
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

// One shape's primitives, with the blocked buffers they want (allocated once, reused).
struct Plan {
  Conv2d p{};
  memory::desc x, w, y;  // the user's layouts (NCHW, [g,] OIHW)
  dnnl::convolution_forward::primitive_desc fwd;
  dnnl::convolution_backward_data::primitive_desc bwdData;
  dnnl::convolution_backward_weights::primitive_desc bwdWeights;
  bool haveData = false, haveWeights = false;
  // blocked buffers by role (empty where the primitive takes the user's layout)
  memory fx, fw, fy, dDy, dW, dDx, wX, wDy, wDw;
};

memory::dims weightDims(const Conv2d& p) {
  if (p.group == 1) return {p.M, p.C, p.kh, p.kw};
  return {p.group, p.M / p.group, p.C / p.group, p.kh, p.kw};
}

// A buffer in `want`'s layout, or an empty memory where `want` is the user's layout `user`.
memory blockedFor(const memory::desc& want, const memory::desc& user) {
  if (want == user) return memory();
  return memory(want, cpu());
}

}  // namespace

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
    const memory::desc xa({p.N, p.C, p.H, p.W}, dt::f32, tag::any), wa(weightDims(p), dt::f32, tag::any),
        ya({p.N, p.M, p.Ho, p.Wo}, dt::f32, tag::any), ba({p.M}, dt::f32, tag::x);
    const memory::dims st{p.sh, p.sw}, pl{p.pt, p.pl}, pr{p.pb, p.pr};
    q->fwd = dnnl::convolution_forward::primitive_desc(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, xa, wa, ba, ya, st, pl, pr), cpu());
    q->fx = blockedFor(q->fwd.src_desc(), q->x);
    q->fw = blockedFor(q->fwd.weights_desc(), q->w);
    q->fy = blockedFor(q->fwd.dst_desc(), q->y);
    plans.push_back(std::move(q));
    // A training run feeds every batch size once or twice (the last batch is smaller): few plans.
    if (plans.size() > 8) plans.erase(plans.begin());
    return *plans.back();
  }
};

ConvGrad::ConvGrad() : impl_(new Impl) {}
ConvGrad::~ConvGrad() = default;

namespace {
// The user's array as `user`, reordered into `blocked` when that is not empty.
memory in(dnnl::stream& s, const memory::desc& user, const float* data, memory& blocked) {
  memory u(user, cpu(), const_cast<float*>(data));
  if (!blocked) return u;
  dnnl::reorder(u, blocked).execute(s, u, blocked);
  return blocked;
}
memory outBuf(const memory::desc& user, float* data, memory& blocked) { return blocked ? blocked : memory(user, cpu(), data); }
void outDone(dnnl::stream& s, const memory::desc& user, float* data, memory& blocked) {
  if (!blocked) return;
  memory u(user, cpu(), data);
  dnnl::reorder(blocked, u).execute(s, blocked, u);
}
}  // namespace

void ConvGrad::forward(const Conv2d& p, const float* X, const float* W, const float* B, float* Y, int threads) {
  Plan& q = impl_->plan(p, threads);
  omp_set_num_threads(threads);
  dnnl::stream s(cpu());
  std::vector<float> zero;
  if (!B) zero.assign(p.M, 0.0f);
  memory b(memory::desc({p.M}, dt::f32, tag::x), cpu(), const_cast<float*>(B ? B : zero.data()));
  memory x = in(s, q.x, X, q.fx), w = in(s, q.w, W, q.fw), y = outBuf(q.y, Y, q.fy);
  dnnl::convolution_forward(q.fwd).execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}});
  outDone(s, q.y, Y, q.fy);
  s.wait();
}

void ConvGrad::data(const Conv2d& p, const float* G, const float* W, float* dX, int threads) {
  Plan& q = impl_->plan(p, threads);
  omp_set_num_threads(threads);
  if (!q.haveData) {
    const memory::desc xa({p.N, p.C, p.H, p.W}, dt::f32, tag::any), wa(weightDims(p), dt::f32, tag::any), ya({p.N, p.M, p.Ho, p.Wo}, dt::f32, tag::any);
    q.bwdData = dnnl::convolution_backward_data::primitive_desc(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, xa, wa, ya, {p.sh, p.sw}, {p.pt, p.pl}, {p.pb, p.pr}), cpu(), q.fwd);
    q.dDy = blockedFor(q.bwdData.diff_dst_desc(), q.y);
    q.dW = blockedFor(q.bwdData.weights_desc(), q.w);
    q.dDx = blockedFor(q.bwdData.diff_src_desc(), q.x);
    q.haveData = true;
  }
  dnnl::stream s(cpu());
  memory g = in(s, q.y, G, q.dDy), w = in(s, q.w, W, q.dW), dx = outBuf(q.x, dX, q.dDx);
  dnnl::convolution_backward_data(q.bwdData).execute(s, {{DNNL_ARG_DIFF_DST, g}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}});
  outDone(s, q.x, dX, q.dDx);
  s.wait();
}

void ConvGrad::weights(const Conv2d& p, const float* X, const float* G, float* dW, int threads) {
  Plan& q = impl_->plan(p, threads);
  omp_set_num_threads(threads);
  if (!q.haveWeights) {
    const memory::desc xa({p.N, p.C, p.H, p.W}, dt::f32, tag::any), wa(weightDims(p), dt::f32, tag::any), ya({p.N, p.M, p.Ho, p.Wo}, dt::f32, tag::any);
    q.bwdWeights = dnnl::convolution_backward_weights::primitive_desc(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, xa, wa, ya, {p.sh, p.sw}, {p.pt, p.pl}, {p.pb, p.pr}), cpu(), q.fwd);
    q.wX = blockedFor(q.bwdWeights.src_desc(), q.x);
    q.wDy = blockedFor(q.bwdWeights.diff_dst_desc(), q.y);
    q.wDw = blockedFor(q.bwdWeights.diff_weights_desc(), q.w);
    q.haveWeights = true;
  }
  dnnl::stream s(cpu());
  memory x = in(s, q.x, X, q.wX), g = in(s, q.y, G, q.wDy), dw = outBuf(q.w, dW, q.wDw);
  dnnl::convolution_backward_weights(q.bwdWeights).execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, g}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
  outDone(s, q.w, dW, q.wDw);
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
