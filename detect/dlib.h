//go:build !nodlib

// A flat C API over dlib's HOG frontal face detector, for detect/dlib.go.
// Every C++ exception is caught here and comes back as a message in err.
#ifndef FKD_DLIB_H
#define FKD_DLIB_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fkd_dlib fkd_dlib;

// fkd_dlib_new returns a new detector, or NULL with a message in err.
fkd_dlib *fkd_dlib_new(char *err, int errlen);
void fkd_dlib_free(fkd_dlib *d);

// fkd_dlib_detect resamples the w×h grey image pix (rows stride bytes
// apart) to round(w·scale)×round(h·scale) (area averaging when shrinking,
// bilinear when enlarging) and scans it with the detector, keeping the
// detections whose margin is at least adjust. It writes up to max of them
// as left, top, right, bottom (inclusive, in the resampled image's
// pixels) in rects and their margins in scores, and returns how many
// there were (which may exceed max), or -1 with a message in err.
int fkd_dlib_detect(fkd_dlib *d, const uint8_t *pix, int w, int h, int stride, double scale,
                    double adjust, int *rects, double *scores, int max, char *err, int errlen);

#ifdef __cplusplus
}
#endif

#endif
