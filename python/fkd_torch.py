"""Load fkd's model files in plain PyTorch.

fkd (github.com/fkd-project/fkd) saves a trained net as a safetensors file
(``model.pt`` by default, but not a ``torch.save`` pickle: ``torch.load``
cannot read it) whose metadata name the architecture and its options.
This module rebuilds each architecture of fkd's zoo (cnn3, tinyresnet, fpn,
fpnheat) as a ``torch.nn.Module`` whose ``state_dict`` names are fkd's own
(``stage1.0.conv.weight``, ``head.log_beta``, ...), loads the weights and
predicts as fkd does. It needs only PyTorch (1.13 or later); the file
format is read here, without the safetensors package.

    import torch, fkd_torch
    net, meta = fkd_torch.load("output/model.pt")      # in eval mode
    faces = torch.from_numpy(grey).float().div(255)    # uint8 [N, 96, 96] -> [0, 1]
    pixels = fkd_torch.predict(net, faces.reshape(-1, 1, 96, 96))
    # pixels: [N, 30], x then y of each keypoint in meta["keypoints"] order,
    # in Kaggle pixel coordinates (as fkd submit writes them).

The net itself maps faces, float32 [N, 1, 96, 96] of grey levels divided by
255, to the 30 coordinates normalised as (c - 48) / 48; ``predict`` turns
them into pixels. Run as a script it predicts raw float32 faces:

    python3 fkd_torch.py MODEL FACES.f32 OUT.f32
"""

import json
import struct
import sys

import torch
from torch import nn
import torch.nn.functional as F

__all__ = ["read_safetensors", "build", "load", "predict", "CNN3", "TinyResNet", "FPN"]

NUM_KEYPOINTS = 15
NUM_COORDS = 30
# Normalised coordinates are (c - COORD_CENTRE) / COORD_SCALE in pixels.
COORD_CENTRE = 48.0
COORD_SCALE = 48.0

_DTYPES = {
    "F32": torch.float32,
    "F64": torch.float64,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_safetensors(path):
    """Return (tensors, metadata) of a safetensors file: a dict of name to
    tensor and the file's string metadata."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    data = memoryview(blob)[8 + n :]
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dtype = _DTYPES[e["dtype"]]
        raw = bytearray(data[begin:end])  # writable, so no warning from frombuffer
        if len(raw) == 0:
            t = torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(raw, dtype=dtype)
        tensors[name] = t.reshape(e["shape"]).clone()
    return tensors, metadata


class ConvBN(nn.Module):
    """conv (no bias, "same" padding) -> BatchNorm -> ReLU unless linear:
    fkd's convBN, its tensors named conv.* and bn.*."""

    def __init__(self, cin, cout, kernel, stride, linear=False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.linear = linear

    def forward(self, x):
        if self.training:
            y = self.bn(self.conv(x))
        else:
            # As fkd runs a loaded model: the normalisation folded into
            # the convolution, with fkd's arithmetic to the bit.
            w, b = self._fold()
            y = F.conv2d(x, w, b, self.conv.stride, self.conv.padding)
        return y if self.linear else F.relu(y)

    @torch.no_grad()
    def _fold(self):
        """The weight and bias of the convolution with the evaluation
        mode's normalisation folded in: s = gamma / sqrt(var + eps), the
        weight times s, the bias beta - mean * s (fkd's FoldBatchNorm)."""
        bn = self.bn
        s = torch.rsqrt(bn.running_var + bn.eps) * bn.weight
        w = self.conv.weight * s.reshape(-1, 1, 1, 1)
        if self.conv.weight.is_contiguous(memory_format=torch.channels_last):
            w = w.contiguous(memory_format=torch.channels_last)
        b = -(bn.running_mean * s) + bn.bias
        return w, b


class _Head(nn.Module):
    pass


class CNN3(nn.Module):
    """fkd's cnn3: three conv blocks (conv-BN-ReLU, 2x2 max-pool, spatial
    dropout), a 1x1 reduction to 24 channels and a linear layer on the
    flattened 6x6 grid."""

    def __init__(self, width=24, dropout=0.1):
        super().__init__()
        widths = [1, width, 2 * width, 5 * width]
        self.features = nn.ModuleList(
            ConvBN(widths[i], widths[i + 1], 3, 2 if i == 0 else 1) for i in range(3)
        )
        self.drop = nn.Dropout2d(dropout)
        self.head = _Head()
        self.head.reduce = ConvBN(widths[3], 24, 1, 1)
        self.head.out = nn.Linear(24 * 6 * 6, NUM_COORDS)

    def forward(self, x):
        for f in self.features:
            x = self.drop(F.max_pool2d(f(x), 2))
        return self.head.out(torch.flatten(self.head.reduce(x), 1))


class BasicBlock(nn.Module):
    """ResNet's basic block: ReLU(conv2(conv1(x)) + shortcut(x))."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = ConvBN(cin, cout, 3, stride)
        self.conv2 = ConvBN(cout, cout, 3, 1, linear=True)
        self.shortcut = ConvBN(cin, cout, 1, stride, linear=True) if stride != 1 or cin != cout else None

    def forward(self, x):
        skip = x if self.shortcut is None else self.shortcut(x)
        return F.relu(self.conv2(self.conv1(x)) + skip)


class TinyResNet(nn.Module):
    """fkd's tinyresnet: a stride-2 stem and a max-pool, four stages of
    basic blocks (widths w, 2w, 4w, 8w), global average pooling, dropout
    and a linear layer."""

    def __init__(self, width=16, blocks=2, dropout=0.2):
        super().__init__()
        self.stem = ConvBN(1, width, 3, 2)
        cin = width
        for stage in range(4):
            cout = width << stage
            layer = nn.ModuleList()
            for i in range(blocks):
                layer.append(BasicBlock(cin, cout, 2 if stage > 0 and i == 0 else 1))
                cin = cout
            setattr(self, "layer%d" % (stage + 1), layer)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, NUM_COORDS)

    def forward(self, x):
        x = F.max_pool2d(self.stem(x), 2)
        for stage in range(4):
            for block in getattr(self, "layer%d" % (stage + 1)):
                x = block(x)
        return self.fc(self.drop(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))


def cell_centres(cells, dtype=torch.float32):
    """The normalised centres of cells cells across the face, as fkd's
    models.CellCentres: (2j + 1) / cells - 1."""
    return torch.arange(1, 2 * cells, 2, dtype=dtype) / cells - 1


class FPN(nn.Module):
    """fkd's fpn and fpnheat: a 7x7 stem and three stages bottom-up, a
    top-down path with lateral 1x1 convolutions and nearest upsampling (one
    stage further, from the stem, with maps=48), a 3x3 smoothing and a head:
    "regression" (1x1 reduction, 12x12 average pool, linear) or "heatmap"
    (one map per keypoint, decoded by soft-argmax)."""

    def __init__(self, width=16, channels=32, dropout=0.1, head="regression", maps=24):
        super().__init__()
        if head not in ("regression", "heatmap"):
            raise ValueError("fpn head %r: want regression or heatmap" % head)
        if int(maps) not in (24, 48):
            raise ValueError("fpn maps %r: want 24 or 48" % maps)
        self.stem = ConvBN(1, width, 7, 2)
        self.lateral0 = nn.Conv2d(width, channels, 1) if int(maps) == 48 else None
        cin = width
        for i in range(3):
            cout = width << (i + 1)
            setattr(self, "stage%d" % (i + 1), nn.Sequential(ConvBN(cin, cout, 3, 2), ConvBN(cout, cout, 3, 1)))
            setattr(self, "lateral%d" % (i + 1), nn.Conv2d(cout, channels, 1))
            cin = cout
        self.smooth = ConvBN(channels, channels, 3, 1)
        self.head_kind = head
        self.head = _Head()
        if head == "regression":
            self.head.reduce = ConvBN(channels, 16, 1, 1)
            self.head.drop = nn.Dropout(dropout)
            self.head.out = nn.Linear(16 * 12 * 12, NUM_COORDS)
        else:
            self.head.reduce = ConvBN(channels, channels, 3, 1)
            self.head.drop = nn.Dropout2d(dropout)
            self.head.logits = nn.Conv2d(channels, NUM_KEYPOINTS, 1)
            self.head.log_beta = nn.Parameter(torch.zeros(NUM_KEYPOINTS))

    @staticmethod
    def _top_down(lat, top):
        return lat + F.interpolate(top, size=lat.shape[-2:], mode="nearest")

    def finest(self, x):
        stem = self.stem(x)
        c = []
        x = stem
        for i in range(3):
            x = getattr(self, "stage%d" % (i + 1))(x)
            c.append(x)
        top = self.lateral3(c[2])
        for i in (1, 0):
            top = self._top_down(getattr(self, "lateral%d" % (i + 1))(c[i]), top)
        if self.lateral0 is not None:
            top = self._top_down(self.lateral0(stem), top)
        return self.smooth(top)

    def heatmaps(self, x):
        """The heatmap head's maps [N, 15, H, W], each a distribution over
        its cells, and the coordinates read off them."""
        h = self.head
        z = h.logits(h.drop(h.reduce(self.finest(x))))
        z = z * h.log_beta.exp().reshape(1, NUM_KEYPOINTS, 1, 1)
        n, k, hh, ww = z.shape
        p = torch.softmax(z.reshape(n, k, hh * ww), 2).reshape(n, k, hh, ww)
        xs = (p.sum(2) * cell_centres(ww, p.dtype).to(p.device)).sum(2)
        ys = (p.sum(3) * cell_centres(hh, p.dtype).to(p.device)).sum(2)
        return torch.stack([xs, ys], 2).reshape(n, 2 * k), p

    def forward(self, x):
        if self.head_kind == "heatmap":
            return self.heatmaps(x)[0]
        h = self.head
        y = F.adaptive_avg_pool2d(h.reduce(self.finest(x)), 12)
        return h.out(h.drop(torch.flatten(y, 1)))


def build(arch, options):
    """Return the architecture arch ("cnn3", "tinyresnet", "fpn", "fpnheat")
    with options, a dict of strings as in a model file's "fkd.options"."""
    o = dict(options or {})
    if arch == "cnn3":
        return CNN3(width=int(o.get("width", 24)), dropout=float(o.get("dropout", 0.1)))
    if arch == "tinyresnet":
        return TinyResNet(
            width=int(o.get("width", 16)), blocks=int(o.get("blocks", 2)), dropout=float(o.get("dropout", 0.2))
        )
    if arch in ("fpn", "fpnheat"):
        return FPN(
            width=int(o.get("width", 16)),
            channels=int(o.get("channels", 32)),
            dropout=float(o.get("dropout", 0.1)),
            head=o.get("head", "heatmap" if arch == "fpnheat" else "regression"),
            maps=int(o.get("maps", 24)),
        )
    raise ValueError("unknown fkd architecture %r (known: cnn3, fpn, fpnheat, tinyresnet)" % arch)


def load(path, device="cpu"):
    """Load an fkd model file: return (net, meta), the net in evaluation
    mode on device, meta a dict with "arch", "options", "keypoints" (the 30
    output names), "means" (the training means in pixels), "input" and
    "output" (fkd's conventions) and "metadata" (all of the file's)."""
    tensors, md = read_safetensors(path)
    if md.get("fkd.format") != "fkd-model/1":
        raise ValueError("%s is not an fkd model file (fkd.format %r)" % (path, md.get("fkd.format")))
    if md.get("fkd.input") != "pixel/255" or md.get("fkd.output") != "(c-48)/48":
        raise ValueError("%s: conventions %r, %r are not fkd's" % (path, md.get("fkd.input"), md.get("fkd.output")))
    options = json.loads(md.get("fkd.options", "{}"))
    net = build(md["fkd.arch"], options)
    net.load_state_dict(tensors, strict=True)
    net.to(device).eval()
    if torch.device(device).type == "cpu":
        # As fkd lays out a model on the CPU: LibTorch's channels-last
        # convolutions are faster there, and the same kernels give the
        # same sums as fkd's to the last bits.
        net.to(memory_format=torch.channels_last)
    meta = {
        "arch": md["fkd.arch"],
        "options": options,
        "keypoints": json.loads(md["fkd.keypoints"]),
        "means": json.loads(md["fkd.means"]),
        "input": md["fkd.input"],
        "output": md["fkd.output"],
        "metadata": md,
    }
    return net, meta


def predict(net, faces):
    """Keypoints [N, 30] in Kaggle pixels for faces [N, 1, 96, 96] of grey
    levels divided by 255, as fkd submit predicts them."""
    with torch.no_grad():
        if faces.device.type == "cpu":
            faces = faces.contiguous(memory_format=torch.channels_last)
        return net(faces) * COORD_SCALE + COORD_CENTRE


def _main(argv):
    if len(argv) != 3:
        sys.exit("usage: fkd_torch.py MODEL FACES.f32 OUT.f32 (float32 [N,1,96,96] grey/255 in, [N,30] pixels out)")
    net, _ = load(argv[0])
    with open(argv[1], "rb") as f:
        raw = bytearray(f.read())
    faces = torch.frombuffer(raw, dtype=torch.float32).reshape(-1, 1, 96, 96)
    out = predict(net, faces).contiguous()
    with open(argv[2], "wb") as f:
        f.write(out.numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    _main(sys.argv[1:])
