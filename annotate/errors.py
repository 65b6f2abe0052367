"""The project's exceptions: each carries the facts (paths, sizes, codes); ``cli`` words the
advice and chooses the exit code."""

from __future__ import annotations

from pathlib import Path


class AnnotateError(Exception):
    """Base class of every error a user can cause or fix."""


class WeightsError(AnnotateError):
    """Model weights are missing, corrupt, or fail their sha256 check."""


class ModelError(AnnotateError):
    """Weights do not fit the architecture, or the architecture is not supported."""


class InputError(AnnotateError):
    """An input (image, video, argument) cannot be used."""


class BankError(AnnotateError):
    """The face bank is missing, unreadable, or was built with another model."""


class BankFileError(BankError):
    """A bank file that is missing, empty, not a bank, or damaged. path: the file; problem: what is wrong."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"face bank file {path} {problem}")


class DeviceError(AnnotateError):
    """The device cannot do the work asked of it (e.g. the GPU's memory cannot hold one frame)."""


class MissingInputError(InputError):
    """An input file or folder that does not exist. path: as given."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path}: no such file or folder")


class OutputExistsError(InputError):
    """Outputs that already exist and would be replaced. paths: all of them."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        if len(paths) == 1:
            super().__init__(f"{paths[0]}: already exists")
        else:
            super().__init__(f"{len(paths)} output files already exist, e.g. {paths[0]}")


class BankModelError(BankError):
    """A face bank made with another recognition model than the one in use."""

    def __init__(self, path: Path | None, bank_model: str, bank_sha256: str, model: str, model_sha256: str) -> None:
        self.path, self.bank_model, self.model = path, bank_model, model
        where = f"face bank {path}" if path is not None else "the face bank"
        super().__init__(
            f"{where} was built with model {bank_model} ({bank_sha256[:12]}), but this run uses {model} ({model_sha256[:12]})"
        )


class MissingPackageError(AnnotateError):
    """An optional package is not installed. extra: the annotate extra that brings it."""

    def __init__(self, package: str, purpose: str, extra: str) -> None:
        self.package, self.extra = package, extra
        super().__init__(f"{purpose} needs {package}, which is not installed")


class OutputError(AnnotateError):
    """An output that cannot be written (full disk, read-only, no permission, a file in the
    way, a muxer that refuses the streams, a receiver that stopped reading). path: the final
    name, or the URL streamed to. reason: the system's words."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"{path}: cannot write ({reason})")


class SourceError(AnnotateError):
    """A live source that cannot be opened, or that stopped sending pictures. source: as given;
    reason: what happened."""

    def __init__(self, source: str, reason: str) -> None:
        self.source, self.reason = source, reason
        super().__init__(f"{source}: {reason}")


class PrecisionError(InputError):
    """An arithmetic this device cannot run, or would run slower than fp32."""


class InputWarning(UserWarning):
    """Something a user should know about an input that still ran: a file of a type not read,
    an animated image of which only the first frame is used, damaged metadata. The command
    line prints each as a line; a library caller filters them with ``warnings``."""


class ClusterError(AnnotateError):
    """A Ray cluster that cannot be joined, or a run on it that failed as a whole. address: as
    given (None: a local cluster); reason: what happened."""

    def __init__(self, address: str | None, reason: str) -> None:
        self.address, self.reason = address, reason
        super().__init__(f"Ray cluster {address or '(local)'}: {reason}")


class EarlierRunError(InputError):
    """An archive run's output folder already holds a run. path: the folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} holds an earlier run")
