"""annotate: find and name the people in photos and videos.

    import annotate
    recognizer = annotate.Recognizer()                      # MTCNN + ArcFace, GPU if there is one
    bank = annotate.load_bank("facebank", recognizer)      # facebank/<label>/*.jpg
    faces = recognizer.recognise([annotate.read_image("party.jpg")], bank)[0]
    for face in faces:
        print(face.label or "Unknown", face.similarity, face.box)

Importing annotate is cheap: torch and the models load on first use of a name below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# public name -> module that defines it
_EXPORTS = {
    "Config": ".config",
    "Recognizer": ".recognition.recognizer",
    "Faces": ".faces",
    "FaceBank": ".recognition.bank",
    "load_bank": ".recognition.loading",
    "build_bank": ".recognition.loading",
    "read_image": ".media.photo",
    "draw_faces": ".drawing.draw",
    "analyse_video": ".video.analysis",
    "render_video": ".video.render",
    "VideoOptions": ".video.analysis",
    "VideoAnalysis": ".video.analysis",
    "to_csv": ".writers",
    "to_jsonl": ".writers",
    "sample_path": ".runtime.resources",
    "AnnotateError": ".errors",
    "find_people": ".people.find",
    "People": ".people.find",
    "write_people": ".people.output",
    "watch": ".live.watch",
    "LiveOptions": ".live.watch",
    "LiveResult": ".live.watch",
    "SourceSpec": ".live.source",
    "ArchiveSettings": ".archive.annotators",
    "VideoAnnotator": ".archive.annotators",
    "PhotoAnnotator": ".archive.annotators",
    "archive_dataset": ".archive.dataset",
    "run_archive": ".archive.dataset",
}
__all__ = [
    "Config",
    "Recognizer",
    "Faces",
    "FaceBank",
    "load_bank",
    "build_bank",
    "read_image",
    "draw_faces",
    "analyse_video",
    "render_video",
    "VideoOptions",
    "VideoAnalysis",
    "to_csv",
    "to_jsonl",
    "sample_path",
    "AnnotateError",
    "find_people",
    "People",
    "write_people",
    "watch",
    "LiveOptions",
    "LiveResult",
    "SourceSpec",
    "ArchiveSettings",
    "VideoAnnotator",
    "PhotoAnnotator",
    "archive_dataset",
    "run_archive",
]

if TYPE_CHECKING:
    from .archive.annotators import ArchiveSettings, PhotoAnnotator, VideoAnnotator
    from .archive.dataset import archive_dataset, run_archive
    from .config import Config
    from .drawing.draw import draw_faces
    from .errors import AnnotateError
    from .faces import Faces
    from .live.source import SourceSpec
    from .live.watch import LiveOptions, LiveResult, watch
    from .media.photo import read_image
    from .people.find import People, find_people
    from .people.output import write_people
    from .recognition.bank import FaceBank
    from .recognition.loading import build_bank, load_bank
    from .recognition.recognizer import Recognizer
    from .runtime.resources import sample_path
    from .video.analysis import VideoAnalysis, VideoOptions, analyse_video
    from .video.render import render_video
    from .writers import to_csv, to_jsonl


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use, so ``import annotate`` stays light."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'annotate' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
