"""A stack of independent ReLU MLPs trained together as one batched tensor program.

BANANAS fits five small MLPs (20 hidden layers of width 32) hundreds of thousands of
Adam steps per run. One step of one such MLP is a few microseconds of arithmetic but
~130 PyTorch calls, so a per-member loop is bound by call overhead. Here the members'
weights are stacked on a leading member axis and every layer is one ``torch.bmm`` for all
members; forward and backward are written out by hand (no autograd graph), the bias of
each layer rides in its weight matrix as an extra input row fed by a constant-one column,
the hidden layers' weight gradients come from a single ``bmm`` after the backward sweep,
and Adam is one fused update over one flat parameter vector. The arithmetic is that of
``nn.Linear``/``nn.ReLU``/``torch.optim.Adam`` per member, up to float rounding order.

All parameters live in one flat float32 tensor laid out as

    W0 (M, D+1, H)  |  Wh (L-1, M, H+1, H)  |  Wo (M, H+1, 1)  |  zero padding

(``M`` members, ``D`` inputs, ``L`` hidden layers of width ``H``; the last input row of
each matrix is the bias).

Several independent *runs* can share one stack: run ``r`` owns the members
``r * M/R .. (r+1) * M/R - 1``, its own training set and its own ``torch.Generator``, and
draws exactly the random numbers it would draw alone. The 32x32 matrix products are
compute-bound and get only a little cheaper per member in a larger stack, but the per-call
overhead of every other operation is shared, so a stack of 8 runs takes about 25% less CPU
time per run than 8 runs fitted one after another (``benchmarks/bench_bananas.py``). On the CPU
the result is bit-identical to fitting each run alone as long as every run has at least two
members (``torch.bmm`` computes each matrix of a batch the same way whatever the batch size,
except that a batch of one takes the single-matrix path); the tests check this.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from nares_nas.errors import ConfigError

_threshold_backward = torch.ops.aten.threshold_backward.grad_input

ALIGN = 64
"""The flat vectors are padded to a multiple of this many floats (the padding has zero gradient
and stays zero). Element-wise CPU kernels such as fused Adam run a SIMD body and a scalar tail
that can round differently; without a tail every element takes the SIMD path, whatever its
position, which keeps a run stacked with others bit-identical to the run alone."""


@dataclass(frozen=True)
class StackShape:
    """Sizes of a stack of ``members`` MLPs ``in_dim -> num_layers x width -> 1``."""

    members: int
    in_dim: int
    num_layers: int
    width: int

    @property
    def sizes(self) -> tuple[int, int, int]:
        m, d, h, w = self.members, self.in_dim, self.num_layers - 1, self.width
        return m * (d + 1) * w, h * m * (w + 1) * w, m * (w + 1)

    @property
    def n_params(self) -> int:
        """Length of the flat vector: the parameters, zero-padded to a multiple of :data:`ALIGN`."""
        return -(-sum(self.sizes) // ALIGN) * ALIGN

    def forward_macs(self) -> int:
        """Multiply-accumulates of one forward pass of one sample through one member."""
        return self.in_dim * self.width + (self.num_layers - 1) * self.width**2 + self.width


@dataclass(frozen=True)
class AdamConfig:
    """``torch.optim.Adam`` settings (no weight decay, no amsgrad)."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.99
    eps: float = 1e-8


def split(flat: torch.Tensor, shape: StackShape) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Views ``W0 (M, D+1, H)``, ``Wh (L-1, M, H+1, H)``, ``Wo (M, H+1, 1)`` of a flat vector."""
    m, d, w = shape.members, shape.in_dim, shape.width
    a, b, c = shape.sizes
    return (flat[:a].view(m, d + 1, w), flat[a:a + b].view(shape.num_layers - 1, m, w + 1, w),
            flat[a + b:a + b + c].view(m, w + 1, 1))


def init_params(shape: StackShape, generators: Sequence[torch.Generator], device: torch.device) -> torch.Tensor:
    """Xavier-uniform weights and zero biases for every member, as a flat float32 vector.

    Run ``r`` of ``len(generators)`` draws its members' weights from ``generators[r]``, on
    the CPU (so the draw does not depend on the device), then the vector is moved. Bound
    ``sqrt(6 / (fan_in + fan_out))`` as ``nn.init.xavier_uniform_``.
    """
    flat = torch.zeros(shape.n_params)
    per_run = _members_per_run(shape, len(generators))
    w0, wh, wo = split(flat, shape)
    bounds = [math.sqrt(6.0 / (fan_in + fan_out)) for fan_in, fan_out in
              ((shape.in_dim, shape.width), (shape.width, shape.width), (shape.width, 1))]
    for r, generator in enumerate(generators):
        block = slice(r * per_run, (r + 1) * per_run)
        for weights, bound in zip((w0[block], wh[:, block], wo[block]), bounds):
            weights = weights[..., :-1, :]
            weights.copy_(torch.rand(weights.shape, generator=generator) * (2 * bound) - bound)
    return flat.to(device)


def run_params(flat: torch.Tensor, shape: StackShape, runs: int) -> list[torch.Tensor]:
    """Split a stack of ``runs`` runs into one flat vector per run (the layout of a stack of one)."""
    per_run = _members_per_run(shape, runs)
    w0, wh, wo = split(flat, shape)
    return [torch.cat([w0[block].reshape(-1), wh[:, block].reshape(-1), wo[block].reshape(-1)])
            for block in (slice(r * per_run, (r + 1) * per_run) for r in range(runs))]


def _members_per_run(shape: StackShape, runs: int) -> int:
    if runs < 1 or shape.members % runs:
        raise ConfigError(f"{shape.members} members cannot be shared equally by {runs} runs")
    return shape.members // runs


def with_ones(x: torch.Tensor) -> torch.Tensor:
    """Append the constant-one column that feeds the bias rows."""
    return torch.cat([x, x.new_ones(x.shape[:-1] + (1,))], dim=-1)


def forward(flat: torch.Tensor, shape: StackShape, x: torch.Tensor) -> torch.Tensor:
    """Predictions ``(members, n)`` of every member for inputs ``x (n, in_dim)``."""
    w0, wh, wo = split(flat, shape)
    a = with_ones(x).expand(shape.members, -1, -1)
    a = with_ones(torch.relu(torch.bmm(a, w0)))
    for layer in wh:
        a = with_ones(torch.relu(torch.bmm(a, layer)))
    return torch.bmm(a, wo).squeeze(-1)


class _Buffers:
    """Activations and gradients for one batch size, with their views precomputed.

    Indexing a tensor costs a PyTorch call; the training step uses only these lists.
    """

    def __init__(self, shape: StackShape, batch: int, device: torch.device) -> None:
        m, w, n_layers = shape.members, shape.width, shape.num_layers
        hidden = n_layers - 1
        self.acts = torch.ones(n_layers, m, batch, w + 1, device=device)  # last column stays 1
        self.grads = torch.empty(n_layers, m, batch, w, device=device)
        self.pre = torch.empty(m, batch, w, device=device)
        self.dout = torch.empty(m, batch, 1, device=device)
        self.inv_batch = torch.tensor(1.0 / batch, device=device)
        self.act = [a[..., :w] for a in self.acts]  # post-ReLU values, written in place
        self.act_aug = list(self.acts.unbind(0))
        self.grad = list(self.grads.unbind(0))
        self.last_t = self.acts[-1].transpose(1, 2)
        self.hidden_t = self.acts[:hidden].view(hidden * m, batch, w + 1).transpose(1, 2)
        self.hidden_grad = self.grads[1:].view(hidden * m, batch, w)


class StackTrainer:
    """Minibatch training of ``shape.members`` MLPs at once.

    ``fit`` reproduces the reference predictor's loop per member: each epoch a fresh random
    permutation of the training set (one per member), minibatches of ``batch_size`` with
    the last partial batch kept, loss ``mean |pred - y| + l1 * sum |W_out|`` (the output
    layer's weight, not its bias), one Adam step per minibatch.
    """

    def __init__(self, shape: StackShape, flat: torch.Tensor, adam: AdamConfig, l1: float) -> None:
        if shape.num_layers < 1:
            raise ConfigError(f"num_layers must be >= 1, got {shape.num_layers}")
        self.shape, self.adam, self.l1 = shape, adam, float(l1)
        self.params = flat
        self.device = flat.device
        self.grads = torch.zeros_like(flat)
        self.exp_avg = torch.zeros_like(flat)
        self.exp_avg_sq = torch.zeros_like(flat)
        self.step_count = torch.zeros((), device=self.device)
        self._one = torch.ones((), device=self.device)
        self.fused = hasattr(torch, "_fused_adam_")  # its CPU kernel needs torch >= 2.4
        w0, wh, wo = split(flat, shape)
        g0, gh, go = split(self.grads, shape)
        width = shape.width
        self._w0, self._wh, self._wo = w0, list(wh.unbind(0)), wo
        self._wh_back = [layer[:, :width, :].transpose(1, 2) for layer in self._wh]
        self._wo_weight = wo[:, :width, :]
        self._wo_back = self._wo_weight.transpose(1, 2)
        self._g0, self._gh, self._go = g0, gh.view(-1, width + 1, width), go
        self._go_weight = go[:, :width, :]
        self._buffers: dict[int, _Buffers] = {}

    def _adam_step(self) -> None:
        """``torch.optim.Adam``'s update: one fused kernel where torch has it, else its formula."""
        c = self.adam
        self.step_count.add_(self._one)
        if self.fused:
            try:
                torch._fused_adam_([self.params], [self.grads], [self.exp_avg], [self.exp_avg_sq], [],
                                   [self.step_count], lr=c.lr, beta1=c.beta1, beta2=c.beta2,
                                   weight_decay=0.0, eps=c.eps, amsgrad=False, maximize=False)
                return
            except NotImplementedError:  # no kernel for this device in this torch version
                self.fused = False
        step = float(self.step_count)
        self.exp_avg.lerp_(self.grads, 1 - c.beta1)
        self.exp_avg_sq.mul_(c.beta2).addcmul_(self.grads, self.grads, value=1 - c.beta2)
        denom = (self.exp_avg_sq.sqrt() / math.sqrt(1 - c.beta2**step)).add_(c.eps)
        self.params.addcdiv_(self.exp_avg, denom, value=-c.lr / (1 - c.beta1**step))

    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        """One Adam step of every member on its minibatch ``xb (M, B, D+1)``, ``yb (M, B, 1)``."""
        batch = xb.shape[1]
        buf = self._buffers.get(batch)
        if buf is None:
            buf = self._buffers[batch] = _Buffers(self.shape, batch, self.device)
        act, act_aug, grad, pre = buf.act, buf.act_aug, buf.grad, buf.pre
        bmm, clamp_min = torch.bmm, torch.clamp_min
        # forward: pre-activation into a scratch buffer, ReLU into the augmented activations
        clamp_min(bmm(xb, self._w0, out=pre), 0.0, out=act[0])
        for i, w in enumerate(self._wh):
            clamp_min(bmm(act_aug[i], w, out=pre), 0.0, out=act[i + 1])
        out = bmm(act_aug[-1], self._wo)
        # d(mean |out - y|)/d out, then the output layer (with the L1 term on its weight)
        dout = torch.sub(out, yb, out=buf.dout).sign_().mul_(buf.inv_batch)
        bmm(buf.last_t, dout, out=self._go)
        self._go_weight.add_(torch.sign(self._wo_weight), alpha=self.l1)
        _threshold_backward(bmm(dout, self._wo_back), act[-1], 0.0, grad_input=grad[-1])
        for i in range(len(self._wh) - 1, -1, -1):
            _threshold_backward(bmm(grad[i + 1], self._wh_back[i]), act[i], 0.0, grad_input=grad[i])
        if self._wh:
            bmm(buf.hidden_t, buf.hidden_grad, out=self._gh)
        bmm(xb.transpose(1, 2), grad[0], out=self._g0)
        self._adam_step()

    def fit(self, x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int,
            generators: Sequence[torch.Generator]) -> None:
        """Train run ``r``'s members on ``x[r] (n, in_dim)``, ``y[r] (n,)``.

        ``x`` is ``(runs, n, in_dim)`` with ``runs = len(generators)``; run ``r``'s shuffles
        are drawn on the CPU from ``generators[r]``.
        """
        runs, n = x.shape[0], x.shape[1]
        per_run = _members_per_run(self.shape, runs)
        if len(generators) != runs or y.shape != (runs, n):
            raise ConfigError(f"fit needs x (runs, n, d), y (runs, n) and one generator per run; got "
                              f"x {tuple(x.shape)}, y {tuple(y.shape)}, {len(generators)} generators")
        x_rows, y_rows = with_ones(x).reshape(runs * n, -1), y.reshape(runs * n, 1)
        first_row = (torch.arange(runs).repeat_interleave(per_run) * n).unsqueeze(1).to(self.device)
        for _ in range(epochs):
            order = torch.cat([torch.rand(per_run, n, generator=g).argsort(dim=1) for g in generators])
            rows = order.to(self.device) + first_row
            xs, ys = x_rows[rows], y_rows[rows]
            for start in range(0, n, batch_size):
                self._step(xs[:, start:start + batch_size], ys[:, start:start + batch_size])
