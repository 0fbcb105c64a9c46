"""Batched augmentations and the crop/TTA geometry they share."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ferkit.ensemble.tta import TTAS, crop_size_for, predict_logits, ten_crop
from ferkit.models import create_model
from ferkit.train.augment import AUGMENTATIONS, STAGE_ORDER, BatchAugmenter
from ferkit.train.config import AugmentConfig
from ferkit.types import ModelInfo


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _batch(n: int = 8, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = _gen(123)
    return torch.rand(n, 1, size, size, generator=g), torch.arange(n) % 7


def test_every_stage_is_registered():
    assert set(STAGE_ORDER) <= set(AUGMENTATIONS.names())


def test_disabled_config_is_identity():
    aug = BatchAugmenter(AugmentConfig(hflip=0.0), 16, 7)
    assert aug.names == []
    x, y = _batch()
    x2, y2 = aug(x, y, _gen())
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_flip_probability_one_mirrors_every_image():
    x, y = _batch()
    out, _ = BatchAugmenter(AugmentConfig(hflip=1.0), 16, 7)(x, y, _gen())
    assert torch.equal(out, x.flip(-1))


def test_affine_keeps_shape_and_is_seeded():
    cfg = AugmentConfig(hflip=0.5, rotation=15, shift=0.1, scale=0.1)
    aug = BatchAugmenter(cfg, 16, 7)
    assert aug.names == ["affine"]
    x, y = _batch()
    a, _ = aug(x, y, _gen(1))
    b, _ = aug(x, y, _gen(1))
    c, _ = aug(x, y, _gen(2))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert torch.isfinite(a).all() and 0.0 <= float(a.min()) and float(a.max()) <= 1.0


def test_affine_with_zero_ranges_and_no_flip_is_identity_resampling():
    cfg = AugmentConfig(hflip=0.0, rotation=1e-9)
    x, y = _batch()
    out, _ = BatchAugmenter(cfg, 16, 7)(x, y, _gen())
    assert torch.allclose(out, x, atol=1e-5)


def test_tencrop_training_makes_ten_samples_per_image():
    x, y = _batch(4, 20)
    out, ys = BatchAugmenter(AugmentConfig(hflip=0.0, tencrop=True), 16, 7)(x, y, _gen())
    assert out.shape == (40, 1, 16, 16)
    assert torch.equal(ys, y.repeat(10))
    assert torch.equal(out[:4], x[..., :16, :16])  # crop-major: first block = top-left crops
    assert torch.equal(out[20:24], x[..., :16, :16].flip(-1))  # their mirrors come 5 blocks later


def test_random_crop_takes_windows_of_the_stored_image():
    x, y = _batch(6, 20)
    out, _ = BatchAugmenter(AugmentConfig(hflip=0.0, random_crop=True), 16, 7)(x, y, _gen())
    assert out.shape == (6, 1, 16, 16)
    for i in range(6):
        windows = x[i, 0].unfold(0, 16, 1).unfold(1, 16, 1)  # (5,5,16,16)
        assert any(torch.equal(out[i, 0], windows[a, b]) for a in range(5) for b in range(5))


def test_random_erasing_zeroes_a_rectangle_in_chosen_samples_only():
    x = torch.ones(64, 1, 16, 16)
    y = torch.zeros(64, dtype=torch.long)
    out, _ = BatchAugmenter(AugmentConfig(hflip=0.0, erasing=1.0), 16, 7)(x, y, _gen())
    erased = (out == 0).flatten(1).float().mean(1)
    assert (erased > 0).all() and (erased < 0.6).all()
    out, _ = BatchAugmenter(AugmentConfig(hflip=0.0, erasing=0.5), 16, 7)(x, y, _gen())
    frac = float(((out == 0).flatten(1).any(1)).float().mean())
    assert 0.2 < frac < 0.8


@pytest.mark.parametrize("mode", ["mixup", "cutmix"])
def test_mix_gives_soft_targets_that_sum_to_one(mode):
    cfg = AugmentConfig(hflip=0.0, **{mode: 1.0})
    x, y = _batch(16)
    out, target = BatchAugmenter(cfg, 16, 7)(x, y, _gen())
    assert out.shape == x.shape and target.shape == (16, 7)
    assert torch.allclose(target.sum(1), torch.ones(16))
    assert (target.max(1).values < 1).any()


def test_stored_size_without_crop_is_resized_to_input():
    x, y = _batch(2, 20)
    out, _ = BatchAugmenter(AugmentConfig(hflip=0.0), 16, 7)(x, y, _gen())
    assert out.shape == (2, 1, 16, 16)


# ---- TTA ---------------------------------------------------------------------------------------

def test_ten_crop_geometry():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6)
    crops = ten_crop(x, 4)
    assert crops.shape == (20, 1, 4, 4)
    assert torch.equal(crops[8:10], x[..., 1:5, 1:5])  # centre
    assert torch.equal(crops[18:20], x[..., 1:5, 1:5].flip(-1))
    assert crop_size_for(40, 40 / 48) == 48 and crop_size_for(48) == 55


def test_tta_modes_registered_and_consistent():
    assert {"none", "flip", "tencrop"} <= set(TTAS.names())
    torch.manual_seed(0)
    model = create_model("tinycnn_test", input_size=16).eval()
    images = np.random.default_rng(0).integers(0, 256, (5, 24, 24), dtype=np.uint8)
    info = model.ferkit_info
    outs = {m: predict_logits(model, images, info, m, batch_size=2) for m in TTAS.names()}
    for out in outs.values():
        assert out.shape == (5, 7) and np.isfinite(out).all()
    assert not np.allclose(outs["none"], outs["flip"])
    assert not np.allclose(outs["flip"], outs["tencrop"])
    mirrored = predict_logits(model, images[:, :, ::-1].copy(), info, "flip")
    assert np.allclose(mirrored, outs["flip"], atol=1e-5)  # flip TTA is mirror-invariant


def test_tta_handles_rgb_models_and_empty_input():
    info = ModelInfo(name="x", input_size=16, in_chans=3, mean=(0.5,) * 3, std=(0.5,) * 3)
    model = create_model("tinycnn_test", in_chans=3, input_size=16).eval()
    images = np.zeros((0, 24, 24), dtype=np.uint8)
    assert predict_logits(model, images, info, "tencrop").shape == (0, 7)


# ---- robustness stages (#11): photometric, blur, noise, jpeg -------------------------------
ROBUST = {"photometric": {"gamma": 0.4, "contrast": 0.3, "brightness": 0.1},
          "blur": {"blur": 1.0, "blur_sigma": (0.8, 1.5)},
          "noise": {"noise": 1.0, "noise_std": (0.02, 0.05)},
          "jpeg": {"jpeg": 1.0, "jpeg_quality": (10, 40)},
          "downscale": {"downscale": 1.0, "downscale_range": (0.3, 0.5)}}


def _smooth(n: int = 8, c: int = 1, size: int = 24) -> torch.Tensor:
    """Smooth images (as faces are), where blur and JPEG change pixels only a little."""
    low = torch.rand(n, c, 6, 6, generator=_gen(5))
    return torch.nn.functional.interpolate(low, size=size, mode="bilinear", align_corners=False)


def test_robust_stages_are_off_by_default():
    cfg = AugmentConfig(hflip=0.0)
    for name in ROBUST:
        assert AUGMENTATIONS.get(name)(cfg, 24, 7) is None, name
    assert STAGE_ORDER.index("photometric") > STAGE_ORDER.index("crop")
    assert max(STAGE_ORDER.index(n) for n in ROBUST) < STAGE_ORDER.index("erase")


@pytest.mark.parametrize("name", sorted(ROBUST))
@pytest.mark.parametrize("chans", [1, 3])
def test_robust_stage_contract(name, chans):
    aug = BatchAugmenter(AugmentConfig(hflip=0.0, **ROBUST[name]), 24, 7)
    assert aug.names == [name]
    x, y = _smooth(8, chans), torch.arange(8) % 7
    a, ya = aug(x, y, _gen(1))
    b, _ = aug(x, y, _gen(1))
    c, _ = aug(x, y, _gen(2))
    assert a.shape == x.shape and a.dtype == x.dtype and torch.equal(ya, y)
    assert 0.0 <= float(a.min()) and float(a.max()) <= 1.0
    assert torch.equal(a, b) and not torch.equal(a, c)  # seeded by the generator only
    changed = (a - x).abs().flatten(1).amax(1)
    assert (changed > 1e-3).all(), changed  # probability 1: every image altered
    assert float((a - x).abs().mean()) < 0.2  # an altered face, not a different image


@pytest.mark.parametrize("name, key", [("blur", "blur"), ("noise", "noise"), ("jpeg", "jpeg"),
                                       ("photometric", "photometric_p")])
def test_robust_stage_probability_leaves_other_samples_untouched(name, key):
    cfg = AugmentConfig(hflip=0.0, **{**ROBUST[name], key: 0.5})
    x = _smooth(64)
    out, _ = BatchAugmenter(cfg, 24, 7)(x, torch.zeros(64, dtype=torch.long), _gen(3))
    same = torch.isclose(out, x, atol=1e-6).flatten(1).all(1)
    assert 10 < int(same.sum()) < 54


def test_blur_reduces_detail_and_keeps_the_mean():
    x = torch.rand(4, 1, 24, 24, generator=_gen(0))
    out, _ = BatchAugmenter(AugmentConfig(hflip=0.0, blur=1.0, blur_sigma=(1.5, 2.0)), 24, 7)(
        x, torch.zeros(4, dtype=torch.long), _gen())
    assert out.std() < 0.5 * x.std()
    assert torch.allclose(out.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=0.02)


def test_downscale_matches_torch_resizing_and_keeps_flat_images():
    """Each chosen sample equals torch's area-down / linear-up resize at its kept size; a flat
    image stays flat (every row of the resampling matrix sums to 1)."""
    from ferkit.train.augment import _resample_matrix

    x = torch.rand(3, 2, 20, 20, generator=_gen(1))
    r = _resample_matrix(20, 7, torch.float32, x.device)
    ref = torch.nn.functional.interpolate(
        torch.nn.functional.interpolate(x, size=(7, 7), mode="area"), size=(20, 20),
        mode="bilinear", align_corners=False)
    assert torch.allclose(r @ x @ r.T, ref, atol=1e-5)
    assert torch.allclose(r.sum(1), torch.ones(20), atol=1e-6)
    out, _ = BatchAugmenter(AugmentConfig(hflip=0.0, downscale=1.0, downscale_range=(0.3, 0.4)),
                            24, 7)(torch.full((2, 1, 24, 24), 0.3), torch.zeros(2).long(), _gen())
    assert torch.allclose(out, torch.full_like(out, 0.3), atol=1e-5)
    noisy = torch.rand(4, 1, 24, 24, generator=_gen(2))
    out, _ = BatchAugmenter(AugmentConfig(hflip=0.0, downscale=1.0, downscale_range=(0.3, 0.4)),
                            24, 7)(noisy, torch.zeros(4).long(), _gen())
    assert out.std() < 0.6 * noisy.std()  # detail is gone


def test_the_downscale_fields_leave_committed_teacher_caches_valid():
    """A field added to AugmentConfig must not change the fingerprint of caches drawn before it
    existed while it is disabled (the committed stages/*.npz stay reusable)."""
    from ferkit.config import to_dict
    from ferkit.train.teacher_cache import _LATER_AUGMENT_DEFAULTS

    defaults = to_dict(AugmentConfig())
    assert {k: defaults[k] for k in _LATER_AUGMENT_DEFAULTS} == _LATER_AUGMENT_DEFAULTS


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torchvision's image codecs
def test_jpeg_artifacts_match_libjpeg_on_gray_images():
    """The batched 8x8-DCT approximation is close to a real JPEG encode/decode."""
    from torchvision.transforms.v2.functional import jpeg

    from ferkit.train.augment import jpeg_artifacts

    u8 = (_smooth(4, 1, 32) * 255).round().to(torch.uint8)
    x = u8.float() / 255  # the same 8-bit input for both
    for quality in (15, 60):
        ours = jpeg_artifacts(x, torch.full((4,), float(quality)))
        real = jpeg(u8, quality).float() / 255
        assert float((ours - real).abs().mean()) < 0.35 * float((x - real).abs().mean())


def test_photometric_gamma_darkens_or_brightens_monotonically():
    x = torch.linspace(0, 1, 24).expand(6, 1, 24, 24).contiguous()
    out, _ = BatchAugmenter(AugmentConfig(hflip=0.0, gamma=0.5), 24, 7)(
        x, torch.zeros(6, dtype=torch.long), _gen())
    assert (out.diff(dim=-1) >= -1e-6).all()  # a tone curve keeps the order of grey levels
    assert torch.allclose(out[..., 0], x[..., 0], atol=1e-3)  # black stays black


def test_gaussian_blur_matches_a_reflect_padded_convolution():
    import math

    import torch.nn.functional as F

    from ferkit.train.augment import gaussian_blur

    x = torch.rand(3, 3, 20, 28, generator=_gen(4))
    sigma = torch.tensor([0.4, 1.2, 2.5])
    r = math.ceil(3 * 2.5)
    for i in range(3):
        t = torch.arange(-r, r + 1).float()
        k = torch.exp(-0.5 * (t / sigma[i]) ** 2)
        k = (k / k.sum()).view(1, 1, 1, -1).expand(3, 1, 1, -1).contiguous()
        z = F.conv2d(F.pad(x[i:i + 1], (r, r, 0, 0), mode="reflect"), k, groups=3)
        z = F.conv2d(F.pad(z, (0, 0, r, r), mode="reflect"), k.transpose(2, 3), groups=3)
        assert torch.allclose(gaussian_blur(x, sigma)[i], z[0], atol=1e-5)
