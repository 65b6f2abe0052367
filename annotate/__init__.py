"""annotate: find and name the people in photos and videos."""

__version__ = "0.1.0"
