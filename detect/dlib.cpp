//go:build !nodlib

#include "dlib.h"

#include <cmath>
#include <cstring>
#include <exception>
#include <vector>

// Debian's dlib/config.h turns on dlib's BLAS and LAPACK bindings, whose
// inline code would need -lblas and -llapack (development links Debian
// ships only in libblas-dev and liblapack-dev); the HOG detector needs
// neither. config.h is read by these two guarded headers only: read
// them, then turn the bindings off.
#include <dlib/assert.h>
#include <dlib/test_for_odr_violations.h>
#undef DLIB_USE_BLAS
#undef DLIB_USE_LAPACK
#include <dlib/image_processing/frontal_face_detector.h>

struct fkd_dlib {
	dlib::frontal_face_detector det;
	dlib::array2d<unsigned char> img;  // the resampled image, reused
};

static void set_err(char *err, int errlen, const char *msg) {
	if (errlen <= 0) return;
	std::strncpy(err, msg, errlen - 1);
	err[errlen - 1] = 0;
}

fkd_dlib *fkd_dlib_new(char *err, int errlen) {
	try {
		fkd_dlib *d = new fkd_dlib;
		d->det = dlib::get_frontal_face_detector();
		return d;
	} catch (const std::exception &e) {
		set_err(err, errlen, e.what());
	} catch (...) {
		set_err(err, errlen, "unknown C++ exception");
	}
	return nullptr;
}

void fkd_dlib_free(fkd_dlib *d) { delete d; }

// shrink averages the source pixels under each output pixel: out pixel o
// covers source [o, o+1)·in/out along each axis, partial pixels weighted.
static void shrink(const uint8_t *pix, int w, int h, int stride, dlib::array2d<unsigned char> &out) {
	const int ow = out.nc(), oh = out.nr();
	struct tap { int first; std::vector<float> w; };
	auto taps = [](int in, int n) {
		std::vector<tap> ts(n);
		const double s = double(in) / n;
		for (int o = 0; o < n; o++) {
			double lo = o * s, hi = (o + 1) * s;
			int first = int(std::floor(lo)), last = std::min(int(std::ceil(hi)), in);
			ts[o].first = first;
			for (int i = first; i < last; i++) {
				double a = std::max(lo, double(i)), b = std::min(hi, double(i + 1));
				ts[o].w.push_back(float((b - a) / s));
			}
		}
		return ts;
	};
	std::vector<tap> tx = taps(w, ow), ty = taps(h, oh);
	std::vector<float> row(w);
	for (int oy = 0; oy < oh; oy++) {
		std::fill(row.begin(), row.end(), 0.f);
		const tap &t = ty[oy];
		for (size_t j = 0; j < t.w.size(); j++) {
			const uint8_t *src = pix + size_t(t.first + j) * stride;
			const float wy = t.w[j];
			for (int x = 0; x < w; x++) row[x] += wy * src[x];
		}
		for (int ox = 0; ox < ow; ox++) {
			const tap &u = tx[ox];
			float v = 0;
			for (size_t i = 0; i < u.w.size(); i++) v += u.w[i] * row[u.first + i];
			out[oy][ox] = (unsigned char)std::min(255.f, std::max(0.f, v + 0.5f));
		}
	}
}

// enlarge interpolates linearly between the source pixels whose centres
// surround each output pixel's centre.
static void enlarge(const uint8_t *pix, int w, int h, int stride, dlib::array2d<unsigned char> &out) {
	const int ow = out.nc(), oh = out.nr();
	std::vector<int> x0(ow), x1(ow);
	std::vector<float> fx(ow);
	for (int ox = 0; ox < ow; ox++) {
		double sx = (ox + 0.5) * w / ow - 0.5;
		sx = std::min(std::max(sx, 0.0), double(w - 1));
		x0[ox] = int(sx);
		x1[ox] = std::min(x0[ox] + 1, w - 1);
		fx[ox] = float(sx - x0[ox]);
	}
	for (int oy = 0; oy < oh; oy++) {
		double sy = (oy + 0.5) * h / oh - 0.5;
		sy = std::min(std::max(sy, 0.0), double(h - 1));
		int y0 = int(sy), y1 = std::min(y0 + 1, h - 1);
		float fy = float(sy - y0);
		const uint8_t *r0 = pix + size_t(y0) * stride, *r1 = pix + size_t(y1) * stride;
		for (int ox = 0; ox < ow; ox++) {
			float a = r0[x0[ox]] + fx[ox] * (r0[x1[ox]] - r0[x0[ox]]);
			float b = r1[x0[ox]] + fx[ox] * (r1[x1[ox]] - r1[x0[ox]]);
			out[oy][ox] = (unsigned char)(a + fy * (b - a) + 0.5f);
		}
	}
}

int fkd_dlib_detect(fkd_dlib *d, const uint8_t *pix, int w, int h, int stride, double scale,
                    double adjust, int *rects, double *scores, int max, char *err, int errlen) {
	try {
		int ow = std::max(1, int(std::lround(w * scale))), oh = std::max(1, int(std::lround(h * scale)));
		d->img.set_size(oh, ow);
		if (ow == w && oh == h) {
			for (int y = 0; y < h; y++) std::memcpy(&d->img[y][0], pix + size_t(y) * stride, w);
		} else if (ow <= w && oh <= h) {
			shrink(pix, w, h, stride, d->img);
		} else {
			enlarge(pix, w, h, stride, d->img);
		}
		std::vector<dlib::rect_detection> dets;
		d->det(d->img, dets, adjust);
		int n = int(dets.size());
		for (int i = 0; i < n && i < max; i++) {
			const dlib::rectangle &r = dets[i].rect;
			rects[4 * i] = int(r.left());
			rects[4 * i + 1] = int(r.top());
			rects[4 * i + 2] = int(r.right());
			rects[4 * i + 3] = int(r.bottom());
			scores[i] = dets[i].detection_confidence;
		}
		return n;
	} catch (const std::exception &e) {
		set_err(err, errlen, e.what());
	} catch (...) {
		set_err(err, errlen, "unknown C++ exception");
	}
	return -1;
}
