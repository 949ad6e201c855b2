"""What the page shows of a manifest store: the active manifest's actions and its ingredient tree, with the
thumbnails the store carries (as data: URLs, so the page loads nothing else)."""

from __future__ import annotations

import base64
import io
import json
from typing import IO

MAX_DEPTH = 6  # ingredient levels shown
MAX_INGREDIENTS = 50  # ingredients shown in all
MAX_THUMBNAIL_BYTES = 256 * 1024
STORE_FORMAT = "application/c2pa"
VIDEO_MIME = "video/mp4"


def view_of_file(path: str, mime: str = VIDEO_MIME) -> dict | None:
    """The view of the manifest store embedded in a clip (or a `mime` file); None when it has none that reads."""
    with open(path, "rb") as stream:
        return _view(mime, stream)


def view_of_store(store: bytes) -> dict | None:
    """The view of a manifest store kept apart from its clip (as the ledger keeps it)."""
    return _view(STORE_FORMAT, io.BytesIO(store))


def _view(fmt: str, stream: IO[bytes]) -> dict | None:
    import c2pa

    try:
        with c2pa.Reader(fmt, stream) as reader:
            store = json.loads(reader.json())
            manifests = store.get("manifests", {})
            active = manifests.get(store.get("active_manifest") or "")
            if active is None:
                return None
            budget = [MAX_INGREDIENTS]
            return {"actions": actions_of(active), "thumbnail": _thumbnail(reader, active.get("thumbnail")),
                    "ingredients": _ingredients(reader, manifests, active, MAX_DEPTH, budget)}
    except c2pa.C2paError:
        return None


def actions_of(manifest: dict) -> list[dict]:
    """The actions a manifest states, in the words the page shows."""
    actions = []
    for assertion in manifest.get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                agent = action.get("softwareAgent")
                actions.append({
                    "action": str(action.get("action", "")).removeprefix("c2pa."),
                    "agent": agent.get("name") if isinstance(agent, dict) else agent,
                    "source_type": str(action.get("digitalSourceType") or "").rsplit("/", 1)[-1] or None,
                })
    return actions


def _ingredients(reader, manifests: dict, manifest: dict, depth: int, budget: list[int]) -> list[dict]:
    """A manifest's ingredients, each with its thumbnail and (through its own manifest) its ingredients."""
    tree = []
    for ingredient in manifest.get("ingredients", []):
        if budget[0] <= 0:
            break
        budget[0] -= 1
        own = manifests.get(ingredient.get("active_manifest") or "")
        children = _ingredients(reader, manifests, own, depth - 1, budget) if own and depth > 1 else []
        tree.append({"title": ingredient.get("title"), "relationship": ingredient.get("relationship"),
                     "thumbnail": _thumbnail(reader, ingredient.get("thumbnail")), "ingredients": children})
    return tree


def _thumbnail(reader, reference: dict | None) -> str | None:
    """A thumbnail the store carries, as a data: URL; None when there is none (or it is too large to inline)."""
    if not reference or not reference.get("identifier"):
        return None
    import c2pa

    buffer = io.BytesIO()
    try:
        reader.resource_to_stream(reference["identifier"], buffer)
    except c2pa.C2paError:
        return None
    data = buffer.getvalue()
    fmt = str(reference.get("format") or "image/jpeg")
    if not data or len(data) > MAX_THUMBNAIL_BYTES or not fmt.startswith("image/"):
        return None
    return f"data:{fmt};base64,{base64.b64encode(data).decode('ascii')}"
