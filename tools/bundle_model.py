"""Put a trained checkpoint into the package as a bundled model (``--model NAME``).

    python tools/bundle_model.py NAME CHECKPOINT --calibration path/to/fer2013

Writes ``src/ferkit/weights/NAME.safetensors`` (float32, with its JSON metadata twin, whatever
precision the source was stored in) and ``NAME.int8.onnx`` (static INT8 with the same code as
``ferkit export --format onnx-int8``, calibrated on 512 training images), then prints the sizes.
The model becomes addressable once ``ferkit/bundled.py`` registers NAME; its model card comes
from ``benchmarks/model_card.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "ferkit" / "weights"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("checkpoint")
    ap.add_argument("--calibration", required=True, help="dataset for INT8 calibration")
    ap.add_argument("--no-onnx", action="store_true", help="ship the checkpoint only")
    args = ap.parse_args(argv)

    from ferkit.checkpoint import load_model, save_checkpoint
    from ferkit.export import export_model

    model, meta = load_model(args.checkpoint)
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    meta.extra = {k: v for k, v in meta.extra.items() if k not in ("stored_dtype", "fp16_of")}
    meta.extra["bundled_from"] = Path(args.checkpoint).name
    ckpt = save_checkpoint(WEIGHTS / f"{args.name}.safetensors", state, meta)
    print(f"{args.checkpoint} → {ckpt} ({ckpt.stat().st_size / 1e6:.1f} MB)")
    if not args.no_onnx:
        out = WEIGHTS / f"{args.name}.int8.onnx"
        export_model(str(ckpt), "onnx-int8", out, calibration=args.calibration)
        print(f"→ {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
