"""Profiles, the PGD-AT step, per-epoch checkpoints and crash/resume of the trainer (tiny CPU runs)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from nares_nas.errors import ConfigError, TrainingDivergedError
from nares_nas.live import attacks, checkpoints, trainer
from nares_nas.live.data import datasets_for, to_float
from nares_nas.live.model import build_model
from nares_nas.live.profiles import DIGITS, NARES, PROFILES, Profile, get_profile
from nares_nas.metrics import HISTORY_KEYS
from nares_nas.space import Arch

ARCH = Arch.parse("4,8,4,8,4,8")
TINY = Profile(
    name="tiny", dataset="digits", base_channels=1, resolution=8, epochs=3, batch_size=32, lr_milestones=(1, 2),
    crop_padding=1, eps=0.125, train_step=0.05, train_steps=1, attack_step=0.03, val_pgd_steps=1, val_cw_steps=2,
    eval_batch_size=20, corruptions=False, save_epochs=(0, 1), train_limit=64, val_limit=20, test_limit=20,
)
CHILD = """
import json, sys
from nares_nas.live import data, profiles, trainer
from nares_nas.space import Arch
profile = profiles.Profile.from_dict(json.loads(sys.argv[1]))
trainer.train(Arch.parse(sys.argv[2]), profile, data.datasets_for(profile), sys.argv[3], seed=int(sys.argv[4]),
              device="cpu", progress=False, num_threads=1)
"""


def run_tiny(out_dir, seed=3, **kwargs):
    return trainer.train(ARCH, TINY, datasets_for(TINY), out_dir, seed=seed, device="cpu", progress=False,
                         num_threads=1, **kwargs)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted tiny run, the yardstick of the resume tests."""
    out = tmp_path_factory.mktemp("reference")
    return out, run_tiny(out)


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- profiles
def test_nares_profile_is_the_spec():
    p = get_profile("nares")
    assert (p.base_channels, p.resolution, p.epochs, p.batch_size, p.lr, p.momentum, p.weight_decay) == (
        16, 32, 100, 128, 0.1, 0.9, 5e-4)
    assert (p.lr_milestones, p.lr_gamma, p.grad_clip, p.save_epochs) == ((75, 90), 0.1, 5.0, (74, 89))
    assert (p.eps, p.train_step, p.train_steps, p.attack_step) == (8 / 255, 2 / 255, 7, 0.8 / 255)
    assert (p.val_pgd_steps, p.val_cw_steps, p.test_pgd_steps, p.test_cw_steps) == (20, 40, 20, 40)
    assert (p.aa_iters, p.aa_targets, p.eval_batch_size, p.corruptions) == (100, 9, 100, True)
    assert (p.crop_padding, p.hflip, p.train_limit, p.val_limit) == (4, True, None, None)
    assert [p.lr_at(e) for e in (0, 74, 75, 89, 90, 99)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    assert set(PROFILES) >= {"nares", "digits"}


def test_profile_is_hashable_data_with_a_stable_key():
    assert hash(DIGITS) == hash(dataclasses.replace(DIGITS))
    restored = Profile.from_dict(json.loads(json.dumps(DIGITS.to_dict())))
    assert restored == DIGITS and restored.key == DIGITS.key and len(DIGITS.key) == 12
    assert DIGITS.key != NARES.key != dataclasses.replace(NARES, epochs=99).key
    assert Profile(name="x", lr_milestones=[75, 90]).lr_milestones == (75, 90)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"dataset": "mnist"}, "dataset must be one of"),
        ({"lr_milestones": (75, 100)}, "lr_milestones must be increasing epochs in 1..99"),
        ({"save_epochs": (100,)}, "save_epochs"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"eps": 0.0}, "eps must be a positive number"),
        ({"resolution": 16}, "resolution must be 32 for cifar10"),
        ({"aa_targets": 10}, "aa_targets"),
        ({"crop_padding": -1}, "crop_padding"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "sum below 1"),
    ],
)
def test_profile_validation_names_the_field(changes, match):
    with pytest.raises(ConfigError, match=match):
        dataclasses.replace(NARES, **changes)


def test_unknown_profile_and_fields_are_refused_with_the_valid_names():
    with pytest.raises(ConfigError, match=r"unknown profile 'cifar'; valid profiles are \['digits', 'nares'\]"):
        get_profile("cifar")
    with pytest.raises(ConfigError, match=r"unknown Profile fields \['epoch'\]"):
        Profile.from_dict({"name": "x", "epoch": 3})


# --------------------------------------------------------------------------- one step
def test_weight_decay_groups_follow_the_name_rule():
    model = build_model(ARCH, 1)
    groups = trainer.param_groups(model, 5e-4)
    names = {id(p): n for n, p in model.named_parameters()}
    decay = {names[id(p)] for p in groups[0]["params"]}
    no_decay = {names[id(p)] for p in groups[1]["params"]}
    assert (groups[0]["weight_decay"], groups[1]["weight_decay"]) == (5e-4, 0.0)
    assert "norm1.weight" in decay and "fc.weight" in decay and "stem_conv.weight" in decay
    assert {"norm1.bias", "fc.bias", "blocks.0.layer.0.bn1.weight", "blocks.2.layer.3.bn2.bias"} <= no_decay
    assert all("conv" in n or "shortcut" in n for n in decay - {"norm1.weight", "fc.weight"})
    assert len(decay) + len(no_decay) == len(names)


def test_training_attack_starts_gaussian_unclipped_with_frozen_eval_model():
    model = build_model(ARCH, 1)
    seen = []

    def forward(x):
        seen.append((x.detach().clone(), model.training, any(p.requires_grad for p in model.parameters())))
        return model(x)

    x = torch.zeros(8, 3, 8, 8)
    x[:4] = 1.0
    y = torch.arange(8)
    model.eval().requires_grad_(False)
    adv = trainer.madry_attack(forward, x, y, eps=0.1, step=0.04, steps=3, generator=torch.Generator().manual_seed(0))
    first = seen[0][0]
    assert first[:4].max() > 1.0 and first[4:].min() < 0.0  # x + step·N(0,1), not clipped
    assert abs((first - x).std().item() - 0.04) < 0.005
    assert len(seen) == 3 and not any(training or grad for _, training, grad in seen)
    assert (adv - x).abs().max() <= 0.1 + 1e-6 and adv.min() >= 0 and adv.max() <= 1


def test_train_step_updates_bn_once_and_clips_gradients():
    model = build_model(ARCH, 1)
    profile = dataclasses.replace(TINY, grad_clip=0.01)
    optimizer = trainer.make_optimizer(model, profile)
    forward = trainer.Bf16Logits(model, "cpu", enabled=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.rand(16, 3, 8, 8), torch.randint(0, 10, (16,))
    loss, hits, grad_norm = trainer.train_step(model, forward, optimizer, x, y, profile,
                                               torch.Generator().manual_seed(1))
    assert model.norm1.num_batches_tracked.item() == 1  # only the training forward moved BN statistics
    assert model.training and all(p.requires_grad for p in model.parameters())
    clipped = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
    assert grad_norm > 0.01 and clipped <= 0.01 * (1 + 1e-4)
    assert not torch.equal(before["stem_conv.weight"], model.stem_conv.weight)
    assert 0 <= hits.item() <= 16 and loss.item() > 0


def test_validation_uses_unclamped_uniform_start_and_the_profile_steps(monkeypatch):
    calls = []
    real = attacks.pgd

    def spy(*args, **kwargs):
        calls.append({k: kwargs[k] for k in ("steps", "loss", "clamp_start", "step", "eps", "return_loss")})
        return real(*args, **kwargs)

    monkeypatch.setattr(attacks, "pgd", spy)
    bundle = datasets_for(TINY)
    model = build_model(ARCH, 1).eval()
    values = trainer.validate(model, to_float(bundle.val.images), bundle.val.labels, TINY,
                              torch.Generator().manual_seed(0))
    assert set(values) == set(HISTORY_KEYS) - {"train_loss", "train_acc"}
    assert {(c["loss"], c["steps"]) for c in calls} == {("ce", 1), ("cw", 2)}
    assert all(not c["clamp_start"] and c["return_loss"] and c["step"] == 0.03 and c["eps"] == 0.125 for c in calls)
    assert values["cw_loss"] <= 0 <= values["pgd_loss"]


# --------------------------------------------------------------------------- whole runs
def test_tiny_run_writes_reference_checkpoints_and_history(reference):
    out, result = reference
    assert [len(result.history[k]) for k in HISTORY_KEYS] == [TINY.epochs] * len(HISTORY_KEYS)
    assert all(0 <= v <= 1 for v in result.history["train_acc"])
    cw = result.history["cw"]
    assert result.best_epoch == cw.index(max(cw))  # the first maximum
    assert result.seed == 3 and result.gpu_type == "cpu" and len(result.timestamp.split("-")) == 3
    assert 0 < result.training_time < 1 and result.profile == TINY
    files = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert files == ["arch_1_0e.pth", "arch_1_1e.pth", "arch_1_best.pth", "arch_1_last.pth", "arch_1_resume.pth"]
    last = checkpoints.load_checkpoint(out / "checkpoints" / "arch_1_last.pth")
    assert list(last) == [*checkpoints.CHECKPOINT_KEYS, "arch", "profile"]  # the reference's keys, then ours
    assert list(last["ENV"]) == list(checkpoints.ENV_KEYS)
    assert last["arch"] == {"D1": 4, "W1": 8, "D2": 4, "W2": 8, "D3": 4, "W3": 8}
    assert Profile.from_dict(last["profile"]) == TINY
    assert last["epoch"] == 2 and last["genotype"] is None and last["scheduler_state_dict"] is None
    env = last["ENV"]
    assert env["eval_history"] == result.history["val_acc"] and env["lip_history"] == result.history["cw_lip"]
    assert env["pgdcw_eval_history"] == list(enumerate(cw)) and env["best_pgdcw_acc"] == max(cw)
    assert env["stable_acc_history"] == result.history["cw_stable"] and env["global_step"] == 3 * 2
    assert env["flops"] == pytest.approx(0.82, abs=0.01)  # MACs/1e6 of the base-1 model at 8 px
    groups = last["optimizer_state_dict"]["param_groups"]
    assert [g["weight_decay"] for g in groups] == [5e-4, 0.0] and groups[0]["lr"] == pytest.approx(0.001)
    assert not groups[0]["nesterov"] and groups[0]["momentum"] == 0.9
    saved1 = checkpoints.load_checkpoint(out / "checkpoints" / "arch_1_1e.pth")
    assert saved1["epoch"] == 1 and saved1["optimizer_state_dict"]["param_groups"][0]["lr"] == pytest.approx(0.01)
    saved0 = checkpoints.load_checkpoint(out / "checkpoints" / "arch_1_0e.pth")
    assert saved0["epoch"] == 0 and saved0["optimizer_state_dict"]["param_groups"][0]["lr"] == 0.1
    best = checkpoints.load_checkpoint(result.best_checkpoint)
    assert best["epoch"] == result.best_epoch and best["ENV"]["eval_history"] == result.history["val_acc"][
        :result.best_epoch + 1]
    model = build_model(ARCH, 1)
    model.load_state_dict(best["model_state_dict"], strict=True)
    log = (out / "arch_1.log").read_text()
    assert "====================Training Epoch 2====================" in log
    assert "Best PGDCW-2 accuracy: " in log and "PGD with 1.0 steps Loss Avg" in log and "Running Cost" in log


def test_finished_run_returns_without_training_and_refuses_other_seeds(reference):
    out, result = reference
    last = out / "checkpoints" / "arch_1_last.pth"
    mtime = last.stat().st_mtime_ns
    again = run_tiny(out)
    assert again.history == result.history and again.best_epoch == result.best_epoch
    assert last.stat().st_mtime_ns == mtime
    with pytest.raises(ConfigError, match="belongs to another run"):
        run_tiny(out, seed=4)


# --------------------------------------------------------------------------- run identity
IDENTITY = {"arch": [4, 8, 4, 8, 4, 8], "profile": TINY.to_dict(), "seed": 3, "device": "cpu", "precision": "fp32",
            "compile": False, "cpu_threads": 1}


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_the_run_identity_is_recorded(reference):
    out, _ = reference
    assert json.loads((out / "arch_1_run.json").read_text()) == IDENTITY
    state = checkpoints.load_resume_state(out / "checkpoints" / "arch_1_resume.pth")
    assert {key: state[key] for key in IDENTITY} == IDENTITY


@pytest.mark.parametrize(("changes", "differ", "requested"), [
    ({"seed": 4, "resume": False}, "seed (3 vs 4)", '"seed": 4'),
    ({"seed": 4}, "seed (3 vs 4)", '"seed": 4'),
    ({"compile": True}, "compile (false vs true)", '"compile": true'),
])
def test_a_folder_of_another_run_is_refused_and_left_untouched(reference, tmp_path, changes, differ, requested):
    out = tmp_path / "run"
    shutil.copytree(reference[0], out)
    before = snapshot(out)
    with pytest.raises(ConfigError, match="belongs to another run") as info:
        run_tiny(out, **changes)
    message = str(info.value)
    assert str(out) in message and f"they differ in {differ}" in message
    assert '"seed": 3' in message and '"compile": false' in message and requested in message  # both, in full
    assert snapshot(out) == before  # nothing appended, nothing removed


def test_a_run_folder_from_before_identities_is_refused_naming_both(reference, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(reference[0], out)
    (out / "arch_1_run.json").unlink()
    path = out / "checkpoints" / "arch_1_resume.pth"
    state = checkpoints.load_resume_state(path)
    for key in ("device", "precision", "compile", "cpu_threads"):
        del state[key]
    torch.save(state, path)
    before = snapshot(out)
    with pytest.raises(ConfigError, match="belongs to another run") as info:
        run_tiny(out)
    assert 'they differ in device (absent vs "cpu"), precision (absent vs "fp32")' in str(info.value)
    assert snapshot(out) == before


def test_a_folder_with_files_of_an_unknown_run_is_refused(tmp_path):
    (tmp_path / "arch_1.log").write_text("an old log\n")
    with pytest.raises(ConfigError, match=r"files of arch_id 1 of a run of unknown identity \(arch_1.log\)") as info:
        run_tiny(tmp_path)
    assert '"seed": 3' in str(info.value)
    assert (tmp_path / "arch_1.log").read_text() == "an old log\n"


def test_resume_false_starts_the_same_run_over(reference, tmp_path):
    ref_out, ref = reference
    out = tmp_path / "run"
    shutil.copytree(ref_out, out)
    fresh = run_tiny(out, resume=False)
    assert fresh.history == ref.history and fresh.best_epoch == ref.best_epoch
    log = (out / "arch_1.log").read_text()
    assert log.count("Training Epoch 0=") == 1 and log.count("Running Cost") == 1  # a new log, not appended
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == sorted(
        p.name for p in (ref_out / "checkpoints").iterdir())


def test_same_seed_same_history_other_seed_differs(reference, tmp_path):
    _, result = reference
    other = run_tiny(tmp_path, seed=4)
    assert other.history["train_loss"] != result.history["train_loss"]


def test_nan_losses_past_the_limit_stop_the_run_and_keep_earlier_checkpoints(tmp_path, monkeypatch):
    real_step, calls = trainer.train_step, []

    def step_with_nan_losses_from_epoch_1(*args):
        loss, hits, grad_norm = real_step(*args)
        calls.append(1)
        return (loss * float("nan") if len(calls) > 2 else loss), hits, grad_norm

    monkeypatch.setattr(trainer, "train_step", step_with_nan_losses_from_epoch_1)
    monkeypatch.setattr(trainer, "NAN_STEP_LIMIT", 3)  # the reference's 100, scaled to 2 steps per epoch
    with pytest.raises(TrainingDivergedError, match=r"arch_id 1 .*4 training steps with a NaN running loss by epoch 2"):
        run_tiny(tmp_path)
    assert len(calls) == 6  # epochs 1 and 2 have 2 NaN steps each: 2 <= 3, then 4 > 3 at the end of epoch 2
    last = checkpoints.load_checkpoint(tmp_path / "checkpoints" / "arch_1_last.pth")
    assert last["epoch"] == 1  # epoch 1 (2 NaN steps, under the limit) was still saved; epoch 2 was not
    assert "NaN running loss" in (tmp_path / "arch_1.log").read_text()


@pytest.mark.parametrize("crash", ["before_commit", "after_commit"])
def test_crash_inside_checkpointing_resumes_to_the_same_result(reference, tmp_path, monkeypatch, crash):
    ref_out, ref = reference
    real_save, real_replace = checkpoints.save_atomic, os.replace

    def save(obj, path):
        if crash == "before_commit" and path.name.endswith("resume.pth") and obj["epoch"] == 1:
            raise RuntimeError("simulated crash")
        real_save(obj, path)

    def replace(src, dst):
        if crash == "after_commit" and str(src).endswith(".e1.pending"):
            raise RuntimeError("simulated crash")
        real_replace(src, dst)

    monkeypatch.setattr(checkpoints, "save_atomic", save)
    monkeypatch.setattr(checkpoints.os, "replace", replace)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_tiny(tmp_path)
    assert list((tmp_path / "checkpoints").glob("*.pending"))  # the crash left staged files
    monkeypatch.undo()
    resumed = run_tiny(tmp_path)
    assert resumed.history == ref.history and resumed.best_epoch == ref.best_epoch
    assert not list((tmp_path / "checkpoints").glob("*.pending"))
    for tag in ("best", "last", "1e"):
        a = checkpoints.load_checkpoint(tmp_path / "checkpoints" / f"arch_1_{tag}.pth")
        b = checkpoints.load_checkpoint(ref_out / "checkpoints" / f"arch_1_{tag}.pth")
        assert a["epoch"] == b["epoch"] and same_state(a["model_state_dict"], b["model_state_dict"])


def test_killed_training_process_resumes_to_the_same_history(reference, tmp_path):
    ref_out, ref = reference
    args = [sys.executable, "-c", CHILD, json.dumps(TINY.to_dict()), str(ARCH), str(tmp_path), "3"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    marker = tmp_path / "checkpoints" / "arch_1_resume.pth"  # epoch 0 committed (atomic rename)
    deadline = time.monotonic() + 120
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    child.kill()
    _, err = child.communicate()
    assert child.returncode == -9, f"the child was not killed mid-run: rc {child.returncode}, {err.decode()}"
    assert checkpoints.load_resume_state(marker)["epoch"] < TINY.epochs - 1
    resumed = run_tiny(tmp_path)  # continues from the killed process's last committed epoch
    assert resumed.history == ref.history and resumed.best_epoch == ref.best_epoch
    a = checkpoints.load_checkpoint(tmp_path / "checkpoints" / "arch_1_best.pth")
    b = checkpoints.load_checkpoint(ref_out / "checkpoints" / "arch_1_best.pth")
    assert same_state(a["model_state_dict"], b["model_state_dict"])
    assert a["optimizer_state_dict"]["state"][0]["momentum_buffer"].equal(
        b["optimizer_state_dict"]["state"][0]["momentum_buffer"])


@pytest.mark.slow
def test_digits_profile_learns_robustly(tmp_path):
    bundle = datasets_for(DIGITS)
    result = trainer.train(ARCH, DIGITS, bundle, tmp_path, seed=0, device="cpu", progress=False)
    best = checkpoints.load_checkpoint(result.best_checkpoint)
    model = build_model(ARCH, DIGITS.base_channels)
    model.load_state_dict(best["model_state_dict"])
    x, y = to_float(bundle.test.images), bundle.test.labels
    clean, _ = attacks.evaluate_clean(model, x, y, DIGITS.eval_batch_size)
    attack = lambda m, a, b: attacks.pgd(m, a, b, eps=DIGITS.eps, step=DIGITS.attack_step,  # noqa: E731
                                         steps=DIGITS.test_pgd_steps, generator=torch.Generator().manual_seed(0))
    robust = attacks.evaluate_attack(model, x, y, attack, DIGITS.eval_batch_size).acc
    assert clean > 90 and 30 < robust < clean - 5
    assert Path(result.best_checkpoint).exists()
