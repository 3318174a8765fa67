"""``python -m skyflow_emulator`` and the ``skyflow-emulator`` console script.

``skyflow-emulator env [--data-dir DIR]`` prints the ``export SKYFLOW_...`` lines that point a
shell (a Pulumi program's provider, ``skyflow-token``) at a running emulator's account, so a user
can ``eval`` them instead of copying ids out of ``account.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

DEFAULT_DATA_DIR = ".skyflow-emulator"


def env_lines(data_dir: Path) -> list[str]:
    """``export NAME=value`` for the account in ``data_dir`` (written at the first start)."""
    account = json.loads((data_dir / "account.json").read_text())
    env = {
        "SKYFLOW_MANAGEMENT_URL": account["managementURL"],
        "SKYFLOW_ACCOUNT_ID": account["accountID"],
        "SKYFLOW_CREDENTIALS_FILE": str((data_dir / "admin-credentials.json").resolve()),
        "SKYFLOW_VAULT_ID": account["vaults"][0]["ID"],
    }
    if account.get("caBundle"):  # https: the emulator's CA lives in its data dir
        env["SKYFLOW_CA_BUNDLE"] = str((data_dir / "ca.pem").resolve())
    return [f"export {name}={shlex.quote(value)}" for name, value in env.items()]


def env_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="skyflow-emulator env",
        description="Print the SKYFLOW_* variables of an emulator's account, for "
                    "eval \"$(skyflow-emulator env --data-dir DIR)\". Nothing secret is printed "
                    "(the admin credentials stay in DIR/admin-credentials.json).")
    p.add_argument("--data-dir", default=os.environ.get("SKYFLOW_EMULATOR_DATA_DIR",
                                                        DEFAULT_DATA_DIR))
    args = p.parse_args(argv)
    data_dir = Path(args.data_dir)
    try:
        lines = env_lines(data_dir)
    except FileNotFoundError:
        print(f"skyflow-emulator env: no {data_dir / 'account.json'}; start the emulator with "
              f"--data-dir {shlex.quote(str(data_dir))} first", file=sys.stderr)
        return 2
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        print(f"skyflow-emulator env: {data_dir / 'account.json'} is not an emulator account "
              f"file ({type(exc).__name__})", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["env"]:
        return env_main(argv[1:])
    try:
        from .server import parse_args, serve
    except ModuleNotFoundError as exc:
        if exc.name != "werkzeug":
            raise
        print("skyflow-emulator needs the [emulator] extra: "
              "pip install 'skyflow-pulumi[emulator]'", file=sys.stderr)
        return 2
    return serve(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
