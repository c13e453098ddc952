"""audioclf: raw-waveform vs spectrogram sound classification, the library behind the workflow."""

__version__ = "0.1.0"
