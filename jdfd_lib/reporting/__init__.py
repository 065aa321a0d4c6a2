"""Tables 2-3 and Figs 3-4 (paper Sec. 4.3-4.4): the paper's printed numbers kept apart
(``paper_reference``), figures (``plot``), tables (``report``, their shared pieces ``tables``),
the detector comparison (``detector_comparison``), the README's and docs' result blocks
(``readme``), notebook displays (``display``, ``mask_figure``), and the check of re-trained
numbers against committed ones (``reproduce``).

May import: ``jdfd_lib.core``, ``evaluation`` and the stages before it.
"""
