// abi_smoke.cc — checks native/ort_abi.h against the real onnxruntime shared library.
//
// A standalone program (no N-API): it dlopens libonnxruntime, fetches the API table through
// OrtGetApiBase, and calls every slot that ort_abi.h declares, checking the results, so a wrong
// slot index, signature, enum value or custom-op field shows up as a failure or a crash.
//
// Build and run from the repository root:
//   /usr/bin/python3 native/test/make_abi_model.py      # writes native/test/abi_model.onnx
//   g++ -std=c++17 -O2 native/test/abi_smoke.cc -ldl -o /tmp/abi_smoke
//   /tmp/abi_smoke [libonnxruntime.so.1] [abi_model.onnx]
// It prints OK and exits 0 when everything matches.
#include "../ort_abi.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <vector>

namespace oa = ortabi;

namespace {

const void* g_api = nullptr;

// The typed function in slot S of the table we requested.
template <oa::Slot S>
typename oa::SlotSig<S>::type A() {
  return oa::get<S>(g_api);
}

[[noreturn]] void die(const char* what, int line) {
  std::fprintf(stderr, "FAIL (line %d): %s\n", line, what);
  std::exit(1);
}
#define CHECK(cond)                         \
  do {                                      \
    if (!(cond)) die(#cond, __LINE__);      \
  } while (0)

// Fails the test if an ORT call returned an error.
void ok(oa::Status* st, const char* what, int line) {
  if (st == nullptr) return;
  std::fprintf(stderr, "FAIL (line %d): %s -> [%d] %s\n", line, what, static_cast<int>(A<oa::GetErrorCode>()(st)),
               A<oa::GetErrorMessage>()(st));
  A<oa::ReleaseStatus>()(st);
  std::exit(1);
}
#define OK(call) ok((call), #call, __LINE__)

// Takes an expected error: returns its message and releases it.
std::string expect_error(oa::Status* st, oa::ErrorCode* code, const char* what, int line) {
  if (st == nullptr) die(what, line);
  if (code) *code = A<oa::GetErrorCode>()(st);
  std::string msg = A<oa::GetErrorMessage>()(st);
  A<oa::ReleaseStatus>()(st);
  return msg;
}
#define EXPECT_ERROR(call, code) expect_error((call), (code), "expected an error from " #call, __LINE__)

// ---------------------------------------------------------------------------------------------
// The custom op: AddOne(x) = x + k (k from the int64 attribute "k", 1 when absent)
// ---------------------------------------------------------------------------------------------

struct AddKernel {
  float add;
};

int g_kernels_created = 0;
int g_kernels_destroyed = 0;
int g_computes = 0;
const void* g_kernel_api = nullptr;  // the table ORT hands to CreateKernelV2
std::string g_missing_attr_message;

// Kernel construction: reads k, and checks the other attribute getters on the node's extra
// attributes (alpha, ints, floats, tag). A failed check fails session creation with a message.
oa::Status* add_create_kernel_v2(const oa::CustomOp* op, const void* api, const oa::KernelInfo* info,
                                 void** kernel) noexcept {
  (void)op;
  g_kernel_api = api;
  auto fail = [api](const char* msg) { return oa::get<oa::CreateStatus>(api)(oa::ErrorCode::Fail, msg); };
  auto release = oa::get<oa::ReleaseStatus>(api);

  float add = 1.0f;
  int64_t k = 0;
  if (oa::Status* st = oa::get<oa::KernelInfoGetAttribute_int64>(api)(info, "k", &k)) {
    release(st);  // absent: keep the default of 1
  } else {
    add = static_cast<float>(k);
  }

  // A missing attribute must come back as an error status.
  int64_t unused = 0;
  oa::Status* st = oa::get<oa::KernelInfoGetAttribute_int64>(api)(info, "no_such_attribute", &unused);
  if (st == nullptr) return fail("AddOne: a missing attribute did not fail");
  g_missing_attr_message = oa::get<oa::GetErrorMessage>(api)(st);
  release(st);

  float alpha = 0;
  if ((st = oa::get<oa::KernelInfoGetAttribute_float>(api)(info, "alpha", &alpha))) return st;
  if (alpha != 0.5f) return fail("AddOne: alpha != 0.5");

  size_t n = 0;
  if ((st = oa::get<oa::KernelInfoGetAttributeArray_int64>(api)(info, "ints", nullptr, &n))) return st;
  if (n != 3) return fail("AddOne: ints has not 3 elements");
  int64_t ints[3] = {0, 0, 0};
  if ((st = oa::get<oa::KernelInfoGetAttributeArray_int64>(api)(info, "ints", ints, &n))) return st;
  if (ints[0] != 1 || ints[1] != 2 || ints[2] != 3) return fail("AddOne: ints != [1, 2, 3]");

  n = 0;
  if ((st = oa::get<oa::KernelInfoGetAttributeArray_float>(api)(info, "floats", nullptr, &n))) return st;
  if (n != 2) return fail("AddOne: floats has not 2 elements");
  float floats[2] = {0, 0};
  if ((st = oa::get<oa::KernelInfoGetAttributeArray_float>(api)(info, "floats", floats, &n))) return st;
  if (floats[0] != 0.25f || floats[1] != -1.5f) return fail("AddOne: floats != [0.25, -1.5]");

  size_t len = 0;
  if ((st = oa::get<oa::KernelInfoGetAttribute_string>(api)(info, "tag", nullptr, &len))) return st;
  if (len != std::strlen("dk-abi") + 1) return fail("AddOne: tag size query is not strlen + 1");
  char tag[16] = {};
  len = sizeof tag;
  if ((st = oa::get<oa::KernelInfoGetAttribute_string>(api)(info, "tag", tag, &len))) return st;
  if (std::strcmp(tag, "dk-abi") != 0) return fail("AddOne: tag != \"dk-abi\"");

  *kernel = new (std::nothrow) AddKernel{add};
  if (*kernel == nullptr) return fail("AddOne: out of memory");
  ++g_kernels_created;
  return nullptr;
}

// y = x + add, with y allocated by KernelContext_GetOutput in x's shape. An input element equal
// to -999 makes it return an error status (to check that ORT honours the V2 return value).
oa::Status* add_compute_v2(void* kernel, oa::KernelContext* ctx) noexcept {
  const void* api = g_api;
  auto fail = [api](oa::ErrorCode c, const char* msg) { return oa::get<oa::CreateStatus>(api)(c, msg); };
  ++g_computes;
  const float add = static_cast<AddKernel*>(kernel)->add;
  oa::Status* st = nullptr;

  size_t n_in = 0, n_out = 0;
  if ((st = A<oa::KernelContext_GetInputCount>()(ctx, &n_in))) return st;
  if ((st = A<oa::KernelContext_GetOutputCount>()(ctx, &n_out))) return st;
  if (n_in != 1 || n_out != 1) return fail(oa::ErrorCode::Fail, "AddOne: expected 1 input and 1 output");

  const oa::Value* x = nullptr;
  if ((st = A<oa::KernelContext_GetInput>()(ctx, 0, &x))) return st;

  oa::TensorTypeAndShapeInfo* shape = nullptr;
  if ((st = A<oa::GetTensorTypeAndShape>()(x, &shape))) return st;
  oa::ElementType type = oa::ElementType::Undefined;
  size_t rank = 0, count = 0;
  std::vector<int64_t> dims;
  if (!(st = A<oa::GetTensorElementType>()(shape, &type)) && !(st = A<oa::GetDimensionsCount>()(shape, &rank))) {
    dims.resize(rank);
    if (!(st = A<oa::GetDimensions>()(shape, dims.data(), rank))) st = A<oa::GetTensorShapeElementCount>()(shape, &count);
  }
  A<oa::ReleaseTensorTypeAndShapeInfo>()(shape);
  if (st) return st;
  if (type != oa::ElementType::Float) return fail(oa::ErrorCode::InvalidArgument, "AddOne: input is not float");
  size_t expect = 1;
  for (int64_t d : dims) expect *= static_cast<size_t>(d);
  if (count != expect) return fail(oa::ErrorCode::Fail, "AddOne: element count != product of dims");

  void* xp = nullptr;
  if ((st = A<oa::GetTensorMutableData>()(const_cast<oa::Value*>(x), &xp))) return st;
  oa::Value* y = nullptr;
  if ((st = A<oa::KernelContext_GetOutput>()(ctx, 0, dims.data(), dims.size(), &y))) return st;
  void* yp = nullptr;
  if ((st = A<oa::GetTensorMutableData>()(y, &yp))) return st;

  const float* xf = static_cast<const float*>(xp);
  float* yf = static_cast<float*>(yp);
  for (size_t i = 0; i < count; ++i) {
    if (xf[i] == -999.0f) return fail(oa::ErrorCode::InvalidArgument, "AddOne: sentinel -999 in input");
    yf[i] = xf[i] + add;
  }
  return nullptr;
}

void add_destroy(void* kernel) noexcept {
  delete static_cast<AddKernel*>(kernel);
  ++g_kernels_destroyed;
}
const char* add_name(const oa::CustomOp*) noexcept { return "AddOne"; }
const char* add_provider(const oa::CustomOp*) noexcept { return nullptr; }  // CPU
oa::ElementType add_type(const oa::CustomOp*, size_t) noexcept { return oa::ElementType::Float; }
size_t add_one_count(const oa::CustomOp*) noexcept { return 1; }
oa::IOCharacteristic add_required(const oa::CustomOp*, size_t) noexcept { return oa::IOCharacteristic::Required; }
oa::MemType add_mem_type(const oa::CustomOp*, size_t) noexcept { return oa::MemType::Default; }
int add_min_arity(const oa::CustomOp*) noexcept { return 1; }
int add_homogeneous(const oa::CustomOp*) noexcept { return 1; }

// Builds the descriptor so that it ends exactly at a PROT_NONE guard page: if ORT read any field
// past KernelComputeV2 (i.e. ignored kCustomOpVersion), the process would fault right there.
struct GuardedOp {
  void* region = nullptr;
  size_t page = 0;
  oa::CustomOp* op = nullptr;

  GuardedOp() {
    page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    region = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(region != MAP_FAILED);
    CHECK(mprotect(static_cast<char*>(region) + page, page, PROT_NONE) == 0);
    void* at = static_cast<char*>(region) + page - sizeof(oa::CustomOp);
    CHECK(reinterpret_cast<uintptr_t>(at) % alignof(oa::CustomOp) == 0);
    op = new (at) oa::CustomOp{};
    op->version = oa::kCustomOpVersion;
    op->CreateKernel = nullptr;  // V2 only: a V1 call would crash, which we want to notice
    op->GetName = add_name;
    op->GetExecutionProviderType = add_provider;
    op->GetInputType = add_type;
    op->GetInputTypeCount = add_one_count;
    op->GetOutputType = add_type;
    op->GetOutputTypeCount = add_one_count;
    op->KernelCompute = nullptr;
    op->KernelDestroy = add_destroy;
    op->GetInputCharacteristic = add_required;
    op->GetOutputCharacteristic = add_required;
    op->GetInputMemoryType = add_mem_type;
    op->GetVariadicInputMinArity = add_min_arity;
    op->GetVariadicInputHomogeneity = add_homogeneous;
    op->GetVariadicOutputMinArity = add_min_arity;
    op->GetVariadicOutputHomogeneity = add_homogeneous;
    op->CreateKernelV2 = add_create_kernel_v2;
    op->KernelComputeV2 = add_compute_v2;
  }
  ~GuardedOp() { munmap(region, 2 * page); }
};

std::vector<char> read_file(const char* path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "FAIL: cannot read %s (run native/test/make_abi_model.py first)\n", path);
    std::exit(1);
  }
  return std::vector<char>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Runs the session on an [n, 3] input; returns y (ORT-allocated output) after checking its
// type and shape.
std::vector<float> run_add(oa::Session* s, const oa::MemoryInfo* cpu, std::vector<float> x) {
  const int64_t n = static_cast<int64_t>(x.size() / 3);
  const int64_t shape[2] = {n, 3};
  oa::Value* xv = nullptr;
  OK(A<oa::CreateTensorWithDataAsOrtValue>()(cpu, x.data(), x.size() * sizeof(float), shape, 2,
                                              oa::ElementType::Float, &xv));
  const char* in_names[] = {"x"};
  const char* out_names[] = {"y"};
  const oa::Value* ins[] = {xv};
  oa::Value* outs[] = {nullptr};
  OK(A<oa::Run>()(s, nullptr, in_names, ins, 1, out_names, 1, outs));
  CHECK(outs[0] != nullptr);

  int is_tensor = 0;
  OK(A<oa::IsTensor>()(outs[0], &is_tensor));
  CHECK(is_tensor == 1);
  oa::TensorTypeAndShapeInfo* info = nullptr;
  OK(A<oa::GetTensorTypeAndShape>()(outs[0], &info));
  oa::ElementType type{};
  size_t rank = 0, count = 0;
  int64_t dims[2] = {0, 0};
  OK(A<oa::GetTensorElementType>()(info, &type));
  OK(A<oa::GetDimensionsCount>()(info, &rank));
  CHECK(rank == 2);
  OK(A<oa::GetDimensions>()(info, dims, 2));
  OK(A<oa::GetTensorShapeElementCount>()(info, &count));
  A<oa::ReleaseTensorTypeAndShapeInfo>()(info);
  CHECK(type == oa::ElementType::Float);
  CHECK(dims[0] == n && dims[1] == 3);
  CHECK(count == x.size());

  void* yp = nullptr;
  OK(A<oa::GetTensorMutableData>()(outs[0], &yp));
  std::vector<float> y(static_cast<float*>(yp), static_cast<float*>(yp) + count);
  A<oa::ReleaseValue>()(outs[0]);
  A<oa::ReleaseValue>()(xv);
  return y;
}

}  // namespace

int main(int argc, char** argv) {
  const char* lib_path = argc > 1 ? argv[1] : "node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1";
  const char* model_path = argc > 2 ? argv[2] : "native/test/abi_model.onnx";

  // --- entry point -----------------------------------------------------------------------------
  void* lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "FAIL: dlopen %s: %s\n", lib_path, dlerror());
    return 1;
  }
  auto get_api_base = reinterpret_cast<oa::GetApiBaseFn>(dlsym(lib, oa::kGetApiBaseSymbol));
  CHECK(get_api_base != nullptr);
  const oa::ApiBase* base = get_api_base();
  CHECK(base != nullptr);
  std::printf("onnxruntime version: %s\n", base->GetVersionString());
  g_api = base->GetApi(oa::kApiVersion);
  CHECK(g_api != nullptr);
  std::printf("API version requested: %u\n", oa::kApiVersion);

  // --- status round trip -----------------------------------------------------------------------
  {
    oa::Status* st = A<oa::CreateStatus>()(oa::ErrorCode::InvalidArgument, "abi probe");
    CHECK(st != nullptr);
    CHECK(A<oa::GetErrorCode>()(st) == oa::ErrorCode::InvalidArgument);
    CHECK(std::strcmp(A<oa::GetErrorMessage>()(st), "abi probe") == 0);
    A<oa::ReleaseStatus>()(st);
    st = A<oa::CreateStatus>()(oa::ErrorCode::EpFail, "ep");
    CHECK(A<oa::GetErrorCode>()(st) == oa::ErrorCode::EpFail);
    A<oa::ReleaseStatus>()(st);
  }

  oa::Env* env = nullptr;
  OK(A<oa::CreateEnv>()(oa::LoggingLevel::Warning, "abi_smoke", &env));
  CHECK(env != nullptr);

  GuardedOp guarded;
  oa::CustomOpDomain* domain = nullptr;
  OK(A<oa::CreateCustomOpDomain>()("dk.test", &domain));
  OK(A<oa::CustomOpDomain_Add>()(domain, guarded.op));

  oa::Allocator* alloc = nullptr;
  OK(A<oa::GetAllocatorWithDefaultOptions>()(&alloc));
  CHECK(alloc != nullptr);
  oa::MemoryInfo* cpu = nullptr;
  OK(A<oa::CreateCpuMemoryInfo>()(oa::AllocatorType::Arena, oa::MemType::Default, &cpu));

  // --- session 1: from memory, 1 intra-op thread, memory pattern off ---------------------------
  oa::SessionOptions* o1 = nullptr;
  OK(A<oa::CreateSessionOptions>()(&o1));
  OK(A<oa::SetIntraOpNumThreads>()(o1, 1));
  OK(A<oa::SetInterOpNumThreads>()(o1, 1));
  OK(A<oa::SetSessionGraphOptimizationLevel>()(o1, oa::GraphOptimizationLevel::EnableAll));
  OK(A<oa::SetSessionExecutionMode>()(o1, oa::ExecutionMode::Sequential));
  {
    // Out-of-range values are rejected, which also shows these slots are the setters we think.
    std::string m1 = EXPECT_ERROR(
        A<oa::SetSessionGraphOptimizationLevel>()(o1, static_cast<oa::GraphOptimizationLevel>(42)), nullptr);
    std::string m2 =
        EXPECT_ERROR(A<oa::SetSessionExecutionMode>()(o1, static_cast<oa::ExecutionMode>(7)), nullptr);
    std::printf("invalid optimization level -> %s; invalid execution mode -> %s\n", m1.c_str(), m2.c_str());
    OK(A<oa::SetSessionGraphOptimizationLevel>()(o1, oa::GraphOptimizationLevel::EnableAll));
    OK(A<oa::SetSessionExecutionMode>()(o1, oa::ExecutionMode::Sequential));
  }
  OK(A<oa::EnableMemPattern>()(o1));
  OK(A<oa::DisableMemPattern>()(o1));
  OK(A<oa::DisableCpuMemArena>()(o1));
  OK(A<oa::EnableCpuMemArena>()(o1));
  OK(A<oa::EnableProfiling>()(o1, "/tmp/abi_smoke_never"));
  OK(A<oa::DisableProfiling>()(o1));  // so session 1 must report no profile file
  OK(A<oa::AddCustomOpDomain>()(o1, domain));

  const std::vector<char> model = read_file(model_path);
  oa::Session* s1 = nullptr;
  OK(A<oa::CreateSessionFromArray>()(env, model.data(), model.size(), o1, &s1));
  CHECK(g_kernels_created >= 1);
  std::printf("custom op: CreateKernelV2 ran, api handed to it %s the requested table\n",
              g_kernel_api == g_api ? "is" : "is not");
  std::printf("missing attribute error: %s\n", g_missing_attr_message.c_str());

  // names, types, shapes
  size_t n_in = 0, n_out = 0;
  OK(A<oa::SessionGetInputCount>()(s1, &n_in));
  OK(A<oa::SessionGetOutputCount>()(s1, &n_out));
  CHECK(n_in == 1 && n_out == 1);
  char* in_name = nullptr;
  char* out_name = nullptr;
  OK(A<oa::SessionGetInputName>()(s1, 0, alloc, &in_name));
  OK(A<oa::SessionGetOutputName>()(s1, 0, alloc, &out_name));
  std::printf("input name: %s, output name: %s\n", in_name, out_name);
  CHECK(std::strcmp(in_name, "x") == 0 && std::strcmp(out_name, "y") == 0);
  OK(A<oa::AllocatorFree>()(alloc, in_name));
  OK(A<oa::AllocatorFree>()(alloc, out_name));

  for (int which = 0; which < 2; ++which) {
    oa::TypeInfo* ti = nullptr;
    if (which == 0)
      OK(A<oa::SessionGetInputTypeInfo>()(s1, 0, &ti));
    else
      OK(A<oa::SessionGetOutputTypeInfo>()(s1, 0, &ti));
    oa::OnnxType kind{};
    OK(A<oa::GetOnnxTypeFromTypeInfo>()(ti, &kind));
    CHECK(kind == oa::OnnxType::Tensor);
    const oa::TensorTypeAndShapeInfo* tsi = nullptr;  // owned by ti
    OK(A<oa::CastTypeInfoToTensorInfo>()(ti, &tsi));
    CHECK(tsi != nullptr);
    oa::ElementType type{};
    size_t rank = 0;
    OK(A<oa::GetTensorElementType>()(tsi, &type));
    OK(A<oa::GetDimensionsCount>()(tsi, &rank));
    CHECK(type == oa::ElementType::Float);
    CHECK(rank == 2);
    int64_t dims[2] = {0, 0};
    const char* names[2] = {nullptr, nullptr};
    OK(A<oa::GetDimensions>()(tsi, dims, 2));
    OK(A<oa::GetSymbolicDimensions>()(tsi, names, 2));
    std::printf("%s: element type %d, dims [%lld, %lld], symbolic [\"%s\", \"%s\"]\n", which == 0 ? "x" : "y",
                static_cast<int>(type), static_cast<long long>(dims[0]), static_cast<long long>(dims[1]), names[0],
                names[1]);
    CHECK(dims[0] == -1 && dims[1] == 3);
    CHECK(std::strcmp(names[0], "N") == 0 && std::strcmp(names[1], "") == 0);
    A<oa::ReleaseTypeInfo>()(ti);
  }

  // run over a caller buffer; ORT allocates y
  {
    const std::vector<float> y = run_add(s1, cpu, {0, 1, 2, 3, 4, 5});
    std::printf("y = [%g %g %g; %g %g %g]\n", y[0], y[1], y[2], y[3], y[4], y[5]);
    for (size_t i = 0; i < 6; ++i) CHECK(y[i] == static_cast<float>(i) + 2.0f);
  }

  // run into a preallocated output made with CreateTensorAsOrtValue
  {
    float xb[3] = {10, 20, 30};
    const int64_t shape[2] = {1, 3};
    oa::Value* xv = nullptr;
    oa::Value* yv = nullptr;
    OK(A<oa::CreateTensorWithDataAsOrtValue>()(cpu, xb, sizeof xb, shape, 2, oa::ElementType::Float, &xv));
    OK(A<oa::CreateTensorAsOrtValue>()(alloc, shape, 2, oa::ElementType::Float, &yv));
    void* before = nullptr;
    OK(A<oa::GetTensorMutableData>()(yv, &before));
    const char* in_names[] = {"x"};
    const char* out_names[] = {"y"};
    const oa::Value* ins[] = {xv};
    oa::Value* outs[] = {yv};
    OK(A<oa::Run>()(s1, nullptr, in_names, ins, 1, out_names, 1, outs));
    CHECK(outs[0] == yv);
    void* after = nullptr;
    OK(A<oa::GetTensorMutableData>()(yv, &after));
    CHECK(after == before);
    const float* yf = static_cast<const float*>(after);
    CHECK(yf[0] == 12 && yf[1] == 22 && yf[2] == 32);
    A<oa::ReleaseValue>()(yv);
    A<oa::ReleaseValue>()(xv);
  }

  // error paths: a wrong input name, and an error status returned by KernelComputeV2
  {
    float xb[3] = {1, 2, 3};
    const int64_t shape[2] = {1, 3};
    oa::Value* xv = nullptr;
    OK(A<oa::CreateTensorWithDataAsOrtValue>()(cpu, xb, sizeof xb, shape, 2, oa::ElementType::Float, &xv));
    const char* bad_names[] = {"not_x"};
    const char* out_names[] = {"y"};
    const oa::Value* ins[] = {xv};
    oa::Value* outs[] = {nullptr};
    oa::ErrorCode code{};
    std::string msg = EXPECT_ERROR(A<oa::Run>()(s1, nullptr, bad_names, ins, 1, out_names, 1, outs), &code);
    std::printf("wrong input name -> error code %d: %s\n", static_cast<int>(code), msg.c_str());
    CHECK(outs[0] == nullptr);

    xb[1] = -999;
    const char* names[] = {"x"};
    msg = EXPECT_ERROR(A<oa::Run>()(s1, nullptr, names, ins, 1, out_names, 1, outs), &code);
    std::printf("kernel error status -> error code %d: %s\n", static_cast<int>(code), msg.c_str());
    CHECK(msg.find("sentinel -999") != std::string::npos);
    if (outs[0]) A<oa::ReleaseValue>()(outs[0]);
    A<oa::ReleaseValue>()(xv);
  }

  // profiling was disabled for session 1: ORT reports an empty file name
  {
    char* prof = nullptr;
    OK(A<oa::SessionEndProfiling>()(s1, alloc, &prof));
    CHECK(prof != nullptr);
    std::printf("session 1 profile file: \"%s\" (profiling disabled)\n", prof);
    CHECK(prof[0] == '\0');
    OK(A<oa::AllocatorFree>()(alloc, prof));
  }

  // AddSessionConfigEntry with an observable effect: claiming the ORT format makes an ONNX
  // model fail to load.
  {
    oa::SessionOptions* o3 = nullptr;
    OK(A<oa::CreateSessionOptions>()(&o3));
    OK(A<oa::AddSessionConfigEntry>()(o3, "session.load_model_format", "ORT"));
    oa::Session* s3 = nullptr;
    oa::ErrorCode code{};
    std::string msg =
        EXPECT_ERROR(A<oa::CreateSessionFromArray>()(env, model.data(), model.size(), o3, &s3), &code);
    std::printf("load_model_format=ORT on an ONNX model -> error code %d: %s\n", static_cast<int>(code),
                msg.c_str());
    A<oa::ReleaseSessionOptions>()(o3);
  }

  // --- session 2: from the file path, 2 intra-op threads, no spinning, profiling on -----------
  {
    oa::SessionOptions* o2 = nullptr;
    OK(A<oa::CreateSessionOptions>()(&o2));
    OK(A<oa::SetIntraOpNumThreads>()(o2, 2));
    OK(A<oa::AddSessionConfigEntry>()(o2, "session.intra_op.allow_spinning", "0"));
    OK(A<oa::EnableProfiling>()(o2, "/tmp/abi_smoke_profile"));
    OK(A<oa::AddCustomOpDomain>()(o2, domain));
    oa::Session* s2 = nullptr;
    OK(A<oa::CreateSession>()(env, model_path, o2, &s2));

    std::vector<float> x(15);
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.5f * static_cast<float>(i);
    const std::vector<float> y = run_add(s2, cpu, x);
    for (size_t i = 0; i < x.size(); ++i) CHECK(y[i] == x[i] + 2.0f);
    std::printf("session 2 (from path, 2 threads): [5, 3] run ok\n");

    char* prof = nullptr;
    OK(A<oa::SessionEndProfiling>()(s2, alloc, &prof));
    CHECK(prof != nullptr && prof[0] != '\0');
    std::printf("session 2 profile file: %s\n", prof);
    CHECK(access(prof, F_OK) == 0);
    CHECK(std::remove(prof) == 0);
    OK(A<oa::AllocatorFree>()(alloc, prof));

    A<oa::ReleaseSession>()(s2);
    A<oa::ReleaseSessionOptions>()(o2);
  }

  A<oa::ReleaseSession>()(s1);
  A<oa::ReleaseSessionOptions>()(o1);
  A<oa::ReleaseCustomOpDomain>()(domain);  // after every session that used it
  A<oa::ReleaseMemoryInfo>()(cpu);
  A<oa::ReleaseEnv>()(env);
  // release functions accept nullptr
  A<oa::ReleaseValue>()(nullptr);
  A<oa::ReleaseStatus>()(nullptr);

  std::printf("kernels created %d, destroyed %d, computes %d\n", g_kernels_created, g_kernels_destroyed,
              g_computes);
  CHECK(g_kernels_created == g_kernels_destroyed);
  CHECK(g_computes >= 4);
  std::printf("OK\n");
  return 0;
}
