"""Parsing the Snakefile imports neither torch nor pandas: every snakemake start (a dry run,
each cluster job's own) pays for what the rules files import, and torch alone takes seconds.

Snakemake itself imports pandas (its SLURM executor plugin does, at start), which is not in
this project's hands; so this checks what is: the modules the rules files import at their
top level, and the config validation they run, in a fresh interpreter."""

import re
import subprocess
import sys

from conftest import REPO

HEAVY = ("torch", "pandas")
TOP_LEVEL_IMPORT = re.compile(r"^(?:from\s+(\S+)\s+import|import\s+(\S+))", re.MULTILINE)


def rules_imports() -> list[str]:
    """The modules the Snakefiles and workflow/rules/*.smk import at their top level."""
    files = [REPO / "Snakefile", REPO / "workflow" / "Snakefile",
             *sorted((REPO / "workflow" / "rules").glob("*.smk"))]  # fmt: skip
    found = [
        m.group(1) or m.group(2) for f in files for m in TOP_LEVEL_IMPORT.finditer(f.read_text())
    ]
    return list(dict.fromkeys(found))


def test_the_rules_files_import_neither_torch_nor_pandas():
    modules = rules_imports()
    assert "audioclf.config" in modules and "audioclf.datasets.kinds" in modules
    script = "\n".join(
        [
            "import sys, yaml",
            f"sys.path.insert(0, {str(REPO / 'workflow' / 'scripts')!r})",
            *[f"import {m}" for m in modules],
            "from audioclf.config import validate_config",
            f"config = yaml.safe_load(open({str(REPO / 'config' / 'config.yaml')!r}))",
            f"validate_config(config, {str(REPO / 'workflow/schemas/config.schema.yaml')!r})",
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]", f"imported at parse time: {out.stdout}"
