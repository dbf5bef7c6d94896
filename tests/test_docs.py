"""The documents a caller reads list every error the protocol can answer with."""

from __future__ import annotations

from pathlib import Path

import pytest

from packetflow.errors import ErrorType, error_code


@pytest.mark.parametrize("document", ["README.md", "docs/protocol.md"])
def test_every_error_type_is_in_the_error_table(repo_root: Path, document: str) -> None:
    text = (repo_root / document).read_text()
    missing = [
        f"{kind.value} {error_code(kind)}"
        for kind in ErrorType
        if f"| `{kind.value}` | {error_code(kind)} |" not in text
    ]
    assert not missing, f"{document} lacks rows for {missing}"
