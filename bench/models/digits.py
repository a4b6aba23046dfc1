"""A small CNN for scikit-learn's 8x8 digits, upsampled to 1x32x32; and the data preparation.

Written by hand (no torchvision). torch is imported only by the model class users of this file.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

IMAGE_SIZE = 32


def digits_arrays(seed: int = 0, test_fraction: float = 0.2) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): float32 NCHW images in [0, 1], int64 labels. Offline (scikit-learn)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)
    scale = IMAGE_SIZE // 8
    x = np.kron(x, np.ones((1, scale, scale), dtype=np.float32))[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return x_tr, y_tr, x_te, y_te


try:  # the class needs torch; the data helper above does not
    import torch
    from torch import nn

    class DigitsCNN(nn.Module):
        """Conv(1->8) -> ReLU -> MaxPool -> Conv(8->16) -> ReLU -> MaxPool -> Linear(16*8*8 -> 10)."""

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(8, 16, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )
            self.classifier = nn.Linear(16 * 8 * 8, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(torch.flatten(self.features(x), 1))

    def train_digits_cnn(x: np.ndarray, y: np.ndarray, epochs: int = 15, seed: int = 0) -> DigitsCNN:
        """Train a DigitsCNN with Adam; a few seconds on 2 cores."""
        torch.manual_seed(seed)
        model = DigitsCNN()
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        gen = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(epochs):
            for idx in torch.randperm(len(xt), generator=gen).split(64):
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        return model.eval()

except ImportError:  # pragma: no cover - images without torch only use digits_arrays
    pass
