"""Independent PyTorch reference of TripoSR inference (image -> scene codes, scene codes + points -> density/colour).

Written from TripoSR's published semantics (VAST-AI-Research/TripoSR, tsr/*) and transformers 4.35's ViTModel;
it imports neither. The module tree is laid out so that ``state_dict()`` has exactly the keys and shapes of
TripoSR's ``TSR`` system module, so the official ``model.ckpt`` loads with ``strict=True``.

State-dict key pattern (L = ViT layers, D = backbone blocks, K = decoder Linear count = n_hidden_layers + 1;
Hv = ViT hidden, Iv = ViT intermediate, p = ViT patch, Np = (image_size/p)^2 positions of the ViT config,
Ct = tokenizer channels, Pt = plane size, Din = backbone heads*head_dim, Dx = cross_attention_dim,
Co = post-processor out channels, Ci = decoder in, Nn = decoder neurons).  Full-size shapes in full-keys.txt.

  image_tokenizer.model.embeddings.cls_token                                   [1, 1, Hv]
  image_tokenizer.model.embeddings.position_embeddings                         [1, Np+1, Hv]
  image_tokenizer.model.embeddings.patch_embeddings.projection.{weight,bias}   [Hv, 3, p, p], [Hv]
  image_tokenizer.model.encoder.layer.{0..L-1}.
      attention.attention.{query,key,value}.{weight,bias}                     [Hv, Hv], [Hv]
      attention.output.dense.{weight,bias}                                    [Hv, Hv], [Hv]
      intermediate.dense.{weight,bias}                                        [Iv, Hv], [Iv]
      output.dense.{weight,bias}                                              [Hv, Iv], [Hv]
      layernorm_before.{weight,bias}, layernorm_after.{weight,bias}            [Hv]
  image_tokenizer.model.layernorm.{weight,bias}                                [Hv]
  image_tokenizer.model.pooler.dense.{weight,bias}                             [Hv, Hv], [Hv]   (unused at inference)
  tokenizer.embeddings                                                         [3, Ct, Pt, Pt]
  backbone.norm.{weight,bias}                                                  [Ct]   (GroupNorm)
  backbone.proj_in.{weight,bias}                                               [Din, Ct], [Din]
  backbone.transformer_blocks.{0..D-1}.
      norm1.{weight,bias}, norm2.{weight,bias}, norm3.{weight,bias}           [Din]
      attn1.to_q.weight, attn1.to_k.weight, attn1.to_v.weight                 [Din, Din]   (no bias)
      attn1.to_out.0.{weight,bias}                                            [Din, Din], [Din]
      attn2.to_q.weight                                                       [Din, Din]
      attn2.to_k.weight, attn2.to_v.weight                                    [Din, Dx]
      attn2.to_out.0.{weight,bias}                                            [Din, Din], [Din]
      ff.net.0.proj.{weight,bias}                                             [8*Din, Din], [8*Din]  (GEGLU)
      ff.net.2.{weight,bias}                                                  [Din, 4*Din], [Din]
  backbone.proj_out.{weight,bias}                                              [Ct, Din], [Ct]
  post_processor.upsample.{weight,bias}                                        [Ct, Co, 2, 2], [Co]
  decoder.layers.{0,2,...,2(K-1)}.{weight,bias}    (odd indices are activations)
      layers.0: [Nn, Ci]; layers.2..2(K-2): [Nn, Nn]; layers.2(K-1): [4, Nn]
No buffers are persistent (the ImageNet mean/std are non-persistent, as in TripoSR).
"""

from __future__ import annotations

import math
import re
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------

# facebook/dino-vitb16's config.json (the architecture TripoSR's DINOSingleImageTokenizer instantiates).
DINO_VITB16 = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "image_size": 224,
    "patch_size": 16,
    "num_channels": 3,
    "qkv_bias": True,
}

KNOWN_VIT_CONFIGS = {"facebook/dino-vitb16": DINO_VITB16}

# The class strings TripoSR's config.yaml names. Nothing is imported from them; they are checked.
EXPECTED_CLASSES = {
    "image_tokenizer_cls": "tsr.models.tokenizers.image.DINOSingleImageTokenizer",
    "tokenizer_cls": "tsr.models.tokenizers.triplane.Triplane1DTokenizer",
    "backbone_cls": "tsr.models.transformer.transformer_1d.Transformer1D",
    "post_processor_cls": "tsr.models.network_utils.TriplaneUpsampleNetwork",
    "decoder_cls": "tsr.models.network_utils.NeRFMLP",
    "renderer_cls": "tsr.models.nerf_renderer.TriplaneNeRFRenderer",
}

# Defaults of the TripoSR config dataclasses (values a config.yaml may omit).
BACKBONE_DEFAULTS = {
    "num_attention_heads": 16,
    "attention_head_dim": 88,
    "in_channels": None,
    "out_channels": None,
    "num_layers": 1,
    "dropout": 0.0,
    "norm_num_groups": 32,
    "cross_attention_dim": None,
    "attention_bias": False,
    "activation_fn": "geglu",
    "only_cross_attention": False,
    "double_self_attention": False,
    "upcast_attention": False,
    "norm_type": "layer_norm",
    "norm_elementwise_affine": True,
    "gradient_checkpointing": False,
}
DECODER_DEFAULTS = {
    "activation": "relu",
    "bias": True,
    "weight_init": "kaiming_uniform",
    "bias_init": None,
}
RENDERER_DEFAULTS = {
    "feature_reduction": "concat",
    "density_activation": "trunc_exp",
    "density_bias": -1.0,
    "color_activation": "sigmoid",
    "num_samples_per_ray": 128,
    "randomized": False,
}

_INTERP = re.compile(r"\$\{([^}]+)\}")


def _lookup(root: Dict[str, Any], dotted: str) -> Any:
    node: Any = root
    for part in dotted.strip().split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"config interpolation ${{{dotted}}}: '{part}' not found")
        node = node[part]
    return node


def _resolve(node: Any, root: Dict[str, Any], depth: int = 0) -> Any:
    """Resolve OmegaConf-style absolute interpolations (``${tokenizer.num_channels}``)."""
    if depth > 32:
        raise ValueError("config interpolation too deep (cycle?)")
    if isinstance(node, dict):
        return {k: _resolve(v, root, depth) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, root, depth) for v in node]
    if isinstance(node, str):
        whole = _INTERP.fullmatch(node.strip())
        if whole:
            return _resolve(_lookup(root, whole.group(1)), root, depth + 1)
        if _INTERP.search(node):
            return _INTERP.sub(lambda m: str(_resolve(_lookup(root, m.group(1)), root, depth + 1)), node)
    return node


def resolve_config(raw: Dict[str, Any]) -> Dict[str, Any]:
    """Resolve interpolations, check the class names and fill TripoSR's dataclass defaults."""
    cfg = _resolve(raw, raw)
    for key, expected in EXPECTED_CLASSES.items():
        if cfg.get(key) != expected:
            raise ValueError(f"config {key} is {cfg.get(key)!r}, expected {expected!r}")
    for section in ("image_tokenizer", "tokenizer", "backbone", "post_processor", "decoder", "renderer"):
        if not isinstance(cfg.get(section), dict):
            raise ValueError(f"config section '{section}' missing")
    cfg["backbone"] = {**BACKBONE_DEFAULTS, **cfg["backbone"]}
    cfg["decoder"] = {**DECODER_DEFAULTS, **cfg["decoder"]}
    cfg["renderer"] = {**RENDERER_DEFAULTS, **cfg["renderer"]}
    return cfg


def load_config(path: str) -> Dict[str, Any]:
    import yaml

    with open(path, "r", encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return resolve_config(raw)


def vit_config(image_tokenizer_cfg: Dict[str, Any]) -> Dict[str, Any]:
    """ViT architecture for the image tokenizer.

    TripoSR reads it from the HF repo named by ``pretrained_model_name_or_path`` (facebook/dino-vitb16).
    Reference-only extension: an optional ``vit_config`` mapping (HF ViTConfig field names) overrides it,
    which is how the tiny test configs shrink the ViT. The real config.yaml has no such key.
    """
    name = image_tokenizer_cfg.get("pretrained_model_name_or_path", "facebook/dino-vitb16")
    override = image_tokenizer_cfg.get("vit_config")
    if override is None and name not in KNOWN_VIT_CONFIGS:
        raise ValueError(f"unknown ViT config {name!r} and no vit_config given")
    out = dict(KNOWN_VIT_CONFIGS.get(name, DINO_VITB16))
    if override:
        unknown = set(override) - set(DINO_VITB16)
        if unknown:
            raise ValueError(f"unknown vit_config keys {sorted(unknown)}")
        out.update(override)
    if out["hidden_act"] != "gelu":
        raise ValueError("only exact GELU ViTs are supported")
    if out["hidden_size"] % out["num_attention_heads"]:
        raise ValueError("ViT hidden_size must be divisible by num_attention_heads")
    return out


# --------------------------------------------------------------------------------------------------
# Image tokenizer: DINO ViT (transformers 4.35 ViTModel semantics, key names of that class)
# --------------------------------------------------------------------------------------------------


def interpolate_pos_encoding_435(pos: torch.Tensor, height: int, width: int, patch: int) -> torch.Tensor:
    """transformers 4.35 ViTEmbeddings.interpolate_pos_encoding, for a [1, 1+N, H] table.

    Grid side g = sqrt(N); new grid (height//patch, width//patch). 4.35 passes *scale_factor*
    ((h0 + 0.1)/g, (w0 + 0.1)/g) to a bicubic, align_corners=False interpolate. PyTorch then uses that
    scale (not the size ratio) to map coordinates: src = (dst + 0.5) * g / (h0 + 0.1) - 0.5.
    Newer transformers pass size=(h0, w0) instead, which gives different numbers: do not "fix" this.
    """
    n_pos = pos.shape[1] - 1
    h0, w0 = height // patch, width // patch
    if n_pos == h0 * w0 and height == width:
        return pos  # 4.35 returns the table unchanged in this case
    dim = pos.shape[-1]
    side = int(math.sqrt(n_pos))
    if side * side != n_pos:
        raise ValueError("position table is not square")
    cls_pos = pos[:, :1]
    grid = pos[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2)
    hf, wf = h0 + 0.1, w0 + 0.1
    grid = F.interpolate(grid, scale_factor=(hf / math.sqrt(n_pos), wf / math.sqrt(n_pos)),
                         mode="bicubic", align_corners=False)
    if grid.shape[-2:] != (h0, w0):
        raise ValueError(f"interpolated grid {tuple(grid.shape[-2:])} != {(h0, w0)}")
    grid = grid.permute(0, 2, 3, 1).reshape(1, h0 * w0, dim)
    return torch.cat([cls_pos, grid], dim=1)


class _PatchEmbeddings(nn.Module):
    def __init__(self, vc: Dict[str, Any]):
        super().__init__()
        p = vc["patch_size"]
        self.projection = nn.Conv2d(vc["num_channels"], vc["hidden_size"], kernel_size=p, stride=p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # [B, C, H/p, W/p] -> [B, (H/p)*(W/p), C], row-major over patches
        return self.projection(x).flatten(2).transpose(1, 2)


class _ViTEmbeddings(nn.Module):
    def __init__(self, vc: Dict[str, Any]):
        super().__init__()
        hidden, p, img = vc["hidden_size"], vc["patch_size"], vc["image_size"]
        n_patches = (img // p) * (img // p)
        self.patch_size = p
        self.cls_token = nn.Parameter(torch.zeros(1, 1, hidden))
        self.position_embeddings = nn.Parameter(torch.zeros(1, n_patches + 1, hidden))
        self.patch_embeddings = _PatchEmbeddings(vc)

    def position_table(self, height: int, width: int) -> torch.Tensor:
        return interpolate_pos_encoding_435(self.position_embeddings, height, width, self.patch_size)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        b, _, h, w = pixels.shape
        tokens = self.patch_embeddings(pixels)
        tokens = torch.cat([self.cls_token.expand(b, -1, -1), tokens], dim=1)
        return tokens + self.position_table(h, w)


class _ViTSelfAttention(nn.Module):
    def __init__(self, vc: Dict[str, Any]):
        super().__init__()
        hidden = vc["hidden_size"]
        self.heads = vc["num_attention_heads"]
        self.head_dim = hidden // self.heads
        bias = vc["qkv_bias"]
        self.query = nn.Linear(hidden, hidden, bias=bias)
        self.key = nn.Linear(hidden, hidden, bias=bias)
        self.value = nn.Linear(hidden, hidden, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, self.head_dim).permute(0, 2, 1, 3)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        ctx = torch.matmul(scores.softmax(dim=-1), v)
        return ctx.permute(0, 2, 1, 3).reshape(b, n, c)


class _Dense(nn.Module):
    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)


class _ViTAttention(nn.Module):
    def __init__(self, vc: Dict[str, Any]):
        super().__init__()
        self.attention = _ViTSelfAttention(vc)
        self.output = _Dense(vc["hidden_size"], vc["hidden_size"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output.dense(self.attention(x))


class _ViTLayer(nn.Module):
    def __init__(self, vc: Dict[str, Any]):
        super().__init__()
        hidden, inter, eps = vc["hidden_size"], vc["intermediate_size"], vc["layer_norm_eps"]
        self.attention = _ViTAttention(vc)
        self.intermediate = _Dense(hidden, inter)
        self.output = _Dense(inter, hidden)
        self.layernorm_before = nn.LayerNorm(hidden, eps=eps)
        self.layernorm_after = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attention(self.layernorm_before(x)) + x
        h = F.gelu(self.intermediate.dense(self.layernorm_after(x)))  # exact (erf) GELU
        return self.output.dense(h) + x


class _ViTEncoder(nn.Module):
    def __init__(self, vc: Dict[str, Any]):
        super().__init__()
        self.layer = nn.ModuleList([_ViTLayer(vc) for _ in range(vc["num_hidden_layers"])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x)
        return x


class _ViTModel(nn.Module):
    def __init__(self, vc: Dict[str, Any]):
        super().__init__()
        self.embeddings = _ViTEmbeddings(vc)
        self.encoder = _ViTEncoder(vc)
        self.layernorm = nn.LayerNorm(vc["hidden_size"], eps=vc["layer_norm_eps"])
        self.pooler = _Dense(vc["hidden_size"], vc["hidden_size"])  # present in the checkpoint, unused

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """last_hidden_state [B, 1 + (H/p)*(W/p), hidden]."""
        return self.layernorm(self.encoder(self.embeddings(pixels)))


class DINOImageTokenizer(nn.Module):
    def __init__(self, cfg: Dict[str, Any]):
        super().__init__()
        self.vit_cfg = vit_config(cfg)
        self.model = _ViTModel(self.vit_cfg)
        self.register_buffer("image_mean", torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("image_std", torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1),
                             persistent=False)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.image_mean) / self.image_std

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 3, H, W] in [0, 1] -> image tokens [B, Nt, hidden] (TripoSR's net layout)."""
        return self.model(self.normalise(images))


# --------------------------------------------------------------------------------------------------
# Triplane tokenizer, backbone (Transformer1D), post-processor
# --------------------------------------------------------------------------------------------------


class TriplaneTokenizer(nn.Module):
    def __init__(self, cfg: Dict[str, Any]):
        super().__init__()
        self.plane_size = int(cfg["plane_size"])
        self.num_channels = int(cfg["num_channels"])
        self.embeddings = nn.Parameter(torch.zeros(3, self.num_channels, self.plane_size, self.plane_size))

    def forward(self, batch_size: int) -> torch.Tensor:
        # [3, C, P, P] -> [B, C, 3*P*P]; token index = plane*P*P + row*P + col
        t = self.embeddings.permute(1, 0, 2, 3).reshape(self.num_channels, -1)
        return t.unsqueeze(0).expand(batch_size, -1, -1)

    def detokenize(self, tokens: torch.Tensor) -> torch.Tensor:
        b, c, n = tokens.shape
        p = self.plane_size
        if c != self.num_channels or n != 3 * p * p:
            raise ValueError(f"tokens {tuple(tokens.shape)} do not fit the triplane")
        return tokens.reshape(b, c, 3, p, p).permute(0, 2, 1, 3, 4)  # [B, 3, C, P, P]


class _Attention(nn.Module):
    """diffusers-style Attention as used by TripoSR: Q/K/V (bias per config), to_out = [Linear, Dropout]."""

    def __init__(self, query_dim: int, heads: int, dim_head: int, bias: bool, cross_dim: Optional[int] = None):
        super().__init__()
        inner = heads * dim_head
        kv_dim = cross_dim if cross_dim is not None else query_dim
        self.heads, self.dim_head = heads, dim_head
        self.scale = dim_head ** -0.5
        self.to_q = nn.Linear(query_dim, inner, bias=bias)
        self.to_k = nn.Linear(kv_dim, inner, bias=bias)
        self.to_v = nn.Linear(kv_dim, inner, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim, bias=True), nn.Dropout(0.0)])

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor] = None) -> torch.Tensor:
        ctx = x if context is None else context
        b, n, _ = x.shape
        m = ctx.shape[1]
        q = self.to_q(x).view(b, n, self.heads, self.dim_head).transpose(1, 2)
        k = self.to_k(ctx).view(b, m, self.heads, self.dim_head).transpose(1, 2)
        v = self.to_v(ctx).view(b, m, self.heads, self.dim_head).transpose(1, 2)
        probs = (torch.matmul(q, k.transpose(-1, -2)) * self.scale).softmax(dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, n, self.heads * self.dim_head)
        return self.to_out[0](out)


class _GEGLU(nn.Module):
    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden, gate = self.proj(x).chunk(2, dim=-1)  # first half: value, second half: gate
        return hidden * F.gelu(gate)                   # exact GELU


class _FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        inner = dim * mult
        self.net = nn.ModuleList([_GEGLU(dim, inner), nn.Dropout(0.0), nn.Linear(inner, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net[2](self.net[0](x))


class _BasicTransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int, cross_dim: Optional[int], bias: bool):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)  # eps 1e-5
        self.attn1 = _Attention(dim, heads, dim_head, bias)
        if cross_dim is not None:
            self.norm2 = nn.LayerNorm(dim)
            self.attn2 = _Attention(dim, heads, dim_head, bias, cross_dim)
        else:
            self.norm2 = None
            self.attn2 = None
        self.norm3 = nn.LayerNorm(dim)
        self.ff = _FeedForward(dim)

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor]) -> torch.Tensor:
        x = self.attn1(self.norm1(x)) + x
        if self.attn2 is not None:
            x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer1D(nn.Module):
    def __init__(self, cfg: Dict[str, Any]):
        super().__init__()
        for key, want in (("activation_fn", "geglu"), ("only_cross_attention", False),
                          ("double_self_attention", False), ("upcast_attention", False),
                          ("norm_type", "layer_norm"), ("norm_elementwise_affine", True)):
            if cfg[key] != want:
                raise ValueError(f"backbone {key}={cfg[key]!r} is not supported by the reference")
        c_in = int(cfg["in_channels"])
        heads, dim_head = int(cfg["num_attention_heads"]), int(cfg["attention_head_dim"])
        inner = heads * dim_head
        self.norm = nn.GroupNorm(int(cfg["norm_num_groups"]), c_in, eps=1e-6, affine=True)
        self.proj_in = nn.Linear(c_in, inner)
        cross = cfg["cross_attention_dim"]
        self.transformer_blocks = nn.ModuleList([
            _BasicTransformerBlock(inner, heads, dim_head, None if cross is None else int(cross),
                                   bool(cfg["attention_bias"]))
            for _ in range(int(cfg["num_layers"]))
        ])
        self.proj_out = nn.Linear(inner, c_in)  # TripoSR maps back to in_channels (out_channels unused)

    def forward(self, tokens: torch.Tensor, context: Optional[torch.Tensor]) -> torch.Tensor:
        """tokens [B, C, N], context [B, M, Dx] -> [B, C, N]."""
        residual = tokens  # the residual is the UN-normalised input
        x = self.norm(tokens).permute(0, 2, 1)
        x = self.proj_in(x)
        for block in self.transformer_blocks:
            x = block(x, context)
        x = self.proj_out(x).permute(0, 2, 1)
        return x + residual


class TriplaneUpsampleNetwork(nn.Module):
    def __init__(self, cfg: Dict[str, Any]):
        super().__init__()
        self.upsample = nn.ConvTranspose2d(int(cfg["in_channels"]), int(cfg["out_channels"]),
                                           kernel_size=2, stride=2)

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        b, n, c, h, w = planes.shape
        up = self.upsample(planes.reshape(b * n, c, h, w))
        return up.reshape(b, n, *up.shape[1:])


# --------------------------------------------------------------------------------------------------
# Decoder (NeRFMLP) and renderer semantics of query_triplane
# --------------------------------------------------------------------------------------------------


class NeRFMLP(nn.Module):
    def __init__(self, cfg: Dict[str, Any]):
        super().__init__()
        act = {"relu": nn.ReLU, "silu": nn.SiLU}.get(cfg["activation"])
        if act is None:
            raise ValueError(f"decoder activation {cfg['activation']!r} unsupported")
        n_in, n, hidden, bias = int(cfg["in_channels"]), int(cfg["n_neurons"]), int(cfg["n_hidden_layers"]), \
            bool(cfg["bias"])
        layers = [nn.Linear(n_in, n, bias=bias), act()]
        for _ in range(hidden - 1):
            layers += [nn.Linear(n, n, bias=bias), act()]
        layers.append(nn.Linear(n, 4, bias=bias))  # density 1 + features 3
        self.layers = nn.Sequential(*layers)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.layers(feats)


def _activation(name: Optional[str]):
    key = "none" if name is None else str(name).lower()
    table = {"none": lambda t: t, "exp": torch.exp, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
             "softplus": F.softplus, "relu": F.relu}
    if key not in table:
        # TripoSR's get_activation falls back to getattr(F, name), which has no trunc_exp: the class
        # default would fail there too. config.yaml sets density_activation: exp.
        raise ValueError(f"activation {name!r} unsupported")
    return table[key]


class TriplaneRenderer(nn.Module):
    """Holds no parameters (as in TripoSR); implements query_triplane's maths."""

    def __init__(self, cfg: Dict[str, Any]):
        super().__init__()
        self.radius = float(cfg["radius"])
        self.feature_reduction = cfg["feature_reduction"]
        if self.feature_reduction not in ("concat", "mean"):
            raise ValueError("feature_reduction must be concat or mean")
        self.density_bias = float(cfg["density_bias"])
        self.density_act = _activation(cfg["density_activation"])
        self.color_act = _activation(cfg["color_activation"])

    def normalise_points(self, pts: torch.Tensor) -> torch.Tensor:
        # TripoSR's scale_tensor((-r, r) -> (-1, 1)) exactly, operation by operation:
        # ((p - (-r)) / (r - (-r))) * (1 - (-1)) + (-1). Equals p / r up to float rounding.
        r = self.radius
        return ((pts - (-r)) / (r - (-r))) * 2.0 + (-1.0)

    def sample_features(self, triplane: torch.Tensor, pts_n: torch.Tensor) -> torch.Tensor:
        """triplane [3, C, H, W], normalised points [N, 3] -> features [N, 3*C] (plane-major)."""
        uv = torch.stack([pts_n[:, [0, 1]], pts_n[:, [0, 2]], pts_n[:, [1, 2]]], dim=0)  # [3, N, 2]
        out = F.grid_sample(triplane, uv.unsqueeze(1), mode="bilinear", padding_mode="zeros",
                            align_corners=False)  # [3, C, 1, N]
        out = out[:, :, 0, :]  # [3, C, N]
        if self.feature_reduction == "concat":
            return out.permute(2, 0, 1).reshape(out.shape[2], -1)  # index = plane*C + channel
        return out.mean(dim=0).transpose(0, 1)


# --------------------------------------------------------------------------------------------------
# System
# --------------------------------------------------------------------------------------------------


class TSRReference(nn.Module):
    def __init__(self, cfg: Dict[str, Any]):
        super().__init__()
        self.cfg = cfg
        self.cond_image_size = int(cfg.get("cond_image_size", 512))
        self.image_tokenizer = DINOImageTokenizer(cfg["image_tokenizer"])
        self.tokenizer = TriplaneTokenizer(cfg["tokenizer"])
        self.backbone = Transformer1D(cfg["backbone"])
        self.post_processor = TriplaneUpsampleNetwork(cfg["post_processor"])
        self.decoder = NeRFMLP(cfg["decoder"])
        self.renderer = TriplaneRenderer(cfg["renderer"])

    # image [B, 3, S, S] in [0, 1] (already TripoSR-preprocessed, S = cond_image_size)
    def image_tokens(self, image: torch.Tensor) -> torch.Tensor:
        return self.image_tokenizer(image)

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """image [B, 3, S, S] in [0, 1] -> scene codes [B, 3, Co, 2*Pt, 2*Pt]."""
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be [B, 3, H, W], got {tuple(image.shape)}")
        ctx = self.image_tokens(image)
        tokens = self.tokenizer(image.shape[0])
        tokens = self.backbone(tokens, ctx)
        return self.post_processor(self.tokenizer.detokenize(tokens))

    forward = encode

    def decode_raw(self, scene_code: torch.Tensor, points: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """One scene [3, Co, H, W], world points [N, 3] -> (features [N, 3*Co], raw MLP output [N, 4])."""
        feats = self.renderer.sample_features(scene_code, self.renderer.normalise_points(points))
        return feats, self.decoder(feats)

    def decode(self, scene_codes: torch.Tensor, points: torch.Tensor, chunk: int = 0
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """scene codes [B, 3, Co, H, W], world points [B, P, 3] -> density [B, P, 1], colour [B, P, 3]."""
        dens, cols = [], []
        for b in range(scene_codes.shape[0]):
            pts = points[b].reshape(-1, 3)
            step = chunk if chunk > 0 else max(1, pts.shape[0])
            raws = [self.decode_raw(scene_codes[b], pts[i:i + step])[1] for i in range(0, pts.shape[0], step)]
            raw = torch.cat(raws, dim=0) if raws else pts.new_zeros(0, 4)
            dens.append(self.renderer.density_act(raw[:, 0:1] + self.renderer.density_bias))
            cols.append(self.renderer.color_act(raw[:, 1:4]))
        return torch.stack(dens, 0), torch.stack(cols, 0)


def build(config: Dict[str, Any]) -> TSRReference:
    """Build the reference module from a (raw or resolved) TripoSR config dict. Weights are zero."""
    cfg = resolve_config(config)  # idempotent on an already-resolved config
    model = TSRReference(cfg)
    model.eval()
    return model
