"""EfficientNet-B0 (Tan and Le 2019, "EfficientNet: Rethinking Model Scaling for CNNs"), written by hand.

The paper's Table 1 at 224x224: a 3x3 stem, seven stages of MBConv blocks (expansion, depthwise kxk, squeeze-and-
excitation on a quarter of the block's input channels, linear projection, residual where stride is 1 and the widths
match), a 1x1 head to 1280 channels, SiLU (swish) throughout, dropout 0.2 before the classifier; the same layer
layout as torchvision's ``efficientnet_b0`` (5,288,548 parameters, published as 5.3 M). Stochastic depth only acts
in training, so it is left out. BatchNorm eps 1e-3 as in the paper's TensorFlow reference. Random weights unless a
state_dict is loaded.

Self-contained (torch only): the file doubles as the ``--model-class-path`` of the zoo's state_dict.
"""

from __future__ import annotations

from typing import List

import torch
from torch import nn

#: (expansion, kernel, first stride, input channels, output channels, repeats): the paper's Table 1
STAGES = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)
BN_EPS = 1e-3


def conv_bn(in_ch: int, out_ch: int, kernel: int = 1, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Module:
    layers: List[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch, eps=BN_EPS),
    ]
    if act:
        layers.append(nn.SiLU(inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, squeezed: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc2(self.act(self.fc1(self.pool(x)))))


class MBConv(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = in_ch * expand
        layers: List[nn.Module] = [conv_bn(in_ch, hidden)] if expand != 1 else []
        layers += [
            conv_bn(hidden, hidden, kernel, stride, groups=hidden),
            SqueezeExcitation(hidden, max(1, in_ch // 4)),
            conv_bn(hidden, out_ch, act=False),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class EfficientNetB0(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: List[nn.Module] = [conv_bn(3, 32, 3, 2)]
        for expand, kernel, stride, in_ch, out_ch, repeats in STAGES:
            for i in range(repeats):
                layers.append(MBConv(in_ch if i == 0 else out_ch, out_ch, kernel, stride if i == 0 else 1, expand))
        layers.append(conv_bn(STAGES[-1][4], 1280))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))
        for m in self.modules():  # the reference initialisation (torchvision's)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / m.out_features**0.5
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))
