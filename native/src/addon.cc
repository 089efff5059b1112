// dk_native: onnxruntime sessions with dark-knowledge's operators (domain "dk.native") registered
// as custom ops, for Node (N-API). runtime/native.ts is its only caller:
//   init(libonnxruntimePath) → { ort, dnnl }            once per process (again: a no-op)
//   createSession(modelBytes, options) → handle
//   io(handle) → { inputs, outputs }                     [{ name, type, shape }]
//   run(handle, inputNames, inputs, outputNames, outputs) → Promise<tensors>
//     tensors are { type, dims, data }; outputs[i] non-null: written in place (preallocated)
//   endProfiling(handle) → the profile's file name
//   release(handle)
// Runs execute on libuv's thread pool (napi_async_work), as onnxruntime-node's do.
#include <dlfcn.h>
#include <malloc.h>
#include <node_api.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <cstring>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "../ort_abi.h"
#include "kernels.h"

namespace {

using namespace ortabi;

const void* api = nullptr;
Env* ortEnv = nullptr;
MemoryInfo* cpuInfo = nullptr;
Allocator* defaultAllocator = nullptr;
std::string ortVersion;
std::mutex initLock;

// ---- onnxruntime status → C++ exception ----
struct OrtError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void check(Status* s, const char* what) {
  if (!s) return;
  std::string msg = std::string(what) + ": " + get<GetErrorMessage>(api)(s);
  get<ReleaseStatus>(api)(s);
  throw OrtError(msg);
}

// ---- element types ----
struct TypeName {
  const char* name;
  ElementType ort;
  napi_typedarray_type js;
  size_t bytes;
};
const TypeName kTypes[] = {
    {"float32", ElementType::Float, napi_float32_array, 4},   {"float64", ElementType::Double, napi_float64_array, 8},
    {"int64", ElementType::Int64, napi_bigint64_array, 8},    {"int32", ElementType::Int32, napi_int32_array, 4},
    {"uint8", ElementType::UInt8, napi_uint8_array, 1},       {"bool", ElementType::Bool, napi_uint8_array, 1},
    {"float16", ElementType::Float16, napi_uint16_array, 2},  {"int8", ElementType::Int8, napi_int8_array, 1},
    {"int16", ElementType::Int16, napi_int16_array, 2},       {"uint16", ElementType::UInt16, napi_uint16_array, 2},
    {"uint32", ElementType::UInt32, napi_uint32_array, 4},    {"uint64", ElementType::UInt64, napi_biguint64_array, 8},
};
const TypeName* typeByName(const std::string& n) {
  for (auto& t : kTypes)
    if (n == t.name) return &t;
  return nullptr;
}
const TypeName* typeByOrt(ElementType e) {
  for (auto& t : kTypes)
    if (t.ort == e) return &t;
  return nullptr;
}

// ---- the custom ops ----
enum class OpKind { ConvGradW, ConvGradX, MaxPoolGrad, BatchNormGrad, ReluGrad, ClipGrad, BatchNormTrain, Conv, GlobalAveragePoolGrad };
constexpr int kOps = 9;
const char* opName(OpKind k) {
  switch (k) {
    case OpKind::ConvGradW: return "ConvGradW";
    case OpKind::ConvGradX: return "ConvGradX";
    case OpKind::MaxPoolGrad: return "MaxPoolGrad";
    case OpKind::BatchNormGrad: return "BatchNormGrad";
    case OpKind::ReluGrad: return "ReluGrad";
    case OpKind::ClipGrad: return "ClipGrad";
    case OpKind::BatchNormTrain: return "BatchNormTrain";
    case OpKind::Conv: return "Conv";
    default: return "GlobalAveragePoolGrad";
  }
}
size_t opInputs(OpKind k) {
  switch (k) {
    case OpKind::ConvGradX:
    case OpKind::Conv:
    case OpKind::BatchNormGrad: return 3;
    case OpKind::ClipGrad: return 4;
    case OpKind::BatchNormTrain: return 5;
    default: return 2;
  }
}
size_t opOutputs(OpKind k) { return k == OpKind::BatchNormGrad || k == OpKind::BatchNormTrain ? 3 : 1; }

struct OpDef : CustomOp {
  OpKind kind;
  int threads;
};

struct Kernel {
  OpKind kind;
  int threads;
  std::vector<int64_t> kernelShape, strides, pads;
  int64_t group = 1;
  float epsilon = 1e-5f, momentum = 0.9f;
  float clipMin = -std::numeric_limits<float>::infinity(), clipMax = std::numeric_limits<float>::infinity();
  dk::ConvGrad conv;
  std::mutex lock;
};

std::vector<int64_t> intsAttr(const KernelInfo* info, const char* name, std::vector<int64_t> dflt) {
  size_t n = 0;
  Status* s = get<KernelInfoGetAttributeArray_int64>(api)(info, name, nullptr, &n);
  if (s) {
    get<ReleaseStatus>(api)(s);
    return dflt;
  }
  std::vector<int64_t> v(n);
  if (n) check(get<KernelInfoGetAttributeArray_int64>(api)(info, name, v.data(), &n), name);
  return v;
}

Status* fail(const std::string& msg) { return get<CreateStatus>(api)(ErrorCode::Fail, msg.c_str()); }

Status* createKernel(const CustomOp* op, const void*, const KernelInfo* info, void** out) {
  try {
    const OpDef* d = static_cast<const OpDef*>(op);
    auto k = std::make_unique<Kernel>();
    k->kind = d->kind;
    k->threads = d->threads;
    if (k->kind == OpKind::ReluGrad || k->kind == OpKind::ClipGrad || k->kind == OpKind::GlobalAveragePoolGrad) {
      *out = k.release();
      return nullptr;
    }
    if (k->kind == OpKind::BatchNormGrad || k->kind == OpKind::BatchNormTrain) {
      float eps = 1e-5f, mom = 0.9f;
      Status* s = get<KernelInfoGetAttribute_float>(api)(info, "epsilon", &eps);
      if (s) get<ReleaseStatus>(api)(s);
      s = get<KernelInfoGetAttribute_float>(api)(info, "momentum", &mom);
      if (s) get<ReleaseStatus>(api)(s);
      k->epsilon = eps;
      k->momentum = mom;
      float lo = k->clipMin, hi = k->clipMax;
      s = get<KernelInfoGetAttribute_float>(api)(info, "clip_min", &lo);
      if (s) get<ReleaseStatus>(api)(s);
      s = get<KernelInfoGetAttribute_float>(api)(info, "clip_max", &hi);
      if (s) get<ReleaseStatus>(api)(s);
      if (!(lo <= hi)) return fail(std::string("dk.native ") + opName(k->kind) + ": clip_min must not exceed clip_max");
      k->clipMin = lo;
      k->clipMax = hi;
      *out = k.release();
      return nullptr;
    }
    k->kernelShape = intsAttr(info, "kernel_shape", {});
    k->strides = intsAttr(info, "strides", {1, 1});
    k->pads = intsAttr(info, "pads", {0, 0, 0, 0});
    int64_t g = 1;
    Status* s = get<KernelInfoGetAttribute_int64>(api)(info, "group", &g);
    if (s) get<ReleaseStatus>(api)(s);
    k->group = g;
    if (k->kernelShape.size() != 2 || k->strides.size() != 2 || k->pads.size() != 4)
      return fail(std::string("dk.native ") + opName(k->kind) + ": kernel_shape and strides need 2 values, pads 4 (2-D only)");
    *out = k.release();
    return nullptr;
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

struct Shape {
  std::vector<int64_t> dims;
};
Shape shapeOf(const Value* v) {
  TensorTypeAndShapeInfo* info = nullptr;
  check(get<GetTensorTypeAndShape>(api)(v, &info), "GetTensorTypeAndShape");
  size_t n = 0;
  get<GetDimensionsCount>(api)(info, &n);
  Shape s;
  s.dims.resize(n);
  get<GetDimensions>(api)(info, s.dims.data(), n);
  get<ReleaseTensorTypeAndShapeInfo>(api)(info);
  return s;
}
const float* dataOf(const Value* v) {
  void* p = nullptr;
  check(get<GetTensorMutableData>(api)(const_cast<Value*>(v), &p), "GetTensorMutableData");
  return static_cast<const float*>(p);
}
std::string dimsText(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); i++) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

Status* compute(void* kp, KernelContext* ctx) {
  Kernel* k = static_cast<Kernel*>(kp);
  try {
    std::lock_guard<std::mutex> hold(k->lock);
    const Value* in[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
    size_t count = 0;
    check(get<KernelContext_GetInputCount>(api)(ctx, &count), "KernelContext_GetInputCount");
    for (size_t i = 0; i < std::min(count, opInputs(k->kind)); i++) check(get<KernelContext_GetInput>(api)(ctx, i, &in[i]), "KernelContext_GetInput");
    const Shape a = shapeOf(in[0]), b = shapeOf(in[1]);
    const std::string op = std::string("dk.native ") + opName(k->kind) + ": ";
    if (k->kind == OpKind::ReluGrad || k->kind == OpKind::ClipGrad) {
      if (a.dims != b.dims) throw std::invalid_argument(op + "the input " + dimsText(a.dims) + " and its gradient " + dimsText(b.dims) + " must have one shape");
      float lo = 0.0f, hi = std::numeric_limits<float>::infinity();
      if (k->kind == OpKind::ClipGrad) {
        for (int i = 2; i < 4; i++) {
          TensorTypeAndShapeInfo* info = nullptr;
          size_t count = 0;
          check(get<GetTensorTypeAndShape>(api)(in[i], &info), "GetTensorTypeAndShape");
          get<GetTensorShapeElementCount>(api)(info, &count);
          get<ReleaseTensorTypeAndShapeInfo>(api)(info);
          if (count != 1) throw std::invalid_argument(op + (i == 2 ? "min" : "max") + " must be a single value");
        }
        lo = *dataOf(in[2]);
        hi = *dataOf(in[3]);
      }
      size_t n = 1;
      for (int64_t d : a.dims) n *= static_cast<size_t>(d);
      Value* o = nullptr;
      check(get<KernelContext_GetOutput>(api)(ctx, 0, a.dims.data(), a.dims.size(), &o), "KernelContext_GetOutput");
      dk::maskGrad(static_cast<int64_t>(n), dataOf(in[0]), dataOf(in[1]), lo, hi, k->kind == OpKind::ClipGrad, const_cast<float*>(dataOf(o)), k->threads);
      return nullptr;
    }
    if (k->kind == OpKind::GlobalAveragePoolGrad) {  // (G [N, C, 1, …], X)
      if (b.dims.size() < 3 || a.dims.size() != b.dims.size() || a.dims[0] != b.dims[0] || a.dims[1] != b.dims[1] ||
          !std::all_of(a.dims.begin() + 2, a.dims.end(), [](int64_t d) { return d == 1; }))
        throw std::invalid_argument(op + "the gradient " + dimsText(a.dims) + " must be [N, C, 1, …] for the input " + dimsText(b.dims));
      int64_t S = 1;
      for (size_t i = 2; i < b.dims.size(); i++) S *= b.dims[i];
      Value* o = nullptr;
      check(get<KernelContext_GetOutput>(api)(ctx, 0, b.dims.data(), b.dims.size(), &o), "KernelContext_GetOutput");
      if (S > 0) dk::globalAveragePoolGrad(b.dims[0] * b.dims[1], S, dataOf(in[0]), const_cast<float*>(dataOf(o)), k->threads);
      return nullptr;
    }
    if (k->kind == OpKind::BatchNormTrain) {
      if (a.dims.size() < 2) throw std::invalid_argument(op + "X " + dimsText(a.dims) + " must have rank 2 or more");
      dk::Norm p{a.dims[0], a.dims[1], 1, static_cast<double>(k->epsilon)};
      for (size_t i = 2; i < a.dims.size(); i++) p.S *= a.dims[i];
      if (p.N < 1 || p.S < 1) throw std::invalid_argument(op + "X " + dimsText(a.dims) + " is empty");
      for (int i = 1; i < 5; i++)
        if (shapeOf(in[i]).dims != std::vector<int64_t>{p.C}) throw std::invalid_argument(op + "input " + std::to_string(i) + " must be [" + std::to_string(p.C) + "]");
      Value *y = nullptr, *m = nullptr, *v = nullptr;
      check(get<KernelContext_GetOutput>(api)(ctx, 0, a.dims.data(), a.dims.size(), &y), "KernelContext_GetOutput");
      check(get<KernelContext_GetOutput>(api)(ctx, 1, &p.C, 1, &m), "KernelContext_GetOutput");
      check(get<KernelContext_GetOutput>(api)(ctx, 2, &p.C, 1, &v), "KernelContext_GetOutput");
      dk::batchNormTrain(p, k->momentum, dataOf(in[0]), dataOf(in[1]), dataOf(in[2]), dataOf(in[3]), dataOf(in[4]), const_cast<float*>(dataOf(y)), const_cast<float*>(dataOf(m)),
                         const_cast<float*>(dataOf(v)), k->clipMin, k->clipMax, k->threads);
      return nullptr;
    }
    if (k->kind == OpKind::BatchNormGrad) {
      const Shape sc = shapeOf(in[2]);
      if (a.dims.size() < 2 || a.dims != b.dims) throw std::invalid_argument(op + "X " + dimsText(a.dims) + " and its gradient " + dimsText(b.dims) + " must have one shape, of rank 2 or more");
      dk::Norm p{a.dims[0], a.dims[1], 1, static_cast<double>(k->epsilon)};
      for (size_t i = 2; i < a.dims.size(); i++) p.S *= a.dims[i];
      if (sc.dims != std::vector<int64_t>{p.C}) throw std::invalid_argument(op + "the scale is " + dimsText(sc.dims) + ", expected [" + std::to_string(p.C) + "]");
      if (p.N < 1 || p.S < 1) throw std::invalid_argument(op + "X " + dimsText(a.dims) + " is empty");
      Value *dx = nullptr, *ds = nullptr, *db = nullptr;
      check(get<KernelContext_GetOutput>(api)(ctx, 0, a.dims.data(), a.dims.size(), &dx), "KernelContext_GetOutput");
      check(get<KernelContext_GetOutput>(api)(ctx, 1, &p.C, 1, &ds), "KernelContext_GetOutput");
      check(get<KernelContext_GetOutput>(api)(ctx, 2, &p.C, 1, &db), "KernelContext_GetOutput");
      dk::batchNormGrad(p, dataOf(in[0]), dataOf(in[1]), dataOf(in[2]), const_cast<float*>(dataOf(dx)), const_cast<float*>(dataOf(ds)), const_cast<float*>(dataOf(db)), k->threads);
      return nullptr;
    }
    auto need4 = [&](const Shape& s, const char* what) {
      if (s.dims.size() != 4) throw std::invalid_argument(std::string(what) + " must be 4-D, got " + dimsText(s.dims));
    };
    need4(a, "input 0");
    need4(b, "input 1");
    if (k->kind == OpKind::MaxPoolGrad) {
      dk::Pool2d p{a.dims[0], a.dims[1], a.dims[2], a.dims[3], k->kernelShape[0], k->kernelShape[1], k->strides[0], k->strides[1], k->pads[0], k->pads[1], k->pads[2], k->pads[3], 0, 0};
      dk::pool2dCheck(p);
      if (b.dims != std::vector<int64_t>{p.N, p.C, p.Ho, p.Wo}) throw std::invalid_argument(op + "the gradient is " + dimsText(b.dims) + ", the pool's output is " + dimsText({p.N, p.C, p.Ho, p.Wo}));
      Value* o = nullptr;
      check(get<KernelContext_GetOutput>(api)(ctx, 0, a.dims.data(), 4, &o), "KernelContext_GetOutput");
      dk::maxPoolGrad(p, dataOf(in[0]), dataOf(in[1]), const_cast<float*>(dataOf(o)), k->threads);
      return nullptr;
    }
    dk::Conv2d p{};
    p.kh = k->kernelShape[0];
    p.kw = k->kernelShape[1];
    p.sh = k->strides[0];
    p.sw = k->strides[1];
    p.pt = k->pads[0];
    p.pl = k->pads[1];
    p.pb = k->pads[2];
    p.pr = k->pads[3];
    p.group = k->group;
    const Shape* yShape;
    Shape xs;
    if (k->kind == OpKind::Conv) {  // (X, W[, B])
      p.N = a.dims[0], p.C = a.dims[1], p.H = a.dims[2], p.W = a.dims[3], p.M = b.dims[0];
      if (b.dims[1] * p.group != p.C || b.dims[2] != p.kh || b.dims[3] != p.kw)
        throw std::invalid_argument(op + "the weight " + dimsText(b.dims) + " does not fit the input " + dimsText(a.dims) + " with this kernel_shape and group");
      dk::conv2dCheck(p);
      const float* bias = nullptr;
      if (in[2]) {
        if (shapeOf(in[2]).dims != std::vector<int64_t>{p.M}) throw std::invalid_argument(op + "the bias must be [" + std::to_string(p.M) + "]");
        bias = dataOf(in[2]);
      }
      const int64_t dims[4] = {p.N, p.M, p.Ho, p.Wo};
      Value* o = nullptr;
      check(get<KernelContext_GetOutput>(api)(ctx, 0, dims, 4, &o), "KernelContext_GetOutput");
      k->conv.forward(p, dataOf(in[0]), dataOf(in[1]), bias, const_cast<float*>(dataOf(o)), k->threads);
      return nullptr;
    }
    if (k->kind == OpKind::ConvGradW) {  // (X, G)
      p.N = a.dims[0], p.C = a.dims[1], p.H = a.dims[2], p.W = a.dims[3], p.M = b.dims[1];
      yShape = &b;
    } else {  // (G, W, X)
      xs = shapeOf(in[2]);
      need4(xs, "input 2");
      p.N = xs.dims[0], p.C = xs.dims[1], p.H = xs.dims[2], p.W = xs.dims[3], p.M = b.dims[0];
      if (b.dims[1] * p.group != p.C || b.dims[2] != p.kh || b.dims[3] != p.kw)
        throw std::invalid_argument(op + "the weight " + dimsText(b.dims) + " does not fit the input " + dimsText(xs.dims) + " with this kernel_shape and group");
      yShape = &a;
    }
    dk::conv2dCheck(p);
    if (yShape->dims != std::vector<int64_t>{p.N, p.M, p.Ho, p.Wo})
      throw std::invalid_argument(op + "the output gradient is " + dimsText(yShape->dims) + ", the convolution's output is " + dimsText({p.N, p.M, p.Ho, p.Wo}));
    Value* o = nullptr;
    if (k->kind == OpKind::ConvGradW) {
      const int64_t dims[4] = {p.M, p.C / p.group, p.kh, p.kw};
      check(get<KernelContext_GetOutput>(api)(ctx, 0, dims, 4, &o), "KernelContext_GetOutput");
      k->conv.weights(p, dataOf(in[0]), dataOf(in[1]), const_cast<float*>(dataOf(o)), k->threads);
    } else {
      check(get<KernelContext_GetOutput>(api)(ctx, 0, xs.dims.data(), 4, &o), "KernelContext_GetOutput");
      k->conv.data(p, dataOf(in[0]), dataOf(in[1]), const_cast<float*>(dataOf(o)), k->threads);
    }
    return nullptr;
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

void destroyKernel(void* k) { delete static_cast<Kernel*>(k); }

void fillOp(OpDef& d, OpKind kind, int threads) {
  std::memset(static_cast<CustomOp*>(&d), 0, sizeof(CustomOp));
  d.kind = kind;
  d.threads = threads;
  d.version = kCustomOpVersion;
  d.GetName = [](const CustomOp* op) { return opName(static_cast<const OpDef*>(op)->kind); };
  d.GetExecutionProviderType = [](const CustomOp*) -> const char* { return nullptr; };
  d.GetInputType = [](const CustomOp*, size_t) { return ElementType::Float; };
  d.GetInputTypeCount = [](const CustomOp* op) { return opInputs(static_cast<const OpDef*>(op)->kind); };
  d.GetOutputType = [](const CustomOp*, size_t) { return ElementType::Float; };
  d.GetOutputTypeCount = [](const CustomOp* op) { return opOutputs(static_cast<const OpDef*>(op)->kind); };
  d.KernelDestroy = destroyKernel;
  // Conv's bias (input 2) may be left out
  d.GetInputCharacteristic = [](const CustomOp* op, size_t i) {
    return static_cast<const OpDef*>(op)->kind == OpKind::Conv && i == 2 ? IOCharacteristic::Optional : IOCharacteristic::Required;
  };
  d.GetOutputCharacteristic = [](const CustomOp*, size_t) { return IOCharacteristic::Required; };
  d.GetInputMemoryType = [](const CustomOp*, size_t) { return MemType::Default; };
  d.GetVariadicInputMinArity = [](const CustomOp*) { return 1; };
  d.GetVariadicInputHomogeneity = [](const CustomOp*) { return 1; };
  d.GetVariadicOutputMinArity = [](const CustomOp*) { return 1; };
  d.GetVariadicOutputHomogeneity = [](const CustomOp*) { return 1; };
  d.CreateKernelV2 = createKernel;
  d.KernelComputeV2 = compute;
}

// ---- sessions ----
struct NativeSession {
  Session* session = nullptr;
  CustomOpDomain* domain = nullptr;
  OpDef ops[kOps];
  std::vector<std::string> inputNames, outputNames;
  std::atomic<int> inflight{0};
  bool releaseAsked = false, released = false;
  void destroy() {
    if (released) return;
    released = true;
    get<ReleaseSession>(api)(session);  // before the domain and the op descriptors it points to
    get<ReleaseCustomOpDomain>(api)(domain);
    session = nullptr;
    domain = nullptr;
    // The session's memory was allocated on libuv's pool threads, whose malloc arenas keep
    // freed memory in the process (measured: +90 MB peak RSS in bench:peer's cnn row after the
    // other rows' checks); hand it back to the system.
    dk::releaseIdleBuffers();
    malloc_trim(0);
  }
  ~NativeSession() { destroy(); }
};

// ---- N-API helpers ----
#define NAPI(call)                                                        \
  do {                                                                    \
    if ((call) != napi_ok) throw std::runtime_error("N-API call failed: " #call); \
  } while (0)

std::string str(napi_env env, napi_value v) {
  size_t n = 0;
  NAPI(napi_get_value_string_utf8(env, v, nullptr, 0, &n));
  std::string s(n, '\0');
  NAPI(napi_get_value_string_utf8(env, v, s.data(), n + 1, &n));
  return s;
}
napi_value prop(napi_env env, napi_value o, const char* k) {
  napi_value v;
  NAPI(napi_get_named_property(env, o, k, &v));
  return v;
}
int64_t i64(napi_env env, napi_value v) {
  int64_t x = 0;
  NAPI(napi_get_value_int64(env, v, &x));
  return x;
}
bool boolean(napi_env env, napi_value v) {
  bool b = false;
  NAPI(napi_get_value_bool(env, v, &b));
  return b;
}
uint32_t length(napi_env env, napi_value arr) {
  uint32_t n = 0;
  NAPI(napi_get_array_length(env, arr, &n));
  return n;
}
napi_value at(napi_env env, napi_value arr, uint32_t i) {
  napi_value v;
  NAPI(napi_get_element(env, arr, i, &v));
  return v;
}
napi_value jsString(napi_env env, const std::string& s) {
  napi_value v;
  NAPI(napi_create_string_utf8(env, s.c_str(), s.size(), &v));
  return v;
}
napi_value throwError(napi_env env, const char* msg) {
  napi_throw_error(env, nullptr, msg);
  return nullptr;
}
std::vector<napi_value> args(napi_env env, napi_callback_info info, size_t want) {
  size_t n = want;
  std::vector<napi_value> a(want);
  NAPI(napi_get_cb_info(env, info, &n, a.data(), nullptr, nullptr));
  if (n < want) throw std::invalid_argument("expected " + std::to_string(want) + " arguments, got " + std::to_string(n));
  return a;
}
NativeSession* handleOf(napi_env env, napi_value v) {
  void* p = nullptr;
  NAPI(napi_get_value_external(env, v, &p));
  NativeSession* s = static_cast<NativeSession*>(p);
  if (!s || s->releaseAsked) throw std::invalid_argument("this session was released");
  return s;
}

// init(path)
napi_value Init(napi_env env, napi_callback_info info) {
  try {
    auto a = args(env, info, 1);
    const std::string path = str(env, a[0]);
    std::lock_guard<std::mutex> hold(initLock);
    if (!api) {
      void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!lib) throw std::runtime_error(std::string("cannot load onnxruntime from ") + path + ": " + dlerror());
      auto base = reinterpret_cast<GetApiBaseFn>(dlsym(lib, kGetApiBaseSymbol));
      if (!base) throw std::runtime_error(path + " does not export " + kGetApiBaseSymbol);
      const ApiBase* b = base();
      const void* t = b->GetApi(kApiVersion);
      if (!t) throw std::runtime_error(std::string("onnxruntime ") + b->GetVersionString() + " does not offer C API version " + std::to_string(kApiVersion));
      api = t;
      ortVersion = b->GetVersionString();
      check(get<CreateEnv>(api)(LoggingLevel::Warning, "dark-knowledge", &ortEnv), "CreateEnv");
      check(get<CreateCpuMemoryInfo>(api)(AllocatorType::Device, MemType::Default, &cpuInfo), "CreateCpuMemoryInfo");
      check(get<GetAllocatorWithDefaultOptions>(api)(&defaultAllocator), "GetAllocatorWithDefaultOptions");
    }
    const dnnl_version_t* dv = dnnl_version();
    napi_value o;
    NAPI(napi_create_object(env, &o));
    NAPI(napi_set_named_property(env, o, "ort", jsString(env, ortVersion)));
    NAPI(napi_set_named_property(env, o, "dnnl", jsString(env, std::to_string(dv->major) + "." + std::to_string(dv->minor) + "." + std::to_string(dv->patch))));
    return o;
  } catch (const std::exception& e) {
    return throwError(env, e.what());
  }
}

void finalizeSession(napi_env, void* data, void*) {
  NativeSession* s = static_cast<NativeSession*>(data);
  // the handle is unreachable, so no run can be in flight (a pending run holds a reference)
  delete s;
}

// createSession(bytes, { intraOpThreads, optimizationLevel, memPattern, cpuArena, config, profilePrefix })
napi_value CreateSessionJs(napi_env env, napi_callback_info info) {
  SessionOptions* so = nullptr;
  std::unique_ptr<NativeSession> s(new NativeSession);
  try {
    if (!api) throw std::runtime_error("init() first");
    auto a = args(env, info, 2);
    void* bytes = nullptr;
    size_t len = 0;
    napi_typedarray_type tt;
    napi_value ab;
    size_t off = 0;
    NAPI(napi_get_typedarray_info(env, a[0], &tt, &len, &bytes, &ab, &off));
    const napi_value o = a[1];
    const int threads = static_cast<int>(i64(env, prop(env, o, "intraOpThreads")));
    check(get<CreateSessionOptions>(api)(&so), "CreateSessionOptions");
    check(get<SetIntraOpNumThreads>(api)(so, threads), "SetIntraOpNumThreads");
    check(get<SetInterOpNumThreads>(api)(so, 1), "SetInterOpNumThreads");
    check(get<SetSessionExecutionMode>(api)(so, ExecutionMode::Sequential), "SetSessionExecutionMode");
    check(get<SetSessionGraphOptimizationLevel>(api)(so, static_cast<GraphOptimizationLevel>(i64(env, prop(env, o, "optimizationLevel")))), "SetSessionGraphOptimizationLevel");
    check(boolean(env, prop(env, o, "memPattern")) ? get<EnableMemPattern>(api)(so) : get<DisableMemPattern>(api)(so), "memory pattern");
    check(boolean(env, prop(env, o, "cpuArena")) ? get<EnableCpuMemArena>(api)(so) : get<DisableCpuMemArena>(api)(so), "CPU arena");
    const napi_value cfg = prop(env, o, "config");
    for (uint32_t i = 0; i < length(env, cfg); i++) {
      const napi_value kv = at(env, cfg, i);
      const std::string k = str(env, at(env, kv, 0)), v = str(env, at(env, kv, 1));
      check(get<AddSessionConfigEntry>(api)(so, k.c_str(), v.c_str()), ("session config entry " + k).c_str());
    }
    const std::string prefix = str(env, prop(env, o, "profilePrefix"));
    if (!prefix.empty()) check(get<EnableProfiling>(api)(so, prefix.c_str()), "EnableProfiling");
    const int kernelThreads = threads > 0 ? threads : omp_get_num_procs();
    check(get<CreateCustomOpDomain>(api)("dk.native", &s->domain), "CreateCustomOpDomain");
    const OpKind kinds[kOps] = {OpKind::ConvGradW, OpKind::ConvGradX, OpKind::MaxPoolGrad, OpKind::BatchNormGrad, OpKind::ReluGrad, OpKind::ClipGrad, OpKind::BatchNormTrain, OpKind::Conv, OpKind::GlobalAveragePoolGrad};
    for (int i = 0; i < kOps; i++) {
      fillOp(s->ops[i], kinds[i], kernelThreads);
      check(get<CustomOpDomain_Add>(api)(s->domain, &s->ops[i]), "CustomOpDomain_Add");
    }
    check(get<AddCustomOpDomain>(api)(so, s->domain), "AddCustomOpDomain");
    check(get<CreateSessionFromArray>(api)(ortEnv, bytes, len, so, &s->session), "onnxruntime could not load the model");
    get<ReleaseSessionOptions>(api)(so);
    so = nullptr;
    size_t ni = 0, no = 0;
    check(get<SessionGetInputCount>(api)(s->session, &ni), "SessionGetInputCount");
    check(get<SessionGetOutputCount>(api)(s->session, &no), "SessionGetOutputCount");
    for (size_t i = 0; i < ni + no; i++) {
      char* name = nullptr;
      if (i < ni) check(get<SessionGetInputName>(api)(s->session, i, defaultAllocator, &name), "SessionGetInputName");
      else check(get<SessionGetOutputName>(api)(s->session, i - ni, defaultAllocator, &name), "SessionGetOutputName");
      (i < ni ? s->inputNames : s->outputNames).push_back(name);
      get<AllocatorFree>(api)(defaultAllocator, name);
    }
    napi_value h;
    NAPI(napi_create_external(env, s.get(), finalizeSession, nullptr, &h));
    s.release();
    return h;
  } catch (const std::exception& e) {
    if (so) get<ReleaseSessionOptions>(api)(so);
    return throwError(env, e.what());
  }
}

napi_value valueInfo(napi_env env, const std::string& name, TypeInfo* ti) {
  napi_value o;
  NAPI(napi_create_object(env, &o));
  NAPI(napi_set_named_property(env, o, "name", jsString(env, name)));
  OnnxType kind = OnnxType::Unknown;
  check(get<GetOnnxTypeFromTypeInfo>(api)(ti, &kind), "GetOnnxTypeFromTypeInfo");
  napi_value type, shape;
  NAPI(napi_create_array(env, &shape));
  if (kind != OnnxType::Tensor) {
    NAPI(napi_get_null(env, &type));
  } else {
    const TensorTypeAndShapeInfo* t = nullptr;
    check(get<CastTypeInfoToTensorInfo>(api)(ti, &t), "CastTypeInfoToTensorInfo");
    ElementType e = ElementType::Undefined;
    check(get<GetTensorElementType>(api)(t, &e), "GetTensorElementType");
    const TypeName* tn = typeByOrt(e);
    type = jsString(env, tn ? tn->name : "unknown");
    size_t n = 0;
    check(get<GetDimensionsCount>(api)(t, &n), "GetDimensionsCount");
    std::vector<int64_t> d(n);
    std::vector<const char*> sym(n);
    check(get<GetDimensions>(api)(t, d.data(), n), "GetDimensions");
    check(get<GetSymbolicDimensions>(api)(t, sym.data(), n), "GetSymbolicDimensions");
    for (size_t i = 0; i < n; i++) {
      napi_value v;
      if (d[i] >= 0) NAPI(napi_create_int64(env, d[i], &v));
      else v = jsString(env, sym[i] ? sym[i] : "");
      NAPI(napi_set_element(env, shape, static_cast<uint32_t>(i), v));
    }
  }
  NAPI(napi_set_named_property(env, o, "type", type));
  NAPI(napi_set_named_property(env, o, "shape", shape));
  return o;
}

napi_value Io(napi_env env, napi_callback_info info) {
  try {
    auto a = args(env, info, 1);
    NativeSession* s = handleOf(env, a[0]);
    napi_value res, ins, outs;
    NAPI(napi_create_object(env, &res));
    NAPI(napi_create_array(env, &ins));
    NAPI(napi_create_array(env, &outs));
    for (size_t i = 0; i < s->inputNames.size() + s->outputNames.size(); i++) {
      const bool isIn = i < s->inputNames.size();
      const size_t j = isIn ? i : i - s->inputNames.size();
      TypeInfo* ti = nullptr;
      check(isIn ? get<SessionGetInputTypeInfo>(api)(s->session, j, &ti) : get<SessionGetOutputTypeInfo>(api)(s->session, j, &ti), "type info");
      napi_value v;
      try {
        v = valueInfo(env, isIn ? s->inputNames[j] : s->outputNames[j], ti);
      } catch (...) {
        get<ReleaseTypeInfo>(api)(ti);
        throw;
      }
      get<ReleaseTypeInfo>(api)(ti);
      NAPI(napi_set_element(env, isIn ? ins : outs, static_cast<uint32_t>(j), v));
    }
    NAPI(napi_set_named_property(env, res, "inputs", ins));
    NAPI(napi_set_named_property(env, res, "outputs", outs));
    return res;
  } catch (const std::exception& e) {
    return throwError(env, e.what());
  }
}

// ---- run ----
struct RunJob {
  NativeSession* s;
  napi_ref handleRef = nullptr;
  napi_deferred deferred;
  napi_async_work work = nullptr;
  std::vector<std::string> inNames, outNames;
  std::vector<Value*> inputs, outputs;
  std::vector<bool> preallocated;
  // the JS arrays whose memory the inputs and the preallocated outputs wrap (null: ORT allocates)
  std::vector<napi_ref> keep, outKeep;
  std::string error;
  ~RunJob() {
    for (Value* v : inputs) get<ReleaseValue>(api)(v);
    for (Value* v : outputs)
      if (v) get<ReleaseValue>(api)(v);
  }
};

// A JS { type, dims, data } as a Value over data's memory.
Value* wrapTensor(napi_env env, napi_value t, std::vector<napi_ref>& keep, const std::string& what) {
  const std::string type = str(env, prop(env, t, "type"));
  const TypeName* tn = typeByName(type);
  if (!tn) throw std::invalid_argument(what + ": element type '" + type + "' is not supported");
  const napi_value dimsJs = prop(env, t, "dims");
  std::vector<int64_t> dims(length(env, dimsJs));
  size_t count = 1;
  for (uint32_t i = 0; i < dims.size(); i++) {
    dims[i] = i64(env, at(env, dimsJs, i));
    if (dims[i] < 0) throw std::invalid_argument(what + ": negative dim");
    count *= static_cast<size_t>(dims[i]);
  }
  const napi_value data = prop(env, t, "data");
  napi_typedarray_type tt;
  size_t len = 0, off = 0;
  void* p = nullptr;
  napi_value ab;
  NAPI(napi_get_typedarray_info(env, data, &tt, &len, &p, &ab, &off));
  if (len != count) throw std::invalid_argument(what + ": " + std::to_string(len) + " values for dims " + dimsText(dims));
  static float empty[1];
  Value* v = nullptr;
  check(get<CreateTensorWithDataAsOrtValue>(api)(cpuInfo, p ? p : empty, len * tn->bytes, dims.data(), dims.size(), tn->ort, &v), what.c_str());
  napi_ref r;
  NAPI(napi_create_reference(env, data, 1, &r));
  keep.push_back(r);
  return v;
}

void executeRun(napi_env, void* data) {
  RunJob* j = static_cast<RunJob*>(data);
  std::vector<const char*> in, out;
  for (auto& n : j->inNames) in.push_back(n.c_str());
  for (auto& n : j->outNames) out.push_back(n.c_str());
  Status* st = get<Run>(api)(j->s->session, nullptr, in.data(), j->inputs.data(), in.size(), out.data(), out.size(), j->outputs.data());
  if (st) {
    j->error = get<GetErrorMessage>(api)(st);
    get<ReleaseStatus>(api)(st);
  }
}

// An output handed to JS: its Value, and its size as told to V8 (which otherwise sees only a
// small object and would let thousands of them pile up before collecting any).
struct Owned {
  Value* value;
  int64_t bytes;
};
void releaseOutput(napi_env env, void*, void* hint) {
  Owned* o = static_cast<Owned*>(hint);
  int64_t now = 0;
  napi_adjust_external_memory(env, -o->bytes, &now);
  get<ReleaseValue>(api)(o->value);
  delete o;
}

napi_value tensorToJs(napi_env env, RunJob* j, size_t i) {
  Value* v = j->outputs[i];
  TensorTypeAndShapeInfo* info = nullptr;
  check(get<GetTensorTypeAndShape>(api)(v, &info), "GetTensorTypeAndShape");
  ElementType e = ElementType::Undefined;
  size_t n = 0, count = 0;
  get<GetTensorElementType>(api)(info, &e);
  get<GetDimensionsCount>(api)(info, &n);
  std::vector<int64_t> dims(n);
  get<GetDimensions>(api)(info, dims.data(), n);
  get<GetTensorShapeElementCount>(api)(info, &count);
  get<ReleaseTensorTypeAndShapeInfo>(api)(info);
  const TypeName* tn = typeByOrt(e);
  if (!tn) throw std::runtime_error("output '" + j->outNames[i] + "' has an element type the addon does not convert");
  napi_value o, dimsJs, data;
  NAPI(napi_create_object(env, &o));
  NAPI(napi_create_array(env, &dimsJs));
  for (size_t k = 0; k < n; k++) {
    napi_value d;
    NAPI(napi_create_int64(env, dims[k], &d));
    NAPI(napi_set_element(env, dimsJs, static_cast<uint32_t>(k), d));
  }
  if (j->preallocated[i]) {
    NAPI(napi_get_reference_value(env, j->outKeep[i], &data));
  } else {
    void* p = nullptr;
    check(get<GetTensorMutableData>(api)(v, &p), "GetTensorMutableData");
    napi_value ab;
    if (count == 0 || !p) {
      NAPI(napi_create_arraybuffer(env, 0, nullptr, &ab));
      get<ReleaseValue>(api)(v);
    } else {
      // the JS array owns the output from here: released when it is collected
      const int64_t bytes = static_cast<int64_t>(count * tn->bytes);
      Owned* owned = new Owned{v, bytes};
      if (napi_create_external_arraybuffer(env, p, count * tn->bytes, releaseOutput, owned, &ab) != napi_ok) {
        delete owned;
        throw std::runtime_error("napi_create_external_arraybuffer failed");
      }
      int64_t now = 0;
      napi_adjust_external_memory(env, bytes, &now);
    }
    j->outputs[i] = nullptr;
    NAPI(napi_create_typedarray(env, tn->js, count, ab, 0, &data));
  }
  NAPI(napi_set_named_property(env, o, "type", jsString(env, tn->name)));
  NAPI(napi_set_named_property(env, o, "dims", dimsJs));
  NAPI(napi_set_named_property(env, o, "data", data));
  return o;
}

void completeRun(napi_env env, napi_status, void* data) {
  std::unique_ptr<RunJob> j(static_cast<RunJob*>(data));
  napi_value result = nullptr;
  std::string err = j->error;
  if (err.empty()) {
    try {
      NAPI(napi_create_array(env, &result));
      for (size_t i = 0; i < j->outputs.size(); i++) NAPI(napi_set_element(env, result, static_cast<uint32_t>(i), tensorToJs(env, j.get(), i)));
    } catch (const std::exception& e) {
      err = e.what();
    }
  }
  for (napi_ref r : j->keep) napi_delete_reference(env, r);
  for (napi_ref r : j->outKeep)
    if (r) napi_delete_reference(env, r);
  j->keep.clear();
  j->outKeep.clear();
  NativeSession* s = j->s;
  const int left = --s->inflight;
  if (j->handleRef) napi_delete_reference(env, j->handleRef);
  napi_delete_async_work(env, j->work);
  if (left == 0 && s->releaseAsked) s->destroy();
  if (err.empty()) {
    napi_resolve_deferred(env, j->deferred, result);
  } else {
    napi_value msg, e;
    napi_create_string_utf8(env, err.c_str(), err.size(), &msg);
    napi_create_error(env, nullptr, msg, &e);
    napi_reject_deferred(env, j->deferred, e);
  }
}

// run(handle, inputNames, inputs, outputNames, outputs)
napi_value RunJs(napi_env env, napi_callback_info info) {
  std::unique_ptr<RunJob> j(new RunJob);
  try {
    auto a = args(env, info, 5);
    j->s = handleOf(env, a[0]);
    const uint32_t ni = length(env, a[1]), no = length(env, a[3]);
    if (length(env, a[2]) != ni || length(env, a[4]) != no) throw std::invalid_argument("run: names and tensors differ in number");
    for (uint32_t i = 0; i < ni; i++) {
      j->inNames.push_back(str(env, at(env, a[1], i)));
      j->inputs.push_back(wrapTensor(env, at(env, a[2], i), j->keep, "input '" + j->inNames.back() + "'"));
    }
    for (uint32_t i = 0; i < no; i++) {
      j->outNames.push_back(str(env, at(env, a[3], i)));
      const napi_value t = at(env, a[4], i);
      napi_valuetype vt;
      NAPI(napi_typeof(env, t, &vt));
      const bool pre = vt == napi_object;
      j->preallocated.push_back(pre);
      j->outputs.push_back(nullptr);
      if (pre) j->outputs.back() = wrapTensor(env, t, j->outKeep, "output '" + j->outNames.back() + "'");
      else j->outKeep.push_back(nullptr);
    }
    napi_value promise, name;
    NAPI(napi_create_promise(env, &j->deferred, &promise));
    NAPI(napi_create_reference(env, a[0], 1, &j->handleRef));
    NAPI(napi_create_string_utf8(env, "dk_native.run", NAPI_AUTO_LENGTH, &name));
    NAPI(napi_create_async_work(env, nullptr, name, executeRun, completeRun, j.get(), &j->work));
    j->s->inflight++;
    NAPI(napi_queue_async_work(env, j->work));
    j.release();
    return promise;
  } catch (const std::exception& e) {
    for (napi_ref r : j->keep) napi_delete_reference(env, r);
    for (napi_ref r : j->outKeep)
      if (r) napi_delete_reference(env, r);
    j->keep.clear();
    j->outKeep.clear();
    return throwError(env, e.what());
  }
}

napi_value EndProfiling(napi_env env, napi_callback_info info) {
  try {
    auto a = args(env, info, 1);
    NativeSession* s = handleOf(env, a[0]);
    char* name = nullptr;
    check(get<SessionEndProfiling>(api)(s->session, defaultAllocator, &name), "SessionEndProfiling");
    const std::string n = name ? name : "";
    if (name) get<AllocatorFree>(api)(defaultAllocator, name);
    return jsString(env, n);
  } catch (const std::exception& e) {
    return throwError(env, e.what());
  }
}

napi_value Release(napi_env env, napi_callback_info info) {
  try {
    auto a = args(env, info, 1);
    NativeSession* s = handleOf(env, a[0]);
    s->releaseAsked = true;
    if (s->inflight == 0) s->destroy();
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
  } catch (const std::exception& e) {
    return throwError(env, e.what());
  }
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"createSession", nullptr, CreateSessionJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"io", nullptr, Io, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"run", nullptr, RunJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"endProfiling", nullptr, EndProfiling, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"release", nullptr, Release, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
