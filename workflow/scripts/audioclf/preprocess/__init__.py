"""Preprocessing: decoded, downmixed, resampled and silence-trimmed clips in one cache.

Owns the stateless audio functions (`audio`: decode, mono, resample, remove silence), the
per-file pipeline and the stage that runs it over a subset (`clips`), and the packed int16
clip cache every later stage reads (`cache`, results/data/cache.pt). Called by the
preprocess_audio rule of workflow/rules/preprocess.smk; prediction reuses `clips` for new
files.
"""
