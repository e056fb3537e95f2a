/*
 * TEST-ONLY SHIM: a stand-in for the NVIDIA driver library (libcuda.so.1) on machines without a
 * GPU, so that CI can load and test DJL's CUDA build of libtorch on its CPU.
 *
 * libcaffe2_nvrtc.so of libtorch 2.5.1 (cu124) links libcuda.so.1 directly and imports the 18
 * entry points below; without a library of that name the whole CUDA build fails to load. Every
 * entry point answers CUDA_ERROR_NO_DEVICE, and the driver probe libcudart does at run time
 * (dlopen + cuGetProcAddress, which this file does not define) fails, so libtorch reports 0 GPUs
 * and runs CPU operators as usual.
 *
 * Built by scripts/test-cuda-build.sh into a temporary folder that only that test run puts on
 * LD_LIBRARY_PATH. Never install it or put it on a user's library path: on a machine with a GPU it
 * would hide the real driver.
 *
 * Signatures follow cuda.h with opaque handles; none of the arguments is ever read.
 */
#include <stddef.h>

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef void *CUlinkState;
typedef void *CUtensorMap;

enum { CUDA_ERROR_NO_DEVICE = 100 };

CUresult cuGetErrorString(CUresult error, const char **message) {
    (void) error;
    if (message != NULL) {
        *message = "no CUDA device (test-only driver stub, scripts/cuda-driver-stub)";
    }
    return 0;
}

CUresult cuCtxGetCurrent(CUcontext *ctx) {
    if (ctx != NULL) {
        *ctx = NULL;
    }
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuCtxSetCurrent(CUcontext ctx) { (void) ctx; return CUDA_ERROR_NO_DEVICE; }

CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active) {
    (void) dev; (void) flags; (void) active;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice dev) {
    (void) ctx; (void) dev;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuFuncGetAttribute(int *value, int attribute, CUfunction f) {
    (void) value; (void) attribute; (void) f;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuFuncSetAttribute(CUfunction f, int attribute, int value) {
    (void) f; (void) attribute; (void) value;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                        unsigned int by, unsigned int bz, unsigned int sharedBytes, CUstream stream,
                        void **params, void **extra) {
    (void) f; (void) gx; (void) gy; (void) gz; (void) bx; (void) by; (void) bz;
    (void) sharedBytes; (void) stream; (void) params; (void) extra;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                   unsigned int bx, unsigned int by, unsigned int bz,
                                   unsigned int sharedBytes, CUstream stream, void **params) {
    (void) f; (void) gx; (void) gy; (void) gz; (void) bx; (void) by; (void) bz;
    (void) sharedBytes; (void) stream; (void) params;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuLinkCreate_v2(unsigned int numOptions, int *options, void **values, CUlinkState *state) {
    (void) numOptions; (void) options; (void) values; (void) state;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuLinkAddData_v2(CUlinkState state, int type, void *data, size_t size, const char *name,
                          unsigned int numOptions, int *options, void **values) {
    (void) state; (void) type; (void) data; (void) size; (void) name;
    (void) numOptions; (void) options; (void) values;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuLinkComplete(CUlinkState state, void **cubin, size_t *size) {
    (void) state; (void) cubin; (void) size;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuModuleGetFunction(CUfunction *f, CUmodule module, const char *name) {
    (void) f; (void) module; (void) name;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuModuleLoadData(CUmodule *module, const void *image) {
    (void) module; (void) image;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int numOptions, int *options,
                            void **values) {
    (void) module; (void) image; (void) numOptions; (void) options; (void) values;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuModuleUnload(CUmodule module) { (void) module; return CUDA_ERROR_NO_DEVICE; }

CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks, CUfunction f, int blockSize,
                                                     size_t sharedBytes) {
    (void) blocks; (void) f; (void) blockSize; (void) sharedBytes;
    return CUDA_ERROR_NO_DEVICE;
}

CUresult cuTensorMapEncodeTiled(CUtensorMap *map, int dataType, unsigned int rank, void *address,
                                const unsigned long long *dims, const unsigned long long *strides,
                                const unsigned int *box, const unsigned int *elementStrides,
                                int interleave, int swizzle, int l2Promotion, int oobFill) {
    (void) map; (void) dataType; (void) rank; (void) address; (void) dims; (void) strides;
    (void) box; (void) elementStrides; (void) interleave; (void) swizzle; (void) l2Promotion;
    (void) oobFill;
    return CUDA_ERROR_NO_DEVICE;
}
