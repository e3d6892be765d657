"""The RUL network: a small 1D-CNN over sensor windows (after Li, Ding & Sun, RESS 2018), trained on CPU.

Imported only when a model is fitted or used (torch is heavy). Several seeds make an ensemble;
each seed holds out a different set of engines for early stopping, so the members differ in
data as well as initialisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from zhizao.apps.maintenance.rul.features import Windows

INPUT_NOISE = 0.3  # standard deviations of the normalised inputs


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 40
    patience: int = 6
    batch_size: int = 256
    learning_rate: float = 5e-4
    inner_validation: float = 0.15  # fraction of engines held out for early stopping
    threads: int = 1


def network_input(windows: Windows) -> np.ndarray:
    """Channels: the normalised sensors and the same values minus the unit's own healthy level."""
    return np.concatenate([windows.x, windows.x - windows.base[:, None, :]], axis=2).astype(np.float32)


class RulCnn(nn.Module):
    """Conv1d layers over time (channels = input features) narrowing to one channel, then a small dense head;
    output = RUL / cap. Deliberately small: 80-odd training engines are easy to memorise, and larger nets
    did (training RMSE 3, held-out 18 in cross-validation)."""

    def __init__(self, channels: int, window: int, filters: int = 16, kernel: int = 5) -> None:
        super().__init__()
        pad = kernel // 2
        self.features = nn.Sequential(
            nn.Conv1d(channels, filters, kernel, padding=pad), nn.ReLU(),
            nn.Conv1d(filters, filters, kernel, padding=pad), nn.ReLU(),
            nn.Conv1d(filters, 1, 3, padding=1),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(window, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, window, channels)
        if self.training:  # input noise: another guard against memorising engines
            x = x + INPUT_NOISE * torch.randn_like(x)
        return self.head(self.features(x.transpose(1, 2))).squeeze(1)


def _rmse(model: RulCnn, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float(torch.sqrt(torch.mean((model(x) - y) ** 2)))


def train_member(windows: Windows, cap: float, seed: int, config: TrainConfig,
                 on_epoch: Callable[[int, float], None] | None = None) -> tuple[dict, dict]:
    """Train one ensemble member; returns its state dict (best inner-validation epoch) and a summary."""
    x, y, units = network_input(windows), windows.y, windows.units
    torch.set_num_threads(config.threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    engines = np.unique(units)
    held = rng.choice(engines, max(1, int(round(len(engines) * config.inner_validation))), replace=False) \
        if len(engines) > 2 else engines[:0]
    val_mask = np.isin(units, held)
    x_train, y_train = torch.from_numpy(x[~val_mask]), torch.from_numpy(y[~val_mask] / cap)
    x_val, y_val = torch.from_numpy(x[val_mask]), torch.from_numpy(y[val_mask] / cap)
    model = RulCnn(x.shape[2], x.shape[1])
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, factor=0.5, patience=max(2, config.patience // 3))
    best_state, best_loss, best_epoch, stale = None, float("inf"), 0, 0
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            optimiser.zero_grad()
            loss = torch.mean((model(x_train[batch]) - y_train[batch]) ** 2)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
        monitored = _rmse(model, x_val, y_val) if len(x_val) else _rmse(model, x_train, y_train)
        scheduler.step(monitored)
        if on_epoch:
            on_epoch(epoch, monitored * cap)
        if monitored < best_loss - 1e-5:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_loss, best_epoch, stale = monitored, epoch, 0
        else:
            stale += 1
            if stale >= config.patience:
                break
    summary = {"seed": seed, "best_epoch": best_epoch, "epochs_run": epoch,
               "inner_val_rmse": round(best_loss * cap, 3), "inner_val_engines": int(len(held))}
    return best_state or model.state_dict(), summary


def predict_members(states: list[dict], windows: Windows, cap: float, threads: int = 1) -> np.ndarray:
    """Mean prediction of the ensemble, clipped to [0, cap]; shape (n,)."""
    torch.set_num_threads(threads)
    x = network_input(windows)
    tensor = torch.from_numpy(x)
    outputs = []
    for state in states:
        model = RulCnn(x.shape[2], x.shape[1])
        model.load_state_dict(state)
        model.eval()
        with torch.no_grad():
            outputs.append(np.concatenate([model(tensor[i:i + 4096]).numpy() for i in range(0, len(tensor), 4096)]))
    return np.clip(np.mean(outputs, axis=0) * cap, 0.0, cap)
