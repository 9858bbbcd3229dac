#!/usr/bin/env bash
# Load-tests fkd's keypoint server (fkd serve) on the loopback: requests
# per second, p50 and p99 latency, and requests per model run at 1, 4 and
# 16 clients at once, each level bounded to REQUESTS requests (default
# 400) or DURATION (default 8s). The request is a 256x200 PNG of a face
# (fkd-ytf's from ../shared/data when there, else a synthetic one); the
# model an untrained cnn3 (MODEL=path for a trained one). The face's box
# is given, so the figures are the server's, the batching's and the
# model's; DETECTOR=cascade adds OpenCV's Haar cascade on every request.
# GO_TAGS=noopencv builds without OpenCV.
#
# Usage: bench/serve/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

args=(-requests "${REQUESTS:-400}" -duration "${DURATION:-8s}" -detector "${DETECTOR:-fixed}")
if [ -n "${MODEL:-}" ]; then args+=(-model "$MODEL"); fi
nice go run ${GO_TAGS:+-tags "$GO_TAGS"} ./bench/serve "${args[@]}"
