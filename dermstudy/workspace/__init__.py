"""A workspace: a folder with ``dermstudy.db`` (SQLite) and content-addressed image files.

``Workspace.open(path)`` creates or migrates the database; every other module reaches the database
and the image store through a ``Workspace``.
"""

from dermstudy.workspace.core import (
    NewerSchemaError,
    ReadOnlyWorkspaceError,
    StorageError,
    Workspace,
    WorkspaceError,
    now_iso,
    resolve_workspace_path,
)

__all__ = [
    "NewerSchemaError",
    "ReadOnlyWorkspaceError",
    "StorageError",
    "Workspace",
    "WorkspaceError",
    "now_iso",
    "resolve_workspace_path",
]
