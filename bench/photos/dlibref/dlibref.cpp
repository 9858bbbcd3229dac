// dlibref: dlib's own face pipeline, the reference of bench/photos. It
// detects the faces of each photo with dlib's HOG frontal face detector
// on the photo upsampled once (pyramid_up, as dlib's examples do), places
// the 68 points of shape_predictor_68_face_landmarks.dat (Debian's
// libdlib-data), and prints JSON: for each photo its faces' left eye
// centre (the subject's left: mean of points 42-47), right eye centre
// (36-41) and bottom lip (point 57), and the photos detected per second
// (detection alone, decoded photos, THREADS threads each taking whole
// photos, for SECONDS seconds).
//
//	g++ -O2 -std=c++17 -o dlibref dlibref.cpp -ldlib -lpthread
//	dlibref PREDICTOR THREADS SECONDS PHOTO...
// As in detect/dlib.cpp: Debian's dlib-1.pc and config.h ask for BLAS and
// LAPACK development links that libdlib-dev does not bring; none of this
// needs them.
#include <dlib/assert.h>
#include <dlib/test_for_odr_violations.h>
#undef DLIB_USE_BLAS
#undef DLIB_USE_LAPACK
#include <dlib/image_io.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace dlib;

static std::vector<rectangle> detect(frontal_face_detector &det, const array2d<unsigned char> &img) {
	array2d<unsigned char> up;
	pyramid_up(img, up, pyramid_down<2>());
	std::vector<rectangle> dets = det(up);
	for (auto &r : dets) {  // back to the photo's pixels, as pyramid_up maps them
		r = rectangle((long)std::lround(r.left() / 2.0), (long)std::lround(r.top() / 2.0),
		              (long)std::lround(r.right() / 2.0), (long)std::lround(r.bottom() / 2.0));
	}
	return dets;
}

int main(int argc, char **argv) {
	if (argc < 5) {
		std::fprintf(stderr, "usage: dlibref PREDICTOR THREADS SECONDS PHOTO...\n");
		return 2;
	}
	try {
		shape_predictor sp;
		deserialize(argv[1]) >> sp;
		int threads = std::atoi(argv[2]);
		double seconds = std::atof(argv[3]);
		std::vector<std::string> names;
		std::vector<array2d<unsigned char>> imgs(argc - 4);
		for (int i = 4; i < argc; i++) {
			load_image(imgs[i - 4], argv[i]);
			std::string n = argv[i];
			names.push_back(n.substr(n.find_last_of('/') + 1));
		}
		frontal_face_detector det = get_frontal_face_detector();
		std::printf("{\"faces\": {");
		for (size_t i = 0; i < imgs.size(); i++) {
			std::printf("%s\"%s\": [", i ? ", " : "", names[i].c_str());
			std::vector<rectangle> dets = detect(det, imgs[i]);
			for (size_t j = 0; j < dets.size(); j++) {
				full_object_detection s = sp(imgs[i], dets[j]);
				auto mean = [&](int a, int b) {
					double x = 0, y = 0;
					for (int k = a; k <= b; k++) x += s.part(k).x(), y += s.part(k).y();
					return std::make_pair(x / (b - a + 1), y / (b - a + 1));
				};
				auto l = mean(42, 47), r = mean(36, 41), m = mean(57, 57);
				std::printf("%s[[%.1f, %.1f], [%.1f, %.1f], [%.1f, %.1f]]", j ? ", " : "", l.first, l.second, r.first,
				            r.second, m.first, m.second);
			}
			std::printf("]");
		}
		std::atomic<long> done{0};
		auto start = std::chrono::steady_clock::now();
		auto deadline = start + std::chrono::duration<double>(seconds);
		std::vector<std::thread> pool;
		for (int t = 0; t < threads; t++) {
			pool.emplace_back([&, t] {
				frontal_face_detector d = get_frontal_face_detector();
				for (size_t i = t; std::chrono::steady_clock::now() < deadline; i++) {
					detect(d, imgs[i % imgs.size()]);
					done++;
				}
			});
		}
		for (auto &th : pool) th.join();
		double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
		std::printf("}, \"threads\": %d, \"photos_per_second\": %.3f}\n", threads, done / el);
	} catch (std::exception &e) {
		std::fprintf(stderr, "dlibref: %s\n", e.what());
		return 1;
	}
	return 0;
}
