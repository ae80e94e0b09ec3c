"""CUDA checks of the trainer and the evaluation (``python -m pytest -m gpu``; skipped without CUDA).

One small WRN, [4,8,4,8,4,8] under the digits profile (8 epochs on sklearn's digits, base channels 2),
trained on the GPU in fp32 and reused by every test:

- the same fp32 weights evaluated under bf16 autocast and in fp32: clean, PGD-20 and AA-Compact
  accuracies within :data:`EVAL_TOL` (1 point, about 4 of the 360 test digits);
- bf16 and fp32 training of the same run (same seed, same draws): training follows a chaotic path
  that rounding alone changes, so only what it learns is compared, within :data:`TRAIN_TOL`
  (5 points of validation and test accuracy);
- channels_last and contiguous weights give the same logits (fp32 with TF32 off: 1e-4; bf16: 2 % of
  the logit range);
- a training process killed mid-run and resumed ends with the CUDA generators in exactly the state
  of the uninterrupted run (their states count draws, not numerics), its accuracies within
  :data:`TRAIN_TOL`;
- ``torch.compile`` gives the same loss curve over 3 epochs within :data:`LOSS_TOL` (0.1 nats per
  epoch), its validation accuracies within :data:`TRAIN_TOL`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time

import pytest
import torch

from nares_nas.live import checkpoints, evaluator, trainer
from nares_nas.live.data import datasets_for, to_float
from nares_nas.live.model import build_model
from nares_nas.live.profiles import DIGITS
from nares_nas.space import Arch

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

ARCH = Arch.parse("4,8,4,8,4,8")
SEED = 0
EVAL_TOL = 1.0  # points: one evaluation of the same weights in bf16 and fp32
TRAIN_TOL = 5.0  # points: two trainings whose rounding differs
LOSS_TOL = 0.1  # nats per epoch: the compiled and eager loss curves
COMPARED = ("test_clean_acc", "Linf_pgd_acc", "Linf_aa_acc")  # clean, PGD-20, AA-Compact (digits: 20 its, 3 targets)
CHILD = """
import json, sys
from nares_nas.live import data, profiles, trainer
from nares_nas.space import Arch
profile = profiles.Profile.from_dict(json.loads(sys.argv[1]))
trainer.train(Arch.parse(sys.argv[2]), profile, data.datasets_for(profile), sys.argv[3], seed=int(sys.argv[4]),
              device="cuda", progress=False, amp=False)
"""


def train(out_dir, profile=DIGITS, **kwargs) -> trainer.TrainResult:
    return trainer.train(ARCH, profile, datasets_for(profile), out_dir, seed=SEED, device="cuda", progress=False,
                         **kwargs)


def best_model(result: trainer.TrainResult) -> torch.nn.Module:
    model = build_model(ARCH, DIGITS.base_channels)
    model.load_state_dict(checkpoints.load_checkpoint(result.best_checkpoint)["model_state_dict"])
    return model.cuda().eval()


def accuracies(model: torch.nn.Module, amp: bool) -> dict[str, float]:
    """The test-set record of ``model`` on the GPU, in bf16 autocast (``amp``) or in fp32."""
    return evaluator.evaluate(model, DIGITS, datasets_for(DIGITS), seed=SEED, device="cuda", progress=False, amp=amp)


def best_val(result: trainer.TrainResult) -> dict[str, float]:
    return {key: result.history[key][result.best_epoch] for key in ("val_acc", "pgd", "cw")}


def resume_generators(out_dir) -> dict[str, torch.Tensor]:
    state = checkpoints.load_resume_state(checkpoints.checkpoint_path(out_dir, ARCH.arch_id, "resume"))
    return state["generators"]


@pytest.fixture(scope="module")
def fp32_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fp32")
    return out, train(out, amp=False)


@pytest.fixture(scope="module")
def fp32_eval(fp32_run):
    return accuracies(best_model(fp32_run[1]), amp=False)


def test_the_fp32_run_learned_something(fp32_eval):
    assert fp32_eval["test_clean_acc"] > 80 and 10 < fp32_eval["Linf_pgd_acc"] < fp32_eval["test_clean_acc"]


def test_bf16_evaluation_of_fp32_weights_is_within_a_point(fp32_run, fp32_eval):
    bf16 = accuracies(best_model(fp32_run[1]), amp=True)
    for key in COMPARED:
        assert abs(bf16[key] - fp32_eval[key]) <= EVAL_TOL, (key, bf16[key], fp32_eval[key])


def test_bf16_training_learns_what_fp32_training_learns(tmp_path, fp32_run, fp32_eval):
    _, fp32 = fp32_run
    bf16 = train(tmp_path, amp=True)
    for key, value in best_val(bf16).items():
        assert abs(value - best_val(fp32)[key]) <= TRAIN_TOL, (key, value, best_val(fp32)[key])
    evaluated = accuracies(best_model(bf16), amp=False)
    for key in COMPARED:
        assert abs(evaluated[key] - fp32_eval[key]) <= TRAIN_TOL, (key, evaluated[key], fp32_eval[key])


def test_channels_last_gives_the_same_logits(fp32_run):
    model = best_model(fp32_run[1])
    x = to_float(datasets_for(DIGITS).test.images[:200]).cuda()
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.no_grad():
            plain = model.to(memory_format=torch.contiguous_format)(x.contiguous())
            last = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
            torch.testing.assert_close(last, plain, rtol=1e-4, atol=1e-4)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                plain16 = model.to(memory_format=torch.contiguous_format)(x.contiguous()).float()
                last16 = model.to(memory_format=torch.channels_last)(
                    x.contiguous(memory_format=torch.channels_last)).float()
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
    scale = (plain.max() - plain.min()).item()
    assert (last16 - plain16).abs().max().item() <= 0.02 * scale
    assert (last16.argmax(1) == plain16.argmax(1)).float().mean() >= 0.99


def test_cuda_generator_state_survives_kill_and_resume(tmp_path, fp32_run):
    ref_out, ref = fp32_run
    cuda_state = torch.Generator(device="cuda").get_state().numel()  # a CPU generator's state is far larger
    assert [name for name, state in resume_generators(ref_out).items() if state.numel() == cuda_state] \
        == [name for name in trainer.GENERATORS if name != "shuffle"]  # the attack streams are CUDA generators
    args = [sys.executable, "-c", CHILD, json.dumps(DIGITS.to_dict()), str(ARCH), str(tmp_path), str(SEED)]
    child = subprocess.Popen(args, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    marker = checkpoints.checkpoint_path(tmp_path, ARCH.arch_id, "resume")  # epoch 0 committed
    deadline = time.monotonic() + 300
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    child.kill()
    _, err = child.communicate()
    assert child.returncode == -9, f"the child was not killed mid-run: rc {child.returncode}, {err.decode()}"
    killed_at = checkpoints.load_resume_state(marker)["epoch"]
    assert killed_at < DIGITS.epochs - 1
    resumed = train(tmp_path, amp=False)
    assert len(resumed.history["pgd"]) == DIGITS.epochs
    final, expected = resume_generators(tmp_path), resume_generators(ref_out)
    assert final.keys() == expected.keys()
    for name in final:
        assert torch.equal(final[name], expected[name]), name  # the CUDA streams went on where they stopped
    for key, value in best_val(resumed).items():
        assert abs(value - best_val(ref)[key]) <= TRAIN_TOL, (key, value, best_val(ref)[key])


def test_torch_compile_gives_the_same_loss_curve(tmp_path):
    profile = dataclasses.replace(DIGITS, name="digits-3", epochs=3, lr_milestones=(), save_epochs=())
    eager = train(tmp_path / "eager", profile, amp=False)
    compiled = train(tmp_path / "compiled", profile, amp=False, compile=True)
    for a, b in zip(compiled.history["train_loss"], eager.history["train_loss"]):
        assert abs(a - b) <= LOSS_TOL, (compiled.history["train_loss"], eager.history["train_loss"])
    for key, value in best_val(compiled).items():
        assert abs(value - best_val(eager)[key]) <= TRAIN_TOL, (key, value, best_val(eager)[key])
