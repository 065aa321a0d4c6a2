"""The paper recipe on a GPU: end-to-end checks of every CUDA path, and its speed.

Two commands (``benchmarks/gpu_check.sh`` runs them; see its header):

    make-faces --out DIR    on a machine with dlib: synthetic aligned faces in the ``folder``
                            layout, prepared by the real ``prepare --aligned`` at 299 px
    run --faces DIR --out DIR [--budget S] [--quick]
                            on the GPU machine: the checks, then the measurements

``run`` first runs the real code paths on the device for a few steps, each as a user would
(``train``, ``train --resume`` with ``compile_mode=reduce-overhead``, ``evaluate``, a
one-process ``torchrun`` launch with DistributedDataParallel, ``detect``'s scoring); any that
breaks makes the command exit 1 with its name. Then it measures, in order of importance, and
skips (saying so) what the time budget no longer allows: the paper step (Xception 299, batch
4, Eq. 3, two SGD groups) as fp32, bf16 + channels-last and compiled (CUDA graphs); K
batch-4 trainings at once; scoring; the loader's decode rate; the same step at batch 64.
Figures go to ``OUT/gpu_check.json`` (rewritten after every section) and ``OUT/gpu_check.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDER_KEY = "folder"  # the dataset key the faces are prepared under
SECTIONS = ("environment", "end_to_end", "detect_scoring", "steps_batch4", "compiled_batch4",
            "packing_bf16_cl", "scoring", "loader", "steps_batch64", "packing_compiled",
            "compiled_batch64")  # in the order they run


class Budget:
    """Seconds left of the run's budget; a section runs only if its estimate fits."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def allows(self, estimate: float) -> bool:
        return self.left() >= estimate


class Report:
    """The figures and check results, written after every section."""

    def __init__(self, out: Path, wanted: list[str] | None = None) -> None:
        self.out, self.data, self.failures = out, {"sections": {}}, []
        self.wanted = wanted  # section names to run (None: all)
        out.mkdir(parents=True, exist_ok=True)

    def section(self, name: str, fn, estimate: float, budget: Budget, check: bool = False):
        """Run ``fn()`` into section ``name`` unless it is not wanted or the budget forbids; a
        failing check or measurement is recorded with its first line (and its traceback on
        stderr)."""
        if self.wanted is not None and name not in self.wanted:
            return None
        if not budget.allows(estimate):
            self.data["sections"][name] = {"skipped": f"time: {budget.left():.0f} s left, "
                                                      f"~{estimate:.0f} s needed"}
            print(f"== {name}: skipped ({budget.left():.0f} s left)", flush=True)
            return None
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        try:
            result = fn()
            entry = {"result": result}
        except Exception as err:
            traceback.print_exc()
            result, entry = None, {"error": f"{type(err).__name__}: {err}"[:2000]}
            self.failures.append(name if check else f"{name} (measurement)")
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        self.data["sections"][name] = entry
        print(json.dumps(entry, indent=1, default=str)[:3000], flush=True)
        self.write()
        return result

    def write(self) -> None:
        self.data["failures"] = self.failures
        (self.out / "gpu_check.json").write_text(json.dumps(self.data, indent=1, default=str))


def run_cli(args: list[str], log: Path, env: dict | None = None, torchrun: bool = False,
            timeout: float = 600) -> str:
    """A ``python -m jdfd_lib`` command (under ``torchrun`` when asked); its output is kept
    in ``log``; a non-zero exit raises with the output's last lines."""
    launch = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "1", "-m", "jdfd_lib"] if torchrun
              else [sys.executable, "-m", "jdfd_lib"])
    proc = subprocess.run(launch + args, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    text = f"$ {' '.join(args)}\n{proc.stdout}\n{proc.stderr}\n"
    with log.open("a") as f:
        f.write(text)
    if proc.returncode:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"jdfd {args[0]} exited {proc.returncode}:\n{tail}")
    return proc.stdout + proc.stderr


def end_to_end(faces: Path, work: Path, log: Path, quick: bool) -> dict:
    """train, train --resume (compiled), evaluate, torchrun: as a user runs them."""
    from jdfd_lib.training.checkpoint import read_checkpoint

    # pretrained=false: the GPU machine is offline and the ImageNet file (88 MB) is not
    # carried; these runs check code paths, not what is learnt
    common = ["--profile", "paper", "--train-dataset", FOLDER_KEY, "--faces-root", str(faces),
              "--no-progress", "--set", "samples_per_epoch=32", "--set", "pretrained=false"]
    if quick:  # the CPU rehearsal: a small network input
        common += ["--set", "image_size=64", "--set", "decoder_channels=32,16,8,8"]
    runs = work / "runs"
    t0 = time.perf_counter()
    run_cli(["train", *common, "--runs-dir", str(runs), "--epochs", "1"], log)
    t1 = time.perf_counter()
    # compiled in NCHW: with channels-last it fell back on the H200 (BENCHMARKS.md, GPU)
    out = run_cli(["train", *common, "--runs-dir", str(runs), "--epochs", "2", "--resume",
                   "--set", "compile_mode=reduce-overhead", "--set", "channels_last=false"], log)
    t2 = time.perf_counter()
    run = runs / f"paper-jdfd-{FOLDER_KEY}-u00-s0"
    last = read_checkpoint(run / "last.pt")
    history = [row["epoch"] for row in last["history"]]
    if last["epoch"] != 2 or history != [1, 2]:
        raise RuntimeError(f"resume: last.pt at epoch {last['epoch']}, history {history}")
    fell_back = [ln for ln in out.splitlines() if "torch.compile(" in ln and "failed" in ln]
    metrics = work / "metrics"
    run_cli(["evaluate", "--checkpoint", str(run / "best.pt"), "--faces-root", str(faces),
             "--test-datasets", FOLDER_KEY, "--out", str(metrics), "--batch-size", "64"], log)
    record = json.loads(next(metrics.glob("*.json")).read_text())
    t3 = time.perf_counter()
    ddp = run_cli(["train", *common, "--runs-dir", str(work / "ddp"), "--epochs", "1"], log,
                  torchrun=True)
    if "DistributedDataParallel over 1 process(es)" not in ddp:
        raise RuntimeError("torchrun: the run did not join a process group (no DDP line)")
    t4 = time.perf_counter()
    return {"train_1_epoch_s": round(t1 - t0, 1), "resume_compiled_epoch_s": round(t2 - t1, 1),
            "compile_fell_back": fell_back, "epochs_in_last_pt": history,
            "evaluate_s": round(t3 - t2, 1), "test_frames": record["metrics"]["n_frames"],
            "test_frame_auc": record["metrics"]["frame_auc"],
            "torchrun_ddp_s": round(t4 - t3, 1), "best_pt": str(run / "best.pt")}


def detect_scoring(best: Path, faces: Path, device) -> dict:
    """detect's scoring of in-memory crops equals evaluate's of the same files on disk."""
    import numpy as np
    from gpu_measure import crop_rows

    from jdfd_lib.detection.frames import score_video
    from jdfd_lib.evaluation.scoring import ScoreSettings, score_paths
    from jdfd_lib.faces.crops import FaceCrop
    from jdfd_lib.faces.images import read_image
    from jdfd_lib.training.checkpoint import load_checkpoint

    model, cfg, _ = load_checkpoint(best, map_location=device)
    settings = ScoreSettings.from_config(cfg, batch_size=16, num_workers=2)
    paths = list(crop_rows(faces, 32)["abs_path"].unique())
    on_disk = score_paths(model, paths, settings)["score"].to_numpy()
    crops = [FaceCrop(i, read_image(p), np.zeros((0, 2)), (0, 0, 1, 1), 1, False)
             for i, p in enumerate(paths)]
    frames, video_score, verdict = score_video(crops, model, settings)
    diff = float(np.abs(frames["score"].to_numpy() - on_disk).max())
    if diff > 1e-3:
        raise RuntimeError(f"detect and evaluate score the same crops {diff:.2g} apart")
    return {"device": str(settings.device), "amp": settings.amp, "faces": len(paths),
            "max_score_difference": diff, "video_score": round(float(video_score), 4),
            "verdict": verdict}


def measurements(report: Report, budget: Budget, faces: Path, device, quick: bool) -> None:
    """The speed sections, most important first (each skipped if the budget is short)."""
    import gpu_measure as gm

    size = 64 if quick else 299
    secs = 0.5 if quick else 4.0
    report.section("steps_batch4", lambda: gm.step_rates(
        device, 4, ["fp32", "bf16_cl"], size, 5, secs), 40, budget)
    report.section("compiled_batch4", lambda: gm.step_rates(
        device, 4, ["compiled", "compiled_cl"], size, 5, secs), 150, budget)
    ks = [1, 2] if quick else [1, 2, 4, 8]
    report.section("packing_bf16_cl", lambda: gm.packing(ks, "bf16_cl", size, secs), 90, budget)
    rows = gm.crop_rows(faces, 256 if quick else 2048)
    report.section("scoring", lambda: gm.scoring_rates(
        _scoring_model(best_pt(report), device), rows[:32] if quick else rows, device,
        [4, 16] if quick else [4, 64], 2 if quick else 8), 40, budget)
    report.section("loader", lambda: [gm.loader_rate(rows, size, w, 64, device.type == "cuda")
                                      for w in ([0, 2] if quick else [4, 8, 16])], 40, budget)
    report.section("steps_batch64", lambda: gm.step_rates(
        device, 16 if quick else 64, ["fp32", "bf16_cl"], size, 3, secs), 40, budget)
    report.section("packing_compiled", lambda: gm.packing(
        [1, 2] if quick else [1, 4, 8], "compiled", size, secs), 150, budget)
    report.section("compiled_batch64", lambda: gm.step_rates(
        device, 16 if quick else 64, ["compiled"], size, 3, secs), 120, budget)


def best_pt(report: Report) -> Path | None:
    e2e = report.data["sections"].get("end_to_end", {}).get("result") or {}
    return Path(e2e["best_pt"]) if e2e.get("best_pt") else None


def _scoring_model(best: Path | None, device):
    """The end-to-end run's model, or a fresh paper JDFD if that run failed."""
    from jdfd_lib.detectors.registry import create_detector, detector_config
    from jdfd_lib.training.checkpoint import load_checkpoint

    if best is not None:
        return load_checkpoint(best, map_location=device)[0]
    cfg = detector_config("paper", device=str(device), pretrained=False)  # offline machine
    return create_detector(cfg).to(device).eval()


def write_markdown(report: Report) -> None:
    """A short table of every figure (``gpu_check.md``)."""
    lines = ["| section | figure | value |", "|---|---|---|"]
    for name, entry in report.data["sections"].items():
        value = entry.get("result", entry.get("error", entry.get("skipped")))
        flat = _flatten(value) if isinstance(value, (dict, list)) else {"": value}
        lines += [f"| {name} | {k} | {v} |" for k, v in flat.items()]
    lines.append(f"\nfailures: {', '.join(report.failures) or 'none'}")
    (report.out / "gpu_check.md").write_text("\n".join(lines) + "\n")


def _flatten(value, prefix: str = "") -> dict:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    out = {}
    for k, v in items:
        key = f"{prefix}{k}"
        out.update(_flatten(v, key + ".") if isinstance(v, (dict, list)) else {key: v})
    return out


def cmd_run(args: argparse.Namespace) -> int:
    import gpu_measure as gm
    import torch

    from jdfd_lib.training.runtime import resolve_device

    budget = Budget(args.budget)
    faces = args.faces.resolve() / FOLDER_KEY
    if not (faces / "index.csv").is_file():
        print(f"gpu_check: {faces / 'index.csv'}: no prepared face index (expected the "
              f"output of 'gpu_check.sh make-faces')", file=sys.stderr)
        return 2
    device = resolve_device(args.device)
    if device.type != "cuda" and not args.quick:
        print("gpu_check: no CUDA device here; --quick rehearses the run on the CPU",
              file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its kernels
    report = Report(args.out, args.sections)
    work = args.work or Path(tempfile.mkdtemp(prefix="gpu_check_"))  # checkpoints: not in OUT
    report.section("environment", lambda: gm.environment(device), 0, budget, check=True)
    report.section("end_to_end", lambda: end_to_end(args.faces.resolve(), work,
                                                    args.out / "cli.log", args.quick),
                   60, budget, check=True)
    if best_pt(report) is not None:
        report.section("detect_scoring", lambda: detect_scoring(best_pt(report), faces, device),
                       10, budget, check=True)
    measurements(report, budget, faces, device, args.quick)
    report.data["budget_left_s"] = round(budget.left())
    report.write()
    write_markdown(report)
    print(f"gpu_check: {'FAILED: ' + ', '.join(report.failures) if report.failures else 'ok'}"
          f" ({budget.left():.0f} s of the budget left)")
    return 1 if report.failures else 0


def cmd_make_faces(args: argparse.Namespace) -> int:
    """Write ``--groups`` real and fake aligned 256 px faces (fakes with a faint checker
    pattern) in the folder layout, then prepare them at 299 px with the real ``prepare``."""
    import cv2
    import numpy as np

    raw, size = args.out / "raw", 256
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    checker = ((yy // 4 + xx // 4) % 2 * 2 - 1)[..., None] * 12.0
    for g in range(args.groups):
        for cls in ("real", "fake"):
            cy, cx = rng.uniform(size * 0.4, size * 0.6, 2)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 4) ** 2))
            img = 30 + blob[..., None] * rng.uniform(80, 200, 3) + rng.normal(0, 4, (size,) * 2
                                                                              + (3,))
            if cls == "fake":
                img[64:192, 64:192] += checker[64:192, 64:192]
            path = raw / cls / f"g{g:03d}" / f"{cls}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), np.clip(img, 0, 255).astype(np.uint8))
    subprocess.run([sys.executable, "-m", "jdfd_lib", "prepare", "--dataset", FOLDER_KEY,
                    "--root", str(raw), "--out", str(args.out / "faces" / FOLDER_KEY),
                    "--profile", "paper", "--aligned", "--workers", "2"], cwd=REPO, check=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make-faces", help="write and prepare the faces (needs dlib)")
    make.add_argument("--out", type=Path, required=True)
    make.add_argument("--groups", type=int, default=40, help="real/fake pairs")
    run = sub.add_parser("run", help="the checks and measurements (on the GPU machine)")
    run.add_argument("--faces", type=Path, required=True, help="make-faces' OUT/faces")
    run.add_argument("--out", type=Path, required=True, help="where figures and logs go")
    run.add_argument("--budget", type=_positive, default=420.0, help="seconds (default 420)")
    run.add_argument("--device", default="auto")
    run.add_argument("--work", type=Path, help="runs and metrics (default: a temp folder)")
    run.add_argument("--sections", nargs="+", choices=SECTIONS, metavar="NAME",
                     help=f"only these sections (default: all): {' '.join(SECTIONS)}")
    run.add_argument("--quick", action="store_true", help="tiny sizes: a CPU rehearsal")
    args = parser.parse_args(argv)
    return cmd_run(args) if args.command == "run" else cmd_make_faces(args)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
