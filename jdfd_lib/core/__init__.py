"""Shared by every stage: the run configuration (``config``: ``TrainConfig`` and its
profiles), one-line user errors (``errors``), project paths (``paths``), progress bars
(``progress``), atomic file writes (``atomic``) and run provenance (``runinfo``: versions,
hashes, timings).

May import: nothing else in jdfd_lib.
"""
