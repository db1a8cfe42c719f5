"""The declaration layer umcl/specs: a torch-free leaf, and the registry every table list derives from."""

from __future__ import annotations

import ast
import subprocess
import sys
import typing
from pathlib import Path

from umcl.protocols.keys import RunKey, Selection, with_initialisers
from umcl.protocols.tables import PROTOCOLS
from umcl.specs.released import PAPER_VALUES, RELEASED_CONFIG, SWITCHES, ReleasedSwitch
from umcl.specs.tables import DEFAULT_TABLES, TABLE_SPECS, TableName
from umcl.specs.workflow import WorkflowConfig

SPECS = Path(__file__).resolve().parent.parent / "umcl" / "specs"


def _project_imports(path: Path) -> set[str]:
    """Every ``umcl``/``baselines`` module a file imports, at any depth of the file."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.split(".")[0] in ("umcl", "baselines")}


def test_specs_import_nothing_of_the_project_outside_themselves() -> None:
    outside = {
        f.name: sorted(m for m in _project_imports(f) if not m.startswith("umcl.specs")) for f in SPECS.glob("*.py")
    }
    assert {k: v for k, v in outside.items() if v} == {}


def _module_graph() -> dict[str, set[str]]:
    """umcl module -> the umcl modules it imports at any depth (a function-local import counts: it would
    still run in a circle); ``from umcl.a import b`` points at ``umcl.a.b`` where that is a module."""
    root = SPECS.parent.parent
    names = {
        ".".join(f.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): f
        for f in (root / "umcl").rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, f in names.items():
        out = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in names]
                out.update(subs or [node.module])
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
        graph[name] = {m for m in out if m in names and m != name}
    return graph


def test_no_import_circle() -> None:
    """No umcl module reaches itself through its imports, function-local ones included."""
    graph = _module_graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import circle: " + " -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_specs_load_without_torch_or_numpy() -> None:
    code = (
        "import pkgutil, importlib, sys, umcl.specs as s\n"
        "for m in pkgutil.iter_modules(s.__path__): importlib.import_module(f'umcl.specs.{m.name}')\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('torch', 'numpy', 'pandas')\n"
        "             or (n.startswith('umcl.') and not n.startswith('umcl.specs')))\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=SPECS.parent.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_table_list_is_the_registry() -> None:
    assert typing.get_args(TableName) == tuple(TABLE_SPECS)
    assert list(PROTOCOLS) == list(TABLE_SPECS)
    assert WorkflowConfig().tables == list(DEFAULT_TABLES)
    for spec in TABLE_SPECS.values():
        # a paper table has its transcription; a table beyond the paper declares its printed columns
        assert spec.paper_values.is_file() if spec.paper is not None else PROTOCOLS[spec.name].columns


def test_released_switches_are_declared_once() -> None:
    from umcl.models.umcl import UMCLConfig
    from umcl.registry import get_entry

    assert typing.get_args(ReleasedSwitch) == tuple(SWITCHES)
    paper, released = UMCLConfig(), get_entry("umcl-released").config_cls()
    assert {k: getattr(paper, k) for k in SWITCHES} == PAPER_VALUES
    assert {k: getattr(released, k) for k in SWITCHES} == RELEASED_CONFIG
    assert all(PAPER_VALUES[k] != RELEASED_CONFIG[k] for k in SWITCHES)


def test_initialiser_is_the_lrnet_run_of_the_same_selection_and_seed() -> None:
    train = Selection("ff++", "c23", ("Deepfakes",))
    for detector in ("umcl", "cpml", "umcl-released"):
        assert RunKey(detector, train, 2, None).initialiser == RunKey("lrnet", train, 2)
    assert RunKey("umcl", train, 0, "ablA").initialiser == RunKey("lrnet", train, 0)
    for detector in ("lrnet", "xception"):
        assert RunKey(detector, train, 0).initialiser is None
    runs = [RunKey("umcl", train, 0), RunKey("cpml", train, 0), RunKey("xception", train, 0)]
    assert with_initialisers(runs) == sorted([*runs, RunKey("lrnet", train, 0)], key=RunKey.to_path)
