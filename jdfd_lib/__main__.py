"""Entry point for ``python -m jdfd_lib``."""

from jdfd_lib.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
