"""pyproject.toml: metadata that keeps building on the setuptools releases to come."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path


def test_license_is_an_spdx_expression(repo_root: Path) -> None:
    """A ``license = {text = ...}`` table is deprecated: setuptools warns that such builds stop
    working after 2027-02-18. An SPDX string needs setuptools 77 or later to build."""
    meta = tomllib.loads((repo_root / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "Apache-2.0"
    requires = meta["build-system"]["requires"]
    setuptools = next(r for r in requires if r.startswith("setuptools"))
    least = re.fullmatch(r"setuptools>=(\d+)", setuptools)
    assert least is not None, setuptools
    assert int(least.group(1)) >= 77, setuptools
