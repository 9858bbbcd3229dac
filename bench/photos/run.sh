#!/usr/bin/env bash
# bench/photos: fkd's face detectors beside dlib's own pipeline on the real
# photos of ../shared/data/photos (faces found, false faces, keypoint RMSE
# in the 96×96 frame's scale, photos per second at THREADS threads), one
# table. Run by make bench, from the repository root, with LibTorch's cgo
# flags in the environment (make does that).
#
#	MODEL=path.pt bash bench/photos/run.sh   # a model fkd train wrote; else one is trained (cnn3, 5 epochs)
#	THREADS=2 SECONDS_EACH=5 PHOTOS=dir BENCH_WORK=dir ...
set -euo pipefail
cd "$(dirname "$0")/../.."
photos=${PHOTOS:-../shared/data/photos}
threads=${THREADS:-1}
seconds=${SECONDS_EACH:-3}
work=${BENCH_WORK:-/tmp/fkd-bench-photos}
if [ ! -f "$photos/faces.json" ]; then
	echo "bench/photos: no $photos/faces.json: skipped (PHOTOS names the folder)"
	exit 0
fi
mkdir -p "$work"
model=${MODEL:-}
if [ -z "$model" ]; then
	model=$work/cnn3.pt
	if [ ! -f "$model" ]; then
		train=../shared/data/fkd-ytf/training.zip
		[ -f "$train" ] || { echo "bench/photos: no MODEL and no $train to train one: skipped"; exit 0; }
		echo "bench/photos: training a small model (cnn3, 5 epochs) into $model; MODEL=path uses yours"
		go run ./cmd/fkd train --train "$train" --arch cnn3 --epochs 5 --threads "$threads" --out "$model" >"$work/train.log" 2>&1
	fi
fi
dlib_flag=()
predictor=/usr/share/dlib/shape_predictor_68_face_landmarks.dat
if pkg-config --exists dlib-1 2>/dev/null && [ -f "$predictor" ]; then
	g++ -O2 -std=c++17 -o "$work/dlibref" bench/photos/dlibref/dlibref.cpp -ldlib -lpthread
	"$work/dlibref" "$predictor" "$threads" "$seconds" "$photos"/*.jpg >"$work/dlib.json"
	dlib_flag=(-dlib "$work/dlib.json")
else
	echo "bench/photos: no dlib reference row: install libdlib-dev and libdlib-data (make deps)"
fi
go run ./bench/photos -photos "$photos" -model "$model" -threads "$threads" -seconds "$seconds" "${dlib_flag[@]}"
