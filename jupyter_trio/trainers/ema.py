"""An exponential moving average of a model's weights (PaddleX's ``use_ema`` for PPYOLO).

The average is what is evaluated, saved as the checkpoint's ``model.pdparams`` and exported; the weights
the optimizer moves are kept beside it in a training checkpoint (``train.pdparams``) so a resumed run
continues exactly. Early on the decay is ``min(decay, (1 + step) / (10 + step))``: the average follows
the weights closely until there is a history worth averaging. Batch-norm statistics are not averaged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import paddle
import paddle.nn as nn

RAW_WEIGHTS = "train.pdparams"


class WeightAverage:
    def __init__(self, model: nn.Layer, decay: float):
        self.model, self.decay = model, decay
        self.shadow = {name: p.detach().clone() for name, p in model.named_parameters()}

    @paddle.no_grad()
    def update(self, step: int) -> None:
        """Fold the current weights in after optimizer step ``step`` (counted from 1)."""
        d = min(self.decay, (1 + step) / (10 + step))
        for name, p in self.model.named_parameters():
            self.shadow[name] = self.shadow[name] * d + p.detach() * (1 - d)

    @paddle.no_grad()
    def load(self, averaged: dict[str, paddle.Tensor]) -> None:
        """Take the average from a state dict (the checkpoint's ``model.pdparams``)."""
        own = dict(self.model.named_parameters())
        for name in self.shadow:
            if name in averaged:
                self.shadow[name] = paddle.to_tensor(averaged[name], dtype=own[name].dtype)

    @contextmanager
    def applied(self) -> Iterator[dict[str, paddle.Tensor]]:
        """The model holds the averaged weights inside the block (which gets its own weights, by
        parameter name), and its own again after it."""
        params = dict(self.model.named_parameters())
        own = {name: p.detach().clone() for name, p in params.items()}
        with paddle.no_grad():
            for name, p in params.items():
                p.set_value(self.shadow[name])
        try:
            yield own
        finally:
            with paddle.no_grad():
                for name, p in params.items():
                    p.set_value(own[name])
