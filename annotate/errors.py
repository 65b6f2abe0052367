"""The project's exceptions. ``cli.py`` turns each into a one-line message and an exit code."""


class AnnotateError(Exception):
    """Base class of every error a user can cause or fix."""

    exit_code = 2


class WeightsError(AnnotateError):
    """Model weights are missing, corrupt, or fail their sha256 check."""


class ModelError(AnnotateError):
    """Weights do not fit the architecture, or the architecture is not supported."""


class InputError(AnnotateError):
    """An input (image, video, argument) cannot be used."""


class BankError(AnnotateError):
    """The face bank is missing, unreadable, or was built with another model."""


class DeviceError(AnnotateError):
    """The device cannot do the work asked of it (e.g. the GPU's memory cannot hold one frame)."""
