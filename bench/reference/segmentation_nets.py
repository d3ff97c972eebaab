#!/usr/bin/python3
"""Stand-ins of the size and shape of rembg's u2net and isnet-general-use networks, with random weights.

  segmentation_nets.py --out DIR [--seed 11] [--networks u2net,isnet-general-use]

writes, per network, DIR/<name>.pt (torch.save of the state dict, for the PyTorch side of the benchmark)
and DIR/<name>.onnx (the same weights exported by torch.onnx, opset 17, for onnxruntime), and prints one
JSON line per network (parameters, file sizes).

The architectures follow the published descriptions (read, not copied):
- U^2-Net (Qin et al. 2020, xuebinqin/U-2-Net model/u2net.py): six encoder stages of residual U-blocks
  RSU-7, 6, 5, 4, 4F, 4F with 2x2 max pooling (ceil mode) between them, five decoder stages RSU-4F, 4, 5,
  6, 7 fed with the upsampled deeper stage concatenated with the skip, a 3x3 side convolution to one
  channel on each decoder stage and on the deepest encoder stage, each side upsampled (bilinear,
  align_corners False) to the input size, a 1x1 fusion of the six sides; seven sigmoid outputs, the fused
  one first. Input 1x3x320x320. About 44.0 M parameters.
- IS-Net (DIS, Qin et al. 2022, xuebinqin/DIS IS-Net/models/isnet.py): the same RSU family and decoder on
  a 1024x1024 input, after a plain 3x3 stride-2 stem convolution (3 -> 64, no norm); the stage-1 RSU-7
  takes 64 channels. No fusion: six sigmoid side outputs at the input size, the finest first. isnet.py
  declares a max pooling after the stem but its forward does not call it (`#hx = self.pool_in(hxin)`), so
  stage 1 runs at 512x512; this module does the same, which is what sets the network's cost.

Weights: convolutions He-normal (fan-in, ReLU gain), biases N(0, 0.01^2); batch-norm affine 1 + N(0, 0.1^2)
and N(0, 0.1^2); running statistics calibrated on one natural image (skimage's astronaut, prepared as rembg
does for that network) so every pre-activation is about unit scale, as in a trained network. The outputs
are therefore neither saturated nor constant, and the masks vary over the image.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True

# rembg's preprocessing facts per network: (input side, mean, std).
RECIPES = {
    "u2net": (320, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "isnet-general-use": (1024, (0.485, 0.456, 0.406), (1.0, 1.0, 1.0)),
}
CALIBRATION_IMAGE = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"


class ConvBnRelu(nn.Module):
    """3x3 convolution (optionally dilated; padding keeps the size), batch norm, ReLU."""

    def __init__(self, cin: int, cout: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def resize_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[2:], mode="bilinear", align_corners=False)


class PooledUBlock(nn.Module):
    """RSU-L: an input conv, a small U-Net of depth L (pooling on the way down, a dilation-2 conv at the
    bottom, bilinear upsampling on the way up), and a residual add of the input conv's output."""

    def __init__(self, height: int, cin: int, mid: int, cout: int) -> None:
        super().__init__()
        self.entry = ConvBnRelu(cin, cout)
        # height - 1 levels with a conv each; pooling between consecutive ones.
        self.down = nn.ModuleList([ConvBnRelu(cout, mid)] + [ConvBnRelu(mid, mid) for _ in range(height - 2)])
        self.bottom = ConvBnRelu(mid, mid, dilation=2)
        self.up = nn.ModuleList([ConvBnRelu(2 * mid, mid) for _ in range(height - 2)] + [ConvBnRelu(2 * mid, cout)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        entry = self.entry(x)
        skips: List[torch.Tensor] = []
        h = entry
        for i, conv in enumerate(self.down):
            if i > 0:
                h = F.max_pool2d(h, 2, stride=2, ceil_mode=True)
            h = conv(h)
            skips.append(h)
        h = self.bottom(h)
        for i, conv in enumerate(self.up):
            skip = skips[len(skips) - 1 - i]
            if h.shape[2:] != skip.shape[2:]:
                h = resize_to(h, skip)
            h = conv(torch.cat((h, skip), 1))
        return h + entry


class DilatedUBlock(nn.Module):
    """RSU-4F: the same shape with dilations 1, 2, 4, 8 instead of pooling (the deep, small stages)."""

    def __init__(self, cin: int, mid: int, cout: int) -> None:
        super().__init__()
        self.entry = ConvBnRelu(cin, cout)
        self.down = nn.ModuleList([ConvBnRelu(cout, mid, 1), ConvBnRelu(mid, mid, 2), ConvBnRelu(mid, mid, 4)])
        self.bottom = ConvBnRelu(mid, mid, dilation=8)
        self.up = nn.ModuleList([ConvBnRelu(2 * mid, mid, 4), ConvBnRelu(2 * mid, mid, 2), ConvBnRelu(2 * mid, cout, 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        entry = self.entry(x)
        skips: List[torch.Tensor] = []
        h = entry
        for conv in self.down:
            h = conv(h)
            skips.append(h)
        h = self.bottom(h)
        for i, conv in enumerate(self.up):
            h = conv(torch.cat((h, skips[len(skips) - 1 - i]), 1))
        return h + entry


def u_block(height: int, cin: int, mid: int, cout: int) -> nn.Module:
    return DilatedUBlock(cin, mid, cout) if height == 0 else PooledUBlock(height, cin, mid, cout)


# (height, in, mid, out); height 0 is RSU-4F. Shared by both networks apart from stage 1's input width.
ENCODER = [(7, 3, 32, 64), (6, 64, 32, 128), (5, 128, 64, 256), (4, 256, 128, 512), (0, 512, 256, 512), (0, 512, 256, 512)]
DECODER = [(0, 1024, 256, 512), (4, 1024, 128, 256), (5, 512, 64, 128), (6, 256, 32, 64), (7, 128, 16, 64)]


class NestedUNet(nn.Module):
    """The U^2-Net body: encoder stages, decoder stages, one-channel side maps at the input size.

    `stem` (IS-Net) puts a stride-2 conv in front and widens stage 1's input; `fuse` (U^2-Net) adds the
    1x1 fusion of the six sides as the first output."""

    def __init__(self, stem: bool, fuse: bool) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, stride=2, padding=1) if stem else None
        encoder = list(ENCODER)
        if stem:
            encoder[0] = (7, 64, 32, 64)
        self.encoder = nn.ModuleList([u_block(*spec) for spec in encoder])
        self.decoder = nn.ModuleList([u_block(*spec) for spec in DECODER])
        # Side maps from the finest decoder stage to the deepest encoder stage.
        side_widths = [DECODER[4][3], DECODER[3][3], DECODER[2][3], DECODER[1][3], DECODER[0][3], ENCODER[5][3]]
        self.sides = nn.ModuleList([nn.Conv2d(c, 1, 3, padding=1) for c in side_widths])
        self.fusion = nn.Conv2d(6, 1, 1) if fuse else None

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        h = self.stem(x) if self.stem is not None else x
        encoded: List[torch.Tensor] = []
        for i, stage in enumerate(self.encoder):
            if i > 0:
                h = F.max_pool2d(h, 2, stride=2, ceil_mode=True)
            h = stage(h)
            encoded.append(h)
        decoded: List[torch.Tensor] = [encoded[5]]
        for i, stage in enumerate(self.decoder):
            skip = encoded[4 - i]
            h = stage(torch.cat((resize_to(h, skip), skip), 1))
            decoded.append(h)
        # decoded: [enc6, dec5, dec4, dec3, dec2, dec1]; sides go finest first.
        features = decoded[::-1]
        sides = []
        for conv, feature in zip(self.sides, features):
            side = conv(feature)
            if side.shape[2:] != x.shape[2:]:
                side = resize_to(side, x)
            sides.append(side)
        if self.fusion is not None:
            sides.insert(0, self.fusion(torch.cat(sides, 1)))
        return tuple(torch.sigmoid(s) for s in sides)


def build(name: str) -> nn.Module:
    if name == "u2net":
        return NestedUNet(stem=False, fuse=True)
    if name == "isnet-general-use":
        return NestedUNet(stem=True, fuse=False)
    raise ValueError(f"unknown network {name}")


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def rembg_style_input(image_path: str, side: int, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """The calibration input, prepared the way rembg prepares a network's input."""
    from PIL import Image

    rgb = np.array(Image.open(image_path).convert("RGB").resize((side, side), Image.Resampling.LANCZOS))
    scaled = rgb / max(np.max(rgb), 1e-6)
    chw = ((scaled - np.array(mean)) / np.array(std)).transpose(2, 0, 1)
    return torch.from_numpy(chw[None].astype(np.float32))


def randomise(model: nn.Module, seed: int, calibration: torch.Tensor) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.01)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=generator))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
                module.reset_running_stats()
                module.momentum = None  # cumulative average: one batch gives that batch's statistics
        # One training-mode pass records every batch norm's statistics on a natural image.
        model.train()
        model(calibration)
    model.eval()


def make(name: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = build(name)
    side, mean, std = RECIPES[name]
    randomise(model, seed, rembg_style_input(CALIBRATION_IMAGE, side, mean, std))
    return model


def load(name: str, weights: str) -> nn.Module:
    model = build(name)
    model.load_state_dict(torch.load(weights, map_location="cpu"), strict=True)
    return model.eval()


def export(model: nn.Module, name: str, path: str) -> None:
    side = RECIPES[name][0]
    outputs = len(model(torch.zeros(1, 3, side, side)))
    # The tracer warns about the Python shape tests; the shapes are fixed, so the traced branches hold.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message=".*shape inference.*")
    torch.onnx.export(
        model,
        (torch.zeros(1, 3, side, side),),
        path,
        opset_version=17,
        input_names=["input"],
        output_names=["output"] + [f"side{i}" for i in range(1, outputs)],
        do_constant_folding=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--networks", default="u2net,isnet-general-use")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for name in args.networks.split(","):
        with torch.no_grad():
            model = make(name, args.seed)
            pt = os.path.join(args.out, f"{name}.pt")
            onnx_path = os.path.join(args.out, f"{name}.onnx")
            torch.save(model.state_dict(), pt)
            export(model, name, onnx_path)
        print(
            json.dumps(
                {
                    "network": name,
                    "parameters": parameter_count(model),
                    "pt_bytes": os.path.getsize(pt),
                    "onnx_bytes": os.path.getsize(onnx_path),
                    "input": [1, 3, RECIPES[name][0], RECIPES[name][0]],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
