"""Preprocessing: decoded, downmixed, resampled and silence-trimmed clips in one cache.

Owns the stateless audio functions and the per-file pipeline, on numpy without torch
(`audio`: decode, mono, resample, remove silence, `process_clip`), the stage that runs it
over a subset (`clips`), and the packed int16 clip cache every later stage reads (`cache`,
results/data/cache.pt). Called by the preprocess_audio rule of
workflow/rules/preprocess.smk; prediction reuses `audio.process_clip` for new files.
"""
