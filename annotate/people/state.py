"""What ``annotate people`` remembers in its output folder (``people.npz``): each person's id
and mean, the model that made the means, the highest number ever issued (so that a number is
never given to someone else), and the crops this tool wrote (so that a rerun replaces only
its own files). Read back with checks: a damaged file is a one-line error, and a crop entry
that is not a ``person-NNN/NN.jpg`` inside the folder is ignored, never deleted."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..media import atomic_path

STATE = "people.npz"
STATE_VERSION = 1
_OWNER = re.compile(r"person-\d{3,}")
_CROP = re.compile(r"\d{2,}(-\d+)?\.jpg")


@dataclass(frozen=True)
class PeopleState:
    """ids: person ids; means: (P,D) their unit means; model: the sha256 of the model that made
    them; issued: the highest person number given so far; crops: person id -> crop file names."""

    ids: tuple[str, ...] = ()
    means: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    model: str = ""
    issued: int = 0
    crops: dict[str, list[str]] = field(default_factory=dict)

    def previous(self, model: str, dim: int) -> dict[str, np.ndarray]:
        """Id -> mean, when the means were made by ``model`` with ``dim`` values (else none)."""
        if self.model != model or self.means.shape[1:] != (dim,):
            return {}
        return dict(zip(self.ids, self.means))


def check_people_folder(out_dir: Path) -> None:
    """InputError when ``out_dir`` holds files but no ``people.npz``: it is someone else's folder."""
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / STATE).is_file():
        raise InputError(f"{out_dir} holds files that annotate people did not write: choose a new or empty folder")


def load_state(out_dir: Path) -> PeopleState:
    """The folder's state (empty when there is none)."""
    path = out_dir / STATE
    if not path.is_file():
        return PeopleState()
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != STATE_VERSION:
                raise ValueError(f"version {int(data['version'])}")
            crops: dict[str, list[str]] = {}
            for owner, name in zip(data["crop_owners"].tolist(), data["crops"].tolist()):
                if _OWNER.fullmatch(str(owner)) and _CROP.fullmatch(str(name)):
                    crops.setdefault(str(owner), []).append(str(name))
            ids = tuple(str(i) for i in data["ids"].tolist())
            means = np.asarray(data["means"], np.float32)
            return PeopleState(ids, means, str(data["model"]), int(data["issued"]), crops)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise InputError(
            f"{path}: not a readable annotate people state ({error}); move it away to start afresh"
        ) from None


def save_state(out_dir: Path, state: PeopleState) -> None:
    """Write ``people.npz`` atomically (it is this tool's own file)."""
    owners = [owner for owner, names in state.crops.items() for _ in names]
    with atomic_path(out_dir / STATE, replace=True) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            version=np.array(STATE_VERSION),
            ids=np.array(state.ids, dtype=str),
            means=np.asarray(state.means, np.float32),
            model=np.array(state.model),
            issued=np.array(state.issued),
            crops=np.array([n for names in state.crops.values() for n in names], dtype=str),
            crop_owners=np.array(owners, dtype=str),
        )
