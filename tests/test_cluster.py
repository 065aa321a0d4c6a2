"""``prepare --dask``: shards on a local Dask cluster of 2 worker processes give the index of
a plain run, byte for byte, even when a worker is killed in the middle of a shard."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from jdfd_lib.core.errors import UserError
from jdfd_lib.faces.cluster import prepare_on_dask
from jdfd_lib.faces.crops import ExtractConfig
from jdfd_lib.faces.index import EXTRACTION_NAME, INDEX_NAME
from jdfd_lib.faces.prepare import prepare

pytestmark = pytest.mark.slow  # worker processes start Python and import dlib: ~10 s
distributed = pytest.importorskip("distributed")

CFG = ExtractConfig(frames_per_video=6, image_size=48, workers=1)


@pytest.fixture(scope="module")
def uadfv(face_clips: dict[str, Path], clip_dataset,
          tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A UADFV-layout folder: 6 real and 6 fake copies of the two 15-frame face clips."""
    return clip_dataset(tmp_path_factory.mktemp("data") / "UADFV", face_clips, 6)


@pytest.fixture(scope="module")
def plain(uadfv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plain") / "faces"
    prepare("uadfv", uadfv, out, CFG)
    return out


def same_index(out: Path, plain: Path) -> bool:
    return all((out / n).read_bytes() == (plain / n).read_bytes()
               for n in (INDEX_NAME, EXTRACTION_NAME))


def test_two_local_workers_give_the_plain_index(uadfv: Path, plain: Path,
                                                tmp_path: Path) -> None:
    out = tmp_path / "faces"
    summary = prepare_on_dask("uadfv", uadfv, out, CFG, address="local:2", shards=4)
    assert same_index(out, plain)
    assert sum(s["done"] for s in summary["shards"]) == 12 and summary["failed"] == 0
    assert sorted(p.name for p in (out / "shards").iterdir()) == [
        f"{i}-of-4.json" for i in range(4)]


def test_a_killed_worker_s_shard_resumes_elsewhere(uadfv: Path, plain: Path,
                                                   tmp_path: Path) -> None:
    out = tmp_path / "faces"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        result: dict = {}
        job = threading.Thread(target=lambda: result.update(prepare_on_dask(
            "uadfv", uadfv, out, CFG, address=cluster.scheduler_address, shards=2)))
        job.start()
        deadline = time.monotonic() + 120
        while not list(out.glob("meta/*/*.json")):  # a shard is half way through
            assert time.monotonic() < deadline and job.is_alive(), "no video finished"
            time.sleep(0.02)
        busy = [addr for addr, keys in client.processing().items() if keys]
        pids = client.run(os.getpid)
        finished = {p: p.stat().st_mtime_ns for p in out.glob("meta/*/*.json")}
        assert busy and len(finished) < 12
        os.kill(pids[busy[0]], signal.SIGKILL)
        job.join(timeout=180)
    assert not job.is_alive() and result, "the run did not finish after the kill"
    assert same_index(out, plain)
    # what was finished before the kill was kept, not redone
    assert all(p.stat().st_mtime_ns == t for p, t in finished.items())


def test_an_unreachable_scheduler_is_one_clear_error(uadfv: Path, tmp_path: Path,
                                                     monkeypatch) -> None:
    monkeypatch.setattr("jdfd_lib.faces.cluster.CONNECT_TIMEOUT", "1s")
    with pytest.raises(UserError, match="no Dask scheduler answered"):
        prepare_on_dask("uadfv", uadfv, tmp_path / "faces", CFG, address="tcp://127.0.0.1:9",
                        shards=2)
    with pytest.raises(UserError, match="expected local:K"):
        prepare_on_dask("uadfv", uadfv, tmp_path / "faces", CFG, address="local:x", shards=2)


def test_the_command_line_runs_the_shards_on_dask(uadfv: Path, plain: Path, tmp_path: Path,
                                                  capsys) -> None:
    from jdfd_lib import cli

    out = tmp_path / "faces"
    assert cli.main(["prepare", "--dataset", "uadfv", "--root", str(uadfv), "--out", str(out),
                     "--frames", "6", "--size", "48", "--image-format", "png",
                     "--dask", "local:2", "--shards", "3"]) == 0
    assert "prepare finished: 12 videos" in capsys.readouterr().out
    # the index; extraction.json also records the command line's reader options
    assert (out / INDEX_NAME).read_bytes() == (plain / INDEX_NAME).read_bytes()
