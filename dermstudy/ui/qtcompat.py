"""Work-arounds for defects of the installed Qt binding that would otherwise crash the app.

PySide6/shiboken6 6.12.0 ships ``abi3`` wheels built against Python ≥ 3.12 headers, where ``None`` is
immortal and ``Py_RETURN_NONE`` no longer increments its reference count. Under Python 3.11 every
call of a ``void`` Qt method from Python (``label.setText(...)``, ``app.processEvents()``...) therefore
takes one reference from ``None`` that it never gave; after a few thousand calls the count reaches
zero and the interpreter aborts with "Fatal Python error: none_dealloc: deallocating None".

:func:`protect_none_refcount` gives ``None`` a reference count so large (2**48) that it cannot reach
zero in any run, which is what Python 3.12 does by design (PEP 683). It touches nothing on 3.12+,
on other interpreters, or on debug builds whose object header is laid out differently.
"""

from __future__ import annotations

import ctypes
import sys

_BOOST = 1 << 48
_FLOOR = 1 << 40


def none_refcount_is_fragile() -> bool:
    """True where ``None`` is a mortal object whose count a binding bug can exhaust."""
    return (
        sys.implementation.name == "cpython"
        and sys.version_info < (3, 12)
        and not hasattr(sys, "gettotalrefcount")  # debug builds have extra header fields
    )


def protect_none_refcount() -> bool:
    """Make ``None`` effectively immortal on Python < 3.12 (idempotent); True if it was raised."""
    if not none_refcount_is_fragile():
        return False
    probe = object()
    # The count must be the object's first machine word; check on an object we alone hold.
    if ctypes.c_ssize_t.from_address(id(probe)).value != sys.getrefcount(probe) - 1:
        return False
    cell = ctypes.c_ssize_t.from_address(id(None))
    if cell.value < _FLOOR:
        cell.value += _BOOST
    return True
