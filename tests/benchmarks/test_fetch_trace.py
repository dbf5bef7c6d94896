"""benchmarks/fetch_trace: the diagnostic wraps the aiokafka fetcher methods it names."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from aiokafka.consumer.fetcher import Fetcher

SITE = Path(__file__).resolve().parents[2] / "benchmarks" / "fetch_trace" / "sitecustomize.py"
WRAPPED = ("_proc_fetch_request", "fetched_records", "_get_actions_per_node")


def load(monkeypatch: pytest.MonkeyPatch, trace: str | None) -> ModuleType:
    for name in WRAPPED:  # restored after the test
        monkeypatch.setattr(Fetcher, name, getattr(Fetcher, name))
    if trace is None:
        monkeypatch.delenv("PF_FETCH_TRACE", raising=False)
    else:
        monkeypatch.setenv("PF_FETCH_TRACE", trace)
    spec = importlib.util.spec_from_file_location("fetch_trace_site", SITE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_the_variable_nothing_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    before = {name: getattr(Fetcher, name) for name in WRAPPED}
    load(monkeypatch, None)
    assert {name: getattr(Fetcher, name) for name in WRAPPED} == before


def test_with_the_variable_the_fetcher_methods_are_wrapped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before = {name: getattr(Fetcher, name) for name in WRAPPED}
    load(monkeypatch, str(tmp_path / "fetch.txt"))
    for name in WRAPPED:
        assert getattr(Fetcher, name) is not before[name], name
    assert (tmp_path / "fetch.txt").exists()
