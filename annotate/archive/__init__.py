"""Archives too big for one machine: the video and photo jobs as Ray Data actors, into one
table dataset (``annotate ray``). Needs the ``ray`` extra, which brings pyarrow: without it,
importing this package is a MissingPackageError that names the extra."""

from ..errors import MissingPackageError

try:
    import pyarrow  # noqa: F401
except ImportError:
    raise MissingPackageError("pyarrow", "annotate's archive tables", "ray") from None
