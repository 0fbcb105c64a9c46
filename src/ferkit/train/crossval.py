"""K-fold cross-validation (``data.folds=K``): one training run per fold, mean ± std.

The pool is the training split plus the validation split (if any); folds are stratified and
seeded, and keep each subject on one side where the format knows subjects (CK+, JAFFE). Each
fold is an ordinary run in ``RUN_DIR/fold<i>`` (checkpoints record the fold); ``RUN_DIR/cv.json``
holds every fold's result and the summary.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ferkit.io import atomic_write_json
from ferkit.seed import seed_everything
from ferkit.train.config import TrainConfig
from ferkit.train.runner import (
    TrainResult,
    fit_run,
    load_train_data,
    prepare_run_dir,
    write_run_files,
)


@dataclass
class CrossValResult:
    """A k-fold cross-validation: one ``TrainResult`` per fold and the mean ± std over folds."""

    run_dir: Path
    folds: list[TrainResult]
    val_acc_mean: float | None
    val_acc_std: float | None
    accuracy_mean: float | None  # final evaluation (calibrated) on each fold's held-out part
    accuracy_std: float | None
    macro_f1_mean: float | None
    macro_f1_std: float | None
    wall_time_s: float

    def to_dict(self) -> dict[str, Any]:
        from ferkit.io import to_jsonable

        return to_jsonable(dataclasses.asdict(self))

    def summary(self) -> str:
        def pm(mean, std):
            return "-" if mean is None else f"{mean:.4f} ± {std:.4f}"

        return (f"{len(self.folds)}-fold cross-validation: best val_acc "
                f"{pm(self.val_acc_mean, self.val_acc_std)}, accuracy "
                f"{pm(self.accuracy_mean, self.accuracy_std)}, macro-F1 "
                f"{pm(self.macro_f1_mean, self.macro_f1_std)} (mean ± std over folds) → "
                f"{self.run_dir / 'cv.json'}")


def _mean_std(values: list[float | None]) -> tuple[float | None, float | None]:
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    return float(np.mean(vals)), float(np.std(vals))


def cross_validate(cfg: TrainConfig, *, progress: bool | None = None, log_fn=None,
                   warn_fn=None) -> CrossValResult:
    """K stratified folds (by subject where the format knows them) of train (+ val).

    Every fold has validation data, so ``warn_fn`` is accepted for symmetry with ``train``.
    """
    import copy
    import json

    from ferkit.data.splits import fold_datasets

    t_start = time.perf_counter()
    cfg.validate_names()
    run_dir, _ = prepare_run_dir(cfg, False)
    cfg.output = str(run_dir)
    write_run_files(run_dir, cfg)
    seed_everything(cfg.seed)
    dataset = load_train_data(cfg)
    results, evals = [], []
    for i, ds, fold in fold_datasets(dataset, cfg.data.folds, cfg.seed, cfg.data.val_split):
        fcfg = copy.deepcopy(cfg)
        fcfg.data.folds = 0
        fcfg.output = str(run_dir / f"fold{i}")
        fold_dir, _ = prepare_run_dir(fcfg, False)
        if log_fn:
            by = ", by subject" if fold["by_subject"] else ""
            log_fn(f"fold {i + 1}/{cfg.data.folds}: {fold['n_train']} train, {fold['n_val']} "
                   f"val images (stratified{by}) → {fold_dir}")
        rng = seed_everything(cfg.seed)
        result = fit_run(fcfg, fold_dir, ds, rng, time.perf_counter(), progress=progress,
                      log_fn=log_fn, extra={"fold": fold})
        results.append(result)
        report = (json.loads(result.eval_report.read_text())
                  if result.eval_report and result.eval_report.is_file() else {})
        evals.append(report)
    va = _mean_std([r.best_val_acc for r in results])
    acc = _mean_std([e.get("accuracy") for e in evals])
    f1 = _mean_std([e.get("macro_f1") for e in evals])
    cv = CrossValResult(run_dir, results, *va, *acc, *f1,
                        wall_time_s=round(time.perf_counter() - t_start, 2))
    atomic_write_json(run_dir / "cv.json", cv.to_dict())
    return cv
