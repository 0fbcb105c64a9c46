"""``train(cfg) -> TrainResult``: the library entry point behind ``ferkit train``.

Builds data, model and Lightning objects from a ``TrainConfig``, fits (optionally resuming from
``RUN_DIR/resume/state.ckpt``), then calibrates the best checkpoint's temperature on the
validation split and writes an evaluation report into ``RUN_DIR/eval/``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ferkit.checkpoint import CheckpointMeta, load_model, read_meta, save_checkpoint
from ferkit.config import to_dict
from ferkit.errors import ConfigError, DataError
from ferkit.io import atomic_write_json, atomic_write_text
from ferkit.seed import seed_everything
from ferkit.train.callbacks import RESUME_FILE, EmaWeights, ResumeState, RunRecorder
from ferkit.train.config import TrainConfig

if TYPE_CHECKING:  # pragma: no cover
    from ferkit.train.crossval import CrossValResult

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a finished run produced (paths inside ``run_dir``) and its headline numbers."""

    run_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    epochs: int
    best_epoch: int | None
    best_val_acc: float | None
    temperature: float
    wall_time_s: float
    images_per_s: float | None
    history: list[dict[str, Any]] = field(default_factory=list)
    eval_report: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        from ferkit.io import to_jsonable

        return to_jsonable(dataclasses.asdict(self))


RUN_DIR_ENV = "FERKIT_RUN_DIR"


def is_child_rank() -> bool:
    """True in the processes Lightning's DDP launcher re-executes (local or node rank > 0)."""
    return any(int(os.environ.get(k, "0") or 0) > 0 for k in ("LOCAL_RANK", "NODE_RANK"))


def default_run_dir(cfg: TrainConfig) -> Path:
    if is_child_rank() and os.environ.get(RUN_DIR_ENV):  # same directory as rank 0
        return Path(os.environ[RUN_DIR_ENV])
    return Path("runs") / f"{cfg.model.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare_run_dir(cfg: TrainConfig, resume: bool, log_fn=None) -> tuple[Path, bool]:
    """Create the run directory; refuse to overwrite a finished or resumable run by accident.

    Returns ``(run_dir, resume)``. A folder left by a start that saved no training state (a
    failed start, Ctrl-C while loading data) holds no progress: a fresh run reuses it, and
    ``--resume`` there starts from the beginning with the saved config.
    """
    from ferkit.io import check_writable_dir

    run_dir = Path(cfg.output) if cfg.output else default_run_dir(cfg)
    os.environ[RUN_DIR_ENV] = str(run_dir)  # inherited by DDP child processes
    state = run_dir / RESUME_FILE
    if is_child_rank():
        pass  # rank 0 already checked and created it
    elif resume:
        if not state.is_file():
            if not (run_dir / "config.yaml").is_file():
                raise ConfigError(f"--resume: {str(run_dir)!r} holds no run (no config.yaml); "
                                  "pass the --output folder of the run to continue")
            if log_fn:
                log_fn(f"note: {str(run_dir)!r} was stopped before its first checkpoint; "
                       "starting it from the beginning")
            resume = False
    elif state.exists() or (run_dir / "result.json").exists():
        raise ConfigError(f"run directory {str(run_dir)!r} already holds a run; pass --resume to "
                          "continue it or choose another --output")
    elif (run_dir / "config.yaml").exists() and log_fn:
        log_fn(f"note: reusing {str(run_dir)!r}, left by a run that saved no progress")
    check_writable_dir(run_dir, "--output")
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in (run_dir / RESUME_FILE).parent.glob(f".{Path(RESUME_FILE).name}.*.tmp"):
        stale.unlink(missing_ok=True)  # a save cut short by SIGKILL / power loss
    return run_dir, resume


#: settings a resumed run may change: where and how it runs, not what it learns
RESUME_MUTABLE = frozenset({
    "output", "trainer.progress", "trainer.devices", "trainer.accelerator", "trainer.strategy",
    "trainer.num_nodes", "trainer.num_workers", "trainer.ckpt_every_n_steps",
    "trainer.precision", "trainer.fit_temperature", "trainer.final_eval"})


def load_resume_config(run_dir: str | Path, overrides: list[str] | tuple[str, ...] = (), *,
                       model: str | None = None, data: str | None = None) -> TrainConfig:
    """The config a run was started with (``RUN_DIR/config.yaml``), plus optional overrides.

    A resumed run continues the saved optimiser and learning-rate schedule, so settings that
    change what is learnt (``--data``, ``--model``, epochs, optimiser, schedule...) are refused
    with one line instead of being ignored or half-applied; giving the same value is fine.
    """
    from ferkit.config import to_dict
    from ferkit.train.config import load_train_config

    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"--resume: {str(path)!r} does not exist; is {str(run_dir)!r} a run "
                          "directory?")
    saved = load_train_config(path)
    if data is not None and Path(data).resolve() == Path(saved.data.path).resolve():
        data = None  # the same dataset, spelled differently
    cfg = load_train_config(path, overrides, **{"model.name": model, "data.path": data})
    changed = sorted(k for k, v in _flat(to_dict(cfg)).items()
                     if k not in RESUME_MUTABLE and _flat(to_dict(saved)).get(k) != v)
    if changed:
        raise ConfigError(_resume_refusal(Path(run_dir), changed, saved, cfg))
    if (Path(run_dir) / "result.json").is_file():
        raise ConfigError(f"--resume: {str(run_dir)!r} already finished all its "
                          f"{saved.trainer.epochs} epochs; nothing to resume. "
                          + _extend_hint(Path(run_dir)))
    cfg.output = str(run_dir)
    return cfg


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and k != "kwargs":
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def _extend_hint(run_dir: Path) -> str:
    import shlex

    return ("To train longer, start a new run from its weights with a fresh schedule: ferkit "
            f"train --config {shlex.quote(str(run_dir / 'config.yaml'))} --output NEW_DIR "
            f"model.init_from={shlex.quote(str(run_dir / 'last.safetensors'))} "
            "trainer.epochs=N")


def _resume_refusal(run_dir: Path, changed: list[str], saved, cfg) -> str:
    shown = ", ".join(f"{k} ({_flat(to_dict(saved)).get(k)!r} → {_flat(to_dict(cfg)).get(k)!r})"
                      for k in changed[:4])
    more = f" and {len(changed) - 4} more" if len(changed) > 4 else ""
    return (f"--resume continues {str(run_dir)!r} exactly as it was started, but {shown}{more} "
            "would change it (a resumed run keeps its data, model, optimiser and learning-rate "
            "schedule); resume without them. " + _extend_hint(run_dir))


def load_train_data(cfg: TrainConfig):
    from ferkit.data import load_dataset

    if not cfg.data.path:
        raise ConfigError("no training data: pass --data PATH (or data.path=...)")
    dataset = load_dataset(cfg.data.path, format=cfg.data.format, color=cfg.data.color)
    if "train" not in dataset.splits or len(dataset.splits["train"]) == 0:
        raise DataError(f"dataset {cfg.data.path!r} has no 'train' split (splits: "
                        f"{', '.join(dataset.splits) or 'none'})")
    if len(dataset.classes) < 2:
        found = ", ".join(dataset.classes) or "none"
        raise DataError(f"dataset {cfg.data.path!r} has {len(dataset.classes)} class ({found}); "
                        "training needs at least 2: add one folder of images per class, e.g. "
                        "DATA/train/<class>/*.png")
    return dataset


def build_model(cfg: TrainConfig, classes: tuple[str, ...]) -> tuple[torch.nn.Module, set[str],
                                                                       float]:
    """Create (or continue from ``init_from``) the model; returns (model, frozen, temperature)."""
    from ferkit.models import create_model

    in_chans = cfg.model.in_chans or (3 if cfg.data.color == "rgb" else 1)
    temperature = 1.0
    if cfg.model.init_from:
        from ferkit.bundled import resolve_model

        model, meta = load_model(resolve_model(cfg.model.init_from, "torch"), eval_mode=False)
        if meta.model != cfg.model.name:
            raise ConfigError(f"model.init_from={cfg.model.init_from!r} holds model "
                              f"{meta.model!r}, but model.name is {cfg.model.name!r}; pass "
                              f"--model {meta.model}")
        temperature = meta.temperature
        model = _with_new_kwargs(model, meta, cfg.model.kwargs)
        # the checkpoint records every builder option, also those only init_from had
        cfg.model.kwargs = {**meta.model_kwargs, **cfg.model.kwargs}
        if tuple(meta.labels) != tuple(classes):  # other classes: a fresh head of the right size
            model.reset_classifier(len(classes))
            temperature = 1.0
    else:
        model = create_model(cfg.model.name, num_classes=len(classes), in_chans=in_chans,
                             pretrained=cfg.model.pretrained, **cfg.model.kwargs)
    model.ferkit_info = dataclasses.replace(model.ferkit_info, labels=tuple(classes))
    frozen = freeze_backbone(model, len(classes)) if cfg.model.freeze_backbone else set()
    return model, frozen, temperature


def _with_new_kwargs(model: torch.nn.Module, meta, kwargs: dict) -> torch.nn.Module:
    """Rebuild an ``init_from`` model whose config changes builder options (e.g. a smaller
    ``input_size`` for a faster student), keeping every weight; shapes must still match."""
    from ferkit.models import create_model

    changed = {k: v for k, v in kwargs.items() if meta.model_kwargs.get(k) != v}
    if not changed:
        return model
    new = create_model(meta.model, num_classes=meta.num_classes, in_chans=meta.info.in_chans,
                       pretrained=False, **{**meta.model_kwargs, **changed})
    try:
        new.load_state_dict(model.state_dict())
    except RuntimeError as exc:
        first = (str(exc).strip().splitlines() or ["shape mismatch"])[0]
        raise ConfigError(f"model.kwargs {changed} change the shapes of the weights in "
                          f"model.init_from ({first}); keep the init_from model's "
                          "options") from None
    return new


def freeze_backbone(model: torch.nn.Module, num_classes: int) -> set[str]:
    """Freeze all but a fresh classifier head (found as the parameters ``reset_classifier`` adds).

    Returns the names of the frozen sub-modules (their BatchNorm stays in eval mode).
    """
    before = {id(p) for p in model.parameters()}
    model.reset_classifier(num_classes)
    head = {id(p) for p in model.parameters()} - before
    if not head:
        raise ConfigError("model.freeze_backbone: the model's reset_classifier added no new "
                          "parameters, so the head cannot be told apart")
    for p in model.parameters():
        p.requires_grad_(id(p) in head)
    return {name for name, m in model.named_modules()
            if any(True for _ in m.parameters(recurse=False))
            and not any(p.requires_grad for p in m.parameters(recurse=False))}


def make_meta(cfg: TrainConfig, model: torch.nn.Module, dataset, history: list[dict[str, Any]],
              temperature: float = 1.0, extra: dict[str, Any] | None = None) -> CheckpointMeta:
    row = history[-1] if history else {}  # best/last are saved at the epoch they describe
    return CheckpointMeta(
        model=cfg.model.name, info=model.ferkit_info, model_kwargs=dict(cfg.model.kwargs),
        num_classes=len(model.ferkit_info.labels), config=to_dict(cfg),
        metrics={k: v for k, v in row.items() if v is not None}, history=list(history),
        data_fingerprint=dataset.fingerprint, seed=cfg.seed, temperature=temperature,
        extra={"data_path": str(cfg.data.path), "val_split": cfg.data.val_split,
               "train_on": cfg.data.train_on,
               "crop_fraction": cfg.augment.crop_fraction if cfg.augment.crops else None,
               **(extra or {})},
    )


def write_run_files(run_dir: Path, cfg: TrainConfig) -> None:
    import yaml

    atomic_write_text(run_dir / "config.yaml",
                      yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=None))
    atomic_write_text(run_dir / "seed", f"{cfg.seed}\n")


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool | None = None,
          log_fn=None, warn_fn=None, callbacks: list[Any] | None = None
          ) -> TrainResult | CrossValResult:
    """Train ``cfg.model`` on ``cfg.data``; everything lands in the run directory.

    SIGINT (Ctrl-C) and SIGTERM stop after the current batch, save a resumable state and raise
    ``ferkit.interrupt.Interrupted`` (exit 130 / 143 on the CLI) naming the resume command.
    With ``data.folds=K`` (K >= 2) this runs a K-fold cross-validation instead (one run per fold
    in ``RUN_DIR/fold<i>``) and returns a ``CrossValResult`` with the mean ± std.
    ``log_fn`` gets progress notes, ``warn_fn`` (default ``log_fn``) the loud ones; extra
    Lightning ``callbacks`` (a search's pruning callback) join the run, so a search trial trains
    through exactly this function.
    """
    if cfg.data.folds:
        if resume:
            raise ConfigError("--resume does not apply to a k-fold run (data.folds); resume one "
                              "fold with --resume --output RUN_DIR/fold<i>")
        from ferkit.train.crossval import cross_validate

        return cross_validate(cfg, progress=progress, log_fn=log_fn, warn_fn=warn_fn)
    from ferkit.train.interrupt import TrainStop, interrupted

    with TrainStop() as stop:
        try:
            return _train(cfg, resume, progress, log_fn, warn_fn, stop, callbacks)
        except (KeyboardInterrupt, SystemExit) as exc:
            if stop.signum is None and not isinstance(exc, KeyboardInterrupt):
                raise
            raise interrupted(stop, cfg) from None


def _train(cfg: TrainConfig, resume: bool, progress: bool | None, log_fn, warn_fn, stop,
           callbacks: list[Any] | None) -> TrainResult:
    t_start = time.perf_counter()
    cfg.validate_names()
    run_dir, resume = prepare_run_dir(cfg, resume, log_fn)
    cfg.output = str(run_dir)
    rng = seed_everything(cfg.seed)
    val = _with_validation(cfg, load_train_data(cfg), log_fn, warn_fn)
    extra = {"val_holdout": val.holdout} if val.holdout else {}
    return fit_run(cfg, run_dir, val.dataset, rng, t_start, resume=resume, progress=progress,
                   log_fn=log_fn, extra=extra, callbacks=callbacks, stop=stop)


def _with_validation(cfg: TrainConfig, dataset, log_fn=None, warn_fn=None):
    """The dataset with a validation split (held out if the data has none), notes said."""
    from ferkit.data.splits import resolve_validation

    val = resolve_validation(dataset, cfg.data.val_split, cfg.data.val_fraction, cfg.seed,
                             cfg.data.train_on)
    if val.note and log_fn and not is_child_rank():
        log_fn(val.note)
    if val.warning and not is_child_rank():
        (warn_fn or log_fn or log.warning)(val.warning)
    return val


def fit_run(cfg: TrainConfig, run_dir: Path, dataset, rng: np.random.Generator,
            t_start: float, *, resume: bool = False, progress: bool | None = None, log_fn=None,
            extra: dict[str, Any] | None = None, callbacks: list[Any] | None = None,
            stop=None) -> TrainResult:
    """One training run on a loaded dataset whose splits are final (``stop``: the signal
    watcher of ``train``, which saves a resumable state on SIGINT/SIGTERM)."""
    from ferkit.train.datamodule import FerDataModule, class_weights, prepare_splits
    from ferkit.train.module import FerModule

    model, frozen, temperature = build_model(cfg, tuple(dataset.classes))
    info = model.ferkit_info
    from ferkit.ensemble.tta import crop_size_for

    stored = (crop_size_for(info.input_size, cfg.augment.crop_fraction) if cfg.augment.crops
              else info.input_size)
    cache_size = cfg.distill.cache_size if cfg.distill.cache else 0
    splits = prepare_splits(dataset, cfg, stored, info.interpolation, rng,
                            train_size=cache_size or None)
    weights = None
    if cfg.data.balance == "loss_weights":
        weights = torch.from_numpy(class_weights(splits.train.labels, len(dataset.classes)))
    module = FerModule(model, cfg, class_weights=weights, frozen=frozen)
    cache = None
    if cfg.distill.cache:
        from ferkit.train.teacher_cache import load_or_build

        show = cfg.trainer.progress if progress is None else progress
        cache = load_or_build(cfg, run_dir, splits.train, dataset.fingerprint, info,
                              progress=show and not is_child_rank(),
                              log_fn=None if is_child_rank() else log_fn)
    datamodule = FerDataModule(splits, cfg, len(dataset.classes), teacher_cache=cache)

    # with EMA on, best/last hold the averaged weights: the ones validation measured
    ema = EmaWeights(cfg.trainer.ema, cfg.trainer.ema_warmup_steps) if cfg.trainer.ema else None

    def save_fn(path: Path, history: list[dict[str, Any]]) -> None:
        state = ema.model_state() if ema is not None else module.model.state_dict()
        save_checkpoint(path, state,
                        make_meta(cfg, module.model, dataset, history, temperature, extra))

    recorder = RunRecorder(run_dir, save_fn, log_fn)
    has_val = check_validation(cfg, splits, log_fn)
    with quiet_lightning():
        trainer = build_trainer(cfg, run_dir, recorder, progress, has_val, callbacks, ema)
    if stop is not None:
        stop.watch(trainer, run_dir)
    if not is_child_rank():  # after the trainer: a rejected setting leaves no config behind
        write_run_files(run_dir, cfg)  # on resume: the config with any new overrides
    ckpt = str(run_dir / RESUME_FILE) if resume else None
    with quiet_lightning():
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
    if not trainer.is_global_zero:
        return _result(run_dir, recorder, temperature, t_start)
    return finish_run(cfg, run_dir, dataset, splits, recorder, t_start, log_fn)


def lightning_precision(precision: str, accelerator: str = "auto") -> str:
    """``trainer.precision`` as Lightning takes it. ``auto`` is 16-bit mixed precision where a
    GPU is available and float32 otherwise; a run or benchmark pinned to ``accelerator: cpu``
    always gets float32. CPUs have no fp16 autocast worth having, and bf16 there speeds some
    networks and slows others (``benchmarks/bench_train.py --precision``), so it is never
    chosen for the user."""
    if precision != "auto":
        return precision
    on_gpu = accelerator != "cpu" and torch.cuda.is_available()
    return "16-mixed" if on_gpu else "32-true"


@contextlib.contextmanager
def quiet_lightning():
    """Hide Lightning's banner/tips and known-harmless warnings; ours say what matters."""
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for pattern in (".*does not have many workers.*", ".*ended before the epoch ended.*",
                            ".*on_after_batch_transfer.*", ".*LeafSpec.*",
                            ".*litlogger.*", ".*is_leaf.*",
                            ".*smaller than the logging interval.*",
                            ".*Grad strides do not match bucket view strides.*"):
                warnings.filterwarnings("ignore", pattern)
            yield
    finally:
        logger.setLevel(level)


def check_validation(cfg: TrainConfig, splits, log_fn=None) -> bool:
    """Whether a validation loop runs; val-monitoring settings without one are an error."""
    has_val = splits.val is not None and cfg.data.train_on == "train"
    if has_val:
        return True
    why = ("data.train_on=train+val" if cfg.data.train_on != "train"
           else f"the data has no {cfg.data.val_split!r} split")
    if cfg.scheduler.name == "plateau" and cfg.scheduler.monitor != "train_loss":
        raise ConfigError(f"scheduler.monitor={cfg.scheduler.monitor} needs a validation split, "
                          f"but {why}; use scheduler.monitor=train_loss or another scheduler")
    if log_fn and cfg.trainer.early_stopping:
        log_fn(f"note: no validation ({why}): early stopping is off, best = lowest train loss")
    return False


def build_trainer(cfg: TrainConfig, run_dir: Path, recorder: RunRecorder,
                  progress: bool | None, has_val: bool = True,
                  extra_callbacks: list[Any] | None = None, ema: EmaWeights | None = None):
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping
    from lightning.pytorch.loggers import CSVLogger
    from lightning.pytorch.utilities.exceptions import MisconfigurationException

    t = cfg.trainer
    # EMA first: each step's average is updated before ResumeState may save that step
    callbacks: list[Any] = [*([ema] if ema is not None else []), recorder,
                            ResumeState(run_dir, t.ckpt_every_n_steps), *(extra_callbacks or [])]
    if t.early_stopping and has_val:
        callbacks.append(EarlyStopping(monitor="val_acc", mode="max", patience=t.early_stopping))
    show = t.progress if progress is None else progress
    if show:
        from lightning.pytorch.callbacks import RichProgressBar

        callbacks.append(RichProgressBar(console_kwargs={"stderr": True}))
    precision = lightning_precision(t.precision, t.accelerator)
    loggers: list[Any] = [CSVLogger(str(run_dir), name="logs")]
    try:
        import tensorboard  # noqa: F401
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(str(run_dir), name="tb"))
    except ImportError:
        pass
    devices: Any = int(t.devices) if t.devices.lstrip("-").isdigit() else t.devices
    try:
        return L.Trainer(
            max_epochs=t.epochs, accelerator=t.accelerator, devices=devices,
            strategy=t.strategy, num_nodes=t.num_nodes, precision=precision,
            callbacks=callbacks, logger=loggers, gradient_clip_val=t.gradient_clip or None,
            enable_checkpointing=False, enable_progress_bar=show, enable_model_summary=False,
            num_sanity_val_steps=0, log_every_n_steps=10, default_root_dir=str(run_dir),
            limit_val_batches=1.0 if has_val else 0,
        )
    except (MisconfigurationException, ValueError, RuntimeError) as exc:
        first = " ".join(str(exc).split())[:300]
        raise ConfigError(f"Lightning rejects trainer.accelerator={t.accelerator} "
                          f"devices={t.devices} strategy={t.strategy} precision={precision}: "
                          f"{first} (use trainer.accelerator=cpu, or auto)") from None


def _result(run_dir: Path, recorder: RunRecorder, temperature: float, t_start: float,
            eval_path: Path | None = None) -> TrainResult:
    hist = recorder.history
    rates = [r["images_per_s"] for r in hist if r.get("images_per_s")]
    best_acc = max((r["val_acc"] for r in hist if r.get("val_acc") is not None), default=None)
    return TrainResult(
        run_dir=run_dir, best_checkpoint=run_dir / "best.safetensors",
        last_checkpoint=run_dir / "last.safetensors", epochs=len(hist),
        best_epoch=recorder.best_epoch, best_val_acc=best_acc, temperature=temperature,
        wall_time_s=round(time.perf_counter() - t_start, 2),
        images_per_s=float(np.median(rates)) if rates else None, history=hist,
        eval_report=eval_path,
    )


def finish_run(cfg: TrainConfig, run_dir: Path, dataset, splits, recorder: RunRecorder,
               t_start: float, log_fn=None) -> TrainResult:
    """Calibrate best.safetensors on val, plot the curves, write the val evaluation report."""
    from ferkit.eval.plots import plot_learning_curves

    best = run_dir / "best.safetensors"
    temperature = read_meta(best).temperature
    has_val = splits.val is not None and cfg.data.train_on == "train"
    if cfg.trainer.fit_temperature and has_val:
        temperature = calibrate_checkpoint(best, splits.val.images, splits.val.labels)
        if log_fn:
            log_fn(f"temperature scaling on {cfg.data.val_split}: T = {temperature:.3f}")
    plot_learning_curves(recorder.history, run_dir / "learning_curves.png")
    eval_path = None
    # the held-out split: val, unless it was trained on (then test, if the data has one)
    split = cfg.data.val_split if has_val else ("test" if "test" in dataset.splits else None)
    if cfg.trainer.final_eval and split is not None:
        from ferkit.eval.report import evaluate

        report = evaluate(best, dataset, split=split, output=run_dir / "eval", progress=False)
        eval_path = run_dir / "eval" / "report.json"
        if log_fn:
            log_fn(f"evaluation on {split}: accuracy {report.accuracy:.4f} "
                   f"macro-F1 {report.macro_f1:.4f} ECE {report.ece:.4f} → {eval_path}")
    result = _result(run_dir, recorder, temperature, t_start, eval_path)
    atomic_write_json(run_dir / "result.json", result.to_dict())
    return result


def calibrate_checkpoint(path: Path, images: np.ndarray, labels: np.ndarray) -> float:
    """Fit a temperature on (images, labels) and store it in the checkpoint (atomically)."""
    from ferkit.ensemble.tta import predict_logits
    from ferkit.eval.calibration import fit_temperature

    model, meta = load_model(path)
    logits = predict_logits(model, images, meta.info, "none")
    temperature = fit_temperature(logits, labels)
    meta.temperature = temperature
    save_checkpoint(path, model.state_dict(), meta)
    return temperature
