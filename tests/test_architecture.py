"""The package's architecture, checked from the source with ``ast`` (no import-linter needed).

Every ``src/ragkit/**/*.py`` is parsed; every import counts, also those inside functions
and under ``if TYPE_CHECKING:``. The rules:

* no module imports another module's private name, nor a private module of another package;
* no source file is longer than 400 lines;
* the top-level packages import each other without a cycle, and only downwards through
  the layers (``LAYERS``); siblings marked independent do not import each other;
* no module inside the layers imports a deprecated shim or a public alias (``SHIMS``);
* each shim warns, naming the new path, and still provides its old names;
* ``import ragkit`` is silent and loads no heavy dependency.
"""

from __future__ import annotations

import ast
import functools
import importlib
import itertools
import subprocess
import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "ragkit"
MAX_LINES = 400

#: Top to bottom. A layer imports only the layers below it; the root package ``ragkit`` sits on top with cli and testing.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli", "testing", ROOT),
    ("serve", "adapters"),
    ("pipeline",),
    ("cache", "observe", "eval"),
    ("search",),
    ("store",),
    ("index",),
    ("chunking",),
    ("embedding",),
    ("core",),
)
#: Siblings of one layer that may not import each other.
INDEPENDENT = frozenset({"cli", "testing", "serve", "adapters", "cache", "observe", "eval"})
PACKAGES = tuple(p for layer in LAYERS for p in layer if p != ROOT)

#: Deprecated shims (warn on import) and public aliases (no warning): no module inside the layers imports them.
SHIMS = ("ragkit.retrieval", "ragkit.store.arrow_io", "ragkit.store.atomic", "ragkit.index.faiss_index")
ALIASES = ("ragkit.errors", "ragkit.documents", "ragkit.protocols")


# --- the scan ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    name: str
    is_package: bool
    source: str

    @property
    def package(self) -> str:
        """The package this module belongs to (itself for an ``__init__``)."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # the module imported: ``X`` for ``from X import name``, ``X.name`` when that is a module
    name: str | None  # the name imported from ``target`` (None: the module itself)
    lineno: int

    def __str__(self) -> str:
        what = f"from {self.target} import {self.name}" if self.name else f"import {self.target}"
        return f"{self.importer}:{self.lineno}: {what}"


def scan(src: Path = SRC) -> dict[str, Module]:
    """Every module of the ragkit source tree by dotted name."""
    modules = {}
    for path in sorted((src / ROOT).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        modules[name] = Module(name, is_package, path.read_text(encoding="utf-8"))
    return modules


@functools.cache
def _scanned() -> dict[str, Module]:
    return scan()


def _resolve_relative(module: Module, level: int, name: str | None) -> str:
    base = module.package.split(".")
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _is_ragkit(name: str) -> bool:
    return name == ROOT or name.startswith(ROOT + ".")


def imports_of(module: Module, known: Iterable[str]) -> list[Import]:
    """The ragkit imports of ``module``, anywhere in its body."""
    known = set(known)
    found = []
    for node in ast.walk(ast.parse(module.source, filename=module.name)):
        if isinstance(node, ast.Import):
            found += [Import(module.name, alias.name, None, node.lineno) for alias in node.names if _is_ragkit(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve_relative(module, node.level, node.module) if node.level else (node.module or "")
            if not _is_ragkit(source):
                continue
            for alias in node.names:
                if alias.name == "*":
                    found.append(Import(module.name, source, None, node.lineno))
                elif f"{source}.{alias.name}" in known:
                    found.append(Import(module.name, f"{source}.{alias.name}", None, node.lineno))
                else:
                    found.append(Import(module.name, source, alias.name, node.lineno))
    return found


def all_imports(modules: Mapping[str, Module]) -> list[Import]:
    return [imp for module in modules.values() for imp in imports_of(module, modules)]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_import_violations(modules: Mapping[str, Module]) -> list[str]:
    """Imports of another module's private name, or of a private module from outside its package."""
    bad = []
    for imp in all_imports(modules):
        importer = modules[imp.importer]
        if imp.name is not None and _private(imp.name) and imp.target != imp.importer:
            bad.append(f"{imp}  (private name of another module)")
        parts = imp.target.split(".")
        for i, part in enumerate(parts):
            owner = ".".join(parts[:i])
            if _private(part) and importer.package != owner:
                bad.append(f"{imp}  (private module of package {owner}, imported from package {importer.package})")
                break
    return bad


def top_package(module: str) -> str | None:
    """The layer package of a module (``ROOT`` for the package itself); None for a root-level shim or alias."""
    parts = module.split(".")
    if len(parts) == 1:
        return ROOT
    return parts[1] if parts[1] in PACKAGES else None


def package_edges(modules: Mapping[str, Module], *, with_root: bool = False) -> dict[tuple[str, str], list[Import]]:
    """``(importing package, imported package) -> the imports making that edge``, between different packages."""
    edges: dict[tuple[str, str], list[Import]] = {}
    for imp in all_imports(modules):
        a, b = top_package(imp.importer), top_package(imp.target)
        if a is None or b is None or a == b or (not with_root and ROOT in (a, b)):
            continue
        edges.setdefault((a, b), []).append(imp)
    return edges


def find_cycle(edges: Iterable[tuple[str, str]]) -> list[str] | None:
    """A cycle ``[a, b, ..., a]`` of the directed graph, or None."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def layer_violations(modules: Mapping[str, Module]) -> list[str]:
    """Imports that go up the layers, or between independent siblings."""
    rank = {p: i for i, layer in enumerate(LAYERS) for p in layer}
    bad = []
    for (a, b), imps in sorted(package_edges(modules, with_root=True).items()):
        if rank[b] > rank[a]:
            continue
        if rank[b] == rank[a] and not (a in INDEPENDENT and b in INDEPENDENT):
            continue
        why = "independent siblings" if rank[a] == rank[b] else "imports a higher layer"
        bad.append(f"{a} -> {b} ({why}): " + "; ".join(map(str, imps[:5])) + (f" (+{len(imps) - 5} more)" if len(imps) > 5 else ""))
    return bad


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def shim_import_violations(modules: Mapping[str, Module]) -> list[str]:
    """Imports of a shim or alias by a module inside the layers (shims themselves excepted)."""
    bad = []
    for imp in all_imports(modules):
        if top_package(imp.importer) is None or any(_inside(imp.importer, s) for s in SHIMS):
            continue
        hit = next((s for s in SHIMS + ALIASES if _inside(imp.target, s)), None)
        if hit is not None:
            bad.append(f"{imp}  ({hit})")
    return bad


def shim_string_violations(modules: Mapping[str, Module]) -> list[str]:
    """String constants that name a shim or alias as a module path (``"ragkit.x.y"`` or ``"ragkit.x.y:Name"``),
    as tables for ``importlib.import_module`` do: a dynamic import the import scan cannot see."""
    bad = []
    for module in modules.values():
        if top_package(module.name) is None or any(_inside(module.name, s) for s in SHIMS):
            continue
        for node in ast.walk(ast.parse(module.source, filename=module.name)):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            path = node.value.partition(":")[0]
            if not path.replace(".", "").replace("_", "").isalnum() or not _is_ragkit(path):
                continue
            hit = next((s for s in SHIMS + ALIASES if _inside(path, s)), None)
            if hit is not None:
                bad.append(f"{module.name}:{node.lineno}: {node.value!r}  ({hit})")
    return bad


def _warns_on_import(source: str) -> bool:
    """Whether a module's top level calls ``warn_moved`` or ``warnings.warn`` (what a shim does)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if (isinstance(func, ast.Name) and func.id in ("warn_moved", "warn")) or (
                isinstance(func, ast.Attribute) and func.attr in ("warn_moved", "warn")
            ):
                return True
    return False


# --- the checks on the real tree ---------------------------------------------------------------------------------


def test_the_scan_sees_the_whole_package() -> None:
    modules = _scanned()
    assert len(modules) > 50, sorted(modules)
    assert {"ragkit", "ragkit.cli", "ragkit.core.errors", "ragkit.store.collection", "ragkit.pipeline.build"} <= set(modules)
    assert len(all_imports(modules)) > 200
    edges = package_edges(modules)
    assert {("store", "core"), ("pipeline", "store"), ("search", "core")} <= set(edges), sorted(edges)
    # imports inside functions and under TYPE_CHECKING are seen too
    lazy = [imp for imp in all_imports(modules) if imp.importer == "ragkit.pipeline.build" and imp.target == "ragkit.index"]
    assert lazy, "the function-level import in ragkit.pipeline.build was not found"
    typing_only = [imp for imp in all_imports(modules)
                   if imp.importer == "ragkit.pipeline.ray_engine" and imp.target == "ragkit.pipeline.progress"]
    assert typing_only, "the TYPE_CHECKING import in ragkit.pipeline.ray_engine was not found"


def test_no_module_imports_private_names_of_another() -> None:
    bad = private_import_violations(_scanned())
    assert not bad, "private imports across modules:\n" + "\n".join(bad)


def test_no_source_file_is_too_long() -> None:
    sizes = {name: len(m.source.splitlines()) for name, m in _scanned().items()}
    long = sorted(((n, s) for n, s in sizes.items() if s > MAX_LINES), key=lambda x: -x[1])
    assert not long, f"modules over {MAX_LINES} lines: " + ", ".join(f"{n} ({s})" for n, s in long)


def test_packages_import_each_other_without_a_cycle() -> None:
    edges = package_edges(_scanned())
    cycle = find_cycle(edges)
    if cycle is not None:
        detail = "\n".join(f"  {a} -> {b}: {edges[(a, b)][0]}" for a, b in itertools.pairwise(cycle))
        pytest.fail(f"import cycle between packages: {' -> '.join(cycle)}\n{detail}")


def test_layers_import_only_downwards() -> None:
    bad = layer_violations(_scanned())
    assert not bad, "layer violations:\n" + "\n".join(bad)


def test_no_layer_imports_a_shim_or_alias() -> None:
    bad = shim_import_violations(_scanned())
    assert not bad, "imports of deprecated shims / aliases inside the layers:\n" + "\n".join(bad)


def test_no_layer_names_a_shim_for_a_dynamic_import() -> None:
    bad = shim_string_violations(_scanned())
    assert not bad, "module paths of deprecated shims / aliases in strings (dynamic imports) inside the layers:\n" + "\n".join(bad)


# --- the checks can fail ----------------------------------------------------------------------------------------


def _fake_tree() -> dict[str, Module]:
    sources = {
        "ragkit": ("from ragkit.core import x\n", True),
        "ragkit.core": ("", True),
        "ragkit.core.x": ("def f():\n    from ragkit import Document\n", False),
        "ragkit.chunking": ("from ragkit.chunking._base import ChunkerBase\n", True),
        "ragkit.chunking._base": ("", False),
        "ragkit.chunking.ok": ("from ._base import ChunkerBase\nfrom ragkit.core.version import __version__\n", False),
        "ragkit.store": ("", True),
        "ragkit.store.bad": (
            "from typing import TYPE_CHECKING\n"
            "from ragkit.chunking._base import ChunkerBase\n"
            "from ragkit.core.x import _hidden\n"
            "from ragkit.retrieval import HybridRetriever\n"
            "if TYPE_CHECKING:\n    from ragkit.search import y\n",
            False,
        ),
        "ragkit.search": ("", True),
        "ragkit.search.y": (
            "def g():\n    import ragkit.store.bad\n    from ragkit import errors\n"
            'TABLE = {"A": "ragkit.retrieval.hybrid:HybridRetriever", "B": "ragkit.search.y", "C": "see ragkit.errors"}\n',
            False,
        ),
        "ragkit.cache": ("from ragkit.observe import z\n", True),
        "ragkit.observe": ("", True),
        "ragkit.observe.z": ("", False),
        "ragkit.errors": ("", False),
        "ragkit.retrieval": ("", True),
    }
    return {name: Module(name, pkg, src) for name, (src, pkg) in sources.items()}


def test_the_checks_catch_violations() -> None:
    tree = _fake_tree()
    private = private_import_violations(tree)
    assert len(private) == 2, private
    assert any("ragkit.store.bad:2" in v and "_base" in v for v in private)
    assert any("ragkit.store.bad:3" in v and "_hidden" in v for v in private)
    assert find_cycle(package_edges(tree)) in (["search", "store", "search"], ["store", "search", "store"])
    assert find_cycle([("a", "b"), ("b", "c")]) is None
    layers = layer_violations(tree)
    assert [v.split(":")[0] for v in layers] == [
        "cache -> observe (independent siblings)",
        "core -> ragkit (imports a higher layer)",
        "store -> search (imports a higher layer)",
    ], layers
    shims = shim_import_violations(tree)
    assert [v.split(":")[:2] for v in shims] == [["ragkit.store.bad", "4"], ["ragkit.search.y", "3"]], shims
    assert shim_string_violations(tree) == ["ragkit.search.y:4: 'ragkit.retrieval.hybrid:HybridRetriever'  (ragkit.retrieval)"]
    assert _warns_on_import('from ragkit.core.deprecation import warn_moved\nwarn_moved(__name__, "ragkit.x")\n')
    assert not _warns_on_import('"""A real module."""\nimport warnings\n')


# --- shims and aliases --------------------------------------------------------------------------------------------

#: shim -> (the new path its warning names, {old name: "module:name" it must be})
SHIM_NAMES: dict[str, tuple[str, dict[str, str]]] = {
    "ragkit.retrieval": ("ragkit.search", {
        "HybridRetriever": "ragkit.search:HybridRetriever", "DenseRetriever": "ragkit.search:DenseRetriever",
        "BM25Retriever": "ragkit.search:BM25Retriever", "RRF": "ragkit.search:RRF", "ScoreFusion": "ragkit.search:ScoreFusion",
        "normalize": "ragkit.search:normalize", "Filter": "ragkit.store:Filter", "filter_mask": "ragkit.store:filter_mask",
        "Principal": "ragkit.store:Principal", "ShardedCollection": "ragkit.store:ShardedCollection",
        "open_collection": "ragkit.store:open_collection", "Hit": "ragkit.core.results:Hit",
        "Candidates": "ragkit.core.results:Candidates",
    }),
    "ragkit.retrieval.hybrid": ("ragkit.search.hybrid", {"HybridRetriever": "ragkit.search:HybridRetriever"}),
    "ragkit.retrieval.hits": ("ragkit.core.results", {
        "top_k": "ragkit.core.topk:top_k", "merge_top_k": "ragkit.core.topk:merge_top_k",
        "Hit": "ragkit.core.results:Hit", "Candidates": "ragkit.core.results:Candidates",
    }),
    "ragkit.retrieval.single": ("ragkit.search.single", {"DenseRetriever": "ragkit.search.single:DenseRetriever"}),
    "ragkit.retrieval.base": ("ragkit.search.base", {"BaseRetriever": "ragkit.search.base:BaseRetriever"}),
    "ragkit.retrieval.fusion": ("ragkit.search.fusion", {"RRF": "ragkit.search.fusion:RRF"}),
    "ragkit.retrieval.filters": ("ragkit.store.filters", {"Filter": "ragkit.store.filters:Filter"}),
    "ragkit.retrieval.access": ("ragkit.store.access", {"Principal": "ragkit.store.access:Principal"}),
    "ragkit.retrieval.sharded": ("ragkit.store.sharded", {"ShardedCollection": "ragkit.store.sharded:ShardedCollection"}),
    "ragkit.store.arrow_io": ("ragkit.core.arrow_io", {
        "read_table": "ragkit.core.arrow_io:read_table", "write_table": "ragkit.core.arrow_io:write_table",
    }),
    "ragkit.store.atomic": ("ragkit.core.atomic", {"write_bytes_atomic": "ragkit.core.atomic:write_bytes_atomic"}),
    "ragkit.index.faiss_index": ("", {"FaissIndex": "ragkit.index:FaissIndex", "FaissConfig": "ragkit.index:FaissConfig"}),
}


def test_every_shim_in_the_tree_is_checked() -> None:
    modules = _scanned()
    shims = {n for n in modules if any(_inside(n, s) for s in SHIMS) and _warns_on_import(modules[n].source)}
    assert "ragkit.retrieval.hybrid" in shims and "ragkit.store.arrow_io" in shims
    assert shims <= set(SHIM_NAMES), f"shims without a test entry: {sorted(shims - set(SHIM_NAMES))}"


def _object(path: str) -> object:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _import_again(name: str) -> object:
    """Run the module's code again (reload keeps the module object, so nothing else sees a copy)."""
    if name in sys.modules:
        return importlib.reload(sys.modules[name])
    return importlib.import_module(name)


@pytest.mark.parametrize("shim", sorted(SHIM_NAMES))
def test_shim_warns_and_still_provides_its_old_names(shim: str) -> None:
    source = _scanned().get(shim)
    assert source is not None, f"{shim} is gone: remove it from SHIM_NAMES (and from the forbidden list)"
    if not _warns_on_import(source.source):
        if shim == "ragkit.index.faiss_index":
            pytest.skip(f"{shim} is not a shim yet")
        pytest.fail(f"{shim} does not warn on import")
    new, names = SHIM_NAMES[shim]
    with pytest.warns(DeprecationWarning) as record:
        module = _import_again(shim)
    messages = [str(w.message) for w in record if issubclass(w.category, DeprecationWarning) and shim in str(w.message)]
    assert messages, f"no DeprecationWarning naming {shim}: {[str(w.message) for w in record]}"
    if not new:  # the new path is whatever the warning names
        named = [word.rstrip(".;,") for word in messages[0].split() if word.startswith("ragkit.") and word.rstrip(".;,") != shim]
        assert named, messages[0]
        new = named[0]
        assert importlib.import_module(new) is not module
    assert any(new in m for m in messages), f"the warning does not name {new}: {messages}"
    for old, path in names.items():
        assert getattr(module, old, None) is _object(path), f"{shim}.{old} is not {path}"
    if shim != "ragkit.retrieval":  # a star re-export: everything public of the new module is there
        target = importlib.import_module(new)
        for name in getattr(target, "__all__", ()):
            assert getattr(module, name, None) is getattr(target, name), f"{shim}.{name} is not {new}.{name}"


@pytest.mark.parametrize("alias", ALIASES)
def test_public_alias_reexports_without_warning(alias: str) -> None:
    target = importlib.import_module(alias.replace("ragkit.", "ragkit.core.", 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module = _import_again(alias)
    names = list(getattr(target, "__all__", ()))
    assert names
    for name in names:
        assert getattr(module, name, None) is getattr(target, name), f"{alias}.{name} is not {target.__name__}.{name}"


# --- import ragkit -------------------------------------------------------------------------------------------------

HEAVY = ("torch", "sentence_transformers", "faiss")


def test_import_ragkit_is_silent_and_light() -> None:
    quiet = subprocess.run([sys.executable, "-W", "error", "-c", "import ragkit"], capture_output=True, text=True)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", ""), quiet
    code = f"import sys, ragkit; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    heavy = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert heavy.returncode == 0, heavy.stderr
    assert heavy.stdout.strip() == "[]", f"import ragkit loads {heavy.stdout.strip()}"
