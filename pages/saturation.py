"""Placeholder until this lesson is built."""
from lab import shell

shell.url_warnings()
shell.intro("saturation")
