#!/usr/bin/python3
"""TripoSR's framing of an image, step by step as its own code does it, for parity tests.

Run with Debian's /usr/bin/python3 (python3-pil 9.4, python3-numpy, python3-torch 1.13).

The steps follow, line by line and with the same libraries:
  - rembg's naive_cutout (rembg/bg.py): Image.composite(img, Image.new("RGBA", img.size, 0), mask),
    applied only when a mask is given (TripoSR's remove_background runs rembg, whose default cutout
    this is);
  - TripoSR's resize_foreground (tsr/utils.py), with its exclusive-end crop;
  - TripoSR's run.py: composite on grey 0.5 in float32 and `(image * 255.0).astype(np.uint8)`;
  - TripoSR's ImagePreprocessor.convert_and_resize (tsr/utils.py): /255 then F.interpolate(bilinear,
    align_corners=False, antialias=True) to 512 x 512.
The one departure: an image without alpha is converted to RGBA (alpha 255), i.e. the whole image is
the object, which is what the extension does with an opaque image when background removal is off.

Modes (all files raw little-endian float32 unless named .png):
  frame IMAGE.png OUT.f32 [--mask MASK.png] [--ratio R] [--size 512]
      writes the network input, 3 x size x size, channel-major (the layout the tokenizer takes).
  cutout IMAGE.png MASK.png OUT.rgba
      writes rembg's naive_cutout of the image by the mask as raw RGBA bytes (row-major).
  interpolate IN.f32 C H W OUT_H OUT_W OUT.f32
      writes F.interpolate of the C x H x W array (batch of 1) to C x OUT_H x OUT_W.
  batch JOBS.json
      runs a list of {"mode": "frame"|"cutout"|"interpolate", ...} jobs in one process (keys as the
      arguments above: image, out, mask, ratio, size / image, mask, out / input, channels, height,
      width, out_height, out_width, out); prints one JSON result per job.
"""
import argparse
import json
import sys

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from PIL import Image


def naive_cutout(img, mask):
    # rembg/bg.py
    empty = Image.new("RGBA", (img.size), 0)
    cutout = Image.composite(img, empty, mask)
    return cutout


def resize_foreground(image, ratio):
    # tsr/utils.py, unchanged
    image = np.array(image)
    assert image.shape[-1] == 4
    alpha = np.where(image[..., 3] > 0)
    y1, y2, x1, x2 = (
        alpha[0].min(),
        alpha[0].max(),
        alpha[1].min(),
        alpha[1].max(),
    )
    # crop the foreground
    fg = image[y1:y2, x1:x2]
    # pad to square
    size = max(fg.shape[0], fg.shape[1])
    ph0, pw0 = (size - fg.shape[0]) // 2, (size - fg.shape[1]) // 2
    ph1, pw1 = size - fg.shape[0] - ph0, size - fg.shape[1] - pw0
    new_image = np.pad(
        fg,
        ((ph0, ph1), (pw0, pw1), (0, 0)),
        mode="constant",
        constant_values=((0, 0), (0, 0), (0, 0)),
    )

    # compute padding according to the ratio
    new_size = int(new_image.shape[0] / ratio)
    # pad to size, double side
    ph0, pw0 = (new_size - size) // 2, (new_size - size) // 2
    ph1, pw1 = new_size - size - ph0, new_size - size - pw0
    new_image = np.pad(
        new_image,
        ((ph0, ph1), (pw0, pw1), (0, 0)),
        mode="constant",
        constant_values=((0, 0), (0, 0), (0, 0)),
    )
    new_image = PIL.Image.fromarray(new_image)
    return new_image


def convert_and_resize(image, size):
    # tsr/utils.py ImagePreprocessor.convert_and_resize, the PIL branch (run.py hands it a PIL image)
    if isinstance(image, PIL.Image.Image):
        image = torch.from_numpy(np.array(image).astype(np.float32) / 255.0)
    batched = image.ndim == 4
    if not batched:
        image = image[None, ...]
    image = F.interpolate(
        image.permute(0, 3, 1, 2),
        (size, size),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    ).permute(0, 2, 3, 1)
    if not batched:
        image = image[0]
    return image


def fill_on_grey(image):
    # run.py, after resize_foreground: composite on grey 0.5 in float32, truncated back to uint8
    image = np.array(image).astype(np.float32) / 255.0
    image = image[:, :, :3] * image[:, :, 3:4] + (1 - image[:, :, 3:4]) * 0.5
    return Image.fromarray((image * 255.0).astype(np.uint8))


def frame(image_path, out_path, mask_path=None, ratio=0.85, size=512):
    image = Image.open(image_path)
    if mask_path is not None:
        # rembg.remove with its default cutout: the mask is an 'L' image at the source size
        mask = Image.open(mask_path)
        assert mask.mode == "L", mask.mode
        image = naive_cutout(image, mask)
    elif image.mode != "RGBA":
        image = image.convert("RGBA")
    # run.py
    image = resize_foreground(image, ratio)
    image = fill_on_grey(image)
    # TSR.forward -> ImagePreprocessor; the tokenizer then takes B Nv C H W
    tensor = convert_and_resize(image, size)
    chw = tensor.permute(2, 0, 1).contiguous().numpy().astype(np.float32)
    chw.tofile(out_path)
    return {"canvas": image.size[0]}


def cutout(image_path, mask_path, out_path):
    image = naive_cutout(Image.open(image_path), Image.open(mask_path))
    assert image.mode == "RGBA", image.mode
    np.asarray(image, dtype=np.uint8).tofile(out_path)
    return {"width": image.size[0], "height": image.size[1]}


def interpolate(in_path, channels, height, width, out_height, out_width, out_path):
    x = np.fromfile(in_path, dtype=np.float32).reshape(1, channels, height, width)
    y = F.interpolate(
        torch.from_numpy(x),
        (out_height, out_width),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )
    y[0].contiguous().numpy().astype(np.float32).tofile(out_path)
    return {}


def run_job(job):
    if job["mode"] == "frame":
        return frame(job["image"], job["out"], job.get("mask"), float(job.get("ratio", 0.85)), int(job.get("size", 512)))
    if job["mode"] == "cutout":
        return cutout(job["image"], job["mask"], job["out"])
    if job["mode"] == "interpolate":
        return interpolate(
            job["input"], int(job["channels"]), int(job["height"]), int(job["width"]),
            int(job["out_height"]), int(job["out_width"]), job["out"],
        )
    raise ValueError("unknown mode " + str(job["mode"]))


def main():
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("frame")
    p.add_argument("image")
    p.add_argument("out")
    p.add_argument("--mask")
    p.add_argument("--ratio", type=float, default=0.85)
    p.add_argument("--size", type=int, default=512)
    p = sub.add_parser("cutout")
    for name in ("image", "mask", "out"):
        p.add_argument(name)
    p = sub.add_parser("interpolate")
    for name in ("input", "channels", "height", "width", "out_height", "out_width", "out"):
        p.add_argument(name)
    p = sub.add_parser("batch")
    p.add_argument("jobs")
    args = parser.parse_args()
    if args.mode == "batch":
        with open(args.jobs) as f:
            jobs = json.load(f)
        results = [run_job(job) for job in jobs]
    else:
        results = [run_job(vars(args))]
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
