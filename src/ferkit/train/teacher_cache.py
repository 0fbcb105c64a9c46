"""Cached teacher outputs for distillation (``distill.cache``): consistent, cheap teachers.

Patient distillation wants the student to see *the same augmented view* the teachers judged, and
large teachers (or several) cost more per step than the student itself. So once, at train start,
``distill.cache_views`` (K) augmented views of every training image are drawn with the run's
augmentation (all per-image stages; mixup/cutmix/ten-crop are refused by the config), rounded to
uint8, and the teachers' mean logits on exactly those pixels are stored (float16) in
``RUN/teacher_cache.npz`` (or ``distill.cache_file``). Each epoch every image is shown once, as
one of its K views, with the logits that belong to it; every view of an image is shown once
before any is shown again (``ViewShuffle``), so K >= epochs means no view repeats.

The views are drawn at the student's input size, or at ``distill.cache_size``: one cache of
64 px views then also serves a 48 px student, which resizes each view (the teachers resize it
to their own sizes anyway), with the same fingerprint when everything else matches.

The views are not stored: they are redrawn at every start from a generator seeded by the run's
seed (cheap next to the teachers), and the file keeps a digest of them next to a fingerprint of
(teacher files, data, the training images, augmentation, seed, K, sizes). ``--resume`` (or a new
start in the same folder) reuses the logits only when both match; anything else recomputes them.
Views drawn on another CPU can differ in the last bit of their float resampling sums, and so by
a grey level in a few pixels, which changes the digest but not what the teachers would say: a
finished cache also keeps a probe of 64 views, and a cache whose fingerprint matches is reused
when its probe matches this machine's views to within that rounding. A cache with the right
number of views whose fingerprint cannot be matched (made before 2026-12-01 on another kind of
CPU: its fingerprint hashed resized pixels) is checked by content: the teachers run on 64 of
this machine's views, and their outputs must match the stored logits.

Building the cache for several large teachers takes tens of minutes on a CPU, so it is itself
resumable: the logits computed so far are saved every ``PARTIAL_EVERY_S`` seconds to
``RUN/teacher_cache.partial.npz`` (same fingerprint and digest checks), and a restart after a kill
or SIGTERM continues from there instead of from zero (Ctrl-C and SIGTERM also save at once, and
the stop message names the kept file). A finished cache committed with the code
(``distill.cache_from``) is reused read-only under the same checks. A teacher added to an
ensemble whose cache exists (``distill.cache_extends``) runs alone: its logits are averaged into
the stored mean (a base from another CPU is checked by content, as ``cache_from`` is). On a
CPU the teachers run in ONNX Runtime (``distill.runtime``, ``ferkit.train.teachers``), 2.5-4.9x
faster than torch for these networks.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ferkit.train.config import TrainConfig

log = logging.getLogger(__name__)

CACHE_FILE = "teacher_cache.npz"
PARTIAL_FILE = "teacher_cache.partial.npz"
PARTIAL_EVERY_S = 60.0  # seconds between saves of a cache that is being built
FORMAT = 1  # bump when the view drawing or the stored layout changes
_CHUNK = 256  # images per augmentation / teacher batch
PROBE_VIEWS = 64  # views a finished cache keeps a copy of, to recognise another CPU's rounding
#: largest |logit difference| between a cache and the teachers run on this machine's probe views
#: for a cache with another fingerprint to be taken as theirs (``_same_outputs``)
PROBE_LOGIT_TOL = 0.02
#: augment fields added after caches were committed: left out of the fingerprint while at these
#: (disabled) values, so the committed caches, whose views they do not change, stay valid
_LATER_AUGMENT_DEFAULTS = {"downscale": 0.0, "downscale_range": [0.35, 0.8]}


@dataclass
class TeacherCache:
    """K views per image and the teachers' mean logits on each; item ``i * K + v`` is view v of
    image i in the flat ``views`` (N*K, S, S, C) uint8 and ``logits`` (N*K, classes) float16."""

    views: torch.Tensor
    logits: torch.Tensor
    num_views: int
    fingerprint: str
    reused: bool = False

    @property
    def num_images(self) -> int:
        return int(self.views.shape[0]) // self.num_views


def cache_fingerprint(cfg: TrainConfig, teacher_files: list[Path], data_fingerprint: str,
                      images: np.ndarray, labels: np.ndarray, input_size: int,
                      in_chans: int) -> str:
    """What the cached logits depend on; a change anywhere means recomputing them."""
    return cache_fingerprints(cfg, teacher_files, data_fingerprint, images, labels, input_size,
                              in_chans)[-1]


def cache_fingerprints(cfg: TrainConfig, teacher_files: list[Path], data_fingerprint: str,
                       images: np.ndarray, labels: np.ndarray, input_size: int,
                       in_chans: int, *, paths: list[str] | None = None,
                       interpolation: str = "", digests: list[str] | None = None) -> list[str]:
    """``cache_fingerprint`` of the first 1, 2, ..., all teachers (what a cache made by a
    prefix of them carries, for ``distill.cache_extends``), hashing each teacher file once.

    The training images enter by their source ``paths`` (with the labels, the data's content
    fingerprint, their shape and the resize ``interpolation``) when given: the resized pixels
    themselves differ in rounding between CPUs (OpenCV's resize has per-SIMD-width code), so
    a fingerprint over them made every committed cache unusable on another kind of CPU. Without
    paths (and for caches made before 2026-12-01: ``legacy_fingerprints``) the pixels are
    hashed."""
    from ferkit.config import to_dict
    from ferkit.io import file_sha256

    h = hashlib.sha256()
    if paths:
        h.update("\n".join(paths).encode())
        h.update(interpolation.encode())
        train_key = "train_files"
    else:
        h.update(np.ascontiguousarray(images).tobytes())
        train_key = "train_arrays"
    h.update(np.ascontiguousarray(labels).tobytes())
    if digests is None:  # the teacher files' sha256, hashed once per start by load_or_build
        digests = [file_sha256(p) for p in teacher_files]
    augment = to_dict(cfg.augment)
    for key, default in _LATER_AUGMENT_DEFAULTS.items():  # absent from older caches' prints
        if augment.get(key) == default:
            augment.pop(key)
    doc = {"format": FORMAT, "data": data_fingerprint, train_key: h.hexdigest(),
           "shape": list(images.shape), "augment": augment, "seed": cfg.seed,
           "views": cfg.distill.cache_views, "input_size": input_size, "in_chans": in_chans}
    return [hashlib.sha256(json.dumps({**doc, "teachers": digests[:m]},
                                      sort_keys=True).encode()).hexdigest()
            for m in range(1, len(digests) + 1)]


def draw_views(images: np.ndarray, labels: np.ndarray, cfg: TrainConfig, input_size: int,
               in_chans: int, num_classes: int, advance: Callable[[int], None] | None = None
               ) -> torch.Tensor:
    """K augmented views of every image, uint8 (N*K, S, S, C), item ``i*K + v``; on the CPU
    with a generator seeded by ``cfg.seed`` alone, so every start draws the same pixels."""
    from ferkit.train.augment import STAGE_ORDER, BatchAugmenter
    from ferkit.train.module import to_float_batch

    k = cfg.distill.cache_views
    augment = BatchAugmenter(cfg.augment, input_size, num_classes,
                             tuple(s for s in STAGE_ORDER if s != "mix"))
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 999)
    n = len(images)
    out = torch.empty((n, k, input_size, input_size, in_chans), dtype=torch.uint8)
    imgs, labs = torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels)
    for v in range(k):
        for start in range(0, n, _CHUNK):
            x = to_float_batch(imgs[start:start + _CHUNK], in_chans)
            x, _ = augment(x, labs[start:start + _CHUNK], gen)
            u8 = x.mul(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
            out[start:start + _CHUNK, v] = u8
            if advance is not None:
                advance(len(u8))
    return out.reshape(n * k, input_size, input_size, in_chans)


def _views_digest(views: torch.Tensor) -> str:
    return hashlib.sha256(views.numpy().tobytes()).hexdigest()


@torch.no_grad()
def teacher_outputs(teachers: list, views: torch.Tensor, device: torch.device,
                    channels_last: bool, advance: Callable[[int], None] | None = None,
                    *, done: torch.Tensor | None = None,
                    checkpoint: Callable[[torch.Tensor], None] | None = None,
                    every_s: float | None = None) -> torch.Tensor:
    """Mean teacher logits (float16, N*K x classes) on the uint8 ``views``, in chunks; ``done``
    holds the logits of a first part already computed (resume), and ``checkpoint`` receives
    everything computed so far every ``every_s`` seconds (default ``PARTIAL_EVERY_S``)."""
    import time

    from ferkit.train.module import to_float_batch
    from ferkit.train.teachers import mean_teacher_logits

    in_chans = int(views.shape[-1])
    out = [done] if done is not None and len(done) else []
    first = len(done) if done is not None else 0
    if advance is not None and first:
        advance(first)
    every_s = PARTIAL_EVERY_S if every_s is None else every_s
    last = time.monotonic()
    saved = first
    try:
        for start in range(first, len(views), _CHUNK):
            x = to_float_batch(views[start:start + _CHUNK].to(device), in_chans)
            out.append(mean_teacher_logits(teachers, x, channels_last).half().cpu())
            if advance is not None:
                advance(len(x))
            if checkpoint is not None and time.monotonic() - last >= every_s \
                    and start + _CHUNK < len(views):
                out = [torch.cat(out)]
                checkpoint(out[0])
                saved, last = len(out[0]), time.monotonic()
    except KeyboardInterrupt:  # Ctrl-C / SIGTERM (ferkit.train.interrupt): keep what is done
        if checkpoint is not None and out and sum(len(o) for o in out) > saved:
            checkpoint(torch.cat(out))
        raise
    return torch.cat(out) if out else torch.zeros((0, 0), dtype=torch.float16)


def cache_path(cfg: TrainConfig, run_dir: Path) -> Path:
    """The finished cache: ``distill.cache_file`` (shared) or ``RUN/teacher_cache.npz``."""
    return Path(cfg.distill.cache_file or Path(run_dir) / CACHE_FILE)


def partial_path(path: Path) -> Path:
    """Where the cache ``path`` keeps the logits computed so far while it is being built."""
    return path.with_name(path.name.removesuffix(".npz") + ".partial.npz")


def partial_views(cfg: TrainConfig, run_dir: Path) -> tuple[Path, int] | None:
    """(file, views done) of a cache build that was stopped, for the interrupt message; None if
    there is none."""
    if not cfg.distill.cache:  # (the config's validation makes a cache imply teachers)
        return None
    partial = partial_path(cache_path(cfg, run_dir))
    done = _read(partial) if partial.is_file() else None
    return None if done is None else (partial, len(done[2]))


def _probe_index(total: int) -> np.ndarray:
    """Which views a cache keeps a copy of (``views_probe``), spread over the whole file."""
    return np.unique(np.linspace(0, total - 1, min(PROBE_VIEWS, total)).round().astype(np.int64))


def _same_views(path: Path, stored, digest: str, total: int, views: torch.Tensor,
                log_fn) -> bool:
    """Whether the logits in ``path`` (read as ``stored``) belong to ``views``: the same digest,
    or, when only float rounding differs (views drawn on another CPU: SIMD widths change the
    last bit of resampling sums, and so a few rounded pixels), a stored probe of views within
    2 grey levels on at most 2% of its pixels. The caller has already matched the fingerprint
    (data, augmentation, seed, views, sizes, teachers), which fixes everything else the views
    depend on. A cache from before the probe existed is taken on its fingerprint alone."""
    if stored is None or len(stored[2]) != total:
        return False
    if stored[1] == digest:
        return True
    try:
        with np.load(path, allow_pickle=False) as z:
            probe = z["views_probe"] if "views_probe" in z.files else None
    except (OSError, ValueError):
        return False
    say = log_fn or log.warning
    if probe is None:
        say(f"teacher cache: {path} holds no view probe (made before 2026-12-01) and its views' "
            "digest differs from this machine's (float rounding on another CPU); its "
            "fingerprint (data, augmentation, seed, views, teachers) matches, so it is used")
        return True
    idx = _probe_index(total)
    mine = views[torch.from_numpy(idx)].numpy()
    if probe.shape != mine.shape:
        return False
    diff = np.abs(probe.astype(np.int16) - mine.astype(np.int16))
    if diff.max() > 2 or (diff > 0).mean() > 0.02:
        return False
    say(f"teacher cache: {path}: views equal to the cached ones up to float rounding (at most "
        f"{int(diff.max())} grey level(s) on {(diff > 0).mean():.2%} of the probed pixels; "
        "another CPU), so its logits are used")
    return True


def _same_outputs(candidates: list, placed: tuple[list, bool], views: torch.Tensor,
                  device: torch.device, log_fn) -> torch.Tensor | None:
    """The stored logits of the first candidate cache whose fingerprint differs from the run's
    but whose logits are these teachers' on these views, checked by running the teachers on
    ``PROBE_VIEWS`` of this machine's views; None when none is.

    This is what a fingerprint stands in for, checked directly: a cache made on another CPU
    by an older ferkit (whose fingerprint hashed resized pixels, which round differently per
    SIMD width) has the same logits up to float16 and that rounding, while other teachers,
    data, augmentation, seed or view order change them by far more than ``PROBE_LOGIT_TOL``
    (measured: benchmarks/results/teacher-cache-probe-*.md)."""
    idx = _probe_index(len(views))
    mine = teacher_outputs(placed[0], views[torch.from_numpy(idx)], device, placed[1]).float()
    say = log_fn or log.warning
    for source, stored in candidates:
        if stored[2].shape[1:] != tuple(mine.shape[1:]):  # another label set
            continue
        diff = float((torch.from_numpy(stored[2][idx]).float() - mine).abs().max())
        if diff <= PROBE_LOGIT_TOL:
            say(f"teacher cache: {source} carries another fingerprint (made on another CPU or "
                f"by an older ferkit), but the teachers' outputs on {len(idx)} of this "
                f"machine's views match its logits (max |difference| {diff:.3f} <= "
                f"{PROBE_LOGIT_TOL}), so it is used")
            return torch.from_numpy(stored[2])
    return None


def _read(path: Path) -> tuple[str, str, np.ndarray] | None:
    """(fingerprint, views digest, logits) of a cache file, or None if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return str(z["fingerprint"]), str(z["views_sha256"]), z["logits"].astype(np.float16)
    except (OSError, KeyError, ValueError) as exc:
        log.warning("ignoring unreadable teacher cache %s: %s", path, exc)
        return None


def _write(path: Path, fingerprint: str, views_digest: str, logits: torch.Tensor,
           views: torch.Tensor | None = None) -> None:
    """Write a cache file atomically; a finished one (``views`` given) also keeps a probe of
    ``PROBE_VIEWS`` views, so another CPU's rounding can be told from other views."""
    from ferkit.io import atomic_path

    extra = {} if views is None else {
        "views_probe": views[torch.from_numpy(_probe_index(len(views)))].numpy()}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, fingerprint=np.array(fingerprint), views_sha256=np.array(views_digest),
                 logits=logits.numpy().astype(np.float16), **extra)


def _extension(cfg: TrainConfig, prefixes: dict[str, int], digest: str, total: int,
               views: torch.Tensor, log_fn=None, *, place_all=None,
               device: torch.device | None = None) -> tuple[int, torch.Tensor] | None:
    """(m, stored mean logits) when ``distill.cache_extends`` is a finished cache of these very
    views made by the first m (< all) of the run's teachers, whose fingerprint is
    ``prefix_fingerprints[m - 1]``; None otherwise (said once).

    A base whose fingerprint is not one of this machine's (made on another kind of CPU by a
    ferkit whose fingerprint hashed resized pixels, like the caches committed before
    2026-12-01) is checked by content, as ``distill.cache_from`` is: ``place_all()`` gives the
    run's teachers, which then run on ``PROBE_VIEWS`` of this machine's views, and the first m
    whose mean matches the stored logits within ``PROBE_LOGIT_TOL`` are taken as its makers
    (``_prefix_by_content``)."""
    if not cfg.distill.cache_extends:
        return None
    base = Path(cfg.distill.cache_extends)
    stored = _read(base) if base.is_file() else None
    if stored is not None and stored[0] in prefixes \
            and _same_views(base, stored, digest, total, views, log_fn):
        m = prefixes[stored[0]]
        if log_fn:
            log_fn(f"teacher cache: extending {base} (teachers 1-{m}) with "
                   f"{len(cfg.distill.teachers) - m} more teacher(s)")
        return m, torch.from_numpy(stored[2])
    why = None
    if stored is not None and stored[0] not in prefixes and len(stored[2]) == total \
            and place_all is not None:
        found = _prefix_by_content(stored, place_all(), views, device or torch.device("cpu"))
        if found is not None:
            m, diff = found
            (log_fn or log.warning)(
                f"teacher cache: extending {base} (teachers 1-{m}) with "
                f"{len(cfg.distill.teachers) - m} more teacher(s): it carries another "
                f"fingerprint (another CPU or an older ferkit), but the mean of the first {m} "
                f"teachers on {PROBE_VIEWS} of this machine's views matches its logits (max "
                f"|difference| {diff:.3f} <= {PROBE_LOGIT_TOL})")
            return m, torch.from_numpy(stored[2])
        why = (f"its logits are not the mean of any first teachers of distill.teachers on "
               f"these views (checked on {PROBE_VIEWS} of them)")
    (log_fn or log.warning)(_mismatch("cache_extends", base, stored, digest, total,
                                      "made by teachers that are not the first of "
                                      "distill.teachers", why=why) + "; running every teacher")
    return None


def _prefix_by_content(stored, placed: tuple[list, bool], views: torch.Tensor,
                       device: torch.device) -> tuple[int, float] | None:
    """(m, max |difference|) for the largest m < all whose teachers' mean on the probe views is
    the stored logits within ``PROBE_LOGIT_TOL``; None when no prefix is. Each teacher runs
    once on the probe views (64 of them: seconds), and the prefix means are running sums."""
    idx = _probe_index(len(views))
    probe = views[torch.from_numpy(idx)]
    want = torch.from_numpy(stored[2][idx]).float()
    running, best = None, None
    for m, teacher in enumerate(placed[0][:-1], 1):
        out = teacher_outputs([teacher], probe, device, placed[1]).float()
        if out.shape != want.shape:
            return None  # another label set
        running = out if running is None else running + out
        diff = float((running / m - want).abs().max())
        if diff <= PROBE_LOGIT_TOL:
            best = (m, diff)
    return best


def _mismatch(key: str, path: Path, stored, digest: str, total: int,
              teachers_differ: str = "made by other teachers", why: str | None = None) -> str:
    """The log line saying why the cache ``distill.<key>=path`` (read as ``stored``) is not used."""
    if why is None:
        if stored is None:
            why = "unreadable" if path.is_file() else "not found"
        elif stored[1] != digest or len(stored[2]) != total:
            why = "made from other views, data or augmentation"
        else:
            why = teachers_differ
    return f"teacher cache: distill.{key}={path} ignored ({why})"


def load_or_build(cfg: TrainConfig, run_dir: Path, train_split, data_fingerprint: str,
                  student_info, *, progress: bool = True, log_fn=None) -> TeacherCache:
    """The run's teacher cache: reused from ``RUN/teacher_cache.npz`` (or
    ``distill.cache_file``) when it matches, else drawn and computed (with a progress bar on
    stderr) and written there atomically."""
    from ferkit.data.source import progress_bar
    from ferkit.train.teachers import check_teachers, load_frozen, place_teachers

    k = cfg.distill.cache_views
    size, chans = cfg.distill.cache_size or student_info.input_size, student_info.in_chans
    images, labels = train_split.images, np.asarray(train_split.labels, dtype=np.int64)
    files = check_teachers(cfg.distill.teachers, student_info)  # labels/channels, no weights
    paths = list(train_split.paths) if len(train_split.paths) == len(images) else None
    from ferkit.io import file_sha256

    digests = [file_sha256(f) for f in files]
    prints = cache_fingerprints(cfg, files, data_fingerprint, images, labels, size, chans,
                                paths=paths, interpolation=student_info.interpolation,
                                digests=digests)
    fingerprint = prints[-1]
    # caches made before the path-based fingerprint carry the pixel one: still accepted
    legacy = (cache_fingerprints(cfg, files, data_fingerprint, images, labels, size, chans,
                                 digests=digests) if paths else prints)
    known = {fingerprint, legacy[-1]}
    prefixes = {fp: m + 1 for fps in (legacy, prints) for m, fp in enumerate(fps[:-1])}
    total = len(images) * k
    with progress_bar(total, f"teacher cache: drawing {k} views", progress) as advance:
        views = draw_views(images, labels, cfg, size, chans, len(student_info.labels), advance)
    digest = _views_digest(views)
    path = cache_path(cfg, run_dir)
    sources = [path] + ([Path(cfg.distill.cache_from)] if cfg.distill.cache_from else [])
    unmatched = []  # (file, contents) with the right number of views but another fingerprint
    for source in sources:
        stored = _read(source) if source.is_file() else None
        if stored is not None and stored[0] in known \
                and _same_views(source, stored, digest, total, views, log_fn):
            if log_fn:
                how = "" if source == path else "read-only "
                log_fn(f"teacher cache: reusing {how}{source} ({len(images)} images x {k} views)")
            return TeacherCache(views, torch.from_numpy(stored[2]), k, fingerprint, reused=True)
        if stored is not None and stored[0] not in known and len(stored[2]) == total:
            unmatched.append((source, stored))
    device = torch.device("cuda" if torch.cuda.is_available()
                          and cfg.trainer.accelerator in ("auto", "gpu", "cuda") else "cpu")
    everyone = None  # all teachers, placed: loaded only when a cache is checked by content
    if unmatched:
        everyone = place_teachers(cfg.distill.runtime, cfg.distill.teachers, load_frozen(files),
                                  device, cfg.trainer.channels_last)
        found = _same_outputs(unmatched, everyone, views, device, log_fn)
        if found is not None:
            _write(path, fingerprint, digest, found, views)  # re-stamped: found at once next time
            if log_fn:
                log_fn(f"teacher cache: {len(images)} images x {k} views → {path} (the same "
                       "logits, with this run's fingerprint)")
            return TeacherCache(views, found, k, fingerprint, reused=True)
    if cfg.distill.cache_from:
        probed = "its logits are not these teachers' on these views (checked on " \
            f"{PROBE_VIEWS} of them)" if unmatched and unmatched[-1][0] == sources[-1] else None
        (log_fn or log.warning)(_mismatch("cache_from", sources[-1], stored, digest, total,
                                          why=probed) + f"; building {path}")
    # only a cache that has to be (re)computed needs the teachers' weights (already checked)
    def place_all():
        nonlocal everyone
        if everyone is None:
            everyone = place_teachers(cfg.distill.runtime, cfg.distill.teachers,
                                      load_frozen(files), device, cfg.trainer.channels_last)
        return everyone

    extension = _extension(cfg, prefixes, digest, total, views, log_fn, place_all=place_all,
                           device=device)
    first = extension[0] if extension else 0  # teachers [first:] run; the rest are stored
    if everyone is not None:
        teachers, channels_last = everyone[0][first:], everyone[1]
    else:
        teachers, channels_last = place_teachers(
            cfg.distill.runtime, cfg.distill.teachers[first:], load_frozen(files[first:]),
            device, cfg.trainer.channels_last)
    partial = partial_path(path)
    # while extending, the partial file holds the new teachers' mean alone: its own fingerprint
    building = f"{fingerprint}+extends:{first}" if first else fingerprint
    done = _read(partial) if partial.is_file() else None
    if done is not None and done[:2] == (building, digest) and len(done[2]) <= total:
        done_logits = torch.from_numpy(done[2])
        if log_fn:
            log_fn(f"teacher cache: continuing {partial} from {len(done_logits)} of {total} "
                   "views")
    else:
        done_logits = None
    with progress_bar(total, f"teacher cache: {len(teachers)} teacher(s) x {k} views",
                      progress) as advance:
        logits = teacher_outputs(teachers, views, device, channels_last, advance,
                                 done=done_logits,
                                 checkpoint=lambda part: _write(partial, building, digest,
                                                                part))
    if extension:  # the mean over all n teachers from the first m's stored mean and the rest's
        n = len(files)
        logits = ((extension[1].float() * first + logits.float() * (n - first)) / n).half()
    _write(path, fingerprint, digest, logits, views)
    partial.unlink(missing_ok=True)
    if log_fn:
        log_fn(f"teacher cache: {len(images)} images x {k} views → {path}")
    return TeacherCache(views, logits, k, fingerprint)
