"""Every module of the package imports on its own, first: no import cycle hides behind the
order in which the rest of the suite happens to import them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import packetflow

ROOT = Path(packetflow.__file__).parent

CHECK = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "packetflow" or m.startswith("packetflow.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {exc!r}")
print("\\n".join(failed))
"""


def modules() -> list[str]:
    names = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_module_list_covers_the_rooms() -> None:
    assert {"packetflow.reactor.changelog", "packetflow.worker.app"} <= set(modules())


def test_each_module_imports_first_in_a_fresh_interpreter() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK, *modules()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT.parent,
    )
    assert done.stdout.strip() == ""
