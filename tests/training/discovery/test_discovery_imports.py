"""training/discovery imports only envs/, agents/, its own files and its libraries (one import direction:
the rest of training/ is being restructured and must stay free to move)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "training" / "discovery"
ALLOWED = {"envs", "agents", "numpy", "scipy", "pandas", "SALib", "ema_workbench", "pydantic", "yaml"}


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            out.add(node.module)
    return out


def test_discovery_imports_only_envs_agents_itself_and_its_libraries():
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) >= 4
    for path in files:
        for name in _imports(path):
            top = name.split(".")[0]
            ok = top in ALLOWED or top in sys.stdlib_module_names or name.startswith("training.discovery")
            assert ok, f"{path.name} imports {name}"
