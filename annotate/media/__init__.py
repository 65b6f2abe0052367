"""Photo and video input and output."""

from .files import (
    InputFile,
    check_out_dir,
    check_targets,
    check_writable,
    file_sha256,
    find_inputs,
    refuse_existing,
    resolved,
)
from .photo import IMAGE_SUFFIXES, read_image, write_image
from .publish import atomic_path, remove_stale_parts

__all__ = [
    "IMAGE_SUFFIXES",
    "InputFile",
    "atomic_path",
    "check_out_dir",
    "check_targets",
    "check_writable",
    "file_sha256",
    "find_inputs",
    "read_image",
    "refuse_existing",
    "remove_stale_parts",
    "resolved",
    "write_image",
]
