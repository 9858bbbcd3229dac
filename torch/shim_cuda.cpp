// shim_cuda.cpp: the CUDA driver's view of the devices (fkd_cuda_device_info),
// without LibTorch: the driver's library is loaded at run time, so fkd
// builds without CUDA's headers and runs where there is no driver.

#include "shim.h"
#include "shim_internal.h"

#include <dlfcn.h>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace {

// The CUDA driver API, loaded from libcuda.so.1 (the driver's library, present
// wherever a GPU is usable) so that fkd needs no CUDA headers to build. Only
// plain C functions with int and pointer arguments are used; CUdevice is an
// int and CUresult an enum whose success value is 0.
struct cuda_driver {
	int (*init)(unsigned int);
	int (*driver_version)(int *);
	int (*device_get)(int *, int);
	int (*device_name)(char *, int, int);
	int (*device_total_mem)(size_t *, int);
	int (*device_attribute)(int *, int, int);
	int (*error_string)(int, const char **);
	std::string err; // why the driver cannot be used, if it cannot
};

const cuda_driver &driver() {
	static const cuda_driver d = [] {
		cuda_driver d{};
		void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
		if (lib == nullptr) {
			d.err = "no CUDA driver (libcuda.so.1 not found)";
			return d;
		}
		auto sym = [&](const char *name) { return dlsym(lib, name); };
		d.init = reinterpret_cast<int (*)(unsigned int)>(sym("cuInit"));
		d.driver_version = reinterpret_cast<int (*)(int *)>(sym("cuDriverGetVersion"));
		d.device_get = reinterpret_cast<int (*)(int *, int)>(sym("cuDeviceGet"));
		d.device_name = reinterpret_cast<int (*)(char *, int, int)>(sym("cuDeviceGetName"));
		d.device_total_mem = reinterpret_cast<int (*)(size_t *, int)>(sym("cuDeviceTotalMem_v2"));
		d.device_attribute = reinterpret_cast<int (*)(int *, int, int)>(sym("cuDeviceGetAttribute"));
		d.error_string = reinterpret_cast<int (*)(int, const char **)>(sym("cuGetErrorString"));
		if (!d.init || !d.driver_version || !d.device_get || !d.device_name || !d.device_total_mem ||
		    !d.device_attribute) {
			d.err = "libcuda.so.1 lacks the driver API's device queries";
			return d;
		}
		int rc = d.init(0);
		if (rc != 0) {
			const char *msg = nullptr;
			if (d.error_string) d.error_string(rc, &msg);
			d.err = std::string("cuInit failed: ") + (msg ? msg : "error " + std::to_string(rc));
		}
		return d;
	}();
	return d;
}

} // namespace

extern "C" {

fkd_err fkd_cuda_device_info(int idx, char *name, int namelen, uint64_t *total_bytes, int *cc_major,
			     int *cc_minor, int *driver_version) {
	try {
		const cuda_driver &d = driver();
		if (!d.err.empty()) throw std::runtime_error(d.err);
		auto check = [&](int rc, const char *what) {
			if (rc == 0) return;
			const char *msg = nullptr;
			if (d.error_string) d.error_string(rc, &msg);
			throw std::runtime_error(std::string(what) + " failed for device " + std::to_string(idx) + ": " +
						 (msg ? msg : "error " + std::to_string(rc)));
		};
		int dev = 0;
		check(d.device_get(&dev, idx), "cuDeviceGet");
		check(d.device_name(name, namelen, dev), "cuDeviceGetName");
		size_t bytes = 0;
		check(d.device_total_mem(&bytes, dev), "cuDeviceTotalMem");
		*total_bytes = bytes;
		// CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR and _MINOR.
		check(d.device_attribute(cc_major, 75, dev), "cuDeviceGetAttribute");
		check(d.device_attribute(cc_minor, 76, dev), "cuDeviceGetAttribute");
		check(d.driver_version(driver_version), "cuDriverGetVersion");
		return nullptr;
	} catch (const std::exception &e) {
		return fkd_shim::error("cuda_device_info", e.what());
	} catch (...) {
		return fkd_shim::error("cuda_device_info", "unknown C++ exception");
	}
}

} // extern "C"
