# Runs the workflow from the repository's top (`snakemake --cores 8`): workflow/Snakefile
# is the workflow, and the entry that the Snakemake catalog and module statements name.
include: "workflow/Snakefile"


# Snakemake keeps an included file's default target from the file that includes it
# (snakemake/snakemake#2056), so the workflow's own target is named again here.
workflow.default_target = "all"
