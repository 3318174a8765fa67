"""``python -m skyflow_emulator`` and the ``skyflow-emulator`` console script."""

from __future__ import annotations

import sys

from .server import parse_args, serve


def main(argv: list[str] | None = None) -> int:
    return serve(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
