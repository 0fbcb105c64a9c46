"""Load test of ``ferkit serve`` on loopback: errors, latency, throughput, server memory.

    python benchmarks/bench_serve.py [--image /work/shared/data/media/obama_and_biden.jpg]
        [--requests 500] [--concurrency 16] [--model default] [--workers 0]

Starts the real server (``python -m ferkit.cli.app serve``, a uvicorn subprocess) on a free
loopback port, waits for ``/readyz``, then POSTs the photo as a multipart upload to /v1/predict:
``--warmup`` requests, a sequential pass (``--sequential`` requests, concurrency 1, each followed
by one in-process ``Pipeline.predict_image(path)`` call with the same model, so both see the
same machine load) and the load pass (``--requests`` at ``--concurrency``, from an asyncio httpx
client). The warm-up runs at the load concurrency so thread stacks and allocator arenas exist
before RSS is first read. Reported: errors (any non-200, or fewer faces than in process),
p50/p90/p99 latency, requests/s, the server's RSS (from /proc) after warm-up and after the load,
and the median paired difference HTTP - in-process: the HTTP overhead (upload, multipart parsing,
JSON, thread hand-off). The client runs on the same machine and takes CPU from the server.
Results: ``benchmarks/results/serve-<date>.{json,md}``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, git_commit  # noqa: E402
from _machine import machine_info as machine  # noqa: E402

DEFAULT_IMAGE = Path("/work/shared/data/media/obama_and_biden.jpg")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(port: int, args, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ferkit.cli.app", "serve", "--port", str(port),
           "--model", args.model, "--workers", str(args.workers)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("FERKIT_API_KEY", None)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "wb"), env=env)
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not become ready in 180 s")


async def fire(url: str, data: bytes, name: str, n: int, concurrency: int,
               expect_faces: int) -> dict:
    """``n`` uploads with ``concurrency`` in flight; latencies in ms and error descriptions."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    todo = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        async def worker() -> None:
            for _ in todo:
                t0 = time.perf_counter()
                try:
                    r = await client.post(url, files={"file": (name, data, "image/jpeg")})
                    ok = r.status_code == 200 and len(r.json()["images"][0]["faces"]) >= \
                        expect_faces
                    if not ok:
                        errors.append(f"{r.status_code}: {r.text[:120]}")
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))
                latencies.append(1000 * (time.perf_counter() - t0))

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"requests": n, "concurrency": concurrency, "errors": len(errors),
            "error_samples": errors[:5], "wall_s": round(wall, 2),
            "requests_per_s": round(n / wall, 2), "p50_ms": round(q[49], 1),
            "p90_ms": round(q[89], 1), "p99_ms": round(q[98], 1),
            "mean_ms": round(statistics.fmean(latencies), 1)}


def paired(url: str, image: Path, model: str, n: int, expect_faces: int) -> tuple[dict, dict]:
    """Sequential pass: each HTTP upload is followed by one in-process
    ``Pipeline.predict_image(path)`` call, so both see the same machine load (it drifts a lot
    on a shared machine). Returns (HTTP stats, in-process stats)."""
    import httpx

    from ferkit.inference.pipeline import Pipeline

    pipe = Pipeline(model)
    result = pipe.predict_image(image)  # warm-up
    data, http, local, errors = image.read_bytes(), [], [], []
    with httpx.Client(timeout=120) as client:
        for _ in range(n):
            t0 = time.perf_counter()
            r = client.post(url, files={"file": (image.name, data, "image/jpeg")})
            t1 = time.perf_counter()
            pipe.predict_image(image)
            t2 = time.perf_counter()
            if r.status_code != 200 or len(r.json()["images"][0]["faces"]) < expect_faces:
                errors.append(f"{r.status_code}: {r.text[:120]}")
            http.append(1000 * (t1 - t0))
            local.append(1000 * (t2 - t1))
    q = statistics.quantiles(http, n=100, method="inclusive")
    seq = {"requests": n, "concurrency": 1, "errors": len(errors), "error_samples": errors[:5],
           "wall_s": round(sum(http) / 1000, 2), "requests_per_s": round(1000 * n / sum(http), 2),
           "p50_ms": round(q[49], 1), "p90_ms": round(q[89], 1), "p99_ms": round(q[98], 1),
           "mean_ms": round(statistics.fmean(http), 1)}
    diffs = [h - loc for h, loc in zip(http, local, strict=True)]
    in_proc = {"median_ms": round(statistics.median(local), 1), "repeats": n,
               "overhead_median_ms": round(statistics.median(diffs), 1),
               "faces": len(result.faces), "labels": [f.label for f in result.faces]}
    return seq, in_proc


def count_faces(image: Path, model: str) -> int:
    from ferkit.inference.pipeline import Pipeline

    return len(Pipeline(model).predict_image(image).faces)


def write_results(result: dict, out_dir: Path) -> Path:
    from ferkit.io import atomic_write_json, atomic_write_text

    stem = out_dir / f"serve-{result['date']}"
    atomic_write_json(stem.with_suffix(".json"), result)
    m, seq, load, local = result["machine"], result["sequential"], result["load"], \
        result["in_process"]
    overhead = local["overhead_median_ms"]
    lines = [
        f"# ferkit serve under load — {result['date']}", "",
        f"Command: `{result['command']}`  ", f"Commit: `{result['commit']}`  ",
        f"Machine: {m['cpu']} ({m['cpu_count']} cores), {m['platform']}, Python {m['python']}; "
        f"load average {m['load_average']} at start, {result['load_average_end']} at end.  ",
        f"Server: `ferkit serve --model {result['model']} --workers {result['workers']}` "
        f"(uvicorn, loopback); photo `{result['image']}` ({result['image_kb']} KB, "
        f"{local['faces']} faces found in process: {', '.join(local['labels'])}).", "",
        f"**Note:** {result['note']}", "",
        "| pass | requests | concurrency | errors | p50 ms | p90 ms | p99 ms | requests/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in (("sequential", seq), ("load", load)):
        lines.append(f"| {label} | {r['requests']} | {r['concurrency']} | {r['errors']} | "
                     f"{r['p50_ms']} | {r['p90_ms']} | {r['p99_ms']} | {r['requests_per_s']} |")
    rss = result["rss_mb"]
    lines += [
        "", f"- 0-error check: **{'pass' if load['errors'] == 0 == seq['errors'] else 'FAIL'}** "
        f"({load['errors']} errors in {load['requests']} load requests)",
        f"- In-process `Pipeline.predict_image(path)` (same model, one call after each "
        f"sequential request): median {local['median_ms']} ms; sequential HTTP p50 "
        f"{seq['p50_ms']} ms; median per-pair difference (the HTTP overhead: upload, multipart "
        f"parsing, thread hand-off, JSON, client) **{overhead} ms**.",
        f"- Server RSS: {rss['ready']} MB when ready, {rss['after_warmup']} MB after warm-up, "
        f"{rss['after_load']} MB after the load pass (growth {rss['growth_mb']:+.1f} MB).",
        "- Under load, latency is mostly queueing: 16 requests in flight share "
        f"{result['workers']} inference threads.",
    ]
    atomic_write_text(stem.with_suffix(".md"), "\n".join(lines) + "\n")
    return stem


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    ap.add_argument("--model", default="default")
    ap.add_argument("--workers", type=int, default=0, help="Server inference threads (0 = auto).")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--sequential", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=32)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--note", default="Shared 2-core machine: a training job and other helpers "
                    "were running during the measurement, and the load client runs on the same "
                    "cores as the server, so absolute figures are pessimistic and noisy.")
    args = ap.parse_args(argv)
    if not args.image.is_file():
        raise SystemExit(f"--image {args.image} does not exist")
    from ferkit.serve.config import default_workers

    workers = args.workers or default_workers()
    args.workers = workers
    data = args.image.read_bytes()
    start = machine()
    expect = count_faces(args.image, args.model)
    port = free_port()
    log = Path(f"/tmp/ferkit-bench-serve-{port}.log")
    proc = start_server(port, args, log)
    url = f"http://127.0.0.1:{port}/v1/predict"
    try:
        rss = {"ready": round(rss_mb(proc.pid), 1)}
        asyncio.run(fire(url, data, args.image.name, args.warmup, args.concurrency, expect))
        rss["after_warmup"] = round(rss_mb(proc.pid), 1)
        seq, local = paired(url, args.image, args.model, args.sequential, expect)
        load = asyncio.run(fire(url, data, args.image.name, args.requests, args.concurrency,
                                expect))
        rss["after_load"] = round(rss_mb(proc.pid), 1)
        rss["growth_mb"] = round(rss["after_load"] - rss["after_warmup"], 1)
        healthy = __import__("httpx").get(f"http://127.0.0.1:{port}/healthz").status_code
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = {"date": dt.date.today().isoformat(), "commit": git_commit(), "machine": start,
              "load_average_end": machine()["load_average"], "note": args.note,
              "command": " ".join(["python benchmarks/bench_serve.py", *(argv or sys.argv[1:])]),
              "model": args.model, "workers": workers, "image": args.image.name,
              "image_kb": round(len(data) / 1024), "in_process": local, "sequential": seq,
              "load": load, "rss_mb": rss, "healthz_after": healthy}
    stem = write_results(result, args.out)
    print(f"in-process predict_image: median {local['median_ms']} ms ({local['faces']} faces)")
    for label, r in (("sequential", seq), ("load", load)):
        print(f"{label}: {r['requests']} requests at concurrency {r['concurrency']}: "
              f"{r['errors']} errors, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
              f"{r['requests_per_s']} requests/s")
    print(f"HTTP overhead (median of HTTP - in-process, paired): "
          f"{local['overhead_median_ms']:.1f} ms")
    print(f"server RSS MB: ready {rss['ready']}, after warm-up {rss['after_warmup']}, "
          f"after load {rss['after_load']} ({rss['growth_mb']:+.1f}); /healthz {healthy}")
    print(f"wrote {stem}.{{json,md}}")
    return 0 if load["errors"] == 0 == seq["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
