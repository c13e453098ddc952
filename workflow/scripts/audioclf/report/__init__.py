"""The HTML report: one self-contained page comparing the trained models.

Only light names live here, so a Snakefile can import them; the builder is
`audioclf.report.build.build_report`.
"""

from audioclf.report.layout import DEFAULT_SETTINGS, FIGURE_NAMES, figure_files

__all__ = ["DEFAULT_SETTINGS", "FIGURE_NAMES", "figure_files"]
