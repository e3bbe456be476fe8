"""The package's shape: no import cycle anywhere, and a package import that loads nothing.

The layer contracts themselves (which layer may import which, where Flask and
durable_rules may be imported) are checked by import-linter in ``make lint``
(pyproject.toml, ``[tool.importlinter]``).
"""

from __future__ import annotations

import subprocess
import sys

import grimp

from tests.servers import ROOT


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("service")
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append(" -> ".join((importer, *back)))
    assert cycles == []


def test_importing_the_package_loads_neither_flask_nor_durable_rules() -> None:
    heavy = ("flask", "durable", "durable_rules_engine")
    probe = f"import sys, service; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
