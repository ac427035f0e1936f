"""Package boundaries: curated public names, and a processing core that knows no I/O."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["processing", "simulator", "ingest"])
def test_all_is_exact(package):
    module = importlib.import_module(package)
    # Every public name in the package namespace is exported, and nothing else.
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, type(module))
    }
    assert set(module.__all__) == public
    assert len(module.__all__) == len(set(module.__all__))


#: What the processing core may import: computation only.
ALLOWED_IN_CORE = {
    "numpy",
    "scipy",
    "vqf",
    # A compiler for the per-sample loops; its cache of compiled code (beside the
    # module, or in the user's cache dir) is the only file it touches, never data.
    "numba",
    "processing",
    "__future__",
    "dataclasses",
    "enum",
    "collections",
    "typing",
    "math",
    "bisect",
    "itertools",
    "functools",
}


def test_processing_core_imports_no_io_ble_or_web():
    offenders = []
    for path in sorted((ROOT / "processing").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] not in ALLOWED_IN_CORE:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} calls open()")
    assert offenders == []
