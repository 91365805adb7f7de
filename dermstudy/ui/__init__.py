"""PySide6 user interface. The only package that imports Qt; it observes and calls the core."""

from dermstudy.ui.qtcompat import protect_none_refcount

# Must run before any Qt call: see dermstudy/ui/qtcompat.py (PySide6 6.12 on Python 3.11).
protect_none_refcount()
