"""premortem: catch, detect, diagnose, fix and write up PHP web site outages."""

__version__ = "0.1.0"
