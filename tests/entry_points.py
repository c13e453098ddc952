"""Running a workflow script (a rule's `script:`) in-process, as Snakemake does."""

import runpy
import sys
from types import SimpleNamespace

from conftest import REPO

SCRIPTS = REPO / "workflow" / "scripts"


def run_script(name: str, snakemake: SimpleNamespace) -> None:
    """Run workflow/scripts/<name> with `snakemake` predefined; afterwards close the log
    its preamble opened and give the test its own stdout and stderr back."""
    saved = sys.stdout, sys.stderr
    try:
        runpy.run_path(str(SCRIPTS / name), init_globals={"snakemake": snakemake},
                       run_name="__main__")  # fmt: skip
    finally:
        if sys.stderr is not saved[1]:
            sys.stderr.close()
        sys.stdout, sys.stderr = saved
