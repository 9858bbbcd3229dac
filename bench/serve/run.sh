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
# Then two floods, with the cascade (when OpenCV has it):
#   - memory: FLOOD_REQUESTS (24) PNGs of FLOOD_SIZE x FLOOD_SIZE pixels
#     (7000) from 8 clients to a server of BUDGET_MB (1024) MiB of memory
#     budget and 8 workers: the answers, and the peak RSS against the RSS
#     before plus the budget;
#   - overload: OVERLOAD_REQUESTS (120) requests from OVERLOAD_CLIENTS (60)
#     clients to a server of --write-timeout 5s: the share of 200, 503, 504
#     and of requests left without an answer (EOF), which must be 0 (the
#     script fails otherwise).
#
# Usage: bench/serve/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

args=(-requests "${REQUESTS:-400}" -duration "${DURATION:-8s}" -detector "${DETECTOR:-fixed}"
	-flood-size "${FLOOD_SIZE:-7000}" -flood-requests "${FLOOD_REQUESTS:-24}" -budget "${BUDGET_MB:-1024}"
	-overload-clients "${OVERLOAD_CLIENTS:-60}" -overload-requests "${OVERLOAD_REQUESTS:-120}")
if [ -n "${MODEL:-}" ]; then args+=(-model "$MODEL"); fi
nice go run ${GO_TAGS:+-tags "$GO_TAGS"} ./bench/serve "${args[@]}"
