"""One module per capability panel of the main window.

Protocol: a module ``dermstudy.ui.panels.<name>`` defines ``TITLE: str`` and
``create_panel(workspace_path: pathlib.Path, parent=None) -> QWidget`` (usually the panel class
itself). The widget may define
``refresh()`` (called each time the panel is shown) and ``shutdown()`` (called before the window
closes or switches workspace: cancel and wait for background work there). A panel opens its own
``Workspace`` connections; it never shares one with another thread. The panels subclass
:class:`dermstudy.ui.panels.base.Panel` (job, child process, busy state, shutdown written once).
"""
