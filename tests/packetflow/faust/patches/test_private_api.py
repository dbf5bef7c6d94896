"""Faust's private API is used in ``packetflow/faust/patches`` only.

The rule, checked on the syntax tree of every module under ``packetflow/`` and
``streams/`` outside the patches package:

1. nothing is imported from a private module of Faust, mode or aiokafka
   (``faust._cython``), and no private name from any of their modules
   (``from faust.streams import _current_event``);
2. no attribute named in :data:`~packetflow.faust.patches.private.PRIVATE_NAMES`
   (the private names of those libraries the patches use) is read, written or
   called on any object (``consumer._acked``, ``app.producer._ensure_producer()``),
   nor named as a string to ``getattr`` and its kin. Attributes of ``self`` and
   ``cls`` are exempt, being PacketFlow's own (``self._acked`` in a class of
   ours), unless the class derives from a class of those libraries: then they
   are Faust's.

Without types, a receiver cannot be known to be a Faust object, so rule 2 goes
by name; PacketFlow's own private attributes on objects other than ``self``
are not flagged unless they share a name with Faust's. The list covers what
the patches use (checked below): a private name the patches take up joins the
rule at once.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from packetflow.faust.patches.private import PRIVATE_NAMES

LIBRARIES = ("faust", "mode", "aiokafka")
PATCHES = Path("packetflow/faust/patches")
REFLECTION = {"getattr", "setattr", "hasattr", "delattr"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _of_libraries(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in LIBRARIES


class Checker(ast.NodeVisitor):
    """Collects the uses of Faust's private API in one module (see the module doc)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.found: list[str] = []
        self.library_names: set[str] = set()  # names bound to the libraries' modules or classes
        self.faust_classes: list[bool] = []  # per enclosing class: derives from the libraries

    def flag(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{self.path}:{getattr(node, 'lineno', 0)}: {what}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not _of_libraries(alias.name):
                continue
            self.library_names.add((alias.asname or alias.name).split(".")[0])
            if any(_private(part) for part in alias.name.split(".")):
                self.flag(node, f"import of Faust's private module {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not _of_libraries(node.module):
            return
        assert node.module is not None
        if any(_private(part) for part in node.module.split(".")):
            self.flag(node, f"import from Faust's private module {node.module}")
        for alias in node.names:
            self.library_names.add(alias.asname or alias.name)
            if _private(alias.name):
                self.flag(node, f"import of Faust's private name {node.module}.{alias.name}")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.faust_classes.append(
            any(self._root(base) in self.library_names for base in node.bases)
        )
        self.generic_visit(node)
        self.faust_classes.pop()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in PRIVATE_NAMES and not self._own(node.value):
            self.flag(node, f"Faust's private attribute {node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in REFLECTION and len(node.args) >= 2:
            name, receiver = node.args[1], node.args[0]
            named = isinstance(name, ast.Constant) and name.value in PRIVATE_NAMES
            if named and not self._own(receiver):
                self.flag(node, f"Faust's private attribute {name.value} (by {func.id})")
        self.generic_visit(node)

    def _own(self, receiver: ast.expr) -> bool:
        """Whether ``receiver`` is ``self``/``cls`` of a class of PacketFlow's own."""
        in_faust_class = bool(self.faust_classes) and self.faust_classes[-1]
        return (
            isinstance(receiver, ast.Name) and receiver.id in {"self", "cls"} and not in_faust_class
        )

    @staticmethod
    def _root(expr: ast.expr) -> str | None:
        while isinstance(expr, ast.Attribute | ast.Subscript | ast.Call):
            expr = expr.func if isinstance(expr, ast.Call) else expr.value
        return expr.id if isinstance(expr, ast.Name) else None


def violations(source: str, path: str = "<source>") -> list[str]:
    """Every use of Faust's private API in ``source`` (see the module doc)."""
    checker = Checker(path)
    checker.visit(ast.parse(source))
    return checker.found


def modules(repo_root: Path) -> Iterator[Path]:
    """Every module the rule applies to: under packetflow/ and streams/, outside the patches."""
    for top in ("packetflow", "streams"):
        for path in sorted((repo_root / top).rglob("*.py")):
            if not path.relative_to(repo_root).is_relative_to(PATCHES):
                yield path


def test_no_module_outside_the_patches_uses_faust_s_private_api(repo_root: Path) -> None:
    found = [
        v
        for path in modules(repo_root)
        for v in violations(path.read_text(), str(path.relative_to(repo_root)))
    ]
    assert found == [], "Faust's private API belongs in packetflow/faust/patches:\n" + "\n".join(
        found
    )


def test_the_rule_covers_the_worker(repo_root: Path) -> None:
    checked = {p.relative_to(repo_root).as_posix() for p in modules(repo_root)}
    assert "packetflow/worker/app.py" in checked
    assert not any(p.startswith(PATCHES.as_posix()) for p in checked)


def test_the_list_names_every_private_name_the_patches_use(repo_root: Path) -> None:
    used: set[str] = set()
    for path in sorted((repo_root / PATCHES).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                own = isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}
                if not own:
                    used.add(node.attr)
            elif isinstance(node, ast.ImportFrom) and _of_libraries(node.module):
                used |= {a.name for a in node.names if _private(a.name)}
    assert used == PRIVATE_NAMES


FLAGGED = {
    "an attribute of a Faust object": "def f(consumer):\n    return consumer._acked[tp]\n",
    "a private name imported": "from faust.streams import _current_event\n",
    "a private name imported under another name": (
        "from faust.streams import _current_event as current\n"
    ),
    "a private module imported": "from faust._cython.streams import StreamIterator\n",
    "an attribute through the module": (
        "import faust.streams\nfaust.streams._current_event.set(ref)\n"
    ),
    "a chain, assigned": "app.consumer._thread._create_consumer = create\n",
    "a call": "producer = app.producer._ensure_producer()\n",
    "by reflection": "index = getattr(consumer, '_acked_index')\n",
    "self of a Faust class": (
        "import faust\n"
        "class App(faust.App):\n"
        "    def offset(self, tp):\n"
        "        return self._new_offset(tp)\n"
    ),
    "self of a Faust class imported by name": (
        "from faust.transport.consumer import Consumer\n"
        "class Mine(Consumer):\n"
        "    def acked(self):\n"
        "        return self._acked\n"
    ),
}

PASSED = {
    "PacketFlow's own attribute on self": (
        "class Offsets:\n    def __init__(self):\n        self._acked = []\n"
        "    def n(self):\n        return len(self._acked)\n"
    ),
    "PacketFlow's own method on cls": (
        "class A:\n    @classmethod\n    def make(cls):\n        return cls._get()\n"
    ),
    "a private name Faust does not have here": "import os\nos._exit(70)\n",
    "a public name of Faust": "from faust.streams import current_event\nevent = current_event()\n",
    "a private name of another library": "from packetflow.x import _helper\n",
    "a public attribute": "consumer.assignment()\n",
    "self of our class in a module that imports faust": (
        "import faust\nclass Store:\n    def get(self):\n        return self._get()\n"
    ),
}


@pytest.mark.parametrize("source", FLAGGED.values(), ids=FLAGGED.keys())
def test_the_checker_flags(source: str) -> None:
    assert violations(source, "packetflow/worker/x.py")


@pytest.mark.parametrize("source", PASSED.values(), ids=PASSED.keys())
def test_the_checker_passes(source: str) -> None:
    assert violations(source, "packetflow/worker/x.py") == []
