"""Evaluation (paper Sec. 4.3): frame and video metrics (``metrics``), batched scoring
(``scoring``), uncertainty over seeds and videos (``stats``), the ``evaluate`` command, its
result files, named, written and read without torch (``results``), and the trivial reference
(``trivial``).

May import: ``jdfd_lib.core``, ``datasets``, ``faces``, ``detectors``, ``training``.
"""
