"""Rebuild the face-detector model files vendored in ``src/ferkit/faces/models/`` from PyPI wheels.

    pip download --no-deps -d /tmp/wheels facenet-pytorch==2.6.0 mediapipe==0.10.21
    python tools/vendor_face_models.py /tmp/wheels/facenet_pytorch-2.6.0-py3-none-any.whl \
        /tmp/wheels/mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl

Why vendored: ``ferkit predict`` must find faces right after ``pip install .`` with no network,
and neither source package can be a dependency (facenet-pytorch pins old torch/numpy/Pillow;
mediapipe 0.10.21 pins old protobuf/numpy and later wheels ship no model files).

- MTCNN (facenet-pytorch, MIT): ``data/{pnet,rnet,onet}.pt`` are legacy-format torch pickles of
  plain state dicts. They are read with ``torch.load(weights_only=True)`` (tensors only, no code),
  copied into the same small nets defined below and exported to ONNX, which ONNX Runtime (a base
  dependency) runs without importing torch; each export is checked against torch.
- BlazeFace (mediapipe, Apache-2.0): the short- and full-range ``.tflite`` files are copied as
  they are (run by the ``blazeface`` extra, ``ai-edge-litert``).

Every source file's SHA-256 is checked against the value pinned here and written to
``PROVENANCE.json`` beside the outputs, with the licence texts.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "ferkit" / "faces" / "models"
MTCNN_SHA256 = {
    "facenet_pytorch/data/pnet.pt":
        "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "facenet_pytorch/data/rnet.pt":
        "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    "facenet_pytorch/data/onet.pt":
        "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
}
BLAZEFACE_SHA256 = {
    "mediapipe/modules/face_detection/face_detection_short_range.tflite":
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite":
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
}


def build_nets():
    """facenet-pytorch's P/R/O-Net layer names and shapes (the state dicts load strictly)."""
    from torch import nn

    class PNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
            self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
            self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
            self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

        def forward(self, x):
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
            return self.conv4_2(x), self.conv4_1(x).softmax(1)[:, 1]

    class RNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
            self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
            self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
            self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
            self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

        def forward(self, x):
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.pool2(self.prelu2(self.conv2(x)))
            x = self.prelu3(self.conv3(x)).permute(0, 3, 2, 1).flatten(1)  # caffe's order
            x = self.prelu4(self.dense4(x))
            return self.dense5_2(x), self.dense5_1(x).softmax(1)[:, 1]

    class ONet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
            self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
            self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
            self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
            self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
            self.dense6_1, self.dense6_2 = nn.Linear(256, 2), nn.Linear(256, 4)
            self.dense6_3 = nn.Linear(256, 10)

        def forward(self, x):
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.pool2(self.prelu2(self.conv2(x)))
            x = self.pool3(self.prelu3(self.conv3(x)))
            x = self.prelu4(self.conv4(x)).permute(0, 3, 2, 1).flatten(1)
            x = self.prelu5(self.dense5(x))
            return self.dense6_2(x), self.dense6_3(x), self.dense6_1(x).softmax(1)[:, 1]

    return {"pnet": PNet(), "rnet": RNet(), "onet": ONet()}


def read_checked(wheel: zipfile.ZipFile, member: str, sha256: str) -> bytes:
    data = wheel.read(member)
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise SystemExit(f"{member}: sha256 {got} != pinned {sha256}")
    return data


def export_mtcnn(wheel_path: Path) -> dict:
    import numpy as np
    import onnxruntime as ort
    import torch

    nets = build_nets()
    inputs = {"pnet": (1, 3, 37, 53), "rnet": (2, 3, 24, 24), "onet": (2, 3, 48, 48)}
    outputs = {"pnet": ["reg", "prob"], "rnet": ["reg", "prob"],
               "onet": ["reg", "landmarks", "prob"]}
    with zipfile.ZipFile(wheel_path) as wheel:
        licence = wheel.read("facenet_pytorch-2.6.0.dist-info/LICENSE.md").decode()
        for member, sha in MTCNN_SHA256.items():
            name = Path(member).stem
            state = torch.load(io.BytesIO(read_checked(wheel, member, sha)), weights_only=True,
                               map_location="cpu")
            net = nets[name].eval()
            net.load_state_dict(state, strict=True)
            example = torch.randn(*inputs[name], generator=torch.Generator().manual_seed(0))
            dyn = {0: "n", 2: "h", 3: "w"} if name == "pnet" else {0: "n"}
            path = OUT / f"mtcnn_{name}.onnx"
            torch.onnx.export(net, (example,), str(path), dynamo=False, opset_version=17,
                              input_names=["image"], output_names=outputs[name],
                              dynamic_axes={"image": dyn, **{o: {0: "n"} for o in outputs[name]}})
            with torch.no_grad():
                ref = [t.numpy() for t in net(example)]
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            got = sess.run(None, {"image": example.numpy()})
            diff = max(float(np.abs(a - b).max()) for a, b in zip(ref, got, strict=True))
            if diff > 1e-4:
                raise SystemExit(f"{path.name}: ONNX differs from torch by {diff}")
            print(f"wrote {path.name} ({path.stat().st_size} bytes; parity {diff:.1e})")
    (OUT / "LICENSE-facenet-pytorch.md").write_text(licence)
    files = {}
    for member, sha in MTCNN_SHA256.items():
        out = OUT / f"mtcnn_{Path(member).stem}.onnx"
        files[out.name] = {"from": member, "source_sha256": sha,
                           "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}
    return {"package": "facenet-pytorch==2.6.0", "licence": "MIT (LICENSE-facenet-pytorch.md)",
            "conversion": "torch.load(weights_only=True) state dicts -> ONNX opset 17 "
                          "(torchscript exporter), parity with torch checked", "files": files}


def copy_blazeface(wheel_path: Path) -> dict:
    with zipfile.ZipFile(wheel_path) as wheel:
        licence = wheel.read("mediapipe-0.10.21.dist-info/LICENSE").decode()
        files = {}
        for member, sha in BLAZEFACE_SHA256.items():
            name = "blazeface_" + Path(member).name.removeprefix("face_detection_")
            (OUT / name).write_bytes(read_checked(wheel, member, sha))
            files[name] = {"from": member, "source_sha256": sha, "sha256": sha}
            print(f"wrote {name}")
    (OUT / "LICENSE-mediapipe.txt").write_text(licence)
    return {"package": "mediapipe==0.10.21", "licence": "Apache-2.0 (LICENSE-mediapipe.txt)",
            "conversion": "none (copied byte for byte)", "files": files}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("facenet_wheel", type=Path)
    ap.add_argument("mediapipe_wheel", type=Path)
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    provenance = {"tool": "tools/vendor_face_models.py",
                  "mtcnn": export_mtcnn(args.facenet_wheel),
                  "blazeface": copy_blazeface(args.mediapipe_wheel)}
    (OUT / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
