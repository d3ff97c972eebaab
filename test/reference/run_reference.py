#!/usr/bin/python3
"""Run the reference TripoSR on raw float32 inputs and write raw float32 outputs.

  run_reference.py --ckpt DIR/model.ckpt --config DIR/config.yaml --image in.f32 --points pts.f32 \
                   --out OUTDIR [--threads 2] [--chunk 8192] [--dump-intermediates]

in.f32: little-endian float32 [1, 3, S, S] in [0, 1] (S = cond_image_size, 512), already preprocessed.
pts.f32: little-endian float32 [P, 3], world units (the +-radius box).
Writes OUTDIR/scene_codes.f32 [1, 3, Co, 64, 64], density.f32 [P] (= exp(raw0 - 1)),
color.f32 [P, 3] (sigmoid), all little-endian float32, C order; prints one JSON line
{"encode_ms": ..., "decode_ms": ..., "points": P, "scene_codes_shape": [...]} on stdout.
--dump-intermediates also writes pos_embed.f32 [1 + (S/p)^2, Hv] (the interpolated ViT position table),
image_tokens.f32 [1, 1 + (S/p)^2, Hv] (ViT last_hidden_state), features.f32 [P, 3*Co] (triplane samples,
plane-major) and raw.f32 [P, 4] (decoder output before activations).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep test/reference free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import triposr_reference as ref  # noqa: E402


def read_f32(path: str, shape_tail, what: str) -> torch.Tensor:
    data = np.fromfile(path, dtype="<f4")
    per = int(np.prod(shape_tail))
    if data.size == 0 or data.size % per:
        raise SystemExit(f"{what}: {path} has {data.size} floats, not a multiple of {per}")
    return torch.from_numpy(data.astype(np.float32).reshape(-1, *shape_tail))


def write_f32(path: str, t: torch.Tensor) -> None:
    t.detach().contiguous().numpy().astype("<f4", copy=False).tofile(path)


def load_state(path: str):
    # Our own file; still prefer the restricted unpickler where this torch has it.
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch without weights_only
        return torch.load(path, map_location="cpu")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--points", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=8192, help="decoder points per call (TripoSR: 8192; 0 = all)")
    ap.add_argument("--dump-intermediates", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float32)
    cfg = ref.load_config(args.config)
    model = ref.build(cfg)
    model.load_state_dict(load_state(args.ckpt), strict=True)
    model.float().eval()

    s = model.cond_image_size
    image = read_f32(args.image, (3, s, s), "image")
    if image.shape[0] != 1:
        raise SystemExit(f"image: expected one [1, 3, {s}, {s}] image, got batch {image.shape[0]}")
    points = read_f32(args.points, (3,), "points")
    os.makedirs(args.out, exist_ok=True)

    with torch.no_grad():
        t0 = time.perf_counter()
        codes = model.encode(image)
        t1 = time.perf_counter()
        density, color = model.decode(codes, points.unsqueeze(0), chunk=args.chunk)
        t2 = time.perf_counter()

        write_f32(os.path.join(args.out, "scene_codes.f32"), codes)
        write_f32(os.path.join(args.out, "density.f32"), density[0, :, 0])
        write_f32(os.path.join(args.out, "color.f32"), color[0])

        if args.dump_intermediates:
            emb = model.image_tokenizer.model.embeddings
            write_f32(os.path.join(args.out, "pos_embed.f32"), emb.position_table(s, s)[0])
            write_f32(os.path.join(args.out, "image_tokens.f32"), model.image_tokens(image))
            feats, raw = model.decode_raw(codes[0], points)
            write_f32(os.path.join(args.out, "features.f32"), feats)
            write_f32(os.path.join(args.out, "raw.f32"), raw)

    print(json.dumps({"encode_ms": round((t1 - t0) * 1000, 3), "decode_ms": round((t2 - t1) * 1000, 3),
                      "points": int(points.shape[0]), "scene_codes_shape": list(codes.shape)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
