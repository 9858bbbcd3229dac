"""Times training steps of bench/torch's small conv net in PyTorch.

The same net, data, initialisation and optimiser as gostep (see
bench/torch/gostep/main.go) and step.cpp, written the ordinary PyTorch way
(torch.nn modules, torch.optim.Adam). Prints the same result lines:

    step_ms median=<ms> min=<ms> loss_first=<loss> loss_last=<loss>
    tiny_add_ns <ns per call>
    tiny_add_held_ns <ns per call>
    threads=<n> libtorch=<version>

tiny_add_ns drops each sum at once; tiny_add_held_ns keeps them in a list
of 1000, cleared when full, as gostep's scope holds them (gostep's
tiny_add_ns). Each is the fastest of its chunks of 10,000 calls, per call
(best_chunk).

--device cuda runs both on a CUDA GPU, as gostep --device cuda does: the
net and batch are made on the CPU and moved there, and the tiny adds are
timed as a run of calls followed by one torch.cuda.synchronize().
"""

import argparse
import os
import statistics
import time

import torch
from torch import nn
import torch.nn.functional as F

OUTPUTS = 30


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        layers = []
        cin = 1
        for cout in (16, 32, 64):
            layers += [
                nn.Conv2d(cin, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, OUTPUTS)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.fc(x)


def best_chunk(calls, run, chunk=10000):
    """Runs run(n) over calls calls in chunks of 10,000, timing each, and
    returns the nanoseconds per call of the fastest chunk, as gostep's
    bestChunk does."""
    best = float("inf")
    for done in range(0, calls, chunk):
        n = min(chunk, calls - done)
        start = time.perf_counter()
        run(n)
        best = min(best, (time.perf_counter() - start) * 1e9 / n)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: one per CPU)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--tiny", type=int, default=200000, help="one-element adds to time (0: skip)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    a = ap.parse_args()
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"step.py: --device {a.device}: this PyTorch ({torch.__version__}) sees no CUDA device")

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    torch.set_num_threads(a.threads if a.threads > 0 else len(os.sched_getaffinity(0)))
    torch.manual_seed(a.seed)

    net = Net().to(dev)
    x = torch.randn(a.batch, 1, a.size, a.size).to(dev)
    y = torch.rand(a.batch, OUTPUTS).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    times = []
    losses = []
    for i in range(a.warmup + a.steps):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        elapsed = time.perf_counter() - start
        if i >= a.warmup:
            times.append(elapsed * 1e3)
    print(
        f"step_ms median={statistics.median(times):.3f} min={min(times):.3f} "
        f"loss_first={losses[0]:.6f} loss_last={losses[-1]:.6f}"
    )

    if a.tiny > 0:
        p = torch.full((1,), 1.0, device=dev)
        q = torch.full((1,), 2.0, device=dev)
        for _ in range(1000):
            p + q
        sync()

        def dropped(n):
            for _ in range(n):
                p + q
            sync()

        held = []

        def holding(n):
            for _ in range(n):
                held.append(p + q)
                if len(held) == 1000:
                    held.clear()
            held.clear()
            sync()

        print(f"tiny_add_ns {best_chunk(a.tiny, dropped):.1f}")
        print(f"tiny_add_held_ns {best_chunk(a.tiny, holding):.1f}")
    print(f"threads={torch.get_num_threads()} libtorch={torch.__version__}")


if __name__ == "__main__":
    main()
