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
    def copy_to_model(self, weights: dict[str, paddle.Tensor] | None = None) -> None:
        """Set the model's parameters to ``weights`` (by name), the average by default."""
        weights = self.shadow if weights is None else weights
        for name, p in self.model.named_parameters():
            p.set_value(weights[name])

    @contextmanager
    def applied(self) -> Iterator[dict[str, paddle.Tensor]]:
        """The model holds the averaged weights inside the block (which gets its own weights, by
        parameter name), and its own again after it."""
        own = {name: p.detach().clone() for name, p in self.model.named_parameters()}
        self.copy_to_model()
        try:
            yield own
        finally:
            self.copy_to_model(own)
