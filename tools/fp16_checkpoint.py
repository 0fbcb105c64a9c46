"""Halve a ferkit checkpoint for the repository: float tensors to float16, metadata kept.

Long CPU trainings run in stages across sessions; a machine's run folders usually survive to the
next session, but not always, so each stage's best weights are committed in float16 (half the
bytes; ``ferkit.checkpoint.load_model`` loads them into the float32 model unchanged otherwise).

    python tools/fp16_checkpoint.py RUN/best.safetensors stages/NAME.fp16.safetensors
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    from ferkit.checkpoint import load_model, save_checkpoint

    model, meta = load_model(argv[0])
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    meta.extra = {**meta.extra, "stored_dtype": "float16", "fp16_of": argv[0]}
    save_checkpoint(argv[1], state, meta)
    print(f"{argv[0]} → {argv[1]} (float16)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
