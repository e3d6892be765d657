"""The compact CNN (a small ResNet) and the training-time augmentation, in plain torch ops.

A stride-2 stem and four residual stages halve the resolution five times (128 px in → 4x4 before
pooling), ~0.6 M parameters: one epoch over 1,400 images takes seconds on two CPU cores, and
inference about a millisecond per image. Stages 1 and 2 (1/4 and 1/8 resolution) are the patch
features of the anomaly detector.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

WIDTHS = (24, 32, 64, 128, 160)


class Residual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        nn.init.zeros_(self.bn2.weight)  # each block starts as its shortcut: stable early training

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + self.shortcut(x))


class InspectionNet(nn.Module):
    def __init__(self, channels: int, classes: int, widths: tuple[int, ...] = WIDTHS, dropout: float = 0.2) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU(inplace=True))
        self.stages = nn.ModuleList(Residual(a, b, 2) for a, b in zip(widths, widths[1:], strict=False))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1], classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Output of every stage (after the stem), coarser each time."""
        out = []
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.feature_maps(x)[-1]
        return self.head(self.dropout(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))


def augment(batch: torch.Tensor, generator: torch.Generator, *, max_rotate_deg: float = 10.0,
            min_scale: float = 0.85, brightness: float = 0.2, contrast: float = 0.2) -> torch.Tensor:
    """Random flips, small rotations, crops (zoom + shift) and brightness/contrast, per image.

    ``batch`` is normalised (B, C, H, W). Geometry is one affine warp with reflection padding, so no
    black corners appear that the network could learn from.
    """
    b = batch.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(b, generator=generator)

    angle = uniform(-max_rotate_deg, max_rotate_deg) * math.pi / 180
    scale = uniform(min_scale, 1.0)  # < 1 zooms in: a random crop
    flip_x = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    flip_y = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    shift_room = 1.0 - scale
    tx, ty = uniform(-1, 1) * shift_room, uniform(-1, 1) * shift_room
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos * flip_x, -sin * flip_y, tx], 1),
                         torch.stack([sin * flip_x, cos * flip_y, ty], 1)], 1)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    out = F.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    gain = uniform(1 - contrast, 1 + contrast).view(b, 1, 1, 1)
    offset = uniform(-brightness, brightness).view(b, 1, 1, 1) * 4  # normalised units: std ~ 1/4 of the range
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    return (out - mean) * gain + mean + offset
