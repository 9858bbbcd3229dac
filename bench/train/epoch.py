"""Reference for bench/train/run.sh and bench/gpu/run.sh: fkd's models
written in PyTorch, trained the way `fkd train` trains them.

--model cnn3 is models/cnn3.go; --model fpnheat is models/fpn.go with the
heatmap head of models/heatmap.go (soft-argmax with a learnt sharpness per
keypoint), each with fkd's default options and initialisation. The run
does what fkd train does per epoch, with the same batch, optimiser (AdamW,
the learning rate set every step by cosine annealing after an optional
linear warm-up, as train/optimize.go computes it), masked loss, thread
count and hold-out fraction, on the same training file:

- hold out a fraction of the faces, stratified by which keypoints a face
  has, with the same number of faces in each part as dataset.Split (the
  faces themselves differ: the generators differ);
- each step: reseed the generator (fkd does, for dropout after a resume),
  gather the batch (uint8 faces to float32/255), forward, masked MSE,
  read the loss, squared error and coordinate count back in one stack,
  set the learning rate, backward, AdamW step, zero the gradients;
- a last batch of a single face is left out of each epoch, as fkd leaves
  it (batch norm needs two);
- the hold-out evaluation in batches of max(batch, 128): forward, masked
  loss, predictions copied to the host, RMSE in pixels there.

It prints one line with the parameter count, then one line per epoch
with the seconds of the epoch (training pass plus hold-out evaluation).

--device cuda trains on a GPU, with the faces moved there once, as fkd
does. --amp bf16|fp16 runs the training forward passes under
torch.autocast (float16 with a GradScaler), as fkd train --amp does; the
hold-out evaluation stays in float32.

--channels-last and --inplace-relu make what fkd makes of the same nets
on the CPU: weights (and so activations) laid out channels last, and the
ReLU after each batch norm done in place. Without them the nets are
written the ordinary way.

Usage: epoch.py --train training.zip [--model cnn3|fpnheat] --epochs 3 --batch 64 --threads 2
       [--warmup 1] [--limit N] [--device cuda --amp bf16] [--channels-last] [--inplace-relu]
"""
import argparse
import io
import math
import time
import zipfile

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_KEYPOINTS = 15
COORD_SCALE = 48.0  # x_norm = (x - 48) / 48, as train.CoordScale/CoordCentre
WARMUP_START_FACTOR = 0.1  # train.WarmupStartFactor
OUTPUT_GAIN = 0.01  # models.outputGain
HEATMAP_GAIN = 0.1  # models.heatmapGain


def read_training(path, limit=0):
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            name = [n for n in z.namelist() if n.endswith(".csv")][0]
            df = pd.read_csv(io.BytesIO(z.read(name)), nrows=limit or None)
    else:
        df = pd.read_csv(path, nrows=limit or None)
    images = np.stack([np.array(s.split(), dtype=np.uint8) for s in df["Image"]])
    coords = df.drop(columns=["Image"]).to_numpy(dtype=np.float32)
    mask = ~np.isnan(coords)
    coords = np.nan_to_num(coords)
    return images.reshape(-1, 1, 96, 96), coords, mask


def split(mask, frac, rng):
    """dataset.Split's part sizes: faces grouped by which keypoints they
    have, round(frac·len) of each group held out (at least one and not all
    of a group of two or more)."""
    present = mask[:, 0::2] & mask[:, 1::2]
    keys = (present * (1 << np.arange(NUM_KEYPOINTS))).sum(axis=1)
    train, hold = [], []
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        rng.shuffle(rows)
        k = int(math.floor(frac * len(rows) + 0.5))  # Go's math.Round
        if 0 < frac < 1 and len(rows) >= 2:
            k = min(max(k, 1), len(rows) - 1)
        hold.append(rows[:k])
        train.append(rows[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(hold))


# ---- Layers as models/layers.go builds them.

def conv(cin, cout, k, stride, bias):
    """models.builder.conv: "same" padding, Kaiming normal (fan-out, ReLU
    gain), zero bias when there is one."""
    c = nn.Conv2d(cin, cout, k, stride, k // 2, bias=bias)
    nn.init.kaiming_normal_(c.weight, mode="fan_out", nonlinearity="relu")
    if bias:
        nn.init.zeros_(c.bias)
    return c


def conv_bn_relu(cin, cout, k, stride):
    """models.builder.convBNReLU (BatchNorm: momentum 0.1, eps 1e-5)."""
    return nn.Sequential(conv(cin, cout, k, stride, False), nn.BatchNorm2d(cout), nn.ReLU())


def output_layer(cin, cout):
    """models.builder.output: weights N(0, (0.01/√in)²), zero bias."""
    lin = nn.Linear(cin, cout)
    nn.init.normal_(lin.weight, 0, OUTPUT_GAIN / math.sqrt(cin))
    nn.init.zeros_(lin.bias)
    return lin


class CNN3(nn.Module):
    """models/cnn3.go with width 24, dropout 0.1."""

    def __init__(self, width=24, dropout=0.1, reduce=24):
        super().__init__()
        w = [1, width, 2 * width, 5 * width]
        layers = []
        for i in range(3):
            layers += [conv_bn_relu(w[i], w[i + 1], 3, 2 if i == 0 else 1), nn.MaxPool2d(2), nn.Dropout2d(dropout)]
        layers += [conv_bn_relu(w[3], reduce, 1, 1), nn.Flatten(), output_layer(reduce * 36, 30)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class HeatmapHead(nn.Module):
    """models/heatmap.go: 3×3 conv-BN-ReLU, spatial dropout, 1×1 conv to
    one map of logits per keypoint, scaled by exp(log_beta) and decoded by
    soft-argmax."""

    def __init__(self, channels, dropout):
        super().__init__()
        self.reduce = conv_bn_relu(channels, channels, 3, 1)
        self.drop = nn.Dropout2d(dropout)
        self.logits = nn.Conv2d(channels, NUM_KEYPOINTS, 1)
        nn.init.normal_(self.logits.weight, 0, HEATMAP_GAIN / math.sqrt(channels))
        nn.init.zeros_(self.logits.bias)
        self.log_beta = nn.Parameter(torch.zeros(NUM_KEYPOINTS))

    def forward(self, x):
        z = self.logits(self.drop(self.reduce(x)))
        return soft_argmax(z * self.log_beta.exp().reshape(1, NUM_KEYPOINTS, 1, 1))


def soft_argmax(logits):
    """models.softArgmax: [N, K, H, W] logits to [N, 2K] normalised
    coordinates, the expected cell centre under a softmax over each map."""
    n, k, h, w = logits.shape
    p = torch.softmax(logits.reshape(n, k, h * w), 2).reshape(n, k, h, w)
    x = expected_centre(p.sum(2), w)
    y = expected_centre(p.sum(3), h)
    return torch.stack([x, y], 2).reshape(n, 2 * k)


def expected_centre(p, cells):
    centres = torch.arange(1, 2 * cells, 2, dtype=p.dtype, device=p.device).div(cells).sub(1)
    return p.mul(centres).sum(2)


class FPNHeat(nn.Module):
    """models/fpn.go with head=heatmap and the default width 16, channels
    32, dropout 0.1: a 7×7/2 stem, three stages of two 3×3 convolutions
    (the first with stride 2), lateral 1×1 convolutions with bias, a
    top-down path with nearest upsampling, a 3×3 smoothing conv-BN-ReLU on
    the 24×24 level, and the heatmap head."""

    def __init__(self, width=16, channels=32, dropout=0.1):
        super().__init__()
        self.stem = conv_bn_relu(1, width, 7, 2)
        stages, laterals = [], []
        cin = width
        for i in range(3):
            cout = width << (i + 1)
            stages.append(nn.Sequential(conv_bn_relu(cin, cout, 3, 2), conv_bn_relu(cout, cout, 3, 1)))
            laterals.append(conv(cout, channels, 1, 1, True))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.laterals = nn.ModuleList(laterals)
        self.smooth = conv_bn_relu(channels, channels, 3, 1)
        self.head = HeatmapHead(channels, dropout)

    def forward(self, x):
        c = []
        x = self.stem(x)
        for s in self.stages:
            x = s(x)
            c.append(x)
        top = self.laterals[2](c[2])
        for i in (1, 0):
            lat = self.laterals[i](c[i])
            top = lat + F.interpolate(top, size=lat.shape[2:], mode="nearest")
        return self.head(self.smooth(top))


MODELS = {"cnn3": CNN3, "fpnheat": FPNHeat}


def grad_scaler(enabled):
    """A GradScaler for CUDA float16; a pass-through when not enabled."""
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):  # PyTorch >= 2.3
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


def masked_mse(pred, target, mask):
    """train.MaskedLoss with mse."""
    return (pred - target).square().mul(mask).sum().div(mask.sum().clamp(min=1))


def learning_rate(base, t, total, warm):
    """train.newSchedule's cosine (to 0 at the last step) after a linear
    warm-up of warm steps from WARMUP_START_FACTOR·base."""
    def cosine(s):
        return base * (1 + math.cos(math.pi * max(s, 0) / (total - warm))) / 2
    if t < warm:
        return cosine(0) * (WARMUP_START_FACTOR + (1 - WARMUP_START_FACTOR) * t / warm)
    return cosine(t - warm)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--model", default="cnn3", choices=sorted(MODELS))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=0, help="epochs of linear warm-up before cosine")
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N rows (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ap.add_argument("--amp", default="", choices=["", "bf16", "fp16"], help="mixed precision of the training passes")
    ap.add_argument("--channels-last", action="store_true",
                    help="lay the model out channels last (model.to(memory_format=torch.channels_last)), as fkd does on the CPU")
    ap.add_argument("--inplace-relu", action="store_true", help="ReLU(inplace=True), as fkd's models rectify")
    a = ap.parse_args()
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"epoch.py: --device {a.device}: this PyTorch ({torch.__version__}) sees no CUDA device")
    if a.amp == "fp16" and dev.type != "cuda":
        raise SystemExit("epoch.py: --amp fp16 needs --device cuda (CPU autocast takes bfloat16)")
    if a.warmup >= a.epochs:
        raise SystemExit(f"epoch.py: --warmup {a.warmup} leaves no epoch of --epochs {a.epochs} for cosine")
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(a.amp)
    scaler = grad_scaler(a.amp == "fp16")

    torch.set_num_threads(a.threads)
    images, coords, mask = read_training(a.train, a.limit)
    rng = np.random.default_rng(a.seed)
    train, hold = split(mask, a.holdout, rng)

    x_all = torch.from_numpy(images).to(dev)
    y_all = torch.from_numpy((coords - COORD_SCALE) / COORD_SCALE).to(dev)
    m_all = torch.from_numpy(mask.astype(np.float32)).to(dev)
    hold_coords, hold_mask = coords[hold], mask[hold]

    torch.manual_seed(a.seed)
    model = MODELS[a.model]().to(dev)
    if a.inplace_relu:
        for mod in model.modules():
            if isinstance(mod, nn.ReLU):
                mod.inplace = True
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    # Like fkd, every full batch and a last one of at least two faces.
    steps_per_epoch = len(train) // a.batch + (1 if len(train) % a.batch >= 2 else 0)
    total, warm = a.epochs * steps_per_epoch, a.warmup * steps_per_epoch
    print(f"model={a.model} params={params} faces={len(train)} holdout={len(hold)} steps={steps_per_epoch} "
          f"torch={torch.__version__} threads={torch.get_num_threads()}", flush=True)
    step_seed = a.seed * 1000003
    global_step = 0
    eval_batch = max(a.batch, 128)
    for epoch in range(1, a.epochs + 1):
        start = time.perf_counter()
        model.train()
        perm = torch.from_numpy(rng.permutation(train)).to(dev)
        loss_sum, sse, count, seen = 0.0, 0.0, 0.0, 0
        for step in range(steps_per_epoch):
            torch.manual_seed(step_seed + global_step)  # fkd reseeds every step
            idx = perm[step * a.batch:(step + 1) * a.batch]
            x = x_all.index_select(0, idx).float().div_(255)
            y, m = y_all.index_select(0, idx), m_all.index_select(0, idx)
            with torch.autocast(device_type=dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                pred = model(x)
            pred = pred.float()
            loss = masked_mse(pred, y, m)
            vals = torch.stack([loss.detach(), (pred.detach() - y).square().mul(m).sum(), m.sum()]).tolist()
            if not math.isfinite(vals[0]):
                raise SystemExit(f"epoch.py: loss became {vals[0]} at epoch {epoch} step {step + 1}")
            for g in opt.param_groups:
                g["lr"] = learning_rate(a.lr, global_step, total, warm)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            opt.zero_grad(set_to_none=True)
            global_step += 1
            loss_sum += vals[0] * len(idx)
            sse += vals[1]
            count += vals[2]
            seen += len(idx)
        model.eval()
        preds = []
        hold_loss, hold_count = 0.0, 0.0
        with torch.no_grad():
            for s in range(0, len(hold), eval_batch):
                idx = torch.from_numpy(hold[s:s + eval_batch]).to(dev)
                m = m_all.index_select(0, idx)
                p = model(x_all.index_select(0, idx).float().div_(255))
                c = m.sum()
                v = torch.stack([masked_mse(p, y_all.index_select(0, idx), m) * c, c]).tolist()
                hold_loss += v[0]
                hold_count += v[1]
                preds.append(p.cpu().numpy())
        px = np.concatenate(preds) * COORD_SCALE + COORD_SCALE
        d = (px - hold_coords)[hold_mask].astype(np.float64)
        rmse = math.sqrt((d ** 2).sum() / max(len(d), 1))
        secs = time.perf_counter() - start
        print(f"epoch={epoch} seconds={secs:.3f} steps={steps_per_epoch} train_loss={loss_sum / seen:.5f} "
              f"train_rmse_px={math.sqrt(sse / max(count, 1)) * COORD_SCALE:.3f} "
              f"holdout_loss={hold_loss / max(hold_count, 1):.5f} holdout_rmse_px={rmse:.3f}", flush=True)


if __name__ == "__main__":
    main()
