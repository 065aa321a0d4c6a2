"""Training (paper Sec. 4.2): crops and samplers over the index (``data``), device and
distributed setup (``runtime``), checkpoints (``checkpoint``), the training loop (``train``).

May import: ``jdfd_lib.core``, ``datasets``, ``faces``, ``detectors``.
"""
