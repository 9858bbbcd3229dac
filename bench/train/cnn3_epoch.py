"""Reference for bench/train/run.sh: fkd's cnn3 written in PyTorch.

Trains the same net (models/cnn3.go) with the same batch, optimiser,
masked loss and thread count as `fkd train --model cnn3`, on the same
training file, and prints the seconds of each epoch (training pass plus
hold-out evaluation), so that run.sh can put the two side by side.

Usage: cnn3_epoch.py --train training.zip --epochs 3 --batch 64 --threads 2
"""
import argparse
import io
import time
import zipfile

import numpy as np
import pandas as pd
import torch
import torch.nn as nn


def read_training(path):
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            name = [n for n in z.namelist() if n.endswith(".csv")][0]
            df = pd.read_csv(io.BytesIO(z.read(name)))
    else:
        df = pd.read_csv(path)
    images = np.stack([np.array(s.split(), dtype=np.uint8) for s in df["Image"]])
    coords = df.drop(columns=["Image"]).to_numpy(dtype=np.float32)
    mask = ~np.isnan(coords)
    coords = np.nan_to_num(coords)
    return images.reshape(-1, 1, 96, 96), coords, mask


def conv_bn_relu(cin, cout, k, stride):
    return [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class CNN3(nn.Module):
    def __init__(self, width=24, dropout=0.1):
        super().__init__()
        w = [1, width, 2 * width, 5 * width]
        layers = []
        for i in range(3):
            layers += conv_bn_relu(w[i], w[i + 1], 3, 2 if i == 0 else 1)
            layers += [nn.MaxPool2d(2), nn.Dropout2d(dropout)]
        layers += conv_bn_relu(w[3], 24, 1, 1)
        layers += [nn.Flatten(), nn.Linear(24 * 36, 30)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def masked_mse(pred, target, mask):
    return ((pred - target) ** 2 * mask).sum() / mask.sum().clamp(min=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    images, coords, mask = read_training(a.train)
    n = len(images)
    rng = np.random.default_rng(a.seed)
    order = rng.permutation(n)
    n_hold = int(round(n * a.holdout))
    hold, train = order[:n_hold], order[n_hold:]

    x_all = torch.from_numpy(images)
    y_all = torch.from_numpy((coords - 48) / 48)
    m_all = torch.from_numpy(mask.astype(np.float32))

    model = CNN3()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    steps_per_epoch = (len(train) + a.batch - 1) // a.batch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs * steps_per_epoch)
    for epoch in range(1, a.epochs + 1):
        start = time.perf_counter()
        model.train()
        perm = torch.from_numpy(rng.permutation(train))
        total = 0.0
        for s in range(0, len(perm), a.batch):
            idx = perm[s:s + a.batch]
            x = x_all.index_select(0, idx).float().div_(255)
            loss = masked_mse(model(x), y_all.index_select(0, idx), m_all.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        model.eval()
        se, cnt = 0.0, 0.0
        with torch.no_grad():
            hidx = torch.from_numpy(hold)
            for s in range(0, len(hidx), 128):
                idx = hidx[s:s + 128]
                p = model(x_all.index_select(0, idx).float().div_(255))
                d = (p - y_all.index_select(0, idx)) * 48 * m_all.index_select(0, idx)
                se += float((d ** 2).sum())
                cnt += float(m_all.index_select(0, idx).sum())
        secs = time.perf_counter() - start
        print(f"epoch={epoch} seconds={secs:.3f} train_loss={total / len(train):.5f} "
              f"holdout_rmse_px={(se / cnt) ** 0.5:.3f}", flush=True)


if __name__ == "__main__":
    main()
