"""``prepare --dask ADDRESS``: the shards of a dataset run on a Dask cluster, then merged.

Dask's ``distributed`` scheduler does the distributing: it hands each shard
(:mod:`jdfd_lib.faces.shards`) to a free worker, and when a worker dies (killed, out of
memory, its machine lost) it gives that worker's shard to another one, up to its
``allowed-failures`` (3 by default). A shard run again skips the videos already finished
(each video's metadata file is its done marker, written last), so nothing finished is
redone. When every shard has run, this process merges them into the one index.

Every worker must see the dataset and the output folder at the same paths as this process
(a shared filesystem), and run one task at a time (``--nthreads 1``): a shard runs in the
worker's own process, and dlib's models load once per worker. ``local:K`` starts K worker
processes on this machine instead of connecting to a scheduler.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from jdfd_lib.core.errors import UserError
from jdfd_lib.core.progress import progress_bar
from jdfd_lib.faces.crops import ExtractConfig
from jdfd_lib.faces.prepare import prepare

LOCAL_PREFIX = "local:"
CONNECT_TIMEOUT = "30s"  # a scheduler that does not answer by then is reported


def _run_shard(dataset: str, root: str, out: str, cfg: ExtractConfig, verify: bool,
               shard: tuple[int, int], options: dict) -> dict:
    """One shard on a worker (module-level: Dask pickles it by reference)."""
    summary = prepare(dataset, root, out, cfg, verify=verify, shard=shard, **options)
    return {k: summary[k] for k in ("done", "skipped", "failed", "faces_found")}


def _client(address: str):
    """A client of the scheduler at ``address``, or of a new local cluster (``local:K``)."""
    from distributed import Client, LocalCluster

    if address.startswith(LOCAL_PREFIX):
        count = address[len(LOCAL_PREFIX):]
        if not count.isdigit() or int(count) < 1:
            raise UserError(f"--dask {address!r}: expected local:K with K >= 1 worker "
                            f"processes, or a scheduler address such as tcp://host:8786")
        cluster = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(address, timeout=CONNECT_TIMEOUT), None
    except OSError as err:
        raise UserError(f"--dask {address}: no Dask scheduler answered ({err}); start one "
                        f"with `dask scheduler` and workers with `dask worker {address} "
                        f"--nthreads 1`") from err


def prepare_on_dask(dataset: str, root: str | os.PathLike, out: str | os.PathLike,
                    cfg: ExtractConfig, *, address: str, shards: int, verify: bool = False,
                    **adapter_options) -> dict:
    """Prepare a dataset as ``shards`` shards on a Dask cluster, then merge them.

    Args:
        dataset, root, out, cfg, verify, adapter_options: as
            :func:`jdfd_lib.faces.prepare.prepare` (``cfg.workers`` applies to the merge
            only: each worker runs one shard at a time in its own process).
        address: a Dask scheduler (``tcp://host:8786``) or ``local:K`` (K local workers).
        shards: how many shards to cut the dataset into (several per worker balance the
            load: videos differ in length).

    Returns:
        The merged run's summary, with ``shards``: each shard's counts.

    Raises:
        UserError: the scheduler cannot be reached, or some shards failed (listed; the
            finished videos are kept, and the same command resumes).
    """
    from distributed import as_completed

    root, out = os.path.abspath(root), os.path.abspath(out)  # the same paths on workers
    Path(out).mkdir(parents=True, exist_ok=True)
    task_cfg = replace(cfg, workers=1)
    client, cluster = _client(address)
    done, failed = {}, []
    try:
        futures = {client.submit(_run_shard, dataset, root, out, task_cfg, verify,
                                 (i, shards), adapter_options, pure=False): i
                   for i in range(shards)}
        for future in progress_bar(as_completed(futures), total=shards,
                                   desc=f"prepare {dataset} on {address}", unit="shard"):
            try:
                done[futures[future]] = future.result()
            except Exception as err:  # noqa: BLE001 - reported per shard, below
                failed.append(f"{futures[future]}/{shards}: {' '.join(str(err).split())}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if failed:
        raise UserError(f"{len(failed)} of {shards} shards failed ({'; '.join(failed[:3])}"
                        f"{' ...' if len(failed) > 3 else ''}); the videos they finished are "
                        f"kept: run the same command again to resume")
    summary = prepare(dataset, root, out, cfg, merge=True, **adapter_options)
    summary["shards"] = [done[i] for i in range(shards)]
    return summary
