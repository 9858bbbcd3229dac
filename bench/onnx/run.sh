#!/usr/bin/env bash
# Times the same net in fkd (LibTorch through fkd's binding) and, exported
# with fkd export, in ONNX Runtime (onnxruntime-node 1.30), at batch 1 and
# 64 with the same CPU threads, and prints milliseconds per face side by
# side with the ratio fkd/ORT (bench/onnx/main.go). ONNX Runtime is
# installed into onnx/ort/node_modules when missing (make deps-onnx).
#
# Environment (defaults in brackets): MODELS [cnn3,fpnheat] (untrained
# architectures), MODEL [none] (model files instead), BATCHES [1,64],
# THREADS [1], BENCH_SECONDS [2] per measurement, ROUNDS [3].
#
# Usage: bench/onnx/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

# Without Node or ONNX Runtime it says what to install and leaves the
# other benchmarks of make bench to run.
if ! command -v node >/dev/null; then
	echo "bench/onnx: skipped: node not found (make deps-onnx installs it)"
	exit 0
fi
if [ ! -f onnx/ort/node_modules/onnxruntime-node/package.json ] &&
	! npm install --ignore-scripts --no-package-lock --no-audit --no-fund --prefix onnx/ort >/dev/null; then
	echo "bench/onnx: skipped: npm could not install onnxruntime-node into onnx/ort (make deps-onnx)"
	exit 0
fi
args=(-models "${MODELS:-cnn3,fpnheat}" -batches "${BATCHES:-1,64}" -threads "${THREADS:-1}"
	-seconds "${BENCH_SECONDS:-2}" -rounds "${ROUNDS:-3}")
if [ -n "${MODEL:-}" ]; then args+=(-model "$MODEL"); fi
go run ./bench/onnx "${args[@]}"
