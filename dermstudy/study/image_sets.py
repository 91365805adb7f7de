"""Named image sets: lists of workspace images a study can keep out of its pools (``--exclude-set``).

A set is given as references, one per image: a data-set image id (``images.source_id``, e.g.
``ISIC_0024306``), a lesion id (``HAM_0000118``, meaning every image of that lesion) or an image
SHA-256. Sets are written once; an existing name is an error rather than a silent change.
"""

from __future__ import annotations

from dermstudy.errors import DermstudyError
from dermstudy.workspace import Workspace, now_iso
from dermstudy.workspace.image_sets import ImageSetRepository
from dermstudy.workspace.images import ImageRepository


class ImageSetError(DermstudyError, ValueError):
    """A set cannot be stored; the message names the reference or the set."""


def resolve_references(ws: Workspace, refs: list[str]) -> tuple[set[int], list[str]]:
    """Image ids for the references, and the references that matched nothing."""
    ids: set[int] = set()
    unmatched = []
    images = ImageRepository(ws)
    for ref in refs:
        found = images.ids_matching(ref)
        if found:
            ids.update(found)
        else:
            unmatched.append(ref)
    return ids, unmatched


def create_image_set(ws: Workspace, name: str, refs: list[str], description: str = "") -> int:
    """Store set ``name``; returns its number of images. All references must match."""
    if not name.strip():
        raise ImageSetError("an image set needs a name")
    sets = ImageSetRepository(ws)
    if sets.id_of(name) is not None:
        raise ImageSetError(f"an image set named {name!r} already exists")
    ids, unmatched = resolve_references(ws, refs)
    if unmatched:
        more = f" (and {len(unmatched) - 5} more)" if len(unmatched) > 5 else ""
        raise ImageSetError(
            f"{len(unmatched)} reference(s) match no image: {', '.join(unmatched[:5])}{more}"
        )
    if not ids:
        raise ImageSetError("the set would be empty")
    sets.add(name, description, ids, now_iso())
    return len(ids)
