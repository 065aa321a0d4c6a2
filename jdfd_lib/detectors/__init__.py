"""The detectors (paper Sec. 3.2-3.3): the JDFD two-branch autoencoder and its no-decoder
baseline (``model``) and the joint loss of Eq. (3)-(5) (``losses``).

May import: ``jdfd_lib.core``.
"""
