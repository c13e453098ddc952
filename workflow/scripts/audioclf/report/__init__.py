"""The report: one self-contained HTML page comparing the trained models.

Owns reading every stage's outputs for the page (`inputs`, `comparison`), the sentences
(`summary`), tables, figures, the example clip and the audio players (`audio`), provenance,
the check that the page fetches nothing (`selfcontained`), and each model's card from the
same facts (`card`). Called by the make_report rule of workflow/rules/report.smk through
`audioclf.report.build.build_report`, and by its write_model_card rule through
`audioclf.report.card.write_model_card`. Only light names live here, so the Snakefile can
import them.
"""

from audioclf.report.layout import DEFAULT_SETTINGS, FIGURE_NAMES, figure_files

__all__ = ["DEFAULT_SETTINGS", "FIGURE_NAMES", "figure_files"]
