"""What TripoSR's own cameras say about orientation, for test/pipeline/orientation.test.ts.

TripoSR has no input camera: the network learned to place what the image shows as seen by the first
of the views its renderer draws (tsr/utils.py get_spherical_cameras, azimuth 0, elevation 0, distance
1.9, fovy 40 degrees, Z up). Given a mask of an asymmetric object, this script

1. carves the density field of a thin plate whose silhouette, seen by that camera, is the mask: each
   point of TripoSR's 3D grid (linspace(-0.87, 0.87, R) per axis, meshgrid "ij", x slowest) is
   projected into the camera by inverting its ray model (pixel centres, image rows going down);
2. renders that field back through rays generated the way get_spherical_cameras / get_ray_directions
   / get_rays generate them, with front-to-back alpha compositing, and reports how well the rendered
   opacity matches the mask. The two directions are written independently, so a sign slip in either
   shows up as a mirrored or flipped render.

The field goes to the test, which extracts, frames and views it with the product's own code.

usage: orientation_field.py MASK_RAW SIZE RESOLUTION OUT_FIELD  (prints JSON)
MASK_RAW holds SIZE*SIZE bytes, row 0 at the top of the image, nonzero = object.
"""

import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

RADIUS = 0.87
DISTANCE = 1.9
FOVY_DEG = 40.0
# Half the plate's thickness along the viewing axis, in world units.
HALF_THICKNESS = 0.05
INSIDE, OUTSIDE = 50.0, 0.0


def input_view_camera():
    """c2w of azimuth 0, elevation 0 as get_spherical_cameras builds it: columns right, up, -lookat."""
    position = torch.tensor([DISTANCE, 0.0, 0.0])  # d*cos(el)*cos(az), d*cos(el)*sin(az), d*sin(el)
    lookat = F.normalize(-position, dim=0)
    up = torch.tensor([0.0, 0.0, 1.0])
    right = F.normalize(torch.linalg.cross(lookat, up), dim=0)
    up = F.normalize(torch.linalg.cross(right, lookat), dim=0)
    rotation = torch.stack([right, up, -lookat], dim=1)
    return rotation, position


def focal_length(size):
    return 0.5 * size / math.tan(0.5 * math.radians(FOVY_DEG))


def camera_rays(size):
    """World-space rays per pixel [size, size, 3], as get_ray_directions (pixel centres, y up) + get_rays."""
    rotation, position = input_view_camera()
    f = focal_length(size)
    i, j = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="xy")
    directions = torch.stack([(i - size / 2) / f, -(j - size / 2) / f, -torch.ones_like(i)], dim=-1)
    world = (directions[:, :, None, :] * rotation[None, None, :, :]).sum(-1)
    return position.expand_as(world), F.normalize(world, dim=-1)


def carve(mask, resolution):
    size = mask.shape[0]
    axis = torch.linspace(0, 1, resolution) * 2 * RADIUS - RADIUS
    x, y, z = torch.meshgrid(axis, axis, axis, indexing="ij")
    points = torch.stack([x, y, z], dim=-1).reshape(-1, 3)
    rotation, position = input_view_camera()
    camera = (points - position) @ rotation  # world -> camera: R^T (p - o), row vectors
    depth = -camera[:, 2]
    f = focal_length(size)
    column = torch.floor(camera[:, 0] / depth * f + size / 2).long()
    row = torch.floor(-camera[:, 1] / depth * f + size / 2).long()
    seen = (column >= 0) & (column < size) & (row >= 0) & (row < size)
    hit = torch.zeros(points.shape[0], dtype=torch.bool)
    hit[seen] = torch.from_numpy(mask)[row[seen], column[seen]] > 0
    inside = hit & (points[:, 0].abs() <= HALF_THICKNESS)
    field = torch.where(inside, torch.tensor(INSIDE), torch.tensor(OUTSIDE))
    return field.reshape(resolution, resolution, resolution)


def render_opacity(field, size, samples=384):
    origins, directions = camera_rays(size)
    near, far = DISTANCE - RADIUS * math.sqrt(3), DISTANCE + RADIUS * math.sqrt(3)
    t = torch.linspace(near, far, samples)
    points = origins[:, :, None, :] + directions[:, :, None, :] * t[None, None, :, None]
    # grid_sample reads (x, y, z) as (W, H, D): the field is [x][y][z], so D=x, H=y, W=z.
    normalised = points / RADIUS
    grid = normalised[..., [2, 1, 0]].reshape(1, size * size, samples, 1, 3)
    density = F.grid_sample(field[None, None], grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    density = density.reshape(size, size, samples)
    delta = (far - near) / (samples - 1)
    alpha = 1 - torch.exp(-density * delta)
    transmittance = torch.cumprod(torch.cat([torch.ones(size, size, 1), 1 - alpha[..., :-1] + 1e-10], -1), -1)
    return (alpha * transmittance).sum(-1)


def main():
    mask_path, size, resolution, out_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    mask = np.fromfile(mask_path, dtype=np.uint8).reshape(size, size)
    field = carve(mask, resolution)
    field.numpy().astype(np.float32).tofile(out_path)
    rendered = render_opacity(field, size) > 0.5
    target = torch.from_numpy(mask > 0)
    mirrored = torch.flip(target, dims=[1])
    iou = lambda a, b: float((a & b).sum()) / max(1, float((a | b).sum()))
    print(json.dumps({"renderIoU": iou(rendered, target), "renderIoUMirrored": iou(rendered, mirrored),
                      "insideVoxels": int((field > 0).sum())}))


if __name__ == "__main__":
    main()
