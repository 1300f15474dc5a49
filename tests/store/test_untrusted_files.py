"""Untrusted files: nothing in ragkit can deserialise code, and saved collections hold no pickle."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import ragkit
from ragkit import Collection

SRC = Path(ragkit.__file__).resolve().parent


def calls_and_imports(tree: ast.AST) -> tuple[set[str], list[ast.Call]]:
    imports, calls = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imports.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call):
            calls.append(node)
    return imports, calls


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def test_no_module_can_unpickle() -> None:
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        imports, calls = calls_and_imports(ast.parse(path.read_text(encoding="utf-8")))
        for banned in ("pickle", "cPickle", "dill", "joblib", "marshal", "shelve", "cloudpickle"):
            if banned in imports:
                problems.append(f"{path.relative_to(SRC)} imports {banned}")
        for call in calls:
            name = dotted(call.func)
            keywords = {k.arg: k.value for k in call.keywords}
            if name in ("eval", "exec"):
                problems.append(f"{path.relative_to(SRC)}:{call.lineno} calls {name}")
            if name.endswith(("np.load", "numpy.load")):
                flag = keywords.get("allow_pickle")
                if not (isinstance(flag, ast.Constant) and flag.value is False):
                    problems.append(f"{path.relative_to(SRC)}:{call.lineno} np.load without allow_pickle=False")
            if name.endswith("torch.load"):
                flag = keywords.get("weights_only")
                if not (isinstance(flag, ast.Constant) and flag.value is True):
                    problems.append(f"{path.relative_to(SRC)}:{call.lineno} torch.load without weights_only=True")
    assert not problems, problems


def test_a_saved_collection_holds_only_arrow_faiss_and_json(animal_collection: Collection, tmp_path: Path) -> None:
    root = animal_collection.save(tmp_path / "col")
    names = [p for p in root.rglob("*") if p.is_file() and p.name not in (".lock", ".readers.lock")]
    assert {p.suffix for p in names} == {".arrow", ".faiss", ".json"}
    for path in names:
        head = path.read_bytes()[:2]
        assert head != b"\x80\x04" and head != b"\x80\x05", f"{path.name} looks like a pickle"
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
