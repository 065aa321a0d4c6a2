"""The embedded demo data (stand-in for the gated datasets of Sec. 4.1): a synthetic face
model and renderer, the fake families, H.264 encoding, and the datasets' real layouts.

May import: ``jdfd_lib.core``, ``jdfd_lib.datasets``.
"""
