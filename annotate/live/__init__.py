"""Live sources (cameras, network streams, a file played as it comes): reading them without
falling behind (``live.source``) and naming the people as frames arrive (``live.watch``)."""
