"""PGD adversarial training of one architecture under a :class:`Profile` (spec §2).

Per epoch: the learning rate of the step schedule, PGD-k adversarial training (attack crafted with
BN in eval mode and parameters frozen, Gaussian start), validation (clean, PGD-20 and CW-40 with
unclamped uniform start), selection of the first epoch with the highest validation CW-40
accuracy, and the reference's checkpoints plus a resume state. A run killed at any point and
started again with ``resume=True`` continues where it was; on the CPU it ends with the same
history as an uninterrupted run (all randomness comes from generators saved every epoch).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nares_nas._rng import as_generator
from nares_nas._validation import check_int
from nares_nas.errors import ConfigError, TrainingDivergedError
from nares_nas.live import attacks, checkpoints
from nares_nas.live.augment import random_crop_flip
from nares_nas.live.data import DataBundle, to_float
from nares_nas.live.model import build_model, count_params, model_counts
from nares_nas.live.profiles import Profile
from nares_nas.metrics import HISTORY_KEYS
from nares_nas.progress import progress_bar
from nares_nas.space import Arch, ArchLike, to_arch

log = logging.getLogger(__name__)
GENERATORS = ("shuffle", "augment", "train_attack", "val_attack")
LOG_EVERY = 100  # global steps between training log lines (reference)
NAN_STEP_LIMIT = 100  # the reference stops a run after more steps than this whose running loss average is NaN


@dataclass(frozen=True)
class TrainResult:
    """One finished training run: the per-epoch history (JSONL names) and where its best weights are.

    ``history["train_acc"]`` is a fraction like the reference logs; validation accuracies are
    percent. ``training_time`` is wall time in days (the reference's "GPU days").
    """

    arch: Arch
    profile: Profile
    seed: int
    history: dict[str, list[float]]
    best_epoch: int
    gpu_type: str
    timestamp: str
    training_time: float
    best_checkpoint: Path
    epoch_seconds: tuple[float, ...] = ()
    """Cumulative training seconds after each epoch of ``history`` (``[-1]`` is ``training_time`` in
    seconds): what continuing from epoch ``e1`` to ``e2`` cost is ``epoch_seconds[e2-1] - epoch_seconds[e1-1]``."""
    resumed_from: int = 0
    """Epochs the run folder held when this call started (0: a fresh run)."""


class Bf16Logits(nn.Module):
    """Runs ``net`` under bf16 autocast when enabled and returns fp32 logits (losses in fp32)."""

    def __init__(self, net: nn.Module, device_type: str, enabled: bool) -> None:
        super().__init__()
        self.net = net
        self.device_type = device_type
        self.enabled = enabled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device_type, dtype=torch.bfloat16, enabled=self.enabled):
            logits = self.net(x)
        return logits.float()


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` is CUDA when available, else the CPU; an unavailable CUDA device is refused."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available; use 'cpu' or 'auto'")
    return resolved


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """[decay, no_decay]: no decay iff the name contains "bn" or "bias" (so ``norm1.weight`` decays)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if "bn" in name or "bias" in name else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, profile: Profile) -> torch.optim.SGD:
    return torch.optim.SGD(param_groups(model, profile.weight_decay), lr=profile.lr,
                           momentum=profile.momentum, nesterov=False)


def madry_attack(
    forward: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, step: float, steps: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """Training PGD: start ``x + step·N(0, 1)`` (not clipped), CE-sign steps, project, clamp [0, 1].

    The caller puts the model in eval mode with parameters frozen (spec §2.4).
    """
    x_adv = x + step * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = F.cross_entropy(forward(x_adv), y)
        (grad,) = torch.autograd.grad(loss, x_adv)
        x_adv = x_adv.detach() + step * grad.sign()
        x_adv = torch.minimum(torch.maximum(x_adv, x - eps), x + eps).clamp_(0.0, 1.0)
    return x_adv.detach()


def train_step(
    model: nn.Module, forward: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
    profile: Profile, generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One PGD-AT step (spec §2.5); returns (loss, correct count, pre-clip grad norm) as tensors."""
    model.eval()
    model.requires_grad_(False)
    x_adv = madry_attack(forward, x, y, eps=profile.eps, step=profile.train_step, steps=profile.train_steps,
                         generator=generator)
    model.requires_grad_(True)
    model.train()
    optimizer.zero_grad(set_to_none=True)
    logits = forward(x_adv)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    grad_norm = nn.utils.clip_grad_norm_(model.parameters(), profile.grad_clip)
    optimizer.step()
    return loss.detach(), (logits.argmax(1) == y).sum(), grad_norm


def validate(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor, profile: Profile, generator: torch.Generator,
    amp: bool = True,
) -> dict[str, float]:
    """Per-epoch validation (spec §2.7): clean, PGD-20 and CW-40 (uniform start, not clamped).

    ``amp``: bf16 autocast for the forwards on CUDA (losses in fp32); no effect on the CPU.
    """
    val_acc, val_loss = attacks.evaluate_clean(net, x, y, profile.eval_batch_size, amp=amp)
    values = {"val_loss": val_loss, "val_acc": val_acc}
    for prefix, loss, steps in (("pgd", "ce", profile.val_pgd_steps), ("cw", "cw", profile.val_cw_steps)):
        attack = functools.partial(attacks.pgd, eps=profile.eps, step=profile.attack_step, steps=steps,
                                   loss=loss, clamp_start=False, generator=generator, return_loss=True, amp=amp)
        result = attacks.evaluate_attack(net, x, y, attack, batch_size=profile.eval_batch_size, amp=amp)
        values.update({prefix: result.acc, f"{prefix}_stable": result.stable, f"{prefix}_lip": result.lip,
                       f"{prefix}_loss": result.loss})
    return values


@contextlib.contextmanager
def _numerics(device: torch.device, num_threads: int | None) -> Iterator[None]:
    """Deterministic kernels and a fixed thread count on the CPU, cuDNN autotuning on CUDA; restored after."""
    saved = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
             torch.backends.cudnn.benchmark)
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.set_num_threads(saved[0])
        torch.use_deterministic_algorithms(saved[1])
        torch.backends.cudnn.benchmark = saved[2]


def _run_logger(out_dir: Path, arch_id: int) -> tuple[logging.Logger, logging.Handler]:
    """The run's text log ``arch_<id>.log`` (reference format ``%(asctime)s %(message)s``, appended).

    It goes to that file only: on stderr its INFO lines would bury the progress and the result.
    """
    run_log = logging.getLogger(f"{__name__}.arch_{arch_id}")
    run_log.setLevel(logging.INFO)
    run_log.propagate = False
    handler = logging.FileHandler(out_dir / f"arch_{arch_id}.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    run_log.addHandler(handler)
    return run_log, handler


def _device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def train(
    arch: ArchLike,
    profile: Profile,
    data: DataBundle,
    out_dir: str | Path,
    *,
    seed: int,
    device: str | torch.device = "auto",
    resume: bool = True,
    progress: bool = True,
    compile: bool = False,
    num_threads: int | None = None,
    amp: bool = True,
    epochs: int | None = None,
) -> TrainResult:
    """Train ``arch`` under ``profile`` on ``data``; checkpoints go to ``out_dir/checkpoints``.

    ``epochs`` stops the run after that many epochs (1..``profile.epochs``; None: the full
    training): a later call with more epochs resumes it from its checkpoint, and training to
    ``e`` then to ``e2`` gives the weights and history of training straight to ``e2`` (every
    epoch's learning rate and random numbers depend on the epoch only; bit-identical on the
    CPU). A folder that already trained past ``epochs`` trains nothing and returns the first
    ``epochs`` epochs of its history (``best_epoch`` the first maximum of their CW-40;
    ``best_checkpoint`` is then the folder's, of the longer run).

    ``out_dir`` records the run's identity (:func:`run_identity`: arch, profile, seed, device kind,
    precision, compile, CPU threads) in ``arch_<id>_run.json``; a folder holding another run of
    ``arch`` is refused, naming both identities, and left untouched. With ``resume`` the same run
    continues from ``arch_<id>_resume.pth`` when it exists (a finished run returns at once); with
    ``resume=False`` its files are removed and it starts over.
    ``num_threads`` fixes torch's CPU threads for the run (reproducibility needs the same count).
    The model and batches are channels_last; on CUDA with ``amp`` the forwards run under bf16
    autocast with fp32 losses (``compile`` adds ``torch.compile``); the CPU runs fp32.
    """
    dev = resolve_device(device)
    if data.train.images.shape[-1] != profile.resolution or data.val.images.shape[-1] != profile.resolution:
        raise ConfigError(f"profile {profile.name!r} wants {profile.resolution}px images, the data has "
                          f"{data.train.images.shape[-1]}px (train) / {data.val.images.shape[-1]}px (val)")
    if len(data.train) < profile.batch_size:
        raise ConfigError(f"{len(data.train)} training images are fewer than one batch of {profile.batch_size}")
    target = profile.epochs if epochs is None else check_int(epochs, "epochs", 1, profile.epochs)
    out_dir, arch = Path(out_dir), to_arch(arch)
    with _numerics(dev, num_threads):
        identity = run_identity(arch, profile, seed, dev, amp=amp, compile=compile)
        checkpoints.claim_run_folder(out_dir, arch.arch_id, identity, resume=resume)
        return _train(arch, profile, data, out_dir, seed, dev, resume, progress, compile, amp, identity, target)


def run_identity(arch: Arch, profile: Profile, seed: int, device: torch.device, *, amp: bool,
                 compile: bool) -> dict[str, Any]:
    """Everything that changes the result of a run, as JSON values: a run resumes only its own folder.

    ``precision`` is ``"bf16-autocast"`` on CUDA with ``amp``, else ``"fp32"``; ``cpu_threads`` is
    torch's thread count on the CPU (CPU results depend on it) and None on CUDA.
    """
    cuda = device.type == "cuda"
    return {
        "arch": list(arch.to_tuple()), "profile": profile.to_dict(), "seed": int(seed), "device": device.type,
        "precision": "bf16-autocast" if amp and cuda else "fp32", "compile": bool(compile),
        "cpu_threads": None if cuda else torch.get_num_threads(),
    }


@dataclass
class _Progress:
    """What a run has done so far: everything besides weights and generators that resuming restores."""

    next_epoch: int = 0
    global_step: int = 0
    elapsed_s: float = 0.0
    history: dict[str, list[float]] = field(default_factory=lambda: {key: [] for key in HISTORY_KEYS})
    best_epoch: int = -1
    best_cw: float = -math.inf
    nan_steps: int = 0
    gpu_type: str = ""
    timestamp: str = ""
    epoch_seconds: list[float] = field(default_factory=list)  # elapsed_s after each epoch

    def record(self, epoch: int, values: dict[str, float]) -> bool:
        """Append an epoch's values; True when it is the new best (strict >: the first maximum wins)."""
        for key in HISTORY_KEYS:
            self.history[key].append(float(values[key]))
        self.next_epoch = epoch + 1
        if values["cw"] > self.best_cw:
            self.best_epoch, self.best_cw = epoch, float(values["cw"])
            return True
        return False


def _resume_state(identity: dict[str, Any], progress: _Progress, model: nn.Module,
                  optimizer: torch.optim.Optimizer, gens: dict[str, torch.Generator]) -> dict[str, Any]:
    return {
        **identity, "epoch": progress.next_epoch - 1, **dataclasses.asdict(progress),
        "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
        "generators": {name: gen.get_state() for name, gen in gens.items()},
    }


def _restore(path: Path, identity: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer,
             gens: dict[str, torch.Generator], device: torch.device) -> _Progress:
    """Load a resume state into the model, optimizer and generators; refuse another run's state."""
    saved = checkpoints.load_resume_state(path, map_location=device)
    found = {key: saved.get(key) for key in identity}
    if found != identity:
        raise ConfigError(f"{path} belongs to another run ({found}, this run is {identity}); use another out_dir")
    model.load_state_dict(saved["model_state_dict"])
    optimizer.load_state_dict(saved["optimizer_state_dict"])
    for name, gen in gens.items():
        gen.set_state(saved["generators"][name].cpu())
    progress = _Progress(**{f.name: saved[f.name] for f in dataclasses.fields(_Progress) if f.name in saved})
    progress.history = {key: list(progress.history[key]) for key in HISTORY_KEYS}
    progress.epoch_seconds = [float(v) for v in progress.epoch_seconds]
    if len(progress.epoch_seconds) != progress.next_epoch:  # a state written before they were kept: even epochs
        progress.epoch_seconds = [progress.elapsed_s * (e + 1) / max(progress.next_epoch, 1)
                                  for e in range(progress.next_epoch)]
    return progress


def _train(arch: Arch, profile: Profile, data: DataBundle, out_dir: Path, seed: int, dev: torch.device,
           resume: bool, show_progress: bool, compile: bool, amp: bool, identity: dict[str, Any],
           target: int) -> TrainResult:
    arch_id = arch.arch_id
    seeds = as_generator(seed).integers(0, 2**62, size=1 + len(GENERATORS))
    model = build_model(arch, profile.base_channels, generator=torch.Generator().manual_seed(int(seeds[0])))
    flops = model_counts(arch, profile.base_channels, profile.resolution)["macs"] / 1e6
    model = model.to(dev, memory_format=torch.channels_last)  # faster on CUDA and on the CPU (oneDNN)
    optimizer = make_optimizer(model, profile)
    gens = {name: torch.Generator(device=torch.device("cpu") if name == "shuffle" else dev).manual_seed(int(s))
            for name, s in zip(GENERATORS, seeds[1:])}
    net = torch.compile(model) if compile else model
    forward = Bf16Logits(net, dev.type, enabled=amp and dev.type == "cuda")
    resume_path = checkpoints.checkpoint_path(out_dir, arch_id, "resume")
    if resume and resume_path.is_file():
        progress = _restore(resume_path, identity, model, optimizer, gens, dev)
        checkpoints.recover_pending(out_dir, arch_id, progress.next_epoch - 1)
        log.info("resuming arch_id %d at epoch %d from %s", arch_id, progress.next_epoch, resume_path)
    else:
        progress = _Progress()
        checkpoints.recover_pending(out_dir, arch_id, -1)
    resumed_from = progress.next_epoch

    train_x, train_y = data.train.images.to(dev), data.train.labels.to(dev)
    val_x = to_float(data.val.images.to(dev)).contiguous(memory_format=torch.channels_last)
    val_y = data.val.labels.to(dev)
    run_log, handler = _run_logger(out_dir, arch_id)
    try:
        if progress.next_epoch == 0:
            _log_header(run_log, arch, profile, seed, count_params(model), flops, _device_name(dev))
        bar = progress_bar(range(progress.next_epoch, profile.epochs), total=profile.epochs,
                           initial=progress.next_epoch, enabled=show_progress, desc=f"arch_{arch_id}", unit="epoch")
        for epoch in bar:
            if epoch >= target:
                break
            t0 = time.perf_counter()
            lr = profile.lr_at(epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            run_log.info("%s", f"{'=' * 20}Training Epoch {epoch}{'=' * 20}")
            try:
                train_loss, train_acc = _train_epoch(model, forward, optimizer, train_x, train_y, profile, gens, epoch,
                                                     progress, lr, run_log, show_progress)
            except TrainingDivergedError as exc:
                run_log.error("%s", exc)
                raise TrainingDivergedError(f"arch_id {arch_id} ({arch}): {exc}") from None
            run_log.info("%s", f"{'=' * 20}Eval Epoch {epoch}{'=' * 20}")
            values = validate(net, val_x, val_y, profile, gens["val_attack"], amp)
            values.update(train_loss=train_loss, train_acc=train_acc)
            is_best = progress.record(epoch, values)
            _log_validation(run_log, profile, values, progress.history, len(val_y))
            progress.elapsed_s += time.perf_counter() - t0
            progress.epoch_seconds.append(progress.elapsed_s)
            progress.gpu_type, progress.timestamp = _device_name(dev), datetime.date.today().isoformat()
            history = progress.history
            env = checkpoints.make_env(
                global_step=progress.global_step, flops=flops, val_acc=history["val_acc"], pgd_acc=history["pgd"],
                cw_acc=history["cw"], cw_stable=history["cw_stable"], cw_lip=history["cw_lip"],
            )
            ckpt = checkpoints.checkpoint_dict(epoch, model.state_dict(), optimizer.state_dict(), env, arch=arch,
                                               profile=profile)
            checkpoints.write_epoch(out_dir, arch_id, epoch, ckpt,
                                    _resume_state(identity, progress, model, optimizer, gens),
                                    is_best=is_best, save_epoch=epoch in profile.save_epochs)
            run_log.info("Model Saved at %s", checkpoints.checkpoint_path(out_dir, arch_id, "last"))
            bar.set_postfix(loss=f"{train_loss:.3f}", val=f"{values['val_acc']:.1f}", pgd=f"{values['pgd']:.1f}",
                            cw=f"{values['cw']:.1f}")
        bar.close()
        run_log.info("Running Cost %.2f Days", progress.elapsed_s / 86400)
    finally:
        run_log.removeHandler(handler)
        handler.close()
    history, best_epoch, seconds = progress.history, progress.best_epoch, progress.epoch_seconds
    if progress.next_epoch > target:  # the folder trained further: the first `target` epochs of its run
        history = {key: values[:target] for key, values in history.items()}
        best_epoch, best_cw = -1, -math.inf
        for epoch, value in enumerate(history["cw"]):  # the selection rule of _Progress.record
            if value > best_cw:
                best_epoch, best_cw = epoch, value
        seconds = seconds[:target]
    return TrainResult(
        arch=arch, profile=profile, seed=int(seed), history=history, best_epoch=best_epoch,
        gpu_type=progress.gpu_type, timestamp=progress.timestamp,
        training_time=(seconds[-1] if seconds else progress.elapsed_s) / 86400,
        best_checkpoint=checkpoints.checkpoint_path(out_dir, arch_id, "best"), epoch_seconds=tuple(seconds),
        resumed_from=resumed_from,
    )


def _log_header(run_log: logging.Logger, arch: Arch, profile: Profile, seed: int, params: int, flops: float,
                gpu: str) -> None:
    run_log.info("arch %s (arch_id %d) profile %s seed %d", arch, arch.arch_id, profile.name, seed)
    for key, value in profile.to_dict().items():
        run_log.info("%s: %s", key, value)
    run_log.info("param size = %fMB", params / 1e6)
    run_log.info("flops: %.4fM", flops)
    run_log.info("PyTorch Version: %s", torch.__version__)
    run_log.info("GPU List: [%s]", gpu)


def _log_validation(run_log: logging.Logger, profile: Profile, values: dict[str, float],
                    history: dict[str, list[float]], n: int) -> None:
    run_log.info("Eval Loss:%.4f\tEval acc: %.2f", values["val_loss"], values["val_acc"])
    for prefix, label, steps in (("pgd", "PGD", profile.val_pgd_steps), ("cw", "PGD-CW", profile.val_cw_steps)):
        run_log.info(f"---- {label} attacking results ----")
        run_log.info("Natural Correct Count: %d/%d Acc: %.2f ", round(values["val_acc"] * n / 100), n,
                     values["val_acc"])
        run_log.info("%s Correct Count: %d/%d Acc: %.2f ", label, round(values[prefix] * n / 100), n,
                     values[prefix])
        run_log.info("%s with %.1f steps Loss Avg: %.2f ", label, float(steps), values[f"{prefix}_loss"])
        run_log.info("LIP Avg: %.4f ", values[f"{prefix}_lip"])
        run_log.info("Stable Count: %d/%d StableAcc: %.2f ", round(values[f"{prefix}_stable"] * n / 100), n,
                     values[f"{prefix}_stable"])
        name = f"PGD-{profile.val_pgd_steps}" if prefix == "pgd" else f"PGDCW-{profile.val_cw_steps}"
        run_log.info("Best %s accuracy: %.2f", name, max(history[prefix]))


def _train_epoch(
    model: nn.Module, forward: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
    labels: torch.Tensor, profile: Profile, gens: dict[str, torch.Generator], epoch: int, progress: _Progress,
    lr: float, run_log: logging.Logger, show_progress: bool,
) -> tuple[float, float]:
    """One pass over shuffled full batches; returns (mean loss, accuracy fraction).

    Advances ``progress.global_step`` and counts in ``progress.nan_steps`` the steps whose
    running loss average is NaN (on the device, read at each log line and at the end), raising
    :class:`TrainingDivergedError` once there are more than :data:`NAN_STEP_LIMIT`.
    """
    order = torch.randperm(len(labels), generator=gens["shuffle"]).to(images.device)
    n_batches = len(labels) // profile.batch_size
    loss_sum = torch.zeros((), device=images.device)
    correct = torch.zeros((), device=images.device, dtype=torch.int64)
    nan_steps = torch.zeros((), device=images.device, dtype=torch.int64)
    tic = time.perf_counter()
    for i in progress_bar(range(n_batches), enabled=show_progress, leave=False, desc=f"epoch {epoch}", unit="batch"):
        index = order[i * profile.batch_size:(i + 1) * profile.batch_size]
        batch = random_crop_flip(images[index], gens["augment"], profile.crop_padding, profile.hflip)
        x = to_float(batch).contiguous(memory_format=torch.channels_last)
        loss, hits, grad_norm = train_step(model, forward, optimizer, x, labels[index], profile,
                                           gens["train_attack"])
        loss_sum += loss * profile.batch_size
        correct += hits
        nan_steps += torch.isnan(loss_sum)
        progress.global_step += 1
        if progress.global_step % LOG_EVERY == 0:
            seen = (i + 1) * profile.batch_size
            run_log.info(
                "epoch=%d\tglobal_step=%d\tacc=%.4f\tacc_avg=%.4f\tloss=%.4f\tloss_avg=%.4f\tlr=%.4f\t|gn|=%.4f"
                "\ttime=%.2fit/s", epoch, progress.global_step, hits.item() / profile.batch_size,
                correct.item() / seen, loss.item(), loss_sum.item() / seen, lr, grad_norm.item(),
                LOG_EVERY / (time.perf_counter() - tic),
            )
            _check_nan_steps(progress.nan_steps + int(nan_steps.item()), epoch, progress.global_step)
            tic = time.perf_counter()
    progress.nan_steps += int(nan_steps.item())
    _check_nan_steps(progress.nan_steps, epoch, progress.global_step)
    seen = n_batches * profile.batch_size
    return loss_sum.item() / seen, correct.item() / seen


def _check_nan_steps(count: int, epoch: int, global_step: int) -> None:
    if count > NAN_STEP_LIMIT:
        raise TrainingDivergedError(
            f"{count} training steps with a NaN running loss by epoch {epoch} (global step {global_step}); "
            f"the reference stops after {NAN_STEP_LIMIT}. No record was written; the checkpoints of earlier "
            "epochs are kept")
