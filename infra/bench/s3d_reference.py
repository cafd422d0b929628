#!/usr/bin/python3
"""PyTorch peer for infra/bench/features.sh: S3D-G (video tower) written from
../shared/testdata/s3d/README.md, run by Debian's python3-torch.

  s3d_reference.py parity WEIGHTS.pth GOLDEN.safetensors   check this model against the golden outputs
  s3d_reference.py bench WEIGHTS.pth SECONDS BATCH THREADS  encode SECONDS seconds of random 30x224x224 video,
                                                             BATCH seconds per forward, THREADS intra-op threads
The bench prints one line "peer seconds=N wall=S rate=R" (R: seconds of video per wall second, after one
warm-up batch), the same measurement FeaturesBench makes for ours.
"""
import json
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBn(nn.Module):
    def __init__(self, cin, cout, kernel, padding):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, kernel, stride=1, padding=padding, bias=False)
        self.bn1 = nn.BatchNorm3d(cout, eps=1e-5)

    def forward(self, x):
        return F.relu(self.bn1(self.conv1(x)), inplace=True)


class SeparableConvBn(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, (1, 3, 3), stride=1, padding=(0, 1, 1), bias=False)
        self.bn1 = nn.BatchNorm3d(cout, eps=1e-5)
        self.conv2 = nn.Conv3d(cout, cout, (3, 1, 1), stride=1, padding=(1, 0, 0), bias=False)
        self.bn2 = nn.BatchNorm3d(cout, eps=1e-5)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        return F.relu(self.bn2(self.conv2(x)), inplace=True)


class SelfGating(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.fc = nn.Linear(channels, channels)

    def forward(self, x):
        gate = torch.sigmoid(self.fc(x.mean(dim=(2, 3, 4))))
        return x * gate[:, :, None, None, None]


class TfSameMaxPool(nn.Module):
    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        pad = []
        for k, s in reversed(list(zip(kernel, stride))):  # F.pad lists the last dimension first
            total = max(k - s, 0)
            pad += [total // 2, total - total // 2]
        self.pad = tuple(pad)

    def forward(self, x):
        return F.max_pool3d(F.pad(x, self.pad), self.kernel, self.stride, ceil_mode=True)


class Inception(nn.Module):
    def __init__(self, cin, b0, b1a, b1b, b2a, b2b, b3):
        super().__init__()
        self.conv_b0 = ConvBn(cin, b0, 1, 0)
        self.conv_b1_a = ConvBn(cin, b1a, 1, 0)
        self.conv_b1_b = SeparableConvBn(b1a, b1b)
        self.conv_b2_a = ConvBn(cin, b2a, 1, 0)
        self.conv_b2_b = SeparableConvBn(b2a, b2b)
        self.conv_b3_b = ConvBn(cin, b3, 1, 0)
        self.gating_b0 = SelfGating(b0)
        self.gating_b1 = SelfGating(b1b)
        self.gating_b2 = SelfGating(b2b)
        self.gating_b3 = SelfGating(b3)

    def forward(self, x):
        y0 = self.gating_b0(self.conv_b0(x))
        y1 = self.gating_b1(self.conv_b1_b(self.conv_b1_a(x)))
        y2 = self.gating_b2(self.conv_b2_b(self.conv_b2_a(x)))
        y3 = self.gating_b3(self.conv_b3_b(F.max_pool3d(x, 3, stride=1, padding=1)))
        return torch.cat([y0, y1, y2, y3], dim=1)


class S3dG(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = ConvBn(24, 64, (2, 4, 4), (1, 2, 2))
        self.maxpool_2a = TfSameMaxPool((1, 3, 3), (1, 2, 2))
        self.conv_2b = ConvBn(64, 64, 1, 0)
        self.conv_2c = SeparableConvBn(64, 192)
        self.gating = SelfGating(192)
        self.maxpool_3a = TfSameMaxPool((1, 3, 3), (1, 2, 2))
        self.mixed_3b = Inception(192, 64, 96, 128, 16, 32, 32)
        self.mixed_3c = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool_4a = TfSameMaxPool((3, 3, 3), (2, 2, 2))
        self.mixed_4b = Inception(480, 192, 96, 208, 16, 48, 64)
        self.mixed_4c = Inception(512, 160, 112, 224, 24, 64, 64)
        self.mixed_4d = Inception(512, 128, 128, 256, 24, 64, 64)
        self.mixed_4e = Inception(512, 112, 144, 288, 32, 64, 64)
        self.mixed_4f = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool_5a = TfSameMaxPool((2, 2, 2), (2, 2, 2))
        self.mixed_5b = Inception(832, 256, 160, 320, 32, 128, 128)
        self.mixed_5c = Inception(832, 384, 192, 384, 48, 128, 128)
        self.fc = nn.Linear(1024, 512)

    def forward(self, x):
        b, c, t, h, w = x.shape
        x = x.view(b, c, t // 2, 2, h // 2, 2, w // 2, 2).permute(0, 3, 5, 7, 1, 2, 4, 6)
        x = x.reshape(b, 8 * c, t // 2, h // 2, w // 2)
        x = self.conv1(x)[:, :, 1:, 1:, 1:]
        x = self.maxpool_2a(x)
        x = self.gating(self.conv_2c(self.conv_2b(x)))
        x = self.maxpool_3a(x)
        x = self.mixed_3c(self.mixed_3b(x))
        x = self.maxpool_4a(x)
        for block in (self.mixed_4b, self.mixed_4c, self.mixed_4d, self.mixed_4e, self.mixed_4f):
            x = block(x)
        x = self.maxpool_5a(x)
        x = self.mixed_5c(self.mixed_5b(x))
        pooled = x.mean(dim=(2, 3, 4))
        return self.fc(pooled), pooled


def load_model(weights):
    model = S3dG()
    model.load_state_dict(torch.load(weights, map_location="cpu"), strict=True)
    return model.eval()


def read_safetensors(path):
    dtypes = {"U8": np.uint8, "F32": np.float32, "I64": np.int64}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        out[key] = torch.from_numpy(np.frombuffer(data[begin:end], dtype=dtypes[entry["dtype"]]).reshape(entry["shape"]).copy())
    return out


def parity(weights, golden_path):
    model = load_model(weights)
    golden = read_safetensors(golden_path)
    worst = 0.0
    with torch.inference_mode():
        for name in ("small", "mmpt"):
            embedding, mixed = model(golden["input_" + name].float() / 255)
            for label, got in (("video_embedding_", embedding), ("mixed_5c_", mixed)):
                ref = golden[label + name]
                diff = (got - ref).abs().max().item()
                tol = 1e-4 * ref.abs().max().item() + 1e-5
                worst = max(worst, diff / tol)
                print(f"peer parity {label}{name}: max|d|={diff:.3e} tolerance={tol:.3e}")
    if worst > 1:
        sys.exit("peer parity: the reference script does not reproduce the golden outputs")


def bench(weights, seconds, batch, threads):
    torch.set_num_threads(threads)
    model = load_model(weights)
    generator = torch.Generator().manual_seed(20261125)
    pool = [torch.randint(0, 256, (30, 224, 224, 3), dtype=torch.uint8, generator=generator) for _ in range(4)]

    def encode(count):
        outputs = []
        with torch.inference_mode():
            for start in range(0, count, batch):
                n = min(batch, count - start)
                # The same input path as ours: uint8 frames (T,H,W,3) -> (B,3,T,H,W) float /255.
                frames = torch.stack([pool[(start + i) % len(pool)] for i in range(n)])
                x = frames.permute(0, 4, 1, 2, 3).contiguous().float().div_(255)
                embedding, _ = model(x)
                outputs.append(F.normalize(embedding, dim=1))
        return torch.cat(outputs)

    encode(batch)
    t0 = time.perf_counter()
    out = encode(seconds)
    wall = time.perf_counter() - t0
    assert out.shape == (seconds, 512)
    print(f"peer seconds={seconds} wall={wall:.3f} rate={seconds / wall:.4f} torch={torch.__version__} "
          f"mkldnn={torch.backends.mkldnn.is_available()}")


if __name__ == "__main__":
    if sys.argv[1] == "parity":
        parity(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "bench":
        bench(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)
