"""The minibatch loop the recognizer trainers share: shuffled batches, one-cycle learning rate, gradient
clipping, a progress bar."""

from __future__ import annotations

from collections.abc import Callable

import torch
from rich.progress import Progress
from torch import nn


def fit(
    model: nn.Module,
    n: int,
    epochs: int,
    batch: int,
    loss_of: Callable[[torch.Tensor], torch.Tensor],
    opt: torch.optim.Optimizer,
    clip: float,
    name: str,
    pct_start: float = 0.3,
    each_epoch: Callable[[int], None] | None = None,
) -> None:
    """Train ``model`` over ``n`` items for ``epochs``; ``loss_of(indices)`` gives a batch's loss;
    ``each_epoch(k)`` runs after epoch k (1-based), inside the one learning-rate cycle."""
    steps = epochs * ((n + batch - 1) // batch)
    lr = opt.param_groups[0]["lr"]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=pct_start)
    with Progress() as bar:
        task = bar.add_task(name, total=steps)
        for k in range(epochs):
            model.train()
            order = torch.randperm(n)
            for i in range(0, n, batch):
                loss = loss_of(order[i : i + batch])
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), clip)
                opt.step()
                sched.step()
                bar.advance(task)
            if each_epoch is not None:
                each_epoch(k + 1)
