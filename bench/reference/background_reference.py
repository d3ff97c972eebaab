#!/usr/bin/python3
"""The reference side of bench/background.bench.ts: what TripoSR's run.py does to a photo before its
encoder, with rembg's code path and a PyTorch network instead of onnxruntime, timed per stage.

  background_reference.py --network u2net|isnet-general-use --weights NET.pt --image PHOTO.jpg
      [--runs 3] [--warmup 1] [--threads 2] [--ratio 0.85] [--out DIR] [--their-input F.f32] [--serve]

Stages, each as the upstream code writes it (rembg bg.py remove + sessions/base.py normalize +
sessions/u2net.py / dis_general_use.py predict; TripoSR run.py + tsr/utils.py):
  decode   PIL Image.open + load, ImageOps.exif_transpose (rembg's fix_image_orientation)
  input    normalize: convert RGB, LANCZOS resize to the network's side, / max, mean/std, CHW float32
  network  the torch module (bench/reference/segmentation_nets.py) on that tensor, first output
  mask     min-max, * 255 -> uint8, 'L' image, LANCZOS back to the photo's size
  frame    naive_cutout (Image.composite over transparent), resize_foreground(ratio), grey composite
           with uint8 truncation, ImagePreprocessor (F.interpolate bilinear, antialias) to 512x512
Prints one JSON line (per-run stage seconds and versions), or with --serve takes `run`/`save` commands
on stdin and answers each with a JSON line; with --out writes the last run's arrays
(<network>.rgb.u8 upright HWC, .input.f32 CHW, .pred.f32, .mask.u8, .tensor.f32 CHW) for the comparison
with ours, and with --their-input also the network's output on that input (.pred-on-theirs.f32), which
compares the networks alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import PIL
import torch
from PIL import Image, ImageOps

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# rembg's and TripoSR's steps are the ones the parity tests hold our code to, written once.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "reference"))
import segmentation_nets as nets  # noqa: E402
from rembg_reference import normalize as rembg_normalize, predict_after_network  # noqa: E402
from triposr_framing import convert_and_resize, fill_on_grey, naive_cutout, resize_foreground  # noqa: E402

TRIPOSR_SIZE = 512


def one_run(path, model, recipe, ratio):
    side, mean, std = recipe
    times = {}
    t = time.perf_counter()
    img = Image.open(path)
    img.load()
    img = ImageOps.exif_transpose(img)
    times["decode"] = time.perf_counter() - t

    t = time.perf_counter()
    net_input = rembg_normalize(img, mean, std, (side, side))
    times["input"] = time.perf_counter() - t

    t = time.perf_counter()
    with torch.no_grad():
        first = model(torch.from_numpy(net_input))[0].numpy()
    times["network"] = time.perf_counter() - t

    t = time.perf_counter()
    mask = predict_after_network(img, first, False)[0]
    times["mask"] = time.perf_counter() - t

    t = time.perf_counter()
    cutout = naive_cutout(img, mask)
    framed = resize_foreground(cutout, ratio)
    tensor = convert_and_resize(fill_on_grey(framed), TRIPOSR_SIZE)
    times["frame"] = time.perf_counter() - t
    # Where the crop fell, for the report (outside the timings): resize_foreground's own bounding box.
    ys, xs = np.where(np.array(mask) > 0)
    box = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()), framed.size[0])
    arrays = {
        "rgb": np.array(img.convert("RGB")),
        "input": net_input,
        "pred": first,
        "mask": np.array(mask),
        "tensor": tensor.permute(2, 0, 1).contiguous().numpy(),
    }
    return times, arrays, img.size, box


def save(out, network, arrays, model, recipe, their_input):
    os.makedirs(out, exist_ok=True)
    for key, array in arrays.items():
        dtype = np.uint8 if array.dtype == np.uint8 else np.dtype("<f4")
        suffix = "u8" if dtype == np.uint8 else "f32"
        np.ascontiguousarray(array).astype(dtype).tofile(os.path.join(out, f"{network}.{key}.{suffix}"))
    if their_input:
        side = recipe[0]
        theirs = np.fromfile(their_input, "<f4").reshape(1, 3, side, side)
        with torch.no_grad():
            first = model(torch.from_numpy(theirs))[0].numpy()
        first.astype("<f4").tofile(os.path.join(out, f"{network}.pred-on-theirs.f32"))


def emit(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def serve(args, model, recipe):
    """One command a line on stdin, one JSON line back: `run` (one timed run), `save` (the last run's
    arrays to --out, plus the network on --their-input), anything else ends. Lets a caller alternate
    these runs with its own, so both sides see the same machine load."""
    last = None
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            times, arrays, size, box = one_run(args.image, model, recipe, args.ratio)
            last = arrays
            emit({"times": times, "size": list(size), "box": list(box)})
        elif command == "save" and last is not None and args.out:
            save(args.out, args.network, last, model, recipe, args.their_input)
            emit({"saved": args.out})
        else:
            break


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", required=True, choices=sorted(nets.RECIPES))
    parser.add_argument("--weights", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ratio", type=float, default=0.85)
    parser.add_argument("--out")
    parser.add_argument("--their-input", help="a float32 network input from elsewhere: the network's first output on it is written too")
    parser.add_argument("--serve", action="store_true", help="take run/save commands on stdin instead of --runs")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    t = time.perf_counter()
    model = nets.load(args.network, args.weights)
    facts = {
        "load_s": time.perf_counter() - t,
        "threads": torch.get_num_threads(),
        "versions": f"torch {torch.__version__}, Pillow {PIL.__version__}, numpy {np.__version__}",
    }
    recipe = nets.RECIPES[args.network]
    if args.serve:
        emit(facts)
        serve(args, model, recipe)
        return
    runs = []
    for i in range(args.warmup + args.runs):
        times, arrays, size, box = one_run(args.image, model, recipe, args.ratio)
        if i >= args.warmup:
            runs.append(times)
    if args.out:
        save(args.out, args.network, arrays, model, recipe, args.their_input)
    emit({**facts, "runs": runs, "size": list(size), "box": list(box)})


if __name__ == "__main__":
    main()
