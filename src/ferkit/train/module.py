"""The LightningModule: batch preprocessing + augmentation, loss, metrics, optimisers.

The same module runs on CPU, one GPU or many (DDP): nothing here depends on the device count.
Batches arrive as uint8 (N,H,W[,C]); ``on_after_batch_transfer`` converts them on the target
device, augments training batches as whole-tensor ops and normalises with ``ferkit.preprocess``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from ferkit.preprocess import normalize
from ferkit.train.augment import BatchAugmenter
from ferkit.train.config import STUDENT_AUGMENT_STAGES, TrainConfig
from ferkit.train.optim import build_optimizer, build_scheduler, warmup_factor
from ferkit.train.teachers import load_teachers, mean_teacher_logits, place_teachers

_LUMA = (0.299, 0.587, 0.114)


def to_float_batch(images: torch.Tensor, in_chans: int) -> torch.Tensor:
    """uint8 (N,H,W[,C]) → float (N,in_chans,H,W) in [0,1] (gray↔RGB as ``match_channels``)."""
    x = images if images.dim() == 4 else images.unsqueeze(-1)
    x = x.permute(0, 3, 1, 2).float().div_(255.0)
    c = x.shape[1]
    if c == 1 and in_chans == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and in_chans == 1:
        w = torch.tensor(_LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x * w).sum(1, keepdim=True)
    return x.contiguous()


class FerModule(L.LightningModule):
    """Wraps a ferkit model; ``history`` (one dict per epoch) is kept by ``RunRecorder``."""

    def __init__(self, model: nn.Module, cfg: TrainConfig, *,
                 class_weights: torch.Tensor | None = None, frozen: set[str] | None = None) -> None:
        super().__init__()
        if cfg.trainer.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.cfg = cfg
        self.info = model.ferkit_info
        self.num_classes = len(self.info.labels)
        self.augment = BatchAugmenter(cfg.augment, self.info.input_size, self.num_classes)
        student = cfg.distill.student_augment_config()  # after the teachers, student only
        self.student_augment = None if student is None else BatchAugmenter(
            student, self.info.input_size, self.num_classes, STUDENT_AUGMENT_STAGES)
        self.register_buffer("class_weights", class_weights, persistent=False)
        self.frozen = frozen or set()
        self.aug_gen: torch.Generator | None = None
        self._warmup_steps = 0
        self._base_lrs: list[float] = []
        # a plain list, so teachers stay out of state_dict (and out of every checkpoint); with
        # distill.cache their outputs arrive with the batch (ferkit.train.teacher_cache)
        self._teachers: list = ([] if cfg.distill.cache else
                                load_teachers(cfg.distill.teachers, self.info))
        self._teachers_cl = False  # whether the placed teachers take channels-last input
        # trainer.compile: the compiled network, built at the first training step. Kept in a
        # plain list, outside the module tree: the EMA copy (a deepcopy of this module) must
        # average the weights, not carry a compiled graph that still points at these ones.
        self._compiled: list[nn.Module] = []

    @contextlib.contextmanager
    def without_extras(self):
        """Temporarily drop what a copy of the module must not carry (frozen teachers, the
        augmentation generator, the compiled network): ``EmaWeights`` deep-copies the module
        for its average."""
        saved = self._teachers, self.aug_gen, self._compiled
        self._teachers, self.aug_gen, self._compiled = [], None, []
        try:
            yield self
        finally:
            self._teachers, self.aug_gen, self._compiled = saved

    # ---- data -------------------------------------------------------------------------------
    def _generator(self, device: torch.device) -> torch.Generator:
        if self.aug_gen is None or self.aug_gen.device != device:
            gen = torch.Generator(device=device)
            gen.manual_seed(self.cfg.seed * 1000 + self.global_rank + 1)
            self.aug_gen = gen
        return self.aug_gen

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        images, labels = batch[0], batch[1]
        x = to_float_batch(images, self.info.in_chans)
        training = self.trainer is not None and self.trainer.training
        if training and len(batch) == 3:  # a cached view: already augmented, as the teachers
            if x.shape[-1] != self.info.input_size:  # saw it; drawn larger (distill.cache_size)
                x = F.interpolate(x, size=(self.info.input_size,) * 2, mode="bilinear",
                                  align_corners=False, antialias=True)
            x = self._student_view(x, labels)
            return self._model_input(x, self.info), labels, batch[2].float()
        if training:
            x, labels = self.augment(x, labels, self._generator(x.device))
        elif x.shape[-1] != self.info.input_size:  # crop training stores larger images: the
            # whole face resized to the input size, as ferkit evaluate/predict see it
            x = F.interpolate(x, size=(self.info.input_size,) * 2, mode="bilinear",
                              align_corners=False, antialias=True)
        teacher_logits = self._teacher_logits(x) if training and self._teachers else None
        if teacher_logits is not None:
            x = self._student_view(x, labels)
        x = self._model_input(x, self.info)
        return (x, labels) if teacher_logits is None else (x, labels, teacher_logits)

    def _student_view(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The training batch ``x`` as the student sees it: with ``distill.student_augment``
        the camera changes the teachers did not see (their logits are of the clean ``x``)."""
        if self.student_augment is None:
            return x
        return self.student_augment(x, labels, self._generator(x.device))[0]

    def _model_input(self, x: torch.Tensor, info) -> torch.Tensor:
        """Floats in [0,1] → normalised for ``info`` (in place) in the configured memory format."""
        x = normalize(x, info)
        if self.cfg.trainer.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _teacher_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Mean logits of the teachers on the augmented batch ``x`` (floats in [0,1])."""
        return mean_teacher_logits(self._teachers, x, self._teachers_cl)

    # ---- steps ------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def train_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The training step's forward pass: compiled with ``trainer.compile`` (it shares the
        network's parameters, so the optimiser, EMA and checkpoints see no difference)."""
        if not self.cfg.trainer.compile:
            return self.model(x)
        if not self._compiled:
            self._compiled.append(torch.compile(self.model))
        return self._compiled[0](x)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), target, weight=self.class_weights,
                               label_smoothing=self.cfg.loss.label_smoothing)

    def distill_loss(self, logits: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """T² · KL(teacher_T ‖ student_T) (Hinton et al. 2015)."""
        t = self.cfg.distill.temperature
        return F.kl_div(F.log_softmax(logits.float() / t, dim=1),
                        F.log_softmax(teacher / t, dim=1), reduction="batchmean",
                        log_target=True) * (t * t)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch[0], batch[1]
        logits = self.train_forward(x)
        loss = self.loss(logits, y)
        if len(batch) == 3:
            a = self.cfg.distill.alpha
            loss = (1.0 - a) * loss + a * self.distill_loss(logits, batch[2])
        hard = y if y.dim() == 1 else y.argmax(1)
        acc = (logits.argmax(1) == hard).float().mean()
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True,
                 batch_size=x.shape[0], sync_dist=True)
        self.log("train_acc", acc, on_step=False, on_epoch=True, prog_bar=True,
                 batch_size=x.shape[0], sync_dist=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        if self.cfg.trainer.val_tta == "flip":
            logits = 0.5 * (logits + self(x.flip(-1)))
        loss = F.cross_entropy(logits.float(), y)
        acc = (logits.argmax(1) == y).float().mean()
        self.log("val_loss", loss, on_epoch=True, prog_bar=True, batch_size=x.shape[0],
                 sync_dist=True)
        self.log("val_acc", acc, on_epoch=True, prog_bar=True, batch_size=x.shape[0],
                 sync_dist=True)

    # ---- optimisation -----------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt = build_optimizer(params, self.cfg.optimizer)
        total = int(self.trainer.estimated_stepping_batches)
        per_epoch = max(total // max(self.trainer.max_epochs or 1, 1), 1)
        self._warmup_steps = int(self.cfg.scheduler.warmup_epochs * per_epoch)
        sched = build_scheduler(opt, self.cfg.scheduler, total, per_epoch, self.cfg.optimizer.lr)
        return opt if sched is None else {"optimizer": opt, "lr_scheduler": sched}

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        """Linear warm-up on top of the schedule (overrides lr during the first steps)."""
        if self._warmup_steps <= 0 or self.global_step >= self._warmup_steps:
            return
        opt = self.optimizers(use_pl_optimizer=False)
        if not self._base_lrs:
            self._base_lrs = [g.get("initial_lr", g["lr"]) for g in opt.param_groups]
        f = warmup_factor(self.global_step, self._warmup_steps)
        for group, base in zip(opt.param_groups, self._base_lrs, strict=True):
            group["lr"] = base * f

    def train(self, mode: bool = True) -> FerModule:
        """Frozen backbone parts keep BatchNorm in inference mode (Keras-style freezing)."""
        super().train(mode)
        if mode and self.frozen:
            for name, module in self.model.named_modules():
                if name in self.frozen and isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    # ---- resume state -----------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.aug_gen is not None:
            checkpoint["ferkit_aug_rng"] = self.aug_gen.get_state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("ferkit_aug_rng")
        if state is not None:
            self._pending_rng = state

    def on_train_start(self) -> None:
        # Lightning does not call train() when fitting (or a resumed fit) starts: apply the
        # frozen BatchNorms of ``train`` here; validation then restores each module's own mode
        self.train()
        if self._teachers:  # not submodules, so Lightning does not move them: torch modules
            # go to the training device, or ONNX Runtime runs them (distill.runtime)
            self._teachers, self._teachers_cl = place_teachers(
                self.cfg.distill.runtime, self.cfg.distill.teachers, self._teachers,
                self.device, self.cfg.trainer.channels_last)
        state = getattr(self, "_pending_rng", None)
        if state is not None:
            self._generator(self.device).set_state(state)
            self._pending_rng = None

    def current_lr(self) -> float:
        opt = self.optimizers(use_pl_optimizer=False)
        return float(opt.param_groups[0]["lr"])
