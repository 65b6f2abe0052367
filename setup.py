"""Build hook: copy the files annotate reads at run time into the wheel, under annotate/_data/.

They live in the repository's top-level folders (weights/mtcnn, fonts, samples, facebank), as
the design card lays them out; a wheel must carry them inside the package, where
``annotate.runtime.resources`` finds them through importlib.resources. Everything else is in
pyproject.toml. MANIFEST.in puts the same files in the sdist, so a wheel built from it has them.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# folder in annotate/_data -> (folder of the repository, the files of it that ship)
SHIPPED = {
    "mtcnn": ("weights/mtcnn", ("*.pt", "LICENSE*")),
    "fonts": ("fonts", ("*.ttf", "LICENSE*", "README.md")),
    "samples": ("samples", ("photos/*", "clip.mp4", "README.md")),
    "facebank": ("facebank", ("*/*.jpg", "*/*.jpeg", "*/*.png")),
}


class build_py_with_data(build_py):  # noqa: N801  (setuptools' command naming)
    def run(self) -> None:
        super().run()
        for name, (folder, patterns) in SHIPPED.items():
            for pattern in patterns:
                for source in sorted((ROOT / folder).glob(pattern)):
                    target = Path(self.build_lib) / "annotate" / "_data" / name / source.relative_to(ROOT / folder)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target)


setup(cmdclass={"build_py": build_py_with_data})
