/*
 * shim.h: the plain C interface between Go and LibTorch.
 *
 * Every function that can fail returns an fkd_err: NULL on success,
 * otherwise a malloc'd fkd_error, the op's name and LibTorch's message in
 * one block, that the caller frees with one free(). C++ exceptions never
 * cross this border. Results come back through out
 * parameters, except from the element-wise ops, which return an
 * fkd_result. Shapes and lists are passed as pointer + length.
 *
 * Tensor handles come from a pool and are never returned to the system, so
 * a stale handle is always safe to read. A handle made while a scope is open
 * on the calling thread belongs to that scope: closing it frees the
 * tensor's storage and recycles the handle. Any other handle belongs to Go,
 * which recycles it with fkd_release. Each recycling increments the
 * handle's generation, which Go reads directly (fkd_handle) to tell a live
 * tensor from one whose scope has closed, without a call.
 */
#ifndef FKD_SHIM_H
#define FKD_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A failure: which op failed and why. The struct and both strings are one
 * malloc'd block (op and msg point into it), freed with one free(). */
typedef struct fkd_error {
	const char *op;  /* the op's name, e.g. "conv2d" */
	const char *msg; /* LibTorch's message without the C++ backtrace it appends */
} fkd_error;
typedef fkd_error *fkd_err;

/* The start of every fkd_tensor, read by Go without a call. */
typedef struct fkd_handle {
	uint64_t gen;   /* incremented each time the handle is recycled */
	int32_t scoped; /* 1 while a scope owns the handle, 0 when Go does */
	int32_t unused;
} fkd_handle;

#ifdef __cplusplus
typedef struct fkd_tensor fkd_tensor; /* shim.cpp: the head, then the at::Tensor */
#else
/* What C, and so Go, sees of a handle: its head. A complete struct without
 * pointers tells cgo that a handle argument needs no check for Go
 * pointers, a check it would otherwise make on every handle of every call. */
typedef struct fkd_tensor {
	fkd_handle head;
} fkd_tensor;
#endif

/* A tensor or an error, returned by value by the ops a training step runs
 * most (fkd_unary, fkd_binary, fkd_binary_scalar): no out parameter, so
 * nothing for cgo to check. */
typedef struct fkd_result {
	fkd_tensor *t;
	fkd_err err;
} fkd_result;

/* Element types; the numbers are part of the Go binding. */
enum { FKD_FLOAT32, FKD_FLOAT64, FKD_INT64, FKD_BOOL, FKD_UINT8, FKD_BFLOAT16, FKD_FLOAT16, FKD_INT32 };
/* Device types. */
enum { FKD_CPU, FKD_CUDA };

/* The op numbers of fkd_unary, fkd_binary and fkd_reduce (FKD_NEG, FKD_ADD,
 * FKD_SUM, ...), generated from torch/internal/opgen/table.go. */
#include "shim_ops.h"
/* Reductions of a loss. */
enum { FKD_REDUCE_NONE, FKD_REDUCE_MEAN, FKD_REDUCE_SUM };

/* ---- Handles, scopes and process settings ---- */
void fkd_release(fkd_tensor *t);       /* Go recycles a handle it owns */
void fkd_free(fkd_tensor *t);          /* drop the handle's tensor now; the handle stays until recycled */
void fkd_scope_open(void);             /* on the calling thread */
void fkd_scope_close(void);            /* frees every tensor made in the innermost scope */
/* Moves t from the innermost scope to the one outside it; returns 1 when
 * there is none, and Go now owns the handle. */
int fkd_scope_keep(fkd_tensor *t);
int fkd_scope_depth(void);
/* Sets the calling thread's open scopes aside, so that handles made until
 * fkd_scopes_restore belong to Go; calls nest. */
void fkd_scopes_hide(void);
/* Brings back the scopes the matching fkd_scopes_hide set aside, first
 * closing any scope opened since and left open. */
void fkd_scopes_restore(void);
void fkd_tune_malloc(void);           /* large blocks from the heap, kept mapped */
/* Runs OpenBLAS's calls on the calling thread when the process has the
 * pthreads build of OpenBLAS; does nothing otherwise. */
void fkd_tune_blas(void);
int fkd_blas_threads(void);          /* OpenBLAS's thread count; 0 without OpenBLAS */
int fkd_grad_enabled(void);
void fkd_set_grad_enabled(int on);     /* thread-local, like LibTorch's grad mode */
void fkd_set_num_threads(int n);
int fkd_get_num_threads(void);
void fkd_manual_seed(uint64_t seed);
int fkd_cuda_device_count(void);
const char *fkd_version(void);         /* static string, not freed */

/* ---- Build and runtime facts ---- */
int fkd_cuda_compiled(void);           /* 1 when LibTorch's CUDA kernels are loaded (libtorch_cuda linked) */
long fkd_cuda_runtime_version(void);   /* the CUDA runtime LibTorch was built with, e.g. 12040; 0 without CUDA */
long fkd_cudnn_version(void);          /* e.g. 90100; 0 without cuDNN */
fkd_err fkd_build_config(char **out);  /* LibTorch's build configuration and parallel info; free() it */
/* Device idx as the CUDA driver sees it (libcuda.so.1, loaded on first use):
 * its name, memory and compute capability, and the driver's version. */
fkd_err fkd_cuda_device_info(int idx, char *name, int namelen, uint64_t *total_bytes, int *cc_major,
			     int *cc_minor, int *driver_version);

/* ---- Creation and data ---- */
fkd_err fkd_from_data(const void *data, const int64_t *shape, int ndim, int dtype, fkd_tensor **out);
fkd_err fkd_copy_data(fkd_tensor *t, void *dst, int64_t nbytes); /* any device, contiguous copy */
fkd_err fkd_full(const int64_t *shape, int ndim, double value, int dtype, int devtype, int devidx, fkd_tensor **out);
/* Zeros of t's shape and dtype, laid out as t is (channels last or not),
 * on the given device. */
fkd_err fkd_zeros_like(fkd_tensor *t, int devtype, int devidx, fkd_tensor **out);
fkd_err fkd_rand(const int64_t *shape, int ndim, int normal, int dtype, int devtype, int devidx, fkd_tensor **out);
fkd_err fkd_arange(double start, double end, double step, int dtype, int devtype, int devidx, fkd_tensor **out);
fkd_err fkd_to(fkd_tensor *t, int devtype, int devidx, int dtype, fkd_tensor **out);
fkd_err fkd_item(fkd_tensor *t, double *out);
fkd_err fkd_set_data(fkd_tensor *dst, fkd_tensor *src); /* dst takes src's storage, device and dtype in place */

/* ---- Metadata (t must be defined; the Go side checks) ---- */
int fkd_ndim(fkd_tensor *t);
int fkd_shape(fkd_tensor *t, int64_t *out, int max); /* fills up to max sizes; returns ndim */
int fkd_dtype(fkd_tensor *t);
void fkd_device(fkd_tensor *t, int *devtype, int *devidx);
int fkd_requires_grad(fkd_tensor *t);
int fkd_is_channels_last(fkd_tensor *t); /* 1 when LibTorch takes a 4-D t for channels last (NHWC) */

/* ---- Element-wise math ---- */
fkd_result fkd_unary(int op, fkd_tensor *a);
fkd_result fkd_binary(int op, fkd_tensor *a, fkd_tensor *b);
fkd_result fkd_binary_scalar(int op, fkd_tensor *a, double b);
fkd_err fkd_binary_(int op, fkd_tensor *a, fkd_tensor *b);       /* a = a op b, in place */
fkd_err fkd_binary_scalar_(int op, fkd_tensor *a, double b);     /* a = a op b, in place */
fkd_err fkd_clamp(fkd_tensor *a, int has_min, double min, int has_max, double max, fkd_tensor **out);
fkd_err fkd_where(fkd_tensor *cond, fkd_tensor *a, fkd_tensor *b, fkd_tensor **out);
fkd_err fkd_reduce(int op, fkd_tensor *a, const int64_t *dims, int ndims, int keepdim, fkd_tensor **out);
fkd_err fkd_fill_(fkd_tensor *t, double value);
fkd_err fkd_uniform_(fkd_tensor *t, double lo, double hi);
fkd_err fkd_normal_(fkd_tensor *t, double mean, double std);
fkd_err fkd_copy_(fkd_tensor *dst, fkd_tensor *src);

/* ---- Shape and indexing ---- */
fkd_err fkd_reshape(fkd_tensor *a, const int64_t *shape, int ndim, int view, fkd_tensor **out);
fkd_err fkd_permute(fkd_tensor *a, const int64_t *dims, int ndims, fkd_tensor **out);
fkd_err fkd_transpose(fkd_tensor *a, int64_t d0, int64_t d1, fkd_tensor **out);
fkd_err fkd_squeeze(fkd_tensor *a, int64_t dim, fkd_tensor **out);
fkd_err fkd_unsqueeze(fkd_tensor *a, int64_t dim, fkd_tensor **out);
fkd_err fkd_expand(fkd_tensor *a, const int64_t *shape, int ndim, fkd_tensor **out);
fkd_err fkd_narrow(fkd_tensor *a, int64_t dim, int64_t start, int64_t length, fkd_tensor **out);
fkd_err fkd_index_select(fkd_tensor *a, int64_t dim, fkd_tensor *index, fkd_tensor **out);
fkd_err fkd_cat(fkd_tensor **ts, int n, int64_t dim, int stack, fkd_tensor **out);
fkd_err fkd_flip(fkd_tensor *a, const int64_t *dims, int ndims, fkd_tensor **out);

/* ---- Neural-net functions ---- */
fkd_err fkd_conv2d(fkd_tensor *x, fkd_tensor *w, fkd_tensor *b, const int64_t *stride, const int64_t *padding,
		   const int64_t *dilation, int64_t groups, fkd_tensor **out);
fkd_err fkd_pool2d(int avg, fkd_tensor *x, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
		   int ceil_mode, fkd_tensor **out);
fkd_err fkd_adaptive_avg_pool2d(fkd_tensor *x, const int64_t *size, fkd_tensor **out);
fkd_err fkd_upsample2d(fkd_tensor *x, const int64_t *size, int bilinear, int align_corners, fkd_tensor **out);
fkd_err fkd_batch_norm(fkd_tensor *x, fkd_tensor *weight, fkd_tensor *bias, fkd_tensor *running_mean,
		       fkd_tensor *running_var, int training, double momentum, double eps, fkd_tensor **out);
fkd_err fkd_leaky_relu(fkd_tensor *x, double slope, fkd_tensor **out);
fkd_err fkd_relu_(fkd_tensor *x); /* x = max(x, 0), in place */
fkd_err fkd_dropout(fkd_tensor *x, double p, int spatial, int training, fkd_tensor **out);
fkd_err fkd_linear(fkd_tensor *x, fkd_tensor *w, fkd_tensor *b, fkd_tensor **out);
fkd_err fkd_softmax(fkd_tensor *x, int64_t dim, int log, fkd_tensor **out);
fkd_err fkd_mse_loss(fkd_tensor *a, fkd_tensor *b, int reduction, fkd_tensor **out);
fkd_err fkd_huber_loss(fkd_tensor *a, fkd_tensor *b, int reduction, double delta, int smooth_l1, fkd_tensor **out);
fkd_err fkd_affine_grid(fkd_tensor *theta, const int64_t *size, int align_corners, fkd_tensor **out);
fkd_err fkd_grid_sample(fkd_tensor *x, fkd_tensor *grid, int bilinear, int padding, int align_corners,
			fkd_tensor **out);

/* ---- Autograd ---- */
fkd_err fkd_set_requires_grad(fkd_tensor *t, int on);
fkd_err fkd_backward(fkd_tensor *t, fkd_tensor *grad); /* grad may be NULL for a scalar */
fkd_err fkd_grad(fkd_tensor *t, fkd_tensor **out);      /* *out is NULL when t has no grad */

/* ---- Mixed precision (autocast), on the calling thread ---- */
/* Turns autocast on for devtype (CPU: bfloat16; CUDA: bfloat16 or float16)
 * and returns the previous state for fkd_autocast_end. */
fkd_err fkd_autocast_begin(int devtype, int dtype, int *prev_enabled, int *prev_dtype);
void fkd_autocast_end(int devtype, int prev_enabled, int prev_dtype);

/* ---- Optimiser kernels over a list of parameters (each reads p.grad; parameters without one are skipped) ---- */
fkd_err fkd_zero_grad(fkd_tensor **params, int n);
fkd_err fkd_sgd_step(fkd_tensor **params, fkd_tensor **bufs, int n, double lr, double momentum, double dampening,
		     double weight_decay, int nesterov, int first_step);
fkd_err fkd_adam_step(fkd_tensor **params, fkd_tensor **m, fkd_tensor **v, int n, double lr, double beta1,
		      double beta2, double eps, double weight_decay, int decoupled, int64_t step);
/* Scales the gradients so that their joint 2-norm is at most max_norm, on
 * their device without reading back; *total is that norm before clipping (a
 * float64 scalar tensor), or NULL when no parameter has a gradient. */
fkd_err fkd_clip_grad_norm(fkd_tensor **params, int n, double max_norm, fkd_tensor **total);
/* Multiplies every gradient by inv_scale and sets *found_inf to 1 when any
 * of them holds an Inf or NaN, with one read back to the host (LibTorch's
 * fused _amp_foreach_non_finite_check_and_unscale_ on CUDA). */
fkd_err fkd_amp_unscale(fkd_tensor **params, int n, double inv_scale, int *found_inf);
/* Moves the averages avg[i] towards src[i]: avg = decay*avg + (1-decay)*src
 * for floating-point tensors, with LibTorch's foreach kernels (fused on
 * CUDA), and avg = src for the others (integer counters). Each pair must
 * agree in shape, dtype and device. */
fkd_err fkd_ema_update(fkd_tensor **avg, fkd_tensor **src, int n, double decay);

#ifdef __cplusplus
}
#endif

#endif /* FKD_SHIM_H */
