"""The datasets of paper Sec. 4.1 and beyond, one reader module each (``ffpp``, ``celebdf``,
``uadfv``, ``dfd``, ``dfdc``, ``dfdc_faces``, ``folder``) registered by key (``registry``):
each lists its videos with labels, splits and identity groups (``records``); the split files
live in ``splits``.

May import: ``jdfd_lib.core``.
"""
