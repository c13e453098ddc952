"""audioclf: raw-waveform vs spectrogram sound classification, the library behind the workflow.

One subpackage per stage, named after its rules file in workflow/rules/: `datasets`,
`preprocess`, `split`, `learn`, `evaluate`, `report`. Beside them: `contracts` (every file
passed between stages, declared once), `runs` (run and split ids, fold names), `config`
(validation against the schema), `devices` and `io` (atomic writes, log lines).
"""

import warnings

# fastai.torch_core decorates a few activations with torch.jit.script at import, which torch
# 2.14 deprecates; the warning is fastai's, printed in every training log, and not actionable.
warnings.filterwarnings(
    "ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning
)

__version__ = "0.1.0"
