"""The gate runs on a cPanel box's own python3: one file, standard library, Python 3.6 syntax."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jbremote.gate import jbremote_gate

SOURCE = Path(jbremote_gate.__file__).read_text()
TREE = ast.parse(SOURCE)


def test_source_parses_as_python_3_6() -> None:
    ast.parse(SOURCE, feature_version=(3, 6))


def _evaluated_annotations(tree: ast.Module) -> list[ast.expr]:
    """Return the annotations Python evaluates: signatures, module and class variables
    (a local variable's annotation is never evaluated).
    """
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            args = node.args.args + node.args.kwonlyargs
            found += [a.annotation for a in args if a.annotation]
            found += [node.returns] if node.returns else []
    scopes: list[ast.Module | ast.ClassDef] = [tree]
    scopes += [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    for scope in scopes:
        found += [n.annotation for n in scope.body if isinstance(n, ast.AnnAssign)]
    return found


def test_no_future_import_and_no_evaluated_new_style_annotations() -> None:
    # `from __future__ import annotations` is a SyntaxError on 3.6, and `X | None` or
    # `list[str]` fail there when evaluated: evaluated annotations must be plain names or strings.
    assert not any(
        isinstance(node, ast.ImportFrom) and node.module == "__future__" for node in ast.walk(TREE)
    )
    annotations = _evaluated_annotations(TREE)
    assert len(annotations) > 20
    for annotation in annotations:
        plain = isinstance(annotation, ast.Name)
        constant = isinstance(annotation, ast.Constant)
        quoted = constant and isinstance(getattr(annotation, "value", None), str | None)
        assert plain or quoted, f"line {annotation.lineno}: {ast.unparse(annotation)}"


def test_imports_only_the_standard_library() -> None:
    modules = set()
    for node in ast.walk(TREE):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert modules <= sys.stdlib_module_names, modules - sys.stdlib_module_names


def test_runs_isolated_from_jbremote_as_a_copied_file(tmp_path: Path) -> None:
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    copy = tmp_path / "jbremote-gate"
    copy.write_text(SOURCE)
    command = "jetbackup5api -F getBackupJob -D _id=6504c79fd4b57d536c05bbe2 -O json"

    proc = subprocess.run(
        [python, "-IS", str(copy), "--check", command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("allowed (read, read-write gate)\n")


def test_shebang_runs_the_file_directly(tmp_path: Path) -> None:
    if not Path("/usr/bin/python3").exists():
        pytest.skip("no /usr/bin/python3 on this machine")
    copy = tmp_path / "jbremote-gate"
    copy.write_text(SOURCE)
    copy.chmod(0o755)

    proc = subprocess.run(
        [str(copy), "--version"], capture_output=True, text=True, timeout=30, check=False
    )

    assert proc.stdout == f"jbremote-gate {jbremote_gate.__version__}\n"
