#!/usr/bin/python3
"""Write a random-weight TripoSR checkpoint (config.yaml + model.ckpt) from the reference module.

  make_checkpoint.py --config tiny|full --out DIR [--seed N] [--no-calibrate]
  make_checkpoint.py --config tiny --out DIR --foreign-global [system|eval]
  make_checkpoint.py --config full --count-only [--keys-out full-keys.txt]   # no checkpoint written

model.ckpt is torch.save(state_dict) (zip format, like TripoSR's); config.yaml has the layout of TripoSR's
config.yaml (same sections, class strings and keys; the tiny one adds the reference-only
image_tokenizer.vit_config mapping to shrink the ViT).

Weights (deterministic for a seed; see init_weights): every tensor gets non-trivial values, so a graph that
drops a bias or a LayerNorm affine is caught. Linear/conv weights ~ N(0, gain^2/fan_in) so activations
keep unit-ish scale at any width (q/k gain 1.5 -> attention logits of std ~2, softmax neither uniform nor
one-hot); biases N(0, 0.02^2); norm weights 1 + N(0, 0.1^2), norm biases N(0, 0.05^2); cls/position
embeddings N(0, 0.5^2) (i.i.d., so a wrong positional interpolation shows); triplane tokens a smooth
random field of std 0.5 (low-frequency 8x8 noise upsampled to the plane, plus 10% white noise); the
ConvTranspose kernel is shared across its 2x2 taps up to 25% per-tap noise (smooth scene codes, no
checkerboard). Calibration (on by default): the encoder is run once on a fixed synthetic image and the
decoder's output layer is rescaled so that over uniform points of the +-0.87 box the raw density has
std 1.5 and its 70th percentile maps to density 25 (TripoSR's iso level; ~30% of the box is inside,
so meshes are non-empty), and the raw colours have std 1.2 around 0 (sigmoid not saturated).
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import sys
import textwrap

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # keep test/reference free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import triposr_reference as ref  # noqa: E402

FULL_YAML = """\
cond_image_size: 512

image_tokenizer_cls: tsr.models.tokenizers.image.DINOSingleImageTokenizer
image_tokenizer:
  pretrained_model_name_or_path: "facebook/dino-vitb16"

tokenizer_cls: tsr.models.tokenizers.triplane.Triplane1DTokenizer
tokenizer:
  plane_size: 32
  num_channels: 1024

backbone_cls: tsr.models.transformer.transformer_1d.Transformer1D
backbone:
  in_channels: ${tokenizer.num_channels}
  num_attention_heads: 16
  attention_head_dim: 64
  num_layers: 16
  cross_attention_dim: 768

post_processor_cls: tsr.models.network_utils.TriplaneUpsampleNetwork
post_processor:
  in_channels: 1024
  out_channels: 40

decoder_cls: tsr.models.network_utils.NeRFMLP
decoder:
  in_channels: 120 # 3 * 40
  n_neurons: 64
  n_hidden_layers: 9
  activation: silu

renderer_cls: tsr.models.nerf_renderer.TriplaneNeRFRenderer
renderer:
  radius: 0.87 # slightly larger than 0.5 * sqrt(3)
  feature_reduction: concat
  density_activation: exp
  density_bias: -1.0
  num_samples_per_ray: 128
"""

# Tiny: every structural feature of the full model (512 input, 16-pixel patches, 14x14 position grid
# interpolated to 32x32 with the 4.35 trap, CLS token, several layers and heads, cross-attention whose
# K/V width (48) differs from the block width (96), block width differing from the token channels (64),
# GroupNorm with its default 32 groups, GEGLU, 32x32 planes -> 40x64x64 scene codes, the real decoder)
# with small hidden sizes.
TINY_YAML = """\
cond_image_size: 512

image_tokenizer_cls: tsr.models.tokenizers.image.DINOSingleImageTokenizer
image_tokenizer:
  pretrained_model_name_or_path: "reference/tiny-vit"
  # Reference-only extension (not in TripoSR's config.yaml): HF ViTConfig fields of the image encoder.
  vit_config:
    hidden_size: 48
    num_hidden_layers: 3
    num_attention_heads: 4
    intermediate_size: 192
    hidden_act: gelu
    layer_norm_eps: 1.0e-12
    image_size: 224
    patch_size: 16
    num_channels: 3
    qkv_bias: true

tokenizer_cls: tsr.models.tokenizers.triplane.Triplane1DTokenizer
tokenizer:
  plane_size: 32
  num_channels: 64

backbone_cls: tsr.models.transformer.transformer_1d.Transformer1D
backbone:
  in_channels: ${tokenizer.num_channels}
  num_attention_heads: 4
  attention_head_dim: 24
  num_layers: 3
  cross_attention_dim: 48

post_processor_cls: tsr.models.network_utils.TriplaneUpsampleNetwork
post_processor:
  in_channels: ${tokenizer.num_channels}
  out_channels: 40

decoder_cls: tsr.models.network_utils.NeRFMLP
decoder:
  in_channels: 120 # 3 * 40
  n_neurons: 64
  n_hidden_layers: 9
  activation: silu

renderer_cls: tsr.models.nerf_renderer.TriplaneNeRFRenderer
renderer:
  radius: 0.87
  feature_reduction: concat
  density_activation: exp
  density_bias: -1.0
  num_samples_per_ray: 128
"""

CONFIGS = {"full": FULL_YAML, "tiny": TINY_YAML}

ISO_LEVEL = 25.0          # TripoSR's extract_mesh threshold
INSIDE_FRACTION = 0.30    # share of uniform box points with density >= ISO_LEVEL after calibration
RAW_DENSITY_STD = 1.5
RAW_COLOR_STD = 1.2


def parse_config_text(text: str) -> dict:
    import yaml

    return ref.resolve_config(yaml.safe_load(text))


# --------------------------------------------------------------------------------------------------
# Initialisation
# --------------------------------------------------------------------------------------------------


def _normal(g: torch.Generator, shape, std: float, mean: float = 0.0) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float32) * std + mean


def _smooth_field(g: torch.Generator, planes: int, channels: int, size: int, std: float) -> torch.Tensor:
    coarse = torch.randn(planes * channels, 1, 8, 8, generator=g)
    field = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    field = field.reshape(planes, channels, size, size)
    field = field / field.std() + 0.1 * torch.randn(planes, channels, size, size, generator=g)
    return field / field.std() * std


@torch.no_grad()
def init_weights(model: ref.TSRReference, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    # Visit in state_dict order so a seed always gives the same tensors.
    mods = dict(model.named_modules())
    for name, p in model.named_parameters():
        mod_name, _, leaf = name.rpartition(".")
        mod = mods[mod_name]
        if isinstance(mod, (nn.LayerNorm, nn.GroupNorm)):
            p.copy_(_normal(g, p.shape, 0.1, 1.0) if leaf == "weight" else _normal(g, p.shape, 0.05))
        elif leaf == "bias":
            p.copy_(_normal(g, p.shape, 0.02))
        elif name.endswith("embeddings.cls_token") or name.endswith("embeddings.position_embeddings"):
            p.copy_(_normal(g, p.shape, 0.5))
        elif name == "tokenizer.embeddings":
            p.copy_(_smooth_field(g, p.shape[0], p.shape[1], p.shape[2], 0.5))
        elif isinstance(mod, nn.ConvTranspose2d):
            c_in, c_out = p.shape[0], p.shape[1]
            base = _normal(g, (c_in, c_out, 1, 1), 1.0 / math.sqrt(c_in))
            p.copy_(base + _normal(g, p.shape, 0.25 / math.sqrt(c_in)))
        elif isinstance(mod, (nn.Linear, nn.Conv2d)):
            fan_in = p[0].numel()
            gain = 1.0
            if leaf == "weight" and (mod_name.endswith(("to_q", "to_k", ".query", ".key"))):
                gain = 1.5
            elif mod_name.startswith("decoder."):
                gain = 1.8  # keeps variance through SiLU
            elif mod_name.endswith(("to_out.0", "ff.net.2", "output.dense", "proj_out")):
                gain = 0.7  # residual branches: stream grows slowly over the depth
            p.copy_(_normal(g, p.shape, gain / math.sqrt(fan_in)))
        else:
            raise RuntimeError(f"no init rule for {name}")


def synthetic_image(size: int) -> torch.Tensor:
    """A TripoSR-like conditioning image: grey background, a shaded coloured disc and a bar."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    disc = ((x * x + y * y) < 0.45).float()
    bar = ((x.abs() < 0.12) & (y > -0.9) & (y < 0.2)).float()
    shade = 0.5 + 0.4 * x - 0.2 * y
    img = torch.full((3, size, size), 0.5)
    img[0] = torch.where(disc > 0, 0.8 * shade, img[0])
    img[1] = torch.where(disc > 0, 0.3 + 0.2 * y, img[1])
    img[2] = torch.where(disc > 0, 0.2 * shade, img[2])
    img = torch.where(bar > 0, torch.tensor([0.1, 0.2, 0.9]).view(3, 1, 1), img)
    return img.clamp(0, 1).unsqueeze(0)


@torch.no_grad()
def calibrate(model: ref.TSRReference, seed: int, n_points: int = 32768) -> dict:
    g = torch.Generator().manual_seed(seed + 1)
    codes = model.encode(synthetic_image(model.cond_image_size))
    r = model.renderer.radius
    pts = (torch.rand(n_points, 3, generator=g) * 2 - 1) * r
    _, raw = model.decode_raw(codes[0], pts)
    last = model.decoder.layers[-1]
    # density row: std -> RAW_DENSITY_STD, (1 - INSIDE_FRACTION) quantile -> log(ISO) - density_bias
    d = raw[:, 0]
    s = RAW_DENSITY_STD / float(d.std())
    target = math.log(ISO_LEVEL) - model.renderer.density_bias
    q = float(torch.quantile(d * s, 1.0 - INSIDE_FRACTION))
    last.weight[0] *= s
    last.bias[0] = last.bias[0] * s + (target - q)
    for i in range(1, 4):
        c = raw[:, i]
        sc = RAW_COLOR_STD / float(c.std())
        last.weight[i] *= sc
        last.bias[i] = last.bias[i] * sc - float(c.mean()) * sc
    dens, col = model.decode(codes, pts.unsqueeze(0))
    return {
        "scene_codes_absmax": float(codes.abs().max()),
        "scene_codes_std": float(codes.std()),
        "inside_fraction": float((dens >= ISO_LEVEL).float().mean()),
        "density_median": float(dens.median()),
        "color_mean": [round(float(v), 3) for v in col.mean(dim=(0, 1))],
        "color_saturated_fraction": float(((col < 0.01) | (col > 0.99)).float().mean()),
    }


# --------------------------------------------------------------------------------------------------
# Foreign-global checkpoint (for the reader's refusal test)
# --------------------------------------------------------------------------------------------------


class ForeignGlobal:
    """Pickles as a call to a foreign callable. Pickling only records the reference; nothing runs here."""

    def __init__(self, kind: str):
        self.kind = kind

    def __reduce__(self):
        if self.kind == "eval":
            import builtins

            return (builtins.eval, ("print('FOREIGN GLOBAL EXECUTED')",))
        return (os.system, ("echo FOREIGN GLOBAL EXECUTED",))  # recorded as posix.system on Linux


def pickle_globals(ckpt_path: str) -> list:
    """List the GLOBAL / STACK_GLOBAL references of a torch zip checkpoint's data.pkl without unpickling."""
    import pickletools
    import zipfile

    with zipfile.ZipFile(ckpt_path) as z:
        name = next(n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl")
        data = z.read(name)
    found, strings = [], []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif op.name == "GLOBAL":
            found.append(arg.replace(" ", "."))
        elif op.name == "STACK_GLOBAL":
            found.append(f"{strings[-2]}.{strings[-1]}")
    return sorted(set(found))


# --------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=sorted(CONFIGS), required=True)
    ap.add_argument("--out", help="output directory (config.yaml, model.ckpt)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-calibrate", action="store_true", help="skip the decoder output calibration")
    ap.add_argument("--foreign-global", nargs="?", const="system", choices=["system", "eval"],
                    help="add an entry whose pickle calls os.system / builtins.eval (never executed here)")
    ap.add_argument("--count-only", action="store_true", help="print parameter count and exit")
    ap.add_argument("--keys-out", help="write 'name [shape]' per state-dict entry to this file")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    text = CONFIGS[args.config]
    model = ref.build(parse_config_text(text))
    sd = model.state_dict()
    n_params = sum(t.numel() for t in sd.values())
    if args.keys_out:
        with open(args.keys_out, "w", encoding="utf-8") as fh:
            for k, t in sd.items():
                fh.write(f"{k} [{','.join(str(d) for d in t.shape)}]\n")
    if args.count_only:
        print(f'{{"config": "{args.config}", "tensors": {len(sd)}, "parameters": {n_params}, '
              f'"fp32_bytes": {4 * n_params}}}')
        return 0
    if not args.out:
        ap.error("--out is required")

    init_weights(model, args.seed)
    stats = None if args.no_calibrate else calibrate(model, args.seed)

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.yaml"), "w", encoding="utf-8") as fh:
        fh.write(text)
    state = model.state_dict()
    if args.foreign_global:
        state["__foreign__"] = ForeignGlobal(args.foreign_global)
    ckpt = os.path.join(args.out, "model.ckpt")
    torch.save(state, ckpt)
    info = {"config": args.config, "seed": args.seed, "tensors": len(sd), "parameters": n_params,
            "file_bytes": os.path.getsize(ckpt), "calibration": stats}
    if args.foreign_global:
        info["pickle_globals"] = pickle_globals(ckpt)
    print(info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
