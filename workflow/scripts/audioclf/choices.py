"""The choices of settings that command lines offer and config validation checks, in a
module that imports nothing heavy, so `--help` answers without torch."""

DEVICE_CHOICES = ("auto", "cpu", "cuda")
SILENCE_MODES = ("all", "trim")
TOO_LONG = ("exclude", "cut")
