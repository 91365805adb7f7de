"""PySide6 user interface. The only package that imports Qt; it observes and calls the core."""
