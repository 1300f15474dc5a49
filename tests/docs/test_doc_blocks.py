"""Every fenced ```python block of README.md and docs/*.md runs.

The blocks of one page run in order, in one fresh interpreter, in an empty temporary folder
(so a page reads like one script: a later block may use what an earlier one defined). A block
that is not meant to run on its own (a signature, an excerpt that needs your data) is marked
by an HTML comment ``<!-- fragment -->`` on the line before its fence, and is skipped.
Pages that load the real embedding model are marked ``slow``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)")
FRAGMENT = "<!-- fragment -->"
#: a page whose blocks build with the default model (minutes on 2 cores when several do)
_REAL_MODEL = re.compile(r"SentenceTransformerEmbedder\(|embed_queries\(|build_collection\((?![^)]*embedder=)")


def python_blocks(page: Path) -> list[tuple[int, str, bool]]:
    """``(line, code, fragment)`` of each ```python block of ``page`` (line: 1-based, of the fence)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        language, start = match.group(1), i
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
        if language == "python":
            before = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
            found.append((start + 1, "\n".join(lines[start + 1:end]), before == FRAGMENT))
        i = end + 1
    return found


def _script(page: Path) -> str:
    parts = []
    for line, code, fragment in python_blocks(page):
        if not fragment:
            parts.append(f"# --- {page.name}, block at line {line}\n__block__ = {line}\n{code}\n")
    return "\n".join(parts)


def _params() -> list[object]:
    params = []
    for page in PAGES:
        script = _script(page)
        if not script:
            continue
        heavy = bool(_REAL_MODEL.search(script))
        params.append(pytest.param(page, id=page.name, marks=[pytest.mark.slow] if heavy else []))
    return params


def test_fragment_markers_are_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("text\n\n```python\nx = 1\n```\n\n<!-- fragment -->\n```python\nnot run\n```\n```bash\nls\n```\n",
                    encoding="utf-8")
    assert python_blocks(page) == [(3, "x = 1", False), (8, "not run", True)]
    assert "not run" not in _script(page) and "x = 1" in _script(page)


@pytest.mark.parametrize("page", _params())
def test_the_python_blocks_of_a_page_run(page: Path, tmp_path: Path) -> None:
    script = _script(page)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-12:]
        pytest.fail(f"{page.name}: the python block at line {failed_block(script, proc.stderr)} failed (mark a block that is "
                    f"not meant to run with {FRAGMENT} on the line before its fence):\n" + "\n".join(tail))


def failed_block(script: str, stderr: str) -> str:
    """The page line of the block that raised, from the last ``File "<string>", line N`` of the traceback."""
    found = re.findall(r'File "<string>", line (\d+)', stderr)
    if not found:
        return "?"
    upto = script.splitlines()[: int(found[-1])]
    starts = [line for line in upto if line.startswith("__block__ = ")]
    return starts[-1].split("= ")[1] if starts else "?"
