"""Photo and video input and output."""

from .files import (
    InputFile,
    atomic_path,
    check_out_dir,
    check_targets,
    file_sha256,
    find_inputs,
    refuse_existing,
)
from .photo import IMAGE_SUFFIXES, read_image, write_image

__all__ = [
    "IMAGE_SUFFIXES",
    "InputFile",
    "atomic_path",
    "check_out_dir",
    "check_targets",
    "file_sha256",
    "find_inputs",
    "read_image",
    "refuse_existing",
    "write_image",
]
