// step.cpp times training steps of bench/torch's small conv net in
// LibTorch's C++ frontend: the same net, data, initialisation and
// optimiser as gostep (bench/torch/gostep/main.go) and step.py, written
// with torch::nn modules and torch::optim::Adam. run.sh builds it with g++
// against the LibTorch the Go binding uses. It prints the same result lines:
//
//	step_ms median=<ms> min=<ms> loss_first=<loss> loss_last=<loss>
//	tiny_add_ns <ns per call>
//	tiny_add_held_ns <ns per call>
//	threads=<n> libtorch=<version>
//
// tiny_add_ns drops each sum at once; tiny_add_held_ns keeps them in a
// vector of 1000, cleared when full, as gostep's scope holds them
// (gostep's tiny_add_ns). Each is the fastest of its chunks of 10,000
// calls, per call (best_chunk).

#include <malloc.h>
#include <torch/torch.h>

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int64_t kOutputs = 30;

struct NetImpl : torch::nn::Module {
	NetImpl() {
		int64_t in = 1;
		for (int64_t out : {16, 32, 64}) {
			features->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)));
			features->push_back(torch::nn::BatchNorm2d(out));
			features->push_back(torch::nn::ReLU());
			features->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
			in = out;
		}
		register_module("features", features);
		fc = register_module("fc", torch::nn::Linear(in, kOutputs));
	}

	torch::Tensor forward(torch::Tensor x) {
		x = torch::adaptive_avg_pool2d(features->forward(x), {1, 1}).flatten(1);
		return fc->forward(x);
	}

	torch::nn::Sequential features;
	torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(Net);

struct Flags {
	int threads = 0, warmup = 5, steps = 30, tiny = 200000;
	int64_t batch = 64, size = 96;
	uint64_t seed = 1;
};

// best_chunk runs run over calls calls in chunks of 10,000, timing each,
// and returns the wall time per call of the fastest chunk, as gostep's
// bestChunk does: the cost of the call, without the time the machine spent
// on other processes.
template <typename F> double best_chunk(int calls, F run) {
	constexpr int chunk = 10000;
	double best = 1e300;
	for (int done = 0; done < calls; done += chunk) {
		int n = std::min(chunk, calls - done);
		auto start = std::chrono::steady_clock::now();
		run(n);
		std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
		best = std::min(best, elapsed.count() / n);
	}
	return best;
}

// parse reads --name=value or --name value flags; it exits on a bad one.
Flags parse(int argc, char **argv) {
	Flags f;
	for (int i = 1; i < argc; i++) {
		std::string arg = argv[i], name = arg, value;
		auto eq = arg.find('=');
		if (eq != std::string::npos) {
			name = arg.substr(0, eq);
			value = arg.substr(eq + 1);
		} else if (i + 1 < argc) {
			value = argv[++i];
		}
		char *end = nullptr;
		long long v = std::strtoll(value.c_str(), &end, 10);
		if (value.empty() || *end != '\0') {
			std::fprintf(stderr, "step: flag %s wants an integer, got %s\n", name.c_str(), value.c_str());
			std::exit(2);
		}
		if (name == "--threads") f.threads = static_cast<int>(v);
		else if (name == "--warmup") f.warmup = static_cast<int>(v);
		else if (name == "--steps") f.steps = static_cast<int>(v);
		else if (name == "--tiny") f.tiny = static_cast<int>(v);
		else if (name == "--batch") f.batch = v;
		else if (name == "--size") f.size = v;
		else if (name == "--seed") f.seed = static_cast<uint64_t>(v);
		else {
			std::fprintf(stderr, "step: unknown flag %s\n", name.c_str());
			std::exit(2);
		}
	}
	if (f.steps < 1) {
		std::fprintf(stderr, "step: --steps must be at least 1\n");
		std::exit(2);
	}
	return f;
}

int cpus() {
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
	return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

double median(std::vector<double> v) {
	std::sort(v.begin(), v.end());
	size_t k = v.size();
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

} // namespace

int main(int argc, char **argv) {
	Flags f = parse(argc, argv);
	// The same malloc settings fkd's torch package makes when it loads, so
	// that Go/C++ compares the bindings and nothing else.
	const char *m = std::getenv("FKD_MALLOC");
	if (m == nullptr || std::string(m) != "default") {
		mallopt(M_MMAP_THRESHOLD, 256 << 20);
		mallopt(M_TRIM_THRESHOLD, 1 << 30);
	}
	torch::set_num_threads(f.threads > 0 ? f.threads : cpus());
	torch::manual_seed(f.seed);

	Net net;
	auto x = torch::randn({f.batch, 1, f.size, f.size});
	auto y = torch::rand({f.batch, kOutputs});
	torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));

	std::vector<double> times;
	double first = 0, last = 0;
	for (int i = 0; i < f.warmup + f.steps; i++) {
		auto start = std::chrono::steady_clock::now();
		// Drop the gradients, as PyTorch's zero_grad(set_to_none=True) and
		// fkd's ZeroGrad do (LibTorch 1.13's zero_grad zeroes them instead).
		for (auto &p : net->parameters()) p.mutable_grad().reset();
		auto loss = torch::mse_loss(net->forward(x), y);
		loss.backward();
		opt.step();
		last = loss.item<double>();
		std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
		if (i == 0) first = last;
		if (i >= f.warmup) times.push_back(elapsed.count());
	}
	std::printf("step_ms median=%.3f min=%.3f loss_first=%.6f loss_last=%.6f\n", median(times),
		    *std::min_element(times.begin(), times.end()), first, last);

	if (f.tiny > 0) {
		auto a = torch::full({1}, 1.0f), b = torch::full({1}, 2.0f);
		for (int i = 0; i < 1000; i++) (void)torch::add(a, b);
		std::printf("tiny_add_ns %.1f\n", best_chunk(f.tiny, [&](int n) {
				    for (int i = 0; i < n; i++) (void)torch::add(a, b);
			    }));

		std::vector<at::Tensor> held;
		held.reserve(1000);
		std::printf("tiny_add_held_ns %.1f\n", best_chunk(f.tiny, [&](int n) {
				    for (int i = 0; i < n; i++) {
					    held.push_back(torch::add(a, b));
					    if (held.size() == 1000) held.clear();
				    }
				    held.clear();
			    }));
	}
	std::printf("threads=%d libtorch=%d.%d.%d\n", torch::get_num_threads(), TORCH_VERSION_MAJOR,
		    TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
	return 0;
}
