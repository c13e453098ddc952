"""Every function of the package fits on a screen: 80 lines or fewer, def line to last line."""

import ast

from conftest import REPO

PACKAGE = REPO / "workflow" / "scripts" / "audioclf"
MAX_LINES = 80


def function_lengths(path) -> dict[str, int]:
    """{qualified name: lines from its `def` (decorators not counted) to its last line}."""
    lengths = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}."
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                lengths[name[:-1]] = child.end_lineno - child.lineno + 1
            visit(child, name)

    visit(ast.parse(path.read_text()), "")
    return lengths


def test_no_function_is_longer_than_80_lines():
    long = [
        f"{path.relative_to(PACKAGE)}: {name} ({lines} lines)"
        for path in sorted(PACKAGE.rglob("*.py"))
        for name, lines in function_lengths(path).items()
        if lines > MAX_LINES
    ]
    assert not long, f"split these into functions of at most {MAX_LINES} lines: {long}"


def test_the_measure_counts_from_the_def_line_to_the_last(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "@decorator\ndef f(\n    x,\n):\n    return x\n\n\n"
        "class C:\n    def g(self):\n        def inner():\n            pass\n"
    )
    assert function_lengths(source) == {"f": 4, "C.g": 3, "C.g.inner": 2}
