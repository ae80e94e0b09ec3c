"""Checkpoint files of one training run: the reference's four plus a resume state (spec §2.8).

``arch_<id>_{last,best,<E>e}.pth`` hold the reference dict layout (``epoch``,
``model_state_dict``, ``optimizer_state_dict``, ``alpha_optimizer_state_dict``,
``scheduler_state_dict``, ``ENV``, ``genotype``) plus ``arch`` (``{"D1": …, "W3": …}``) and
``profile`` (the training profile's fields), so a checkpoint names what it is; the reference's own
checkpoints lack those two. ``arch_<id>_resume.pth`` adds what a crashed run needs to continue
bit-for-bit: history, best so far, generator states, elapsed time.

``arch_<id>_run.json`` beside the log holds the run's identity (everything that changes its
result); :func:`claim_run_folder` refuses a folder holding another run, so a run is never appended
to another's log or checkpoints.

An epoch is committed by the atomic write of the resume state. ``last``/``best`` of that epoch are
first written beside their final name as ``*.e<epoch>.pending`` and renamed only after the commit,
so a crash at any point leaves files that :func:`recover_pending` makes consistent with the resume
state (a pending file of the committed epoch is renamed in, any other is dropped).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from nares_nas._atomic import write_bytes_atomic
from nares_nas.errors import ConfigError, DataFormatError
from nares_nas.space import KEYS, Arch

CHECKPOINT_KEYS: tuple[str, ...] = (
    "epoch", "model_state_dict", "optimizer_state_dict", "alpha_optimizer_state_dict",
    "scheduler_state_dict", "ENV", "genotype",
)
ENV_KEYS: tuple[str, ...] = (
    "global_step", "best_acc", "curren_acc", "best_pgd_acc", "best_pgdcw_acc", "flops", "train_history",
    "eval_history", "pgd_eval_history", "pgdcw_eval_history", "stable_acc_history", "lip_history",
    "genotype_list",
)
_PENDING_TAGS = ("last", "best")


def checkpoint_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / "checkpoints"


def checkpoint_path(out_dir: str | Path, arch_id: int, tag: str) -> Path:
    """``out_dir/checkpoints/arch_<id>_<tag>.pth``; tag ``last``, ``best``, ``74e`` … or ``resume``."""
    return checkpoint_dir(out_dir) / f"arch_{arch_id}_{tag}.pth"


def make_env(
    *,
    global_step: int,
    flops: float,
    val_acc: Sequence[float],
    pgd_acc: Sequence[float],
    cw_acc: Sequence[float],
    cw_stable: Sequence[float],
    cw_lip: Sequence[float],
) -> dict[str, Any]:
    """The reference's ``ENV`` after the epochs whose validation values are given (percent)."""
    return {
        "global_step": int(global_step),
        "best_acc": 0.0,
        "curren_acc": float(val_acc[-1]),
        "best_pgd_acc": float(max(pgd_acc)),
        "best_pgdcw_acc": float(max(cw_acc)),
        "flops": float(flops),
        "train_history": [],
        "eval_history": [float(v) for v in val_acc],
        "pgd_eval_history": [(e, float(v)) for e, v in enumerate(pgd_acc)],
        "pgdcw_eval_history": [(e, float(v)) for e, v in enumerate(cw_acc)],
        "stable_acc_history": [float(v) for v in cw_stable],
        "lip_history": [float(v) for v in cw_lip],
        "genotype_list": [],
    }


def checkpoint_dict(
    epoch: int, model_state: Mapping[str, Any], optimizer_state: Mapping[str, Any], env: Mapping[str, Any],
    *, arch: Arch | None = None, profile: Any = None,
) -> dict[str, Any]:
    """The reference checkpoint layout (no AMP state, no scheduler, no genotype), plus ``arch`` and
    ``profile`` entries when given (a :class:`~nares_nas.live.profiles.Profile`)."""
    state = {
        "epoch": int(epoch),
        "model_state_dict": dict(model_state),
        "optimizer_state_dict": dict(optimizer_state),
        "alpha_optimizer_state_dict": None,
        "scheduler_state_dict": None,
        "ENV": dict(env),
        "genotype": None,
    }
    if arch is not None:
        state["arch"] = dict(zip(KEYS, arch.to_tuple()))
    if profile is not None:
        state["profile"] = profile.to_dict()
    return state


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary name, then rename: readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _pending(path: Path, epoch: int) -> Path:
    return path.with_name(f"{path.name}.e{epoch}.pending")


def write_epoch(
    out_dir: str | Path,
    arch_id: int,
    epoch: int,
    checkpoint: Mapping[str, Any],
    resume_state: Mapping[str, Any],
    *,
    is_best: bool,
    save_epoch: bool,
) -> None:
    """Write one epoch's files in commit order (see the module docstring)."""
    staged = [checkpoint_path(out_dir, arch_id, "last")]
    if is_best:
        staged.append(checkpoint_path(out_dir, arch_id, "best"))
    for path in staged:
        save_atomic(checkpoint, _pending(path, epoch))
    if save_epoch:
        save_atomic(checkpoint, checkpoint_path(out_dir, arch_id, f"{epoch}e"))
    save_atomic(resume_state, checkpoint_path(out_dir, arch_id, "resume"))
    for path in staged:
        os.replace(_pending(path, epoch), path)


def recover_pending(out_dir: str | Path, arch_id: int, committed_epoch: int) -> None:
    """Finish the renames of the committed epoch; delete files staged by an uncommitted one."""
    for tag in _PENDING_TAGS:
        path = checkpoint_path(out_dir, arch_id, tag)
        for pending in path.parent.glob(f"{path.name}.e*.pending"):
            if pending == _pending(path, committed_epoch):
                os.replace(pending, path)
            else:
                pending.unlink()


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint (tensors and plain containers only) and check the reference layout."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError("missing checkpoint file", path=str(path))
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except OSError:
        raise  # unreadable: the file's own problem, reported with its path
    except Exception as err:  # the unpickler, given a file of another kind, raises anything (KeyError, ...)
        raise DataFormatError(f"not a checkpoint torch can read (torch.load raised {type(err).__name__}; --debug "
                              "shows why)", path=str(path)) from err
    if not isinstance(state, dict):
        raise DataFormatError(f"expected a dict, got {type(state).__name__}", path=str(path))
    missing = [key for key in CHECKPOINT_KEYS if key not in state]
    if missing:
        raise DataFormatError(f"missing keys {missing}", path=str(path))
    return state


def load_resume_state(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a resume state written by :func:`write_epoch`."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError) as err:
        raise DataFormatError(f"not a readable resume state ({err})", path=str(path)) from None
    if not isinstance(state, dict) or "epoch" not in state:
        raise DataFormatError("not a resume state (no 'epoch')", path=str(path))
    return state


# --------------------------------------------------------------------------- the run folder
def run_file(out_dir: str | Path, arch_id: int) -> Path:
    """``out_dir/arch_<id>_run.json``: the identity of the run that owns the folder."""
    return Path(out_dir) / f"arch_{arch_id}_run.json"


def run_files(out_dir: str | Path, arch_id: int) -> list[Path]:
    """The files a run of ``arch_id`` writes in ``out_dir``: log, identity, checkpoints (and staged ones)."""
    out_dir = Path(out_dir)
    files = [path for path in (out_dir / f"arch_{arch_id}.log", run_file(out_dir, arch_id)) if path.is_file()]
    return files + sorted(path for path in checkpoint_dir(out_dir).glob(f"arch_{arch_id}_*") if path.is_file())


def _json(value: Any) -> str:
    return json.dumps(value)


_ABSENT = object()


def _shown(value: Any) -> str:
    return "absent" if value is _ABSENT else _json(value)


def identity_differences(saved: Mapping[str, Any], requested: Mapping[str, Any]) -> list[str]:
    """``key (saved vs requested)`` for each differing key, profile fields one by one."""
    found = []
    for key in [*requested, *(k for k in saved if k not in requested)]:
        a, b = saved.get(key, _ABSENT), requested.get(key, _ABSENT)
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            found += [f"{key}.{diff}" for diff in identity_differences(a, b)]
        else:
            found.append(f"{key} ({_shown(a)} vs {_shown(b)})")
    return found


def claim_run_folder(out_dir: str | Path, arch_id: int, identity: Mapping[str, Any], *, resume: bool) -> None:
    """Make ``out_dir`` the folder of the run ``identity`` of ``arch_id``, or refuse it.

    The identity already recorded there (``arch_<id>_run.json``, else the resume state of a run
    written before identity files) must equal ``identity``: another run's folder is refused with
    both identities named and left untouched, and so are files of ``arch_id`` whose run is unknown.
    With the same identity, ``resume`` keeps the files (the trainer continues from them);
    ``resume=False`` deletes them first, so the run starts over with a new log and no stale
    checkpoints.
    """
    out_dir = Path(out_dir)
    identity = dict(identity)
    path = run_file(out_dir, arch_id)
    saved: Mapping[str, Any] | None = None
    if path.is_file():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DataFormatError(f"not a run identity ({exc}); remove the folder to start over",
                                  path=str(path)) from None
    elif checkpoint_path(out_dir, arch_id, "resume").is_file():
        state = load_resume_state(checkpoint_path(out_dir, arch_id, "resume"))
        saved = {key: state[key] for key in identity if key in state}  # older states lack some keys
    elif leftovers := run_files(out_dir, arch_id):
        names = ", ".join(str(p.relative_to(out_dir)) for p in leftovers[:4]) + (" …" if len(leftovers) > 4 else "")
        raise ConfigError(f"{out_dir} holds files of arch_id {arch_id} of a run of unknown identity ({names}); "
                          f"this run is {_json(identity)}; use another out_dir, or remove those files")
    if saved is not None and dict(saved) != identity:
        raise ConfigError(
            f"{out_dir} belongs to another run of arch_id {arch_id}: it holds {_json(saved)}, this run is "
            f"{_json(identity)} (they differ in {', '.join(identity_differences(saved, identity))}); "
            f"use another out_dir, or remove {out_dir} to start over")
    if not resume:
        for stale in run_files(out_dir, arch_id):
            stale.unlink()
    checkpoint_dir(out_dir).mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        write_bytes_atomic(path, (json.dumps(identity, indent=1) + "\n").encode())

