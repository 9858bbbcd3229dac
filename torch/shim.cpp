// shim.cpp implements shim.h over LibTorch's ATen and autograd: handles,
// scopes, errors, LibTorch's settings and build facts, and the ops. It
// compiles against LibTorch 1.13 and 2.x: it uses only functions present in
// both. Beside it, shim_process.cpp tunes malloc and OpenBLAS for the
// process, and shim_cuda.cpp asks the CUDA driver about the devices.

#include "shim.h"
#include "shim_internal.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/version.h>

#include <atomic>
#include <mutex>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

struct fkd_tensor {
	fkd_handle head; // first: Go reads it through shim.h's fkd_handle
	at::Tensor t;
	fkd_tensor *next_free;
};

namespace {

struct scope {
	std::vector<fkd_tensor *> handles;
};

thread_local std::vector<scope> scopes;
// Handle lists of closed scopes, emptied but with their capacity, for the
// next scopes to open: a training step's scope then grows no list.
thread_local std::vector<std::vector<fkd_tensor *>> spare_lists;
constexpr size_t spare_lists_max = 8;
constexpr size_t spare_list_cap_max = 1 << 16;
// The scopes fkd_scopes_hide set aside, innermost call last.
thread_local std::vector<std::vector<scope>> hidden;

// The pool of handles. Handles are never deleted, so Go may read the head
// of any handle it ever saw; recycling bumps the generation. Each thread
// keeps the handles its scopes recycled for its next ops, without a lock;
// handles recycled elsewhere (Go's cleanups run on any thread) go to a
// shared list under a mutex.
std::mutex pool_mu;
fkd_tensor *pool_free = nullptr;
thread_local std::vector<fkd_tensor *> local_free;
constexpr size_t local_free_max = 1 << 14;

fkd_tensor *alloc_handle() {
	if (!local_free.empty()) {
		fkd_tensor *h = local_free.back();
		local_free.pop_back();
		return h;
	}
	{
		std::lock_guard<std::mutex> lock(pool_mu);
		if (pool_free != nullptr) {
			fkd_tensor *h = pool_free;
			pool_free = h->next_free;
			return h;
		}
	}
	auto *h = new fkd_tensor{};
	h->head.gen = 1;
	return h;
}

// recycle drops h's tensor and returns the handle to the pool: to this
// thread's list when local (a scope closing on its own thread).
void recycle(fkd_tensor *h, bool local) {
	h->t.reset();
	h->head.scoped = 0;
	h->head.gen++;
	if (local && local_free.size() < local_free_max) {
		local_free.push_back(h);
		return;
	}
	std::lock_guard<std::mutex> lock(pool_mu);
	h->next_free = pool_free;
	pool_free = h;
}

fkd_tensor *wrap(at::Tensor t) {
	fkd_tensor *h = alloc_handle();
	h->t = std::move(t);
	if (!scopes.empty()) {
		h->head.scoped = 1;
		scopes.back().handles.push_back(h);
	}
	return h;
}

const at::Tensor &get(fkd_tensor *h) {
	if (h == nullptr) throw std::invalid_argument("nil tensor");
	if (!h->t.defined()) throw std::invalid_argument("tensor used after Free or after its scope closed");
	return h->t;
}

at::Tensor opt(fkd_tensor *h) { return h == nullptr ? at::Tensor() : get(h); }

// grads returns the gradients of the parameters that have one.
std::vector<at::Tensor> grads(fkd_tensor **params, int n) {
	std::vector<at::Tensor> gs;
	for (int i = 0; i < n; i++) {
		const auto &g = get(params[i]).grad();
		if (g.defined()) gs.push_back(g);
	}
	return gs;
}

at::ScalarType scalar_type(int dtype) {
	switch (dtype) {
	case FKD_FLOAT32: return at::kFloat;
	case FKD_FLOAT64: return at::kDouble;
	case FKD_INT64: return at::kLong;
	case FKD_BOOL: return at::kBool;
	case FKD_UINT8: return at::kByte;
	case FKD_BFLOAT16: return at::kBFloat16;
	case FKD_FLOAT16: return at::kHalf;
	case FKD_INT32: return at::kInt;
	}
	throw std::invalid_argument("unknown dtype " + std::to_string(dtype));
}

int dtype_code(at::ScalarType s) {
	switch (s) {
	case at::kFloat: return FKD_FLOAT32;
	case at::kDouble: return FKD_FLOAT64;
	case at::kLong: return FKD_INT64;
	case at::kBool: return FKD_BOOL;
	case at::kByte: return FKD_UINT8;
	case at::kBFloat16: return FKD_BFLOAT16;
	case at::kHalf: return FKD_FLOAT16;
	case at::kInt: return FKD_INT32;
	default: return -1;
	}
}

at::Device device(int devtype, int devidx) {
	switch (devtype) {
	case FKD_CPU: return at::Device(at::kCPU);
	case FKD_CUDA: return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(devidx));
	}
	throw std::invalid_argument("unknown device type " + std::to_string(devtype));
}

at::TensorOptions options(int dtype, int devtype, int devidx) {
	return at::TensorOptions().dtype(scalar_type(dtype)).device(device(devtype, devidx));
}

at::IntArrayRef ints(const int64_t *p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

at::Reduction::Reduction reduction(int r) {
	switch (r) {
	case FKD_REDUCE_NONE: return at::Reduction::None;
	case FKD_REDUCE_MEAN: return at::Reduction::Mean;
	case FKD_REDUCE_SUM: return at::Reduction::Sum;
	}
	throw std::invalid_argument("unknown reduction " + std::to_string(r));
}

// scalar converts a Go float64 operand for an op on x. A whole number used
// with an integer tensor becomes an integer scalar, as a Python int literal
// does, so that x + 1 or x.clamp(0, 4) keeps x's integer type (and x += 1
// works in place) instead of promoting to float.
at::Scalar scalar(const at::Tensor &x, double v) {
	if (at::isIntegralType(x.scalar_type(), /*includeBool=*/false) && std::trunc(v) == v &&
	    v >= -9.2233720368547758e18 && v < 9.2233720368547758e18)
		return at::Scalar(static_cast<int64_t>(v));
	return at::Scalar(v);
}

std::vector<at::Tensor> list(fkd_tensor **ts, int n) {
	std::vector<at::Tensor> v;
	v.reserve(n);
	for (int i = 0; i < n; i++) v.push_back(get(ts[i]));
	return v;
}

// OpenMP keeps the intra-op thread count per OS thread, and a goroutine
// may run its cgo calls on any of Go's threads. fkd_set_num_threads sets
// the count for the process; every op applies it to the thread it runs on
// before it starts, at the cost of one thread-local comparison.
std::atomic<int> desired_threads{0};
thread_local int applied_threads = 0;

void sync_threads() {
	int want = desired_threads.load(std::memory_order_relaxed);
	if (want <= 0 || want == applied_threads) return;
	applied_threads = want;
	try {
		at::set_num_threads(want);
	} catch (...) {
		// A build with LibTorch's own thread pool refuses once parallel work
		// has started; its count is process-wide anyway.
	}
}

// The element-wise ops and reductions: unary, binary, binary_scalar,
// binary_inplace, binary_scalar_inplace, reduce and their *_name.
#include "shim_ops.inc"

} // namespace

fkd_err fkd_shim::error(const char *op, const char *msg) {
	// Cut the C++ backtrace LibTorch appends to its message.
	std::string m = msg;
	auto nl = m.find("\nException raised from");
	if (nl != std::string::npos) m.resize(nl);
	while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
	size_t oplen = std::strlen(op);
	auto *e = static_cast<fkd_error *>(std::malloc(sizeof(fkd_error) + oplen + 1 + m.size() + 1));
	char *o = reinterpret_cast<char *>(e + 1);
	std::memcpy(o, op, oplen + 1);
	std::memcpy(o + oplen + 1, m.c_str(), m.size() + 1);
	e->op = o;
	e->msg = o + oplen + 1;
	return e;
}

// GUARD runs body and turns any exception into an error of op.
#define GUARD(op, ...)                                                               \
	try {                                                                        \
		sync_threads();                                                      \
		__VA_ARGS__;                                                         \
		return nullptr;                                                      \
	} catch (const c10::Error &e) {                                              \
		return fkd_shim::error(op, e.what_without_backtrace());              \
	} catch (const std::exception &e) {                                          \
		return fkd_shim::error(op, e.what());                                \
	} catch (...) {                                                              \
		return fkd_shim::error(op, "unknown C++ exception");                 \
	}

// GUARD_RESULT returns the handle expr makes, or the error of any
// exception, as an fkd_result.
#define GUARD_RESULT(op, expr)                                                       \
	try {                                                                        \
		sync_threads();                                                      \
		return fkd_result{(expr), nullptr};                                  \
	} catch (const c10::Error &e) {                                              \
		return fkd_result{nullptr, fkd_shim::error(op, e.what_without_backtrace())}; \
	} catch (const std::exception &e) {                                          \
		return fkd_result{nullptr, fkd_shim::error(op, e.what())};           \
	} catch (...) {                                                              \
		return fkd_result{nullptr, fkd_shim::error(op, "unknown C++ exception")}; \
	}

extern "C" {

// ---- Handles, scopes and process settings ----

void fkd_release(fkd_tensor *t) { recycle(t, false); }

void fkd_free(fkd_tensor *t) { t->t.reset(); }

void fkd_scope_open(void) {
	scopes.emplace_back();
	if (!spare_lists.empty()) {
		scopes.back().handles = std::move(spare_lists.back());
		spare_lists.pop_back();
	}
}

void fkd_scope_close(void) {
	if (scopes.empty()) return;
	std::vector<fkd_tensor *> hs = std::move(scopes.back().handles);
	scopes.pop_back();
	for (auto *h : hs) recycle(h, true);
	if (spare_lists.size() < spare_lists_max && hs.capacity() <= spare_list_cap_max) {
		hs.clear();
		spare_lists.push_back(std::move(hs));
	}
}

int fkd_scope_keep(fkd_tensor *t) {
	if (scopes.empty()) return 0;
	auto &hs = scopes.back().handles;
	for (size_t i = hs.size(); i-- > 0;) {
		if (hs[i] != t) continue;
		hs.erase(hs.begin() + static_cast<std::ptrdiff_t>(i));
		if (scopes.size() >= 2) {
			scopes[scopes.size() - 2].handles.push_back(t);
			return 0;
		}
		t->head.scoped = 0;
		return 1;
	}
	return 0;
}

int fkd_scope_depth(void) { return static_cast<int>(scopes.size()); }

void fkd_scopes_hide(void) {
	hidden.push_back(std::move(scopes));
	scopes.clear();
}

void fkd_scopes_restore(void) {
	if (hidden.empty()) return;
	while (!scopes.empty()) fkd_scope_close();
	scopes = std::move(hidden.back());
	hidden.pop_back();
}

int fkd_grad_enabled(void) { return at::GradMode::is_enabled() ? 1 : 0; }

void fkd_set_grad_enabled(int on) { at::GradMode::set_enabled(on != 0); }

void fkd_set_num_threads(int n) {
	desired_threads.store(n);
	sync_threads();
}

int fkd_get_num_threads(void) {
	sync_threads();
	return at::get_num_threads();
}

void fkd_manual_seed(uint64_t seed) {
	// Seeds the CPU generator; CUDA generators are seeded too when present.
	at::manual_seed(seed);
}

int fkd_cuda_device_count(void) {
	try {
		return at::detail::getCUDAHooks().getNumGPUs();
	} catch (...) {
		return 0;
	}
}

const char *fkd_version(void) {
	static const std::string v = std::to_string(TORCH_VERSION_MAJOR) + "." +
				     std::to_string(TORCH_VERSION_MINOR) + "." +
				     std::to_string(TORCH_VERSION_PATCH);
	return v.c_str();
}

int fkd_cuda_compiled(void) {
	// Without libtorch_cuda the hooks are LibTorch's stub, whose version
	// queries throw; with it they answer even when no GPU is present.
	try {
		(void)at::detail::getCUDAHooks().versionCUDART();
		return 1;
	} catch (...) {
		return 0;
	}
}

long fkd_cuda_runtime_version(void) {
	try {
		return at::detail::getCUDAHooks().versionCUDART();
	} catch (...) {
		return 0;
	}
}

long fkd_cudnn_version(void) {
	try {
		return at::detail::getCUDAHooks().versionCuDNN();
	} catch (...) {
		return 0;
	}
}

fkd_err fkd_build_config(char **out) {
	GUARD("build_config", {
		std::string s = at::show_config() + "\n" + at::get_parallel_info();
		*out = static_cast<char *>(std::malloc(s.size() + 1));
		std::memcpy(*out, s.c_str(), s.size() + 1);
	})
}

// ---- Creation and data ----

fkd_err fkd_from_data(const void *data, const int64_t *shape, int ndim, int dtype, fkd_tensor **out) {
	GUARD("from_data", {
		auto t = at::empty(ints(shape, ndim), options(dtype, FKD_CPU, 0));
		std::memcpy(t.data_ptr(), data, t.nbytes());
		*out = wrap(std::move(t));
	})
}

fkd_err fkd_copy_data(fkd_tensor *t, void *dst, int64_t nbytes) {
	GUARD("copy_data", {
		auto c = get(t).detach().to(at::kCPU).contiguous();
		if (static_cast<int64_t>(c.nbytes()) != nbytes)
			throw std::invalid_argument("destination holds " + std::to_string(nbytes) +
						    " bytes, tensor has " + std::to_string(c.nbytes()));
		std::memcpy(dst, c.data_ptr(), c.nbytes());
	})
}

fkd_err fkd_full(const int64_t *shape, int ndim, double value, int dtype, int devtype, int devidx, fkd_tensor **out) {
	GUARD("full", *out = wrap(at::full(ints(shape, ndim), value, options(dtype, devtype, devidx))))
}

fkd_err fkd_zeros_like(fkd_tensor *t, int devtype, int devidx, fkd_tensor **out) {
	GUARD("zeros_like", {
		const auto &x = get(t);
		*out = wrap(at::zeros_like(x, x.options().device(device(devtype, devidx)), at::MemoryFormat::Preserve));
	})
}

fkd_err fkd_rand(const int64_t *shape, int ndim, int normal, int dtype, int devtype, int devidx, fkd_tensor **out) {
	GUARD(normal ? "randn" : "rand", {
		auto o = options(dtype, devtype, devidx);
		*out = wrap(normal ? at::randn(ints(shape, ndim), o) : at::rand(ints(shape, ndim), o));
	})
}

fkd_err fkd_arange(double start, double end, double step, int dtype, int devtype, int devidx, fkd_tensor **out) {
	GUARD("arange", *out = wrap(at::arange(start, end, step, options(dtype, devtype, devidx))))
}

fkd_err fkd_to(fkd_tensor *t, int devtype, int devidx, int dtype, fkd_tensor **out) {
	GUARD("to", *out = wrap(get(t).to(device(devtype, devidx), scalar_type(dtype))))
}

fkd_err fkd_item(fkd_tensor *t, double *out) {
	GUARD("item", {
		const auto &x = get(t);
		if (x.numel() != 1)
			throw std::invalid_argument("tensor has " + std::to_string(x.numel()) + " elements, not 1");
		*out = x.item<double>();
	})
}

fkd_err fkd_set_data(fkd_tensor *dst, fkd_tensor *src) {
	GUARD("set_data", {
		auto d = get(dst);
		d.set_data(get(src));
	})
}

// ---- Metadata ----

int fkd_ndim(fkd_tensor *t) { return t->t.defined() ? static_cast<int>(t->t.dim()) : -1; }

int fkd_shape(fkd_tensor *t, int64_t *out, int max) {
	if (!t->t.defined()) return -1;
	auto s = t->t.sizes();
	int n = static_cast<int>(s.size());
	for (int i = 0; i < n && i < max; i++) out[i] = s[i];
	return n;
}

int fkd_dtype(fkd_tensor *t) { return t->t.defined() ? dtype_code(t->t.scalar_type()) : -1; }

void fkd_device(fkd_tensor *t, int *devtype, int *devidx) {
	if (!t->t.defined()) {
		*devtype = -1;
		*devidx = 0;
		return;
	}
	auto d = t->t.device();
	*devtype = d.is_cuda() ? FKD_CUDA : FKD_CPU;
	*devidx = d.has_index() ? d.index() : 0;
}

int fkd_requires_grad(fkd_tensor *t) { return t->t.defined() && t->t.requires_grad() ? 1 : 0; }

int fkd_is_channels_last(fkd_tensor *t) {
	const auto &x = t->t;
	return x.defined() && x.dim() == 4 && x.suggest_memory_format() == at::MemoryFormat::ChannelsLast ? 1 : 0;
}

// ---- Element-wise math ----

fkd_result fkd_unary(int op, fkd_tensor *a) {
	GUARD_RESULT(unary_name(op), wrap(unary(op, get(a))))
}

fkd_result fkd_binary(int op, fkd_tensor *a, fkd_tensor *b) {
	GUARD_RESULT(binary_name(op), wrap(binary(op, get(a), get(b))))
}

fkd_result fkd_binary_scalar(int op, fkd_tensor *a, double b) {
	GUARD_RESULT(binary_name(op), [&] {
		const auto &x = get(a);
		return wrap(binary_scalar(op, x, scalar(x, b)));
	}())
}

fkd_err fkd_binary_(int op, fkd_tensor *a, fkd_tensor *b) {
	GUARD(binary_name(op), {
		auto x = get(a);
		binary_inplace(op, x, get(b));
	})
}

fkd_err fkd_binary_scalar_(int op, fkd_tensor *a, double b) {
	GUARD(binary_name(op), {
		auto x = get(a);
		binary_scalar_inplace(op, x, scalar(x, b));
	})
}

fkd_err fkd_clamp(fkd_tensor *a, int has_min, double min, int has_max, double max, fkd_tensor **out) {
	GUARD("clamp", {
		const auto &x = get(a);
		c10::optional<at::Scalar> lo, hi;
		if (has_min) lo = scalar(x, min);
		if (has_max) hi = scalar(x, max);
		*out = wrap(at::clamp(x, lo, hi));
	})
}

fkd_err fkd_where(fkd_tensor *cond, fkd_tensor *a, fkd_tensor *b, fkd_tensor **out) {
	GUARD("where", *out = wrap(at::where(get(cond), get(a), get(b))))
}

fkd_err fkd_reduce(int op, fkd_tensor *a, const int64_t *dims, int ndims, int keepdim, fkd_tensor **out) {
	GUARD(reduce_name(op), *out = wrap(reduce(op, get(a), ints(dims, ndims), keepdim != 0)))
}

fkd_err fkd_fill_(fkd_tensor *t, double value) {
	GUARD("fill_", {
		at::NoGradGuard ng;
		get(t).fill_(value);
	})
}

fkd_err fkd_uniform_(fkd_tensor *t, double lo, double hi) {
	GUARD("uniform_", {
		at::NoGradGuard ng;
		get(t).uniform_(lo, hi);
	})
}

fkd_err fkd_normal_(fkd_tensor *t, double mean, double std) {
	GUARD("normal_", {
		at::NoGradGuard ng;
		get(t).normal_(mean, std);
	})
}

fkd_err fkd_copy_(fkd_tensor *dst, fkd_tensor *src) {
	GUARD("copy_", {
		at::NoGradGuard ng;
		get(dst).copy_(get(src));
	})
}

// ---- Shape and indexing ----

fkd_err fkd_reshape(fkd_tensor *a, const int64_t *shape, int ndim, int view, fkd_tensor **out) {
	GUARD(view ? "view" : "reshape",
	      *out = wrap(view ? get(a).view(ints(shape, ndim)) : get(a).reshape(ints(shape, ndim))))
}

fkd_err fkd_permute(fkd_tensor *a, const int64_t *dims, int ndims, fkd_tensor **out) {
	GUARD("permute", *out = wrap(get(a).permute(ints(dims, ndims))))
}

fkd_err fkd_transpose(fkd_tensor *a, int64_t d0, int64_t d1, fkd_tensor **out) {
	GUARD("transpose", *out = wrap(get(a).transpose(d0, d1)))
}

fkd_err fkd_squeeze(fkd_tensor *a, int64_t dim, fkd_tensor **out) {
	GUARD("squeeze", *out = wrap(get(a).squeeze(dim)))
}

fkd_err fkd_unsqueeze(fkd_tensor *a, int64_t dim, fkd_tensor **out) {
	GUARD("unsqueeze", *out = wrap(get(a).unsqueeze(dim)))
}

fkd_err fkd_expand(fkd_tensor *a, const int64_t *shape, int ndim, fkd_tensor **out) {
	GUARD("expand", *out = wrap(get(a).expand(ints(shape, ndim))))
}

fkd_err fkd_narrow(fkd_tensor *a, int64_t dim, int64_t start, int64_t length, fkd_tensor **out) {
	GUARD("narrow", *out = wrap(get(a).narrow(dim, start, length)))
}

fkd_err fkd_index_select(fkd_tensor *a, int64_t dim, fkd_tensor *index, fkd_tensor **out) {
	GUARD("index_select", *out = wrap(at::index_select(get(a), dim, get(index))))
}

fkd_err fkd_cat(fkd_tensor **ts, int n, int64_t dim, int stack, fkd_tensor **out) {
	GUARD(stack ? "stack" : "cat", {
		auto v = list(ts, n);
		*out = wrap(stack ? at::stack(v, dim) : at::cat(v, dim));
	})
}

fkd_err fkd_flip(fkd_tensor *a, const int64_t *dims, int ndims, fkd_tensor **out) {
	GUARD("flip", *out = wrap(at::flip(get(a), ints(dims, ndims))))
}

// ---- Neural-net functions ----

fkd_err fkd_conv2d(fkd_tensor *x, fkd_tensor *w, fkd_tensor *b, const int64_t *stride, const int64_t *padding,
		   const int64_t *dilation, int64_t groups, fkd_tensor **out) {
	GUARD("conv2d", *out = wrap(at::conv2d(get(x), get(w), opt(b), ints(stride, 2), ints(padding, 2),
					       ints(dilation, 2), groups)))
}

fkd_err fkd_pool2d(int avg, fkd_tensor *x, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
		   int ceil_mode, fkd_tensor **out) {
	GUARD(avg ? "avg_pool2d" : "max_pool2d", {
		auto k = ints(kernel, 2), s = ints(stride, 2), p = ints(padding, 2);
		*out = wrap(avg ? at::avg_pool2d(get(x), k, s, p, ceil_mode != 0)
				: at::max_pool2d(get(x), k, s, p, {1, 1}, ceil_mode != 0));
	})
}

fkd_err fkd_adaptive_avg_pool2d(fkd_tensor *x, const int64_t *size, fkd_tensor **out) {
	GUARD("adaptive_avg_pool2d", *out = wrap(at::adaptive_avg_pool2d(get(x), ints(size, 2))))
}

fkd_err fkd_upsample2d(fkd_tensor *x, const int64_t *size, int bilinear, int align_corners, fkd_tensor **out) {
	GUARD(bilinear ? "upsample_bilinear2d" : "upsample_nearest2d", {
		auto s = ints(size, 2);
		*out = wrap(bilinear ? at::upsample_bilinear2d(get(x), s, align_corners != 0, c10::nullopt, c10::nullopt)
				     : at::upsample_nearest2d(get(x), s, c10::nullopt, c10::nullopt));
	})
}

fkd_err fkd_batch_norm(fkd_tensor *x, fkd_tensor *weight, fkd_tensor *bias, fkd_tensor *running_mean,
		       fkd_tensor *running_var, int training, double momentum, double eps, fkd_tensor **out) {
	GUARD("batch_norm", {
		*out = wrap(at::batch_norm(get(x), opt(weight), opt(bias), opt(running_mean), opt(running_var),
					   training != 0, momentum, eps, at::globalContext().userEnabledCuDNN()));
	})
}

fkd_err fkd_leaky_relu(fkd_tensor *x, double slope, fkd_tensor **out) {
	GUARD("leaky_relu", *out = wrap(at::leaky_relu(get(x), slope)))
}

fkd_err fkd_relu_(fkd_tensor *x) {
	GUARD("relu_", {
		auto t = get(x);
		at::relu_(t);
	})
}

fkd_err fkd_dropout(fkd_tensor *x, double p, int spatial, int training, fkd_tensor **out) {
	GUARD(spatial ? "dropout2d" : "dropout", {
		*out = wrap(spatial ? at::feature_dropout(get(x), p, training != 0) : at::dropout(get(x), p, training != 0));
	})
}

fkd_err fkd_linear(fkd_tensor *x, fkd_tensor *w, fkd_tensor *b, fkd_tensor **out) {
	GUARD("linear", *out = wrap(at::linear(get(x), get(w), opt(b))))
}

fkd_err fkd_softmax(fkd_tensor *x, int64_t dim, int log, fkd_tensor **out) {
	GUARD(log ? "log_softmax" : "softmax",
	      *out = wrap(log ? at::log_softmax(get(x), dim) : at::softmax(get(x), dim)))
}

fkd_err fkd_mse_loss(fkd_tensor *a, fkd_tensor *b, int reduction_, fkd_tensor **out) {
	GUARD("mse_loss", *out = wrap(at::mse_loss(get(a), get(b), reduction(reduction_))))
}

fkd_err fkd_huber_loss(fkd_tensor *a, fkd_tensor *b, int reduction_, double delta, int smooth_l1, fkd_tensor **out) {
	GUARD(smooth_l1 ? "smooth_l1_loss" : "huber_loss", {
		*out = wrap(smooth_l1 ? at::smooth_l1_loss(get(a), get(b), reduction(reduction_), delta)
				      : at::huber_loss(get(a), get(b), reduction(reduction_), delta));
	})
}

fkd_err fkd_affine_grid(fkd_tensor *theta, const int64_t *size, int align_corners, fkd_tensor **out) {
	GUARD("affine_grid", *out = wrap(at::affine_grid_generator(get(theta), ints(size, 4), align_corners != 0)))
}

fkd_err fkd_grid_sample(fkd_tensor *x, fkd_tensor *grid, int bilinear, int padding, int align_corners,
			fkd_tensor **out) {
	// interpolation: 0 bilinear, 1 nearest; padding: 0 zeros, 1 border, 2 reflection.
	GUARD("grid_sample",
	      *out = wrap(at::grid_sampler(get(x), get(grid), bilinear ? 0 : 1, padding, align_corners != 0)))
}

// ---- Autograd ----

fkd_err fkd_set_requires_grad(fkd_tensor *t, int on) {
	GUARD("requires_grad", get(t).set_requires_grad(on != 0))
}

fkd_err fkd_backward(fkd_tensor *t, fkd_tensor *grad) {
	GUARD("backward", {
		std::vector<at::Tensor> g;
		if (grad != nullptr) g.push_back(get(grad));
		torch::autograd::backward({get(t)}, g);
	})
}

fkd_err fkd_grad(fkd_tensor *t, fkd_tensor **out) {
	GUARD("grad", {
		const auto &g = get(t).grad();
		*out = g.defined() ? wrap(g) : nullptr;
	})
}

// ---- Mixed precision ----

// The calls below exist in LibTorch 1.13 and 2.x (deprecated there in
// favour of the device-typed forms, which 1.13 lacks).
fkd_err fkd_autocast_begin(int devtype, int dtype, int *prev_enabled, int *prev_dtype) {
	GUARD("autocast", {
		auto dt = scalar_type(dtype);
		if (devtype == FKD_CUDA) {
			if (dt != at::kHalf && dt != at::kBFloat16)
				throw std::invalid_argument("CUDA autocast takes float16 or bfloat16");
			*prev_enabled = at::autocast::is_enabled() ? 1 : 0;
			*prev_dtype = dtype_code(at::autocast::get_autocast_gpu_dtype());
			at::autocast::set_autocast_gpu_dtype(dt);
			at::autocast::set_enabled(true);
		} else {
			if (dt != at::kBFloat16) throw std::invalid_argument("CPU autocast takes bfloat16");
			*prev_enabled = at::autocast::is_cpu_enabled() ? 1 : 0;
			*prev_dtype = dtype_code(at::autocast::get_autocast_cpu_dtype());
			at::autocast::set_autocast_cpu_dtype(dt);
			at::autocast::set_cpu_enabled(true);
		}
		at::autocast::increment_nesting();
	})
}

void fkd_autocast_end(int devtype, int prev_enabled, int prev_dtype) {
	// No exception may leave a function without an error result: restoring
	// state cannot fail with the values fkd_autocast_begin returned, and if
	// it ever did, the state would stay as it is rather than crash.
	try {
		// Casts are cached while autocast is on; drop them when the
		// outermost region ends, as torch.autocast does.
		if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
		if (devtype == FKD_CUDA) {
			at::autocast::set_enabled(prev_enabled != 0);
			at::autocast::set_autocast_gpu_dtype(scalar_type(prev_dtype));
		} else {
			at::autocast::set_cpu_enabled(prev_enabled != 0);
			at::autocast::set_autocast_cpu_dtype(scalar_type(prev_dtype));
		}
	} catch (...) {
	}
}

// ---- Optimiser kernels ----

fkd_err fkd_zero_grad(fkd_tensor **params, int n) {
	GUARD("zero_grad", {
		for (int i = 0; i < n; i++) {
			auto &g = get(params[i]).mutable_grad();
			if (g.defined()) g.reset();
		}
	})
}

fkd_err fkd_sgd_step(fkd_tensor **params, fkd_tensor **bufs, int n, double lr, double momentum, double dampening,
		     double weight_decay, int nesterov, int first_step) {
	GUARD("sgd_step", {
		at::NoGradGuard ng;
		for (int i = 0; i < n; i++) {
			auto p = get(params[i]);
			auto g = p.grad();
			if (!g.defined()) continue;
			if (weight_decay != 0) g = g.add(p, weight_decay);
			if (momentum != 0) {
				auto buf = get(bufs[i]);
				if (first_step) buf.copy_(g);
				else buf.mul_(momentum).add_(g, 1 - dampening);
				g = nesterov ? g.add(buf, momentum) : buf;
			}
			p.add_(g, -lr);
		}
	})
}

fkd_err fkd_adam_step(fkd_tensor **params, fkd_tensor **m, fkd_tensor **v, int n, double lr, double beta1,
		      double beta2, double eps, double weight_decay, int decoupled, int64_t step) {
	GUARD(decoupled ? "adamw_step" : "adam_step", {
		at::NoGradGuard ng;
		double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
		double bc2 = 1 - std::pow(beta2, static_cast<double>(step));
		for (int i = 0; i < n; i++) {
			auto p = get(params[i]);
			auto g = p.grad();
			if (!g.defined()) continue;
			if (weight_decay != 0) {
				if (decoupled) p.mul_(1 - lr * weight_decay);
				else g = g.add(p, weight_decay);
			}
			auto mi = get(m[i]), vi = get(v[i]);
			mi.mul_(beta1).add_(g, 1 - beta1);
			vi.mul_(beta2).addcmul_(g, g, 1 - beta2);
			auto denom = (vi.sqrt() / std::sqrt(bc2)).add_(eps);
			p.addcdiv_(mi, denom, -lr / bc1);
		}
	})
}

fkd_err fkd_clip_grad_norm(fkd_tensor **params, int n, double max_norm, fkd_tensor **total) {
	GUARD("clip_grad_norm", {
		at::NoGradGuard ng;
		*total = nullptr;
		std::vector<at::Tensor> gs = grads(params, n);
		if (gs.empty()) return nullptr;
		auto dev = gs[0].device();
		std::vector<at::Tensor> norms;
		for (auto &g : gs) norms.push_back(g.norm(2).to(dev, at::kDouble));
		auto norm = at::stack(norms).norm(2);
		// coef = min(max_norm / (norm + 1e-6), 1): multiplying by 1 leaves a
		// gradient bit for bit as it was, so no branch (and no read) is needed.
		auto coef = at::full({}, max_norm, norm.options()).div(norm + 1e-6).clamp_max(1.0);
		for (auto &g : gs) g.mul_(coef);
		*total = wrap(norm);
	})
}

fkd_err fkd_amp_unscale(fkd_tensor **params, int n, double inv_scale, int *found_inf) {
	GUARD("amp_unscale", {
		at::NoGradGuard ng;
		std::vector<at::Tensor> gs = grads(params, n);
		*found_inf = 0;
		if (gs.empty()) return nullptr;
		auto dev = gs[0].device();
		bool fused = dev.is_cuda();
		for (auto &g : gs)
			fused = fused && g.device() == dev && g.scalar_type() == at::kFloat && g.is_contiguous();
		if (fused) {
			auto found = at::zeros({1}, at::TensorOptions().dtype(at::kFloat).device(dev));
			auto inv = at::full({1}, inv_scale, at::TensorOptions().dtype(at::kFloat).device(dev));
			at::_amp_foreach_non_finite_check_and_unscale_(gs, found, inv);
			*found_inf = found.item<float>() != 0 ? 1 : 0;
			return nullptr;
		}
		std::vector<at::Tensor> bad;
		for (auto &g : gs) {
			g.mul_(inv_scale);
			bad.push_back(g.isfinite().all().logical_not().to(dev).reshape({1}));
		}
		*found_inf = at::cat(bad).any().item<bool>() ? 1 : 0;
	})
}

fkd_err fkd_ema_update(fkd_tensor **avg, fkd_tensor **src, int n, double decay) {
	GUARD("ema_update", {
		at::NoGradGuard ng;
		std::vector<at::Tensor> fa, fs;
		for (int i = 0; i < n; i++) {
			const auto &a = get(avg[i]);
			const auto &s = get(src[i]);
			if (a.sizes() != s.sizes() || a.scalar_type() != s.scalar_type() || a.device() != s.device())
				throw std::invalid_argument("tensor " + std::to_string(i) + ": average " +
							    std::string(at::toString(a.scalar_type())) + " on " + a.device().str() +
							    " does not match source " + std::string(at::toString(s.scalar_type())) +
							    " on " + s.device().str() + " (or the shapes differ)");
		}
		for (int i = 0; i < n; i++) {
			auto a = get(avg[i]);
			const auto &s = get(src[i]);
			if (at::isFloatingType(a.scalar_type())) {
				fa.push_back(a);
				fs.push_back(s);
			} else {
				a.copy_(s);
			}
		}
		if (!fa.empty()) {
			// decay*avg + (1-decay)*src, not a lerp: with decay 0 it is src
			// exactly.
			at::_foreach_mul_(fa, at::Scalar(decay));
			at::_foreach_add_(fa, fs, at::Scalar(1 - decay));
		}
	})
}

} // extern "C"
