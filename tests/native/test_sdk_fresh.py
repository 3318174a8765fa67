"""sdk/nodejs, sdk/go and sdk/python are what tools/sdkgen.sh makes from sdk/schema.json (make
generate)."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

from tests.helpers.prerequisites import INSTALL_GO, require_tool

ROOT = Path(__file__).resolve().parents[2]
#: npm's, Go's and the Python builder's own files, not the generator's
IGNORED = {"node_modules", "bin", "package-lock.json", "go.sum", "build", "dist", "__pycache__",
           "pulumi_skyflow.egg-info"}


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and not IGNORED & set(p.relative_to(root).parts)}


def test_generated_sdks_are_fresh(tmp_path: Path) -> None:
    require_tool("go", INSTALL_GO)
    subprocess.run(["bash", str(ROOT / "tools" / "sdkgen.sh"), str(tmp_path)], check=True,
                   timeout=900)
    stale = []
    for lang in ("nodejs", "go", "python"):
        want, have = tmp_path / lang, ROOT / "sdk" / lang
        names = _files(want) | _files(have)
        stale += [f"sdk/{lang}/{n}" for n in sorted(names)
                  if not (want / n).is_file() or not (have / n).is_file()
                  or not filecmp.cmp(want / n, have / n, shallow=False)]
    assert stale == [], f"stale generated SDK files (run `make generate`): {stale}"
