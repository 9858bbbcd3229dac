#!/usr/bin/env bash
# bootstrap.sh sets up a fresh GPU instance (Ubuntu or Debian with an NVIDIA
# driver, e.g. an AWS g5/p3 spot instance from a Deep Learning AMI) and
# trains fkd on it: Go, build tools, a CUDA LibTorch in third_party/, the
# build, then `make train` on the Kaggle files in data/.
#
# Run it from a clone of the repository:
#
#	git clone <your fkd remote> fkd && cd fkd
#	# put training.zip, test.zip and IdLookupTable.csv in data/ (or: make kaggle-download)
#	cloud/bootstrap.sh
#
# Environment (defaults in brackets): GO_VERSION [1.26.8], LIBTORCH_VERSION
# and CUDA (passed to third_party/fetch-libtorch.sh), TRAIN_FLAGS [--device cuda].
#
# WARNING: a GPU instance bills by the hour until it is terminated, not
# merely when it is stopped from inside. Copy output/ off the machine and
# TERMINATE the instance from the cloud console (or `aws ec2
# terminate-instances`) when training is done.
set -euo pipefail
cd "$(dirname "$0")/.."

go_version=${GO_VERSION:-1.26.8}
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi >/dev/null 2>&1; then
	echo "bootstrap: no working NVIDIA driver (nvidia-smi fails): use a GPU image with the driver installed" >&2
	exit 1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

echo "bootstrap: build tools"
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	g++ make curl unzip ca-certificates git

if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
	echo "bootstrap: Go $go_version into /usr/local/go"
	curl -fsSL "https://go.dev/dl/go${go_version}.linux-amd64.tar.gz" -o /tmp/go.tgz
	$sudo tar -C /usr/local -xzf /tmp/go.tgz
	rm /tmp/go.tgz
fi
export PATH=/usr/local/go/bin:$PATH

# A CUDA PyTorch already installed (deep-learning images have one) saves
# the 2.5 GB download of an official LibTorch.
if [ -z "${LIBTORCH:-}" ]; then
	if (cd / && python3 -c 'import sys, torch; sys.exit(0 if torch.version.cuda else 1)') 2>/dev/null; then
		echo "bootstrap: building against the CUDA PyTorch that python3 imports"
		export LIBTORCH=python
	else
		if [ ! -f third_party/libtorch/lib/libtorch.so ]; then
			echo "bootstrap: CUDA LibTorch into third_party/libtorch"
			third_party/fetch-libtorch.sh
		fi
		export LIBTORCH=$PWD/third_party/libtorch
	fi
fi

make build
bin/fkd version
bin/fkd version | grep -q '^CUDA  *yes' || { echo "bootstrap: this build has no CUDA (see fkd version above)" >&2; exit 1; }
echo "bootstrap: training (make train TRAIN_FLAGS='${TRAIN_FLAGS:---device cuda}')"
make train TRAIN_FLAGS="${TRAIN_FLAGS:---device cuda}"

echo
echo "bootstrap: done: output/model.pt, output/model.history.json, output/submission.csv"
echo "bootstrap: copy output/ off this machine, then TERMINATE the instance: it bills until you do."
