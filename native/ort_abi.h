// ort_abi.h — our own minimal description of the onnxruntime C ABI that the native addon uses.
//
// There is no onnxruntime C header on the build machines, so this file declares, in our own
// words and types, just the part of the ABI we call: the entry point, a handful of slots of the
// API function table, the enum values those functions take, and the custom-operator descriptor.
// It is header-only C++17 and depends on nothing but the standard library.
//
// Facts used here (not code) come from microsoft/onnxruntime:
//   * include/onnxruntime/core/session/onnxruntime_c_api.h at 0017800f (ORT_API_VERSION 13) —
//     counted entry by entry for the slot indices and signatures;
//   * the same header at 2d254fb8 (ORT_API_VERSION 17, ORT 1.17.0) — custom-op descriptor fields
//     after version 13, enum additions;
//   * onnxruntime/core/session/onnxruntime_c_api.cc at 2d254fb8 — the implementation table, whose
//     "End of Version N" markers and offsetof static_asserts give the slot ranges of each version;
//   * onnxruntime/core/session/custom_ops.cc — how ORT gates descriptor fields on its `version`.
// The runtime we load is onnxruntime 1.30.0. The API table only ever grows at the end, so every
// index below (all < 170) is the same in 1.30.
//
// How the table works: OrtGetApiBase() returns two function pointers. GetApi(v) returns the API
// table — a plain struct of function pointers, one pointer-sized slot per entry, in declaration
// order (status-returning entries, release entries and the few entries returning other types
// alike). We treat it as an array of pointers and index it with `Slot`.
//
// Slot ranges per API version (first..last index), from the implementation's version markers:
//   v1: 0..101   v2: 102..118   v3: 119..124   v4: 125..126   v5: 127..149   v6: 150..157
//   v7: 158..161 v8: 162..169   (v9 ends at 191, v10 at 203, ..., v17 at 266)
// The highest slot declared here is 163 (KernelInfoGetAttributeArray_int64, a v8 entry), so the
// lowest version that contains every slot we use is 8: kApiVersion.
//
// On Linux x86-64 the ORT calling convention is the default C one and C enums are 32-bit ints,
// so our enum classes with an int32_t base are passed and returned exactly like ORT's enums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ortabi {

// ---------------------------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------------------------

// The API version we ask GetApi for: the lowest one whose table holds every slot below.
constexpr uint32_t kApiVersion = 8;
// The last slot index of that version (CreateSessionFromArrayWithPrepackedWeightsContainer).
constexpr int kLastSlotOfApiVersion = 169;

// The value we put in CustomOp::version. See the comment on CustomOp.
constexpr uint32_t kCustomOpVersion = 16;

// Name of the one symbol the shared library exports for the C API.
constexpr const char* kGetApiBaseSymbol = "OrtGetApiBase";

// ---------------------------------------------------------------------------------------------
// Opaque handles (ORT owns them; we only hold pointers)
// ---------------------------------------------------------------------------------------------

struct Env;
struct Status;  // a null Status* means success
struct MemoryInfo;
struct Session;
struct Value;
struct RunOptions;
struct TypeInfo;
struct TensorTypeAndShapeInfo;
struct SessionOptions;
struct CustomOpDomain;
struct Allocator;  // ORT's allocator object; we never touch its fields, only pass it back
struct KernelInfo;
struct KernelContext;
struct CustomOp;  // our descriptor struct, defined below

// ---------------------------------------------------------------------------------------------
// Enum values
// ---------------------------------------------------------------------------------------------

// Tensor element types (the ONNX TensorProto numbering).
enum class ElementType : int32_t {
  Undefined = 0,
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  BFloat16 = 16,
  Float8E4M3FN = 17,    // the float8 values are in the v17 header
  Float8E4M3FNUZ = 18,
  Float8E5M2 = 19,
  Float8E5M2FNUZ = 20,
};

// Kind of value a TypeInfo / Value describes.
enum class OnnxType : int32_t {
  Unknown = 0,
  Tensor = 1,
  Sequence = 2,
  Map = 3,
  Opaque = 4,
  SparseTensor = 5,
  Optional = 6,
};

enum class LoggingLevel : int32_t {
  Verbose = 0,
  Info = 1,
  Warning = 2,
  Error = 3,
  Fatal = 4,
};

enum class ErrorCode : int32_t {
  Ok = 0,
  Fail = 1,
  InvalidArgument = 2,
  NoSuchFile = 3,
  NoModel = 4,
  EngineError = 5,
  RuntimeException = 6,
  InvalidProtobuf = 7,
  ModelLoaded = 8,
  NotImplemented = 9,
  InvalidGraph = 10,
  EpFail = 11,  // the last value in the v17 header; newer runtimes may return higher codes
};

enum class GraphOptimizationLevel : int32_t {
  DisableAll = 0,
  EnableBasic = 1,
  EnableExtended = 2,
  EnableAll = 99,
};

enum class ExecutionMode : int32_t {
  Sequential = 0,
  Parallel = 1,
};

enum class AllocatorType : int32_t {
  Invalid = -1,
  Device = 0,
  Arena = 1,
};

enum class MemType : int32_t {
  CpuInput = -2,
  CpuOutput = -1,
  Cpu = -1,  // same value as CpuOutput
  Default = 0,
};

// Whether a custom op's input/output must be present, may be absent, or repeats.
enum class IOCharacteristic : int32_t {
  Required = 0,
  Optional = 1,
  Variadic = 2,
};

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

// What OrtGetApiBase() returns: exactly two pointers, fixed forever.
struct ApiBase {
  const void* (*GetApi)(uint32_t version);  // nullptr if the runtime lacks that version
  const char* (*GetVersionString)();        // e.g. "1.30.0"
};
static_assert(sizeof(ApiBase) == 2 * sizeof(void*), "ApiBase is two pointers");

using GetApiBaseFn = const ApiBase* (*)();

// ---------------------------------------------------------------------------------------------
// API table slots (0-based index of each entry we use)
// ---------------------------------------------------------------------------------------------

enum Slot : int {
  // status
  CreateStatus = 0,
  GetErrorCode = 1,
  GetErrorMessage = 2,
  // env
  CreateEnv = 3,
  // sessions
  CreateSession = 7,
  CreateSessionFromArray = 8,
  Run = 9,
  // session options
  CreateSessionOptions = 10,
  SetSessionExecutionMode = 13,
  EnableProfiling = 14,
  DisableProfiling = 15,
  EnableMemPattern = 16,
  DisableMemPattern = 17,
  EnableCpuMemArena = 18,
  DisableCpuMemArena = 19,
  SetSessionGraphOptimizationLevel = 23,
  SetIntraOpNumThreads = 24,
  SetInterOpNumThreads = 25,
  // custom op domains
  CreateCustomOpDomain = 26,
  CustomOpDomain_Add = 27,
  AddCustomOpDomain = 28,
  // session introspection
  SessionGetInputCount = 30,
  SessionGetOutputCount = 31,
  SessionGetInputTypeInfo = 33,
  SessionGetOutputTypeInfo = 34,
  SessionGetInputName = 36,
  SessionGetOutputName = 37,
  // values
  CreateTensorAsOrtValue = 48,
  CreateTensorWithDataAsOrtValue = 49,
  IsTensor = 50,
  GetTensorMutableData = 51,
  // type info
  CastTypeInfoToTensorInfo = 55,
  GetOnnxTypeFromTypeInfo = 56,
  // tensor type and shape
  GetTensorElementType = 60,
  GetDimensionsCount = 61,
  GetDimensions = 62,
  GetSymbolicDimensions = 63,
  GetTensorShapeElementCount = 64,
  GetTensorTypeAndShape = 65,  // takes a const Value*: usable on kernel inputs
  // memory info / allocator
  CreateCpuMemoryInfo = 69,
  AllocatorFree = 76,
  GetAllocatorWithDefaultOptions = 78,
  // kernel info (custom op construction)
  KernelInfoGetAttribute_float = 85,
  KernelInfoGetAttribute_int64 = 86,
  KernelInfoGetAttribute_string = 87,
  // kernel context (custom op compute)
  KernelContext_GetInputCount = 88,
  KernelContext_GetOutputCount = 89,
  KernelContext_GetInput = 90,
  KernelContext_GetOutput = 91,
  // release functions (void return, accept nullptr)
  ReleaseEnv = 92,
  ReleaseStatus = 93,
  ReleaseMemoryInfo = 94,
  ReleaseSession = 95,
  ReleaseValue = 96,
  ReleaseTypeInfo = 98,
  ReleaseTensorTypeAndShapeInfo = 99,
  ReleaseSessionOptions = 100,
  ReleaseCustomOpDomain = 101,  // last entry of version 1
  // version 2
  SessionEndProfiling = 110,
  // version 5
  AddSessionConfigEntry = 130,
  // version 8
  KernelInfoGetAttributeArray_float = 162,
  KernelInfoGetAttributeArray_int64 = 163,
};

// ---------------------------------------------------------------------------------------------
// Function signatures, one per slot (ORT's parameter order and types, our type names)
// ---------------------------------------------------------------------------------------------

namespace sig {
using CreateStatus = Status* (*)(ErrorCode code, const char* msg);  // msg is copied
using GetErrorCode = ErrorCode (*)(const Status* status);
using GetErrorMessage = const char* (*)(const Status* status);  // owned by status
using ReleaseStatus = void (*)(Status* status);

using CreateEnv = Status* (*)(LoggingLevel level, const char* log_id, Env** out);
using ReleaseEnv = void (*)(Env* env);

using CreateSessionOptions = Status* (*)(SessionOptions** out);
using ReleaseSessionOptions = void (*)(SessionOptions* options);
using SetIntraOpNumThreads = Status* (*)(SessionOptions* options, int threads);
using SetInterOpNumThreads = Status* (*)(SessionOptions* options, int threads);
using SetSessionGraphOptimizationLevel = Status* (*)(SessionOptions* options, GraphOptimizationLevel level);
using SetSessionExecutionMode = Status* (*)(SessionOptions* options, ExecutionMode mode);
using EnableMemPattern = Status* (*)(SessionOptions* options);
using DisableMemPattern = Status* (*)(SessionOptions* options);
using EnableCpuMemArena = Status* (*)(SessionOptions* options);
using DisableCpuMemArena = Status* (*)(SessionOptions* options);
using AddSessionConfigEntry = Status* (*)(SessionOptions* options, const char* key, const char* value);
// The prefix is a char path on POSIX (wchar_t on Windows, which we do not target).
using EnableProfiling = Status* (*)(SessionOptions* options, const char* file_prefix);
using DisableProfiling = Status* (*)(SessionOptions* options);

using CreateCustomOpDomain = Status* (*)(const char* domain, CustomOpDomain** out);
// The op must outlive the domain; the domain must outlive every session that uses it.
using CustomOpDomain_Add = Status* (*)(CustomOpDomain* domain, const CustomOp* op);
using AddCustomOpDomain = Status* (*)(SessionOptions* options, CustomOpDomain* domain);
using ReleaseCustomOpDomain = void (*)(CustomOpDomain* domain);

using CreateSession = Status* (*)(const Env* env, const char* model_path, const SessionOptions* options,
                                  Session** out);
using CreateSessionFromArray = Status* (*)(const Env* env, const void* model_data, size_t model_data_length,
                                           const SessionOptions* options, Session** out);
using ReleaseSession = void (*)(Session* session);
// outputs[i] may be nullptr (ORT allocates) or a preallocated Value*.
using Run = Status* (*)(Session* session, const RunOptions* run_options, const char* const* input_names,
                        const Value* const* inputs, size_t input_count, const char* const* output_names,
                        size_t output_count, Value** outputs);
using SessionGetInputCount = Status* (*)(const Session* session, size_t* out);
using SessionGetOutputCount = Status* (*)(const Session* session, size_t* out);
// The name is allocated with `allocator`; free it with AllocatorFree.
using SessionGetInputName = Status* (*)(const Session* session, size_t index, Allocator* allocator, char** out);
using SessionGetOutputName = Status* (*)(const Session* session, size_t index, Allocator* allocator, char** out);
using SessionGetInputTypeInfo = Status* (*)(const Session* session, size_t index, TypeInfo** out);
using SessionGetOutputTypeInfo = Status* (*)(const Session* session, size_t index, TypeInfo** out);
// Writes the profile and returns its file name, allocated with `allocator`.
using SessionEndProfiling = Status* (*)(Session* session, Allocator* allocator, char** out);

// The result points into type_info (do not release it); nullptr if not a tensor.
using CastTypeInfoToTensorInfo = Status* (*)(const TypeInfo* type_info, const TensorTypeAndShapeInfo** out);
using GetOnnxTypeFromTypeInfo = Status* (*)(const TypeInfo* type_info, OnnxType* out);
using ReleaseTypeInfo = void (*)(TypeInfo* type_info);

// A new object; release it with ReleaseTensorTypeAndShapeInfo.
using GetTensorTypeAndShape = Status* (*)(const Value* value, TensorTypeAndShapeInfo** out);
using GetTensorElementType = Status* (*)(const TensorTypeAndShapeInfo* info, ElementType* out);
using GetDimensionsCount = Status* (*)(const TensorTypeAndShapeInfo* info, size_t* out);
// Unknown dims read as -1.
using GetDimensions = Status* (*)(const TensorTypeAndShapeInfo* info, int64_t* dims, size_t dims_length);
// Fills dims_length pointers to names owned by info ("" where the dim has no name).
using GetSymbolicDimensions = Status* (*)(const TensorTypeAndShapeInfo* info, const char** dim_names,
                                          size_t dims_length);
using GetTensorShapeElementCount = Status* (*)(const TensorTypeAndShapeInfo* info, size_t* out);
using ReleaseTensorTypeAndShapeInfo = void (*)(TensorTypeAndShapeInfo* info);

// The default CPU allocator; never released.
using GetAllocatorWithDefaultOptions = Status* (*)(Allocator** out);
using AllocatorFree = Status* (*)(Allocator* allocator, void* p);
using CreateCpuMemoryInfo = Status* (*)(AllocatorType type, MemType mem_type, MemoryInfo** out);
using ReleaseMemoryInfo = void (*)(MemoryInfo* info);

// Wraps a caller buffer (not copied, not freed by ReleaseValue); data_length is in bytes.
using CreateTensorWithDataAsOrtValue = Status* (*)(const MemoryInfo* info, void* data, size_t data_length,
                                                   const int64_t* shape, size_t shape_length, ElementType type,
                                                   Value** out);
using CreateTensorAsOrtValue = Status* (*)(Allocator* allocator, const int64_t* shape, size_t shape_length,
                                           ElementType type, Value** out);
using GetTensorMutableData = Status* (*)(Value* value, void** out);
using IsTensor = Status* (*)(const Value* value, int* out);
using ReleaseValue = void (*)(Value* value);

// Attribute getters; a missing attribute gives a non-null Status (release it).
using KernelInfoGetAttribute_float = Status* (*)(const KernelInfo* info, const char* name, float* out);
using KernelInfoGetAttribute_int64 = Status* (*)(const KernelInfo* info, const char* name, int64_t* out);
// out == nullptr: *size = bytes needed including the NUL. Otherwise *size is the buffer size in
// bytes; too small gives an error with *size set to what is needed.
using KernelInfoGetAttribute_string = Status* (*)(const KernelInfo* info, const char* name, char* out,
                                                  size_t* size);
// Same protocol, *size counted in elements.
using KernelInfoGetAttributeArray_float = Status* (*)(const KernelInfo* info, const char* name, float* out,
                                                      size_t* size);
using KernelInfoGetAttributeArray_int64 = Status* (*)(const KernelInfo* info, const char* name, int64_t* out,
                                                      size_t* size);

using KernelContext_GetInputCount = Status* (*)(const KernelContext* context, size_t* out);
using KernelContext_GetOutputCount = Status* (*)(const KernelContext* context, size_t* out);
// Inputs are const; their data can be read through GetTensorMutableData after a const_cast.
using KernelContext_GetInput = Status* (*)(const KernelContext* context, size_t index, const Value** out);
// Allocates (or returns the bound) output `index` with the given shape.
using KernelContext_GetOutput = Status* (*)(KernelContext* context, size_t index, const int64_t* dims,
                                            size_t dim_count, Value** out);
}  // namespace sig

// ---------------------------------------------------------------------------------------------
// Custom operator descriptor
// ---------------------------------------------------------------------------------------------
//
// ORT keeps a pointer to this struct (it must outlive every session using its domain) and calls
// its members. Field order and types follow ORT's struct; `version` tells ORT which fields
// exist. custom_ops.cc reads the fields as follows:
//   * version >= 8:  GetInputCharacteristic / GetOutputCharacteristic
//   * version > 12:  GetInputMemoryType
//   * version >= 14: the four GetVariadic* members (only for a Variadic input/output)
//   * version >= 16: CreateKernelV2 / KernelComputeV2 (used when non-null, instead of
//                    CreateKernel / KernelCompute)
//   * version >= 17: InferOutputShapeFn, GetStartVersion, GetEndVersion
//   * later versions add GetMayInplace, ReleaseMayInplace, GetAliasMap, ReleaseAliasMap
//     (they come after GetEndVersion and are gated higher still).
// We declare the struct up to and including KernelComputeV2 and set version = 16
// (kCustomOpVersion). That is the lowest version that enables the status-returning V2
// callbacks, and every field after KernelComputeV2 is gated at 17 or higher, so ORT never reads
// past the end of our struct. (ORT also rejects a version above its own API version; 16 is far
// below 1.30's.) abi_smoke.cc checks this by placing the struct right before a guard page.
struct CustomOp {
  uint32_t version;  // kCustomOpVersion

  // Legacy kernel factory; may be null when CreateKernelV2 is set (version >= 16).
  void* (*CreateKernel)(const CustomOp* op, const void* api, const KernelInfo* info);
  const char* (*GetName)(const CustomOp* op);
  // nullptr (or "CPUExecutionProvider") puts the kernel on the CPU provider.
  const char* (*GetExecutionProviderType)(const CustomOp* op);
  ElementType (*GetInputType)(const CustomOp* op, size_t index);  // Undefined: any type
  size_t (*GetInputTypeCount)(const CustomOp* op);
  ElementType (*GetOutputType)(const CustomOp* op, size_t index);
  size_t (*GetOutputTypeCount)(const CustomOp* op);
  // Legacy compute; may be null when KernelComputeV2 is set.
  void (*KernelCompute)(void* kernel, KernelContext* context);
  // Always called for every kernel that was created; must be set.
  void (*KernelDestroy)(void* kernel);
  IOCharacteristic (*GetInputCharacteristic)(const CustomOp* op, size_t index);
  IOCharacteristic (*GetOutputCharacteristic)(const CustomOp* op, size_t index);
  MemType (*GetInputMemoryType)(const CustomOp* op, size_t index);
  int (*GetVariadicInputMinArity)(const CustomOp* op);
  int (*GetVariadicInputHomogeneity)(const CustomOp* op);  // non-zero: all of one type
  int (*GetVariadicOutputMinArity)(const CustomOp* op);
  int (*GetVariadicOutputHomogeneity)(const CustomOp* op);
  // Status-returning factory: store the kernel in *kernel; a non-null Status fails session
  // creation with its message.
  Status* (*CreateKernelV2)(const CustomOp* op, const void* api, const KernelInfo* info, void** kernel);
  // Status-returning compute: a non-null Status fails Run with its message.
  Status* (*KernelComputeV2)(void* kernel, KernelContext* context);
};
static_assert(offsetof(CustomOp, CreateKernel) == sizeof(void*), "CustomOp layout");
static_assert(offsetof(CustomOp, GetInputMemoryType) == (1 + 11) * sizeof(void*), "CustomOp layout");
static_assert(offsetof(CustomOp, CreateKernelV2) == (1 + 16) * sizeof(void*), "CustomOp layout");
static_assert(offsetof(CustomOp, KernelComputeV2) == (1 + 17) * sizeof(void*), "CustomOp layout");
static_assert(sizeof(CustomOp) == (1 + 18) * sizeof(void*), "CustomOp has no fields past KernelComputeV2");

// ---------------------------------------------------------------------------------------------
// Slot access
// ---------------------------------------------------------------------------------------------

// Reads slot `slot` of the API table `api` (from ApiBase::GetApi) as function pointer type F.
// The slot is copied out with memcpy, so no object of ORT's struct type is ever named.
template <class F>
inline F fn(const void* api, int slot) {
  static_assert(sizeof(F) == sizeof(void*), "slots are pointer-sized");
  F f;
  std::memcpy(&f, static_cast<const unsigned char*>(api) + static_cast<size_t>(slot) * sizeof(void*), sizeof f);
  return f;
}

// Slot -> signature, so that get<Slot>(api) is type-checked at the call site.
template <Slot S>
struct SlotSig;

#define ORTABI_BIND(name)        \
  template <>                    \
  struct SlotSig<Slot::name> {   \
    using type = sig::name;      \
  };
ORTABI_BIND(CreateStatus)
ORTABI_BIND(GetErrorCode)
ORTABI_BIND(GetErrorMessage)
ORTABI_BIND(CreateEnv)
ORTABI_BIND(CreateSession)
ORTABI_BIND(CreateSessionFromArray)
ORTABI_BIND(Run)
ORTABI_BIND(CreateSessionOptions)
ORTABI_BIND(SetSessionExecutionMode)
ORTABI_BIND(EnableProfiling)
ORTABI_BIND(DisableProfiling)
ORTABI_BIND(EnableMemPattern)
ORTABI_BIND(DisableMemPattern)
ORTABI_BIND(EnableCpuMemArena)
ORTABI_BIND(DisableCpuMemArena)
ORTABI_BIND(SetSessionGraphOptimizationLevel)
ORTABI_BIND(SetIntraOpNumThreads)
ORTABI_BIND(SetInterOpNumThreads)
ORTABI_BIND(CreateCustomOpDomain)
ORTABI_BIND(CustomOpDomain_Add)
ORTABI_BIND(AddCustomOpDomain)
ORTABI_BIND(SessionGetInputCount)
ORTABI_BIND(SessionGetOutputCount)
ORTABI_BIND(SessionGetInputTypeInfo)
ORTABI_BIND(SessionGetOutputTypeInfo)
ORTABI_BIND(SessionGetInputName)
ORTABI_BIND(SessionGetOutputName)
ORTABI_BIND(CreateTensorAsOrtValue)
ORTABI_BIND(CreateTensorWithDataAsOrtValue)
ORTABI_BIND(IsTensor)
ORTABI_BIND(GetTensorMutableData)
ORTABI_BIND(CastTypeInfoToTensorInfo)
ORTABI_BIND(GetOnnxTypeFromTypeInfo)
ORTABI_BIND(GetTensorElementType)
ORTABI_BIND(GetDimensionsCount)
ORTABI_BIND(GetDimensions)
ORTABI_BIND(GetSymbolicDimensions)
ORTABI_BIND(GetTensorShapeElementCount)
ORTABI_BIND(GetTensorTypeAndShape)
ORTABI_BIND(CreateCpuMemoryInfo)
ORTABI_BIND(AllocatorFree)
ORTABI_BIND(GetAllocatorWithDefaultOptions)
ORTABI_BIND(KernelInfoGetAttribute_float)
ORTABI_BIND(KernelInfoGetAttribute_int64)
ORTABI_BIND(KernelInfoGetAttribute_string)
ORTABI_BIND(KernelContext_GetInputCount)
ORTABI_BIND(KernelContext_GetOutputCount)
ORTABI_BIND(KernelContext_GetInput)
ORTABI_BIND(KernelContext_GetOutput)
ORTABI_BIND(ReleaseEnv)
ORTABI_BIND(ReleaseStatus)
ORTABI_BIND(ReleaseMemoryInfo)
ORTABI_BIND(ReleaseSession)
ORTABI_BIND(ReleaseValue)
ORTABI_BIND(ReleaseTypeInfo)
ORTABI_BIND(ReleaseTensorTypeAndShapeInfo)
ORTABI_BIND(ReleaseSessionOptions)
ORTABI_BIND(ReleaseCustomOpDomain)
ORTABI_BIND(SessionEndProfiling)
ORTABI_BIND(AddSessionConfigEntry)
ORTABI_BIND(KernelInfoGetAttributeArray_float)
ORTABI_BIND(KernelInfoGetAttributeArray_int64)
#undef ORTABI_BIND

// The typed accessor: ortabi::get<ortabi::CreateEnv>(api)(level, "id", &env).
template <Slot S>
inline typename SlotSig<S>::type get(const void* api) {
  return fn<typename SlotSig<S>::type>(api, S);
}

// Every slot we declare lies inside the table of kApiVersion.
static_assert(KernelInfoGetAttributeArray_int64 <= kLastSlotOfApiVersion,
              "a declared slot is newer than kApiVersion");

}  // namespace ortabi
