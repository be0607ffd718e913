// The C API of the very ONNX Runtime library that onnxruntime-node ships, reached through koffi (prebuilt FFI,
// no compiler). ORT exposes its API as `OrtApi`, an append-only table of function pointers: function i is at
// offset i * 8. A wrong index or prototype is a crash, not an exception, so the library's version is checked and a
// status round trip is made before anything else is called. Indices: members of `struct OrtApi` in
// onnxruntime_c_api.h; all used here date from API ≤ 13 and are checked in ../../shared/reference/ffi-probe.md
// (14 EnableProfiling, 17 DisableMemPattern, 19 DisableCpuMemArena, 110 SessionEndProfiling and
// 130 AddSessionConfigEntry recounted against the header: 130 is followed by CreateAllocator,
// ReleaseAllocator and 133 RunWithBinding).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as koffi from 'koffi';

/** GetApi(version): ORT 1.x answers for versions 1..x, so this needs ORT ≥ 1.30 (onnxruntime-node is pinned to it). */
const ORT_API_VERSION = 30;

/** ONNXTensorElementDataType values. */
export const ElementType = { float32: 1, int64: 7, float16: 10 } as const;

// Every Ort* handle is `void *` (koffi 3: a BigInt, or null for NULL). Out-parameters are `void *` too: the
// callers pass a BigUint64Array(1), which koffi passes by address. Status functions return OrtStatus*, NULL = OK.
const FUNCTIONS = {
  CreateStatus: [0, 'void *f(int code, const char *msg)'],
  GetErrorCode: [1, 'int f(void *status)'],
  GetErrorMessage: [2, 'const char *f(void *status)'],
  CreateEnv: [3, 'void *f(int level, const char *logid, void *out)'],
  CreateSession: [7, 'void *f(void *env, PATH path, void *opts, void *out)'],
  CreateSessionOptions: [10, 'void *f(void *out)'],
  EnableProfiling: [14, 'void *f(void *opts, PATH prefix)'],
  DisableMemPattern: [17, 'void *f(void *opts)'],
  DisableCpuMemArena: [19, 'void *f(void *opts)'],
  SetSessionLogSeverityLevel: [22, 'void *f(void *opts, int level)'],
  SetSessionGraphOptimizationLevel: [23, 'void *f(void *opts, int level)'],
  SetIntraOpNumThreads: [24, 'void *f(void *opts, int n)'],
  SetInterOpNumThreads: [25, 'void *f(void *opts, int n)'],
  SessionGetInputCount: [30, 'void *f(void *sess, void *out)'],
  SessionGetOutputCount: [31, 'void *f(void *sess, void *out)'],
  SessionGetInputName: [36, 'void *f(void *sess, size_t i, void *alloc, void *out)'],
  SessionGetOutputName: [37, 'void *f(void *sess, size_t i, void *alloc, void *out)'],
  CreateTensorWithDataAsOrtValue: [49, 'void *f(void *info, void *data, size_t len, void *shape, size_t ndim, int type, void *out)'],
  GetTensorMutableData: [51, 'void *f(void *value, void *out)'],
  GetDimensionsCount: [61, 'void *f(void *info, void *out)'],
  GetDimensions: [62, 'void *f(void *info, void *dims, size_t n)'],
  GetTensorTypeAndShape: [65, 'void *f(void *value, void *out)'],
  CreateCpuMemoryInfo: [69, 'void *f(int allocType, int memType, void *out)'],
  AllocatorFree: [76, 'void *f(void *alloc, void *p)'],
  GetAllocatorWithDefaultOptions: [78, 'void *f(void *out)'],
  ReleaseEnv: [92, 'void f(void *p)'],
  ReleaseStatus: [93, 'void f(void *p)'],
  ReleaseMemoryInfo: [94, 'void f(void *p)'],
  ReleaseSession: [95, 'void f(void *p)'],
  ReleaseValue: [96, 'void f(void *p)'],
  ReleaseTensorTypeAndShapeInfo: [99, 'void f(void *p)'],
  ReleaseSessionOptions: [100, 'void f(void *p)'],
  SessionEndProfiling: [110, 'void *f(void *sess, void *alloc, void *out)'],
  AddSessionConfigEntry: [130, 'void *f(void *opts, const char *key, const char *value)'],
  RunWithBinding: [133, 'void *f(void *sess, void *runOpts, void *binding)'],
  CreateIoBinding: [134, 'void *f(void *sess, void *out)'],
  ReleaseIoBinding: [135, 'void f(void *p)'],
  BindInput: [136, 'void *f(void *binding, const char *name, void *value)'],
  BindOutput: [137, 'void *f(void *binding, const char *name, void *value)'],
  BindOutputToDevice: [138, 'void *f(void *binding, const char *name, void *memInfo)'],
  GetBoundOutputValues: [140, 'void *f(void *binding, void *alloc, void *outArray, void *outCount)'],
} as const;

export type OrtFunctionName = keyof typeof FUNCTIONS;
/** A native pointer as koffi 3 gives it: a BigInt, or null for NULL. */
export type Pointer = bigint | null;

const ERROR_CODES = ['OK', 'FAIL', 'INVALID_ARGUMENT', 'NO_SUCHFILE', 'NO_MODEL', 'ENGINE_ERROR', 'RUNTIME_EXCEPTION',
  'INVALID_PROTOBUF', 'MODEL_LOADED', 'NOT_IMPLEMENTED', 'INVALID_GRAPH', 'EP_FAIL', 'MODEL_LOAD_CANCELED',
  'MODEL_REQUIRES_COMPILATION', 'NOT_FOUND'];

/** An OrtStatus turned into an exception: which C function failed, ORT's error code and its message. */
export class OrtError extends Error {
  constructor(readonly fn: string, readonly code: number, readonly ortMessage: string) {
    super(`${fn} failed (${ERROR_CODES[code] ?? `code ${code}`}): ${ortMessage}`);
    this.name = 'OrtError';
  }
}

/** Why the C API cannot be used here (no library, wrong version, no koffi binary...): the plain backend runs instead. */
export class NativeUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NativeUnavailableError';
  }
}

export interface OrtApi {
  readonly version: string;
  readonly libraryPath: string;
  /** The raw functions: status-returning ones give a Pointer to pass to `check`. */
  readonly fn: Record<OrtFunctionName, (...args: any[]) => any>;
  /** Calls a status-returning function; throws OrtError when it fails. */
  call(name: OrtFunctionName, ...args: unknown[]): void;
  /** Calls a function whose last parameter is a pointer-sized out-parameter, and returns it. */
  callOut(name: OrtFunctionName, ...args: unknown[]): bigint;
}

/** onnxruntime-node's own copy of the ORT shared library for this platform. */
export function ortLibraryPath(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const file = { linux: 'libonnxruntime.so.1', darwin: 'libonnxruntime.1.dylib', win32: 'onnxruntime.dll' }[platform as string];
  if (!file) throw new NativeUnavailableError(`onnxruntime-node ships no ONNX Runtime library for ${platform}.`);
  if (arch !== 'x64' && arch !== 'arm64') throw new NativeUnavailableError(`the C API binding supports 64-bit x64 and arm64, not ${arch}.`);
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', platform, arch, file);
}

function checkVersion(version: string): void {
  const [major, minor] = version.split('.').map(Number);
  if (major !== 1 || !(minor >= ORT_API_VERSION)) {
    throw new NativeUnavailableError(`ONNX Runtime ${version} is not supported by the C API binding (it needs 1.${ORT_API_VERSION} or a later 1.x).`);
  }
}

let loaded: OrtApi | undefined;

/** Loads the library and its function table once per thread; throws NativeUnavailableError when that is impossible. */
export function loadOrtApi(): OrtApi {
  if (loaded) return loaded;
  const libraryPath = ortLibraryPath();
  if (!fs.existsSync(libraryPath)) throw new NativeUnavailableError(`ONNX Runtime's library is missing: ${libraryPath}.`);
  let lib: koffi.LibraryHandle;
  try {
    lib = koffi.load(libraryPath);
  } catch (e) {
    throw new NativeUnavailableError(`koffi could not load ${libraryPath}: ${(e as Error).message}`);
  }
  // OrtApiBase is { GetApi, GetVersionString }: two function pointers, read as a table (no struct by value).
  const base = lib.func('void *OrtGetApiBase(void)')();
  const getApi = koffi.decode(koffi.decode(base, 0, 'void *'), koffi.proto('void *OrtGetApiFn(uint32_t version)'));
  const getVersion = koffi.decode(koffi.decode(base, 8, 'void *'), koffi.proto('const char *OrtGetVersionStringFn(void)'));
  const version: string = getVersion();
  checkVersion(version);
  const table = getApi(ORT_API_VERSION);
  if (!table) throw new NativeUnavailableError(`ONNX Runtime ${version} does not provide C API version ${ORT_API_VERSION}.`);

  // ORTCHAR_T is wchar_t on Windows: model paths are UTF-16 there.
  const pathType = process.platform === 'win32' ? 'const char16_t *' : 'const char *';
  const fn = {} as Record<OrtFunctionName, (...args: any[]) => any>;
  for (const [name, [index, signature]] of Object.entries(FUNCTIONS)) {
    const proto = koffi.proto(signature.replace('PATH', pathType).replace(/\bf\(/, `Ort${name}(`));
    fn[name as OrtFunctionName] = koffi.decode(koffi.decode(table, index * 8, 'void *'), proto);
  }

  const check = (status: Pointer, name: string): void => {
    if (status === null || status === 0n) return;
    const code: number = fn.GetErrorCode(status);
    const message: string = fn.GetErrorMessage(status);
    fn.ReleaseStatus(status);
    throw new OrtError(name, code, message);
  };
  const out = new BigUint64Array(1);
  const api: OrtApi = {
    version, libraryPath, fn,
    call: (name, ...args) => check(fn[name](...args), name),
    callOut: (name, ...args) => {
      out[0] = 0n;
      check(fn[name](...args, out), name);
      return out[0];
    },
  };

  // Status round trip: proves the table is laid out as expected before any real call goes through it.
  const probe = fn.CreateStatus(2, 'phi-local status check');
  const roundTrip = probe ? `${fn.GetErrorCode(probe)}:${fn.GetErrorMessage(probe)}` : 'null';
  if (probe) fn.ReleaseStatus(probe);
  if (roundTrip !== '2:phi-local status check') {
    throw new NativeUnavailableError(`ONNX Runtime ${version}'s C API table does not look as expected (status check gave ${roundTrip}).`);
  }
  loaded = api;
  return api;
}
