"""Grouping the faces nobody named into people: clustering (``cluster``), the job that gathers
faces from photos and videos and groups them (``find``), and the files it writes (``output``)."""
