"""The detectors, one module each, behind one contract (``base``) and a registry by name
(``registry``): JDFD and its no-decoder baseline (paper Sec. 3.2-3.3; ``jdfd``, its joint loss
of Eq. (3)-(5) in ``losses``, shared network parts in ``parts``), LAE (``lae``) and Exposing
the Deception (``exposing``, its losses in ``exposing_losses``). Each declares its own
options, label, profiles and whether it joins the comparison.

May import: ``jdfd_lib.core``.
"""
