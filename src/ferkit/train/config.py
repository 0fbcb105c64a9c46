"""``TrainConfig``: the typed recipe behind ``ferkit train`` (YAML and key=value serialise it).

Every range is checked in ``__post_init__`` so a bad recipe fails before any data is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ferkit.config import check_range, load_config
from ferkit.errors import ConfigError

#: ``model.name`` that means "the network model.init_from holds"
FROM_INIT = "from_init"


@dataclass
class ModelConfig:
    """Which registered model to build; ``kwargs`` go to its builder unchanged.

    ``name: from_init`` builds whatever network ``init_from`` holds (its builder options too), so a
    recipe that fine-tunes a bundled model (``finetune_default``) follows the model that ships
    instead of naming an architecture that a later release may replace."""

    name: str = "tinycnn_test"
    kwargs: dict[str, Any] = field(default_factory=dict)
    in_chans: int | None = None  # None: 1 for gray data, 3 for rgb data
    pretrained: bool = False
    init_from: str | None = None  # a ferkit checkpoint or bundled model name (default, fast)
    freeze_backbone: bool = False  # train only the classifier (``reset_classifier`` head)

    def __post_init__(self) -> None:
        if self.in_chans is not None and self.in_chans not in (1, 3):
            raise ConfigError(f"config value model.in_chans={self.in_chans!r} must be 1 or 3")


@dataclass
class DataConfig:
    path: str = ""
    format: str | None = None
    val_split: str = "val"
    # without a ``val_split`` in the data: hold this fraction of train out (stratified, seeded,
    # by subject where the format knows subjects); 0 trains without validation (warned)
    val_fraction: float = 0.1
    folds: int = 0  # >= 2: k-fold cross-validation over train (+ val), one run per fold
    color: Literal["gray", "rgb"] = "gray"
    train_on: Literal["train", "train+val"] = "train"
    balance: Literal["none", "loss_weights", "sampler"] = "none"
    limit_train: int = 0  # >0: use only the first N shuffled training images (quick experiments)

    def __post_init__(self) -> None:
        check_range("data.val_fraction", self.val_fraction, 0.0, 0.9)
        check_range("data.limit_train", self.limit_train, 0)
        if self.folds == 1 or self.folds < 0:
            raise ConfigError(f"config value data.folds={self.folds!r} must be 0 (off) or >= 2")


def _check_pair(name: str, pair: tuple[float, float], lo: float, hi: float) -> None:
    """A (low, high) range: both inside [lo, hi] and low <= high."""
    a, b = pair
    if not lo <= a <= b <= hi:
        raise ConfigError(f"config value {name}={pair!r} must satisfy {lo} <= low <= high "
                          f"<= {hi}")


@dataclass
class AugmentConfig:
    """Batched tensor augmentations (applied on the whole batch inside the training step)."""

    hflip: float = 0.5  # probability
    rotation: float = 0.0  # max degrees (uniform in ±rotation)
    shift: float = 0.0  # max fraction of the image size
    scale: float = 0.0  # max relative zoom (uniform in 1±scale)
    affine_p: float = 1.0  # probability that rotation/shift/scale apply to an image
    random_crop: bool = False  # crop input_size from a stored image of input_size/crop_fraction
    tencrop: bool = False  # every image yields its 10 crops as training samples
    crop_fraction: float = 0.875
    erasing: float = 0.0  # random-erasing probability per sample
    erasing_area: tuple[float, float] = (0.02, 0.33)
    mixup: float = 0.0  # Beta(alpha, alpha) parameter; 0 disables
    cutmix: float = 0.0  # Beta(alpha, alpha) parameter; 0 disables
    mix_p: float = 1.0  # probability that a batch is mixed (when mixup/cutmix are on)
    # Robustness to faces from other cameras and real detector crops (all off by default).
    # The detector-box variation of the pipeline (box scale/shift) is the ``affine`` stage's
    # ``scale``/``shift`` with ``hflip``: a zoom of 1±scale about a centre moved by ±shift is the
    # same resampling as a face box grown/shrunk and moved, so no separate box-jitter stage.
    blur: float = 0.0  # probability of a Gaussian blur (defocus, motion-free low-res webcams)
    blur_sigma: tuple[float, float] = (0.3, 1.5)  # sigma range in pixels of the model input
    jpeg: float = 0.0  # probability of JPEG-like 8x8 block-DCT quantisation artefacts
    jpeg_quality: tuple[int, int] = (30, 90)  # JPEG quality range (libjpeg's scale, 1-100)
    gamma: float = 0.0  # max |log gamma|: gamma drawn log-uniformly in [e^-g, e^g]
    contrast: float = 0.0  # max relative contrast change (factor uniform in 1±contrast)
    brightness: float = 0.0  # max brightness shift (added, uniform in ±brightness)
    photometric_p: float = 1.0  # probability that gamma/contrast/brightness apply to an image
    noise: float = 0.0  # probability of additive Gaussian noise (sensor noise, dark scenes)
    noise_std: tuple[float, float] = (0.01, 0.05)  # noise std range (images in [0,1])
    # probability of a low-resolution camera: the face is area-averaged down to a fraction of
    # its side (uniform in ``downscale_range``) and resized back up, as the pipeline upsizes a
    # small face. Under ferkit's camera-shift check (``evaluate --shift lowres``, 40% of the side)
    # the bundled default lost 21 points, more than under any other shift.
    downscale: float = 0.0
    downscale_range: tuple[float, float] = (0.35, 0.8)  # kept fraction of the side

    def __post_init__(self) -> None:
        for name in ("hflip", "affine_p", "erasing", "mix_p", "blur", "jpeg", "photometric_p",
                     "noise", "downscale"):
            check_range(f"augment.{name}", getattr(self, name), 0.0, 1.0)
        check_range("augment.gamma", self.gamma, 0.0, 1.5)
        check_range("augment.contrast", self.contrast, 0.0, 0.9)
        check_range("augment.brightness", self.brightness, 0.0, 0.5)
        _check_pair("augment.blur_sigma", self.blur_sigma, 0.05, 10.0)
        _check_pair("augment.jpeg_quality", self.jpeg_quality, 1, 100)
        _check_pair("augment.noise_std", self.noise_std, 0.0, 0.5)
        _check_pair("augment.downscale_range", self.downscale_range, 0.05, 1.0)
        check_range("augment.rotation", self.rotation, 0.0, 180.0)
        check_range("augment.shift", self.shift, 0.0, 0.5)
        check_range("augment.scale", self.scale, 0.0, 0.9)
        check_range("augment.crop_fraction", self.crop_fraction, 0.3, 1.0, lo_open=True)
        check_range("augment.mixup", self.mixup, 0.0)
        check_range("augment.cutmix", self.cutmix, 0.0)
        lo, hi = self.erasing_area
        if not 0.0 < lo <= hi < 1.0:
            raise ConfigError(f"config value augment.erasing_area={self.erasing_area!r} must "
                              "satisfy 0 < lo <= hi < 1")
        if self.random_crop and self.tencrop:
            raise ConfigError("augment.random_crop and augment.tencrop are exclusive; pick one")

    @property
    def crops(self) -> bool:
        return self.random_crop or self.tencrop


@dataclass
class OptimizerConfig:
    name: str = "adamw"  # sgd | adam | adamw (OPTIMIZERS registry)
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)

    def __post_init__(self) -> None:
        check_range("optimizer.lr", self.lr, 0.0, 10.0, lo_open=True)
        check_range("optimizer.weight_decay", self.weight_decay, 0.0, 1.0)
        check_range("optimizer.momentum", self.momentum, 0.0, 1.0, hi_open=True)
        for b in self.betas:
            check_range("optimizer.betas", b, 0.0, 1.0, hi_open=True)


@dataclass
class SchedulerConfig:
    name: str = "cosine"  # none | plateau | cosine | cosine_restarts | onecycle | step
    warmup_epochs: float = 0.0
    min_lr: float = 0.0
    factor: float = 0.1  # plateau: lr *= factor
    patience: int = 5  # plateau
    monitor: Literal["val_acc", "val_loss", "train_loss"] = "val_acc"  # plateau
    step_size: int = 10  # step: epochs between decays
    gamma: float = 0.1  # step: lr *= gamma every step_size epochs
    restart_epochs: int = 10  # cosine_restarts: first period
    restart_mult: int = 1  # cosine_restarts: period multiplier
    pct_start: float = 0.3  # onecycle
    div_factor: float = 25.0  # onecycle: start lr = lr / div_factor

    def __post_init__(self) -> None:
        check_range("scheduler.warmup_epochs", self.warmup_epochs, 0.0)
        check_range("scheduler.min_lr", self.min_lr, 0.0)
        check_range("scheduler.factor", self.factor, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("scheduler.patience", self.patience, 0)
        check_range("scheduler.step_size", self.step_size, 1)
        check_range("scheduler.gamma", self.gamma, 0.0, 1.0, lo_open=True)
        check_range("scheduler.restart_epochs", self.restart_epochs, 1)
        check_range("scheduler.restart_mult", self.restart_mult, 1)
        check_range("scheduler.pct_start", self.pct_start, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range("scheduler.div_factor", self.div_factor, 1.0)


@dataclass
class LossConfig:
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        check_range("loss.label_smoothing", self.label_smoothing, 0.0, 1.0, hi_open=True)


@dataclass
class TrainerConfig:
    epochs: int = 30
    batch_size: int = 64
    precision: str = "auto"  # auto (16-mixed on GPU, 32 on CPU) | 32-true | 16-mixed | bf16-mixed
    accelerator: str = "auto"
    devices: str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    gradient_clip: float = 0.0  # max grad norm; 0 disables
    early_stopping: int = 0  # patience in epochs on val_acc; 0 disables
    num_workers: int = 0
    ckpt_every_n_steps: int = 200  # resume state also saved mid-epoch
    val_tta: Literal["none", "flip"] = "none"
    # NHWC tensors: PyTorch's CPU depthwise/1x1 conv backward is ~2x faster in this layout
    # (measured on EfficientNet-Lite0, 64 px); harmless elsewhere, and helps AMP on GPUs.
    channels_last: bool = True
    progress: bool = True
    fit_temperature: bool = True
    final_eval: bool = True
    # Exponential moving average of the weights (and of BatchNorm's running statistics), 0 = off.
    # Long schedules with strong augmentation end in a noisy region; the average of the last
    # ~1/(1-ema) steps is a flatter, better-generalising point (timm, Polyak averaging). With EMA
    # on, validation, best/last checkpoints, calibration and the final evaluation all use the
    # averaged weights, and --resume restores both the live and the averaged weights.
    ema: float = 0.0  # decay per optimiser step, e.g. 0.999 (horizon ~1000 steps)
    # the average follows the live weights for this many optimiser steps before it starts
    # averaging: weights from the first, fast-changing steps (random init) would only drag it
    ema_warmup_steps: int = 0
    # torch.compile the network for training steps (validation stays eager), for GPUs and for
    # CPUs where it pays. Measure first (benchmarks/bench_compile.py): on the 2-core EPYC an
    # EfficientNet-Lite1 88 px step in channels-last was 0.92x as fast compiled as eager
    # (benchmarks/results/compile-2026-11-30.md), so ferkit leaves it off by default.
    compile: bool = False

    def __post_init__(self) -> None:
        check_range("trainer.ema", self.ema, 0.0, 1.0, hi_open=True)
        check_range("trainer.ema_warmup_steps", self.ema_warmup_steps, 0)
        check_range("trainer.epochs", self.epochs, 1)
        check_range("trainer.batch_size", self.batch_size, 1)
        check_range("trainer.num_nodes", self.num_nodes, 1)
        check_range("trainer.gradient_clip", self.gradient_clip, 0.0)
        check_range("trainer.early_stopping", self.early_stopping, 0)
        check_range("trainer.num_workers", self.num_workers, 0)
        check_range("trainer.ckpt_every_n_steps", self.ckpt_every_n_steps, 0)
        valid = ("auto", "32-true", "32", "16-mixed", "bf16-mixed", "64-true")
        if self.precision not in valid:
            raise ConfigError(f"config value trainer.precision={self.precision!r} is not one of "
                              f"{', '.join(valid)}")


#: the ``augment`` keys ``distill.student_augment`` takes: per-pixel camera changes that keep the
#: face where the teachers saw it (stages photometric, blur, downscale, noise, jpeg)
STUDENT_AUGMENT_KEYS: tuple[str, ...] = (
    "gamma", "contrast", "brightness", "photometric_p", "blur", "blur_sigma", "downscale",
    "downscale_range", "noise", "noise_std", "jpeg", "jpeg_quality")
STUDENT_AUGMENT_STAGES: tuple[str, ...] = ("photometric", "blur", "downscale", "noise", "jpeg")


@dataclass
class DistillConfig:
    """Knowledge distillation: the student also matches the averaged soft predictions of
    ``teachers`` (ferkit checkpoints, frozen) on the same augmented batch. A teacher may run at
    a larger input size than the student; each sees the batch resized to its own size."""

    teachers: list[str] = field(default_factory=list)  # checkpoints or bundled model names
    alpha: float = 0.5  # weight of the distillation term; 1 - alpha weighs the label loss
    temperature: float = 2.0  # softening of both distributions (the term is scaled by T²)
    # Cached teacher outputs: at train start, ``cache_views`` augmented views of every training
    # image are drawn once and the teachers run on them once (RUN/teacher_cache.npz, reused by
    # --resume); each step then shows the student one of those views per image together with
    # the teachers' logits for exactly those pixels. Large or many teachers then cost K forward
    # passes per image in total instead of one per image per epoch, which pays off on long
    # schedules. Memory: images x views x input_size² x channels bytes for the views.
    cache: bool = False
    cache_views: int = 8
    # Pixels of the cached views; 0 = the student's input size. Views at a larger size serve
    # students of several sizes (each resizes them to its own input): a 48 px student can reuse
    # the 64 px student's cache, which the views' fingerprint allows when augmentation, seed,
    # views, teachers and data are the same.
    cache_size: int = 0
    # Where the cache lives; '' = RUN/teacher_cache.npz. A shared path lets several runs use one
    # cache (it is reused only when its fingerprint matches, otherwise rebuilt there).
    cache_file: str = ""
    # A finished cache of the same views (same data, augmentation, seed, views and size) whose
    # teachers are the first entries of ``teachers``: only the teachers after them run, and the
    # mean is combined with the stored one (weighted by teacher count), so a teacher added to an
    # ensemble costs its own forward passes, not everyone's again. Ignored (with a log line)
    # when it does not match; then every teacher runs.
    cache_extends: str = ""
    # A finished cache to reuse read-only, e.g. a copy committed in ``stages/``: tried when
    # ``cache_file`` (or RUN/teacher_cache.npz) is missing or does not match, under the same
    # fingerprint and view-digest checks, and never written to, so a recipe runs from a fresh
    # checkout with no copy step and a mismatch can never overwrite the committed file (the
    # rebuilt cache goes to ``cache_file`` as usual, with a log line saying why).
    cache_from: str = ""
    # What runs the teachers, live or for the cache: ``onnx`` (ONNX Runtime, each teacher
    # exported once with ferkit's parity check), ``torch``, or ``auto`` (ONNX Runtime on a CPU,
    # torch on a GPU). On the 2-core EPYC ONNX Runtime ran the #11 teachers 2.5-4.9x faster
    # than torch in channels-last (benchmarks/results/teacher-runtime-2026-11-30.md); logits
    # agree to ~4e-6, far below the cache's float16 rounding, so its fingerprint ignores this.
    runtime: Literal["auto", "torch", "onnx"] = "auto"
    # Camera changes shown to the student alone (keys: ``STUDENT_AUGMENT_KEYS``, as in
    # ``augment``; all off by default): the teachers judge the clean view (cached or live) and
    # the student must say the same on the view made darker, blurred, downscaled, noisy or
    # JPEG-compressed. It learns what a face from a worse camera *should* read as, instead of
    # what the teachers guess on the degraded pixels; and since the cached views are unchanged,
    # a committed cache (``cache_from``) serves a robustness-trained student as it is.
    student_augment: dict[str, Any] = field(default_factory=dict)
    # Where the cached-view schedule starts (``ViewShuffle``): a student continuing one that
    # trained E epochs on the same cache and seed sets E, so it is shown the views its parent was
    # not, rather than the same views in the same order again (0: from the start).
    view_offset: int = 0

    def student_augment_config(self) -> AugmentConfig | None:
        """``student_augment`` as an ``AugmentConfig`` (no flip, no geometry); None when unset."""
        if not self.student_augment:
            return None
        from ferkit.config import from_dict

        try:
            return from_dict(AugmentConfig, {"hflip": 0.0, **self.student_augment},
                             prefix="distill.student_augment.")
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("config value augment.",
                                               "config value distill.student_augment.")) from None

    def __post_init__(self) -> None:
        check_range("distill.alpha", self.alpha, 0.0, 1.0)
        check_range("distill.temperature", self.temperature, 0.0, 100.0, lo_open=True)
        check_range("distill.cache_views", self.cache_views, 1, 256)
        check_range("distill.cache_size", self.cache_size, 0, 1024)
        check_range("distill.view_offset", self.view_offset, 0, 100_000)
        if self.view_offset and not self.cache:
            raise ConfigError("distill.view_offset moves the schedule of cached teacher views: "
                              "set distill.cache=true, or leave it out")
        if (self.cache_size or self.cache_file or self.cache_extends
                or self.cache_from) and not self.cache:
            raise ConfigError("distill.cache_size, distill.cache_file, distill.cache_extends and "
                              "distill.cache_from describe the teacher cache: set "
                              "distill.cache=true, or leave them out")
        if self.cache and not self.teachers:
            raise ConfigError("distill.cache=true needs distill.teachers (checkpoints or bundled "
                              "model names) whose outputs it caches")
        if self.student_augment:
            if not isinstance(self.student_augment, dict):
                raise ConfigError("distill.student_augment must be a mapping, e.g. "
                                  "{downscale: 0.3, noise: 0.2}")
            unknown = [k for k in self.student_augment if k not in STUDENT_AUGMENT_KEYS]
            if unknown:
                import difflib

                close = difflib.get_close_matches(unknown[0], STUDENT_AUGMENT_KEYS, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ConfigError(
                    f"distill.student_augment.{unknown[0]} is not a camera change the student "
                    f"can see alone{hint} Valid keys: {', '.join(STUDENT_AUGMENT_KEYS)} (flips, "
                    "geometry, erasing and mixing change what the teachers judged: use augment.*)")
            if not self.teachers:
                raise ConfigError("distill.student_augment changes the student's copy of what the "
                                  "teachers see, so it needs distill.teachers; without teachers "
                                  "use the same keys under augment.*")
            self.student_augment_config()  # ranges, with this key's name in the message


@dataclass
class TrainConfig:
    """The whole recipe; ``ferkit train --config recipe.yaml key=value ...`` fills it."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    seed: int = 0
    output: str = ""  # run directory; '' → runs/<model>-<timestamp>
    description: str = ""

    def __post_init__(self) -> None:
        check_range("seed", self.seed, 0)
        a = self.augment
        if self.distill.cache and (a.mixup or a.cutmix or a.tencrop):
            which = ", ".join(f"augment.{k}" for k in ("mixup", "cutmix", "tencrop")
                              if getattr(a, k))
            raise ConfigError(f"distill.cache stores one teacher output per augmented view of "
                              f"one image, but {which} builds samples from several images or "
                              "crops; turn it off or use distill.cache=false")

    def resolve_from_init(self) -> None:
        """``model.name: from_init`` → the model ``model.init_from`` holds (read from its metadata
        only; the weights load when training starts)."""
        if self.model.name != FROM_INIT:
            return
        if not self.model.init_from:
            raise ConfigError(f"config value model.name={FROM_INIT!r} needs model.init_from (a "
                              "checkpoint or a bundled model name such as default or fast)")
        from ferkit.bundled import resolve_model
        from ferkit.checkpoint import read_meta

        self.model.name = read_meta(resolve_model(self.model.init_from, "torch")).model

    def validate_names(self) -> None:
        """Check registry names (model, optimizer, scheduler) with did-you-mean errors, after
        resolving ``model.name: from_init`` (so Python callers of ``train`` get it too)."""
        from ferkit.models import MODELS

        self.resolve_from_init()
        from ferkit.train.optim import OPTIMIZERS, SCHEDULERS

        MODELS.get(self.model.name)
        OPTIMIZERS.get(self.optimizer.name)
        SCHEDULERS.get(self.scheduler.name)


def load_train_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                      **shortcuts: Any) -> TrainConfig:
    """YAML recipe ← CLI shortcuts (``model=..., data=...``) ← ``key=value`` overrides.

    ``path`` is a YAML file or the name of a packaged recipe (``ferkit configs``).
    """
    base: dict[str, Any] = {}
    for key, value in shortcuts.items():
        if value is None:
            continue
        node = base
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    from ferkit.config import deep_merge, from_dict, parse_overrides, read_yaml
    from ferkit.recipes import resolve_recipe

    data = read_yaml(resolve_recipe(path)) if path is not None else {}
    data = deep_merge(data, base)
    data = deep_merge(data, parse_overrides(list(overrides)))
    cfg = from_dict(TrainConfig, data)
    cfg.validate_names()
    return cfg


__all__ = ["TrainConfig", "load_config", "load_train_config"]
