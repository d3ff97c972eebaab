"""rembg's pre- and post-processing, step for step, with the real Pillow and numpy (no rembg import).

Run with Debian's /usr/bin/python3 (python3-pil 9.4, python3-numpy 1.24):

    rembg_reference.py JOBS.json

JOBS.json is a list of jobs; each writes its result files and nothing else:

- {"op": "resize", "image": PNG, "size": [w, h], "filter": "lanczos" | "bilinear", "out": RAW,
   "convert": MODE (optional)}
  Image.open(PNG)[.convert(MODE)].resize(size, filter) as raw bytes (mode L or RGB).
- {"op": "normalize", "network": NAME, "image": PNG, "out": F32}
  The network input rembg feeds, [1, 3, H, W] float32.
- {"op": "predict", "network": NAME, "image": PNG, "output": F32, "shape": [1, C, H, W],
   "mask": RAW, "stats": JSON}
  rembg's predict after the network ran and returned OUTPUT: the mask at the image's size as raw
  'L' bytes, and {"peak": max, "floor": min} of the activated prediction before normalisation.
- {"op": "sigmoid", "input": F32, "out": F32}
  BiRefNet's sigmoid on a float32 array.

The per-network values and steps follow danielgatis/rembg's rembg/sessions: base.py (normalize),
u2net.py, u2netp.py, dis_general_use.py, birefnet_general.py (birefnet_general_lite.py inherits it).
"""

import json
import sys

import numpy as np
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# name -> (mean, std, size passed to normalize, whether predict applies the sigmoid)
NETWORKS = {
    "u2net": (IMAGENET_MEAN, IMAGENET_STD, (320, 320), False),
    "u2netp": (IMAGENET_MEAN, IMAGENET_STD, (320, 320), False),
    "isnet-general-use": (IMAGENET_MEAN, (1.0, 1.0, 1.0), (1024, 1024), False),
    "birefnet-general-lite": (IMAGENET_MEAN, IMAGENET_STD, (1024, 1024), True),
}

FILTERS = {"lanczos": Image.Resampling.LANCZOS, "bilinear": Image.Resampling.BILINEAR}


def normalize(img, mean, std, size):
    """BaseSession.normalize: the array rembg hands to onnxruntime."""
    im = img.convert("RGB").resize(size, Image.Resampling.LANCZOS)

    im_ary = np.array(im)
    im_ary = im_ary / max(np.max(im_ary), 1e-6)

    tmp = np.zeros((im_ary.shape[0], im_ary.shape[1], 3))
    tmp[:, :, 0] = (im_ary[:, :, 0] - mean[0]) / std[0]
    tmp[:, :, 1] = (im_ary[:, :, 1] - mean[1]) / std[1]
    tmp[:, :, 2] = (im_ary[:, :, 2] - mean[2]) / std[2]

    tmp = tmp.transpose((2, 0, 1))
    return np.expand_dims(tmp, 0).astype(np.float32)


def sigmoid(mat):
    """BiRefNetSessionGeneral.sigmoid."""
    return 1 / (1 + np.exp(-mat))


def predict_after_network(img, ort_out0, activate):
    """The rest of each session's predict, given ort_outs[0]; returns (mask, max, min)."""
    pred = ort_out0[:, 0, :, :]
    if activate:
        pred = sigmoid(pred)

    ma = np.max(pred)
    mi = np.min(pred)

    pred = (pred - mi) / (ma - mi)
    pred = np.squeeze(pred)

    mask = Image.fromarray((pred * 255).astype("uint8"), mode="L")
    mask = mask.resize(img.size, Image.Resampling.LANCZOS)
    return mask, ma, mi


def run(job):
    op = job["op"]
    if op == "resize":
        img = Image.open(job["image"])
        img.load()
        if "convert" in job:
            img = img.convert(job["convert"])
        out = img.resize(tuple(job["size"]), FILTERS[job["filter"]])
        with open(job["out"], "wb") as f:
            f.write(out.tobytes())
    elif op == "normalize":
        mean, std, size, _ = NETWORKS[job["network"]]
        tensor = normalize(Image.open(job["image"]), mean, std, size)
        tensor.tofile(job["out"])
    elif op == "predict":
        _, _, _, activate = NETWORKS[job["network"]]
        img = Image.open(job["image"])
        ort_out0 = np.fromfile(job["output"], dtype=np.float32).reshape(job["shape"])
        # A constant output divides 0 by 0, as rembg does; the warnings change nothing.
        with np.errstate(all="ignore"):
            mask, ma, mi = predict_after_network(img, ort_out0, activate)
        with open(job["mask"], "wb") as f:
            f.write(mask.tobytes())
        with open(job["stats"], "w") as f:
            json.dump({"peak": float(ma), "floor": float(mi)}, f)
    elif op == "sigmoid":
        values = np.fromfile(job["input"], dtype=np.float32)
        with np.errstate(over="ignore"):
            sigmoid(values).astype(np.float32).tofile(job["out"])
    else:
        raise ValueError(f"unknown op {op!r}")


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    for job in jobs:
        run(job)


if __name__ == "__main__":
    main()
