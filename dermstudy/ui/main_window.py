"""The main window: navigation to one panel per capability, workspace path and status, menus.

Panels live in ``dermstudy.ui.panels.<name>`` (protocol in that package's docstring). They are imported
and built lazily, the first time they are shown, so a slow or broken panel cannot delay or break the
others. A capability whose panel module does not exist yet is listed disabled with one line saying what
it will do.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from PySide6 import QtWidgets
from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QKeySequence, QPainter

from dermstudy import __version__
from dermstudy.datasets.summary import dataset_summary
from dermstudy.ui.app import window_title
from dermstudy.ui.file_dialogs import existing_folder
from dermstudy.ui.lock_screen import LockScreen, UnlockCode
from dermstudy.ui.style import SPACING, TEXT, app_icon, icon
from dermstudy.workspace import Workspace, WorkspaceError, resolve_workspace_path
from dermstudy.workspace.studies import StudyRepository

PANELS_PACKAGE = "dermstudy.ui.panels"


@dataclass(frozen=True)
class PanelSpec:
    name: str  # module name under dermstudy.ui.panels
    title: str
    purpose: str  # one line: what the capability does (shown while it is not available)

    @property
    def module_name(self) -> str:
        return f"{PANELS_PACKAGE}.{self.name}"


PANEL_SPECS: tuple[PanelSpec, ...] = (
    PanelSpec("dataset", "Dataset", "Import HAM10000 and synthetic images; browse the library."),
    PanelSpec("generator", "Generator", "Sample synthetic lesions per entity with GLIDE."),
    PanelSpec("training", "Training", "Fine-tune GLIDE on the imported images."),
    PanelSpec("studies", "Studies", "Build blinded, randomised reader studies."),
    PanelSpec("reading", "Reading", "Read a study in the keyboard-driven reader window."),
    PanelSpec("results", "Results", "Analyse readers' answers: accuracy, ROC/AUC, reports."),
    PanelSpec("quality", "Quality", "Image-quality metrics and memorisation checks."),
    PanelSpec("classifier", "Classifier", "Train and evaluate the CNN classifier."),
)


def panel_available(spec: PanelSpec) -> bool:
    """Whether the panel's module exists (found without importing it)."""
    try:
        return importlib.util.find_spec(spec.module_name) is not None
    except (ImportError, ValueError):
        return False


def load_panel_module(spec: PanelSpec) -> ModuleType | None:
    """The panel's module, or None when that module itself does not exist."""
    try:
        return importlib.import_module(spec.module_name)
    except ModuleNotFoundError as exc:
        if exc.name == spec.module_name:
            return None
        raise


def workspace_status(path: Path) -> str:
    """One line for the status bar: image and study counts."""
    with Workspace.open(path, create=False) as ws:
        by_entity = dataset_summary(ws)["by_entity"]
        studies = StudyRepository(ws).count()
    real = sum(c["real"] for c in by_entity.values())
    synthetic = sum(c["synthetic"] for c in by_entity.values())
    return (
        f"{real + synthetic:,} images ({real:,} real, {synthetic:,} synthetic) · {studies} studies"
    )


class _NavigationDelegate(QtWidgets.QStyledItemDelegate):
    """Draws a navigation entry: icon and title; a muted, wrapped purpose line below if disabled."""

    PURPOSE_ROLE = Qt.ItemDataRole.UserRole + 1
    PAD = 8

    def _purpose_font(self, option: QtWidgets.QStyleOptionViewItem) -> QFont:
        font = QFont(option.font)
        font.setPointSizeF(max(7.5, font.pointSizeF() - 1.5))
        return font

    def _text_rect(self, option: QtWidgets.QStyleOptionViewItem) -> QRect:
        # The style sheet gives items a 6 px margin and 10 px padding before the icon.
        icon_width = option.decorationSize.width() + 28
        return option.rect.adjusted(icon_width, self.PAD, -self.PAD - 6, -self.PAD)

    def sizeHint(self, option: QtWidgets.QStyleOptionViewItem, index: QModelIndex) -> QSize:
        self.initStyleOption(option, index)
        height = QFontMetrics(option.font).height() + 2 * self.PAD + 4
        purpose = index.data(self.PURPOSE_ROLE)
        if purpose:
            width = self._text_rect(option).width() if option.rect.width() > 0 else 160
            bounds = QFontMetrics(self._purpose_font(option)).boundingRect(
                QRect(0, 0, max(width, 80), 1000), Qt.TextFlag.TextWordWrap, purpose
            )
            height += bounds.height() + 2
        return QSize(option.rect.width(), height)

    def paint(
        self, painter: QPainter, option: QtWidgets.QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        self.initStyleOption(option, index)
        text, option.text = option.text, ""
        purpose = index.data(self.PURPOSE_ROLE)
        style = option.widget.style() if option.widget else QtWidgets.QApplication.style()
        style.drawControl(
            QtWidgets.QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget
        )
        enabled = bool(option.state & QtWidgets.QStyle.StateFlag.State_Enabled)
        rect = self._text_rect(option)
        painter.save()
        title_font = QFont(option.font)
        title_font.setWeight(QFont.Weight.DemiBold if enabled else QFont.Weight.Normal)
        painter.setFont(title_font)
        painter.setPen(QColor(TEXT if enabled else "#8a949d"))
        title_height = QFontMetrics(title_font).height()
        painter.drawText(rect.adjusted(0, 0, 0, 0), Qt.AlignmentFlag.AlignLeft, text)
        if purpose:
            painter.setFont(self._purpose_font(option))
            painter.setPen(QColor("#8a949d"))
            painter.drawText(
                rect.adjusted(0, title_height + 2, 0, 0), Qt.TextFlag.TextWordWrap, purpose
            )
        painter.restore()


class _MessagePage(QtWidgets.QWidget):
    """A plain page with a title and a line of text (panel not available, or failed to load)."""

    def __init__(
        self, title: str, text: str, error: bool = False, parent: QtWidgets.QWidget | None = None
    ):
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(SPACING * 3, SPACING * 3, SPACING * 3, SPACING * 3)
        heading = QtWidgets.QLabel(title)
        heading.setProperty("role", "title")
        body = QtWidgets.QLabel(text)
        body.setWordWrap(True)
        body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.setProperty("role", "error" if error else "hint")
        layout.addWidget(heading)
        layout.addWidget(body)
        layout.addStretch(1)


class MainWindow(QtWidgets.QMainWindow):
    """Navigation list on the left, the selected panel on the right, workspace in the status bar."""

    MINIMUM_SIZE = QSize(1000, 620)
    PREFERRED_SIZE = QSize(1280, 820)  # opened maximised on screens where this does not fit

    def __init__(
        self, workspace: str | Path | None = None, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.workspace_path = resolve_workspace_path(workspace).resolve()
        self._panels: dict[str, QtWidgets.QWidget] = {}
        self._available: dict[str, bool] = {}
        self._unlock_code: UnlockCode | None = None
        self._lockable_actions: list[QAction] = []
        self.setWindowTitle(window_title())
        self.setWindowIcon(app_icon())
        self.setMinimumSize(self.MINIMUM_SIZE)
        self.resize(self.PREFERRED_SIZE)
        self._build_navigation()
        self._build_menus()
        self._build_status_bar()
        self._open_checked(self.workspace_path)
        self._select_first_available()

    # -- construction --------------------------------------------------------------------------
    def _build_navigation(self) -> None:
        central = QtWidgets.QWidget()
        layout = QtWidgets.QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.nav = QtWidgets.QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setIconSize(QSize(22, 22))
        self.nav.setFixedWidth(232)
        self.nav.setItemDelegate(_NavigationDelegate(self.nav))
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QtWidgets.QStackedWidget()
        for index, spec in enumerate(PANEL_SPECS):
            available = panel_available(spec)
            self._available[spec.name] = available
            item = QtWidgets.QListWidgetItem(icon(spec.name), spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.name)
            item.setToolTip(f"{spec.purpose}  (Ctrl+{index + 1})")
            if not available:
                item.setData(_NavigationDelegate.PURPOSE_ROLE, f"Not available yet: {spec.purpose}")
                item.setToolTip(f"Not available yet. {spec.purpose}")
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.nav.addItem(item)
            self.stack.addWidget(QtWidgets.QWidget())  # placeholder until the panel is first shown
        self.nav.currentRowChanged.connect(self._on_row_changed)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        # The panels, or the lock screen alone while a reader session locks the window.
        self.lock_screen = LockScreen()
        self.lock_screen.unlock_requested.connect(self.unlock)
        self.pages = QtWidgets.QStackedWidget()
        self.pages.addWidget(central)
        self.pages.addWidget(self.lock_screen)
        self.setCentralWidget(self.pages)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open workspace…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self.choose_workspace)
        refresh_action = QAction("&Refresh", self)
        refresh_action.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh_action.triggered.connect(self.refresh_current)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addActions([open_action, refresh_action])
        self._lockable_actions += [open_action, refresh_action]
        file_menu.addSeparator()
        file_menu.addAction(quit_action)

        view_menu = self.menuBar().addMenu("&View")
        for index, spec in enumerate(PANEL_SPECS):
            action = QAction(icon(spec.name), spec.title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.setEnabled(self._available[spec.name])
            action.triggered.connect(lambda _=False, name=spec.name: self.select_panel(name))
            view_menu.addAction(action)
            self._lockable_actions.append(action)

        help_menu = self.menuBar().addMenu("&Help")
        about_action = QAction("&About dermstudy", self)
        about_action.triggered.connect(self._show_about)
        help_menu.addAction(about_action)

    def _build_status_bar(self) -> None:
        self.status_label = QtWidgets.QLabel()
        self.workspace_label = QtWidgets.QLabel()
        self.workspace_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.workspace_label)

    # -- panels --------------------------------------------------------------------------------
    def _spec(self, name: str) -> PanelSpec:
        for spec in PANEL_SPECS:
            if spec.name == name:
                return spec
        raise KeyError(f"no panel named {name!r}")

    def _select_first_available(self) -> None:
        for row, spec in enumerate(PANEL_SPECS):
            if self._available[spec.name]:
                self.nav.setCurrentRow(row)
                return

    def select_panel(self, name: str) -> QtWidgets.QWidget | None:
        """Show the panel ``name`` (building it on first use); returns its widget (None while
        the window is locked)."""
        row = PANEL_SPECS.index(self._spec(name))
        if not self._available[name] or self.is_locked:
            return None
        if self.nav.currentRow() != row:
            self.nav.setCurrentRow(row)
        else:
            self._on_row_changed(row)
        return self._panels.get(name)

    def panel(self, name: str) -> QtWidgets.QWidget | None:
        """The panel's widget if it has been built."""
        return self._panels.get(name)

    def is_available(self, name: str) -> bool:
        return self._available[name]

    def current_panel_name(self) -> str | None:
        row = self.nav.currentRow()
        return PANEL_SPECS[row].name if 0 <= row < len(PANEL_SPECS) else None

    def _on_row_changed(self, row: int) -> None:
        if not 0 <= row < len(PANEL_SPECS):
            return
        spec = PANEL_SPECS[row]
        widget = self._panels.get(spec.name) or self._build_panel(row, spec)
        self.stack.setCurrentWidget(widget)
        self._refresh_panel(widget)
        self.update_status()

    def _build_panel(self, row: int, spec: PanelSpec) -> QtWidgets.QWidget:
        try:
            module = load_panel_module(spec)
            if module is None:
                widget: QtWidgets.QWidget = _MessagePage(
                    spec.title, f"Not available yet. {spec.purpose}"
                )
            else:
                widget = module.create_panel(self.workspace_path, parent=self.stack)
        except Exception as exc:  # a broken panel must not take the window down
            widget = _MessagePage(
                spec.title,
                f"The {spec.title} panel could not be opened: {type(exc).__name__}: {exc}",
                error=True,
            )
        changed = getattr(widget, "workspace_changed", None)
        if changed is not None and hasattr(changed, "connect"):
            changed.connect(
                self.update_status
            )  # e.g. after an import: new counts in the status bar
        old = self.stack.widget(row)
        self.stack.insertWidget(row, widget)
        self.stack.removeWidget(old)
        old.deleteLater()
        self._panels[spec.name] = widget
        return widget

    def _refresh_panel(self, widget: QtWidgets.QWidget) -> None:
        refresh = getattr(widget, "refresh", None)
        if not callable(refresh):
            return
        try:
            refresh()
        except Exception as exc:
            self.status_label.setText(f"Could not refresh the panel: {exc}")

    def refresh_current(self) -> None:
        name = self.current_panel_name()
        if name and name in self._panels:
            self._refresh_panel(self._panels[name])
        self.update_status()

    def _shutdown_panels(self) -> None:
        for widget in self._panels.values():
            shutdown = getattr(widget, "shutdown", None)
            if callable(shutdown):
                try:
                    shutdown()
                except Exception as exc:  # keep closing the others
                    self.status_label.setText(f"A panel did not shut down cleanly: {exc}")

    # -- workspace -----------------------------------------------------------------------------
    def _open_checked(self, path: Path) -> None:
        """Open (create or migrate) the workspace once so that errors surface here, not in panels."""
        Workspace.open(path).close()
        self.workspace_path = path
        self.workspace_label.setText(f"Workspace: {path}")
        self.workspace_label.setToolTip(str(path))
        self.setWindowTitle(window_title(path.name))
        self.update_status()

    def set_workspace(self, path: str | Path) -> bool:
        """Switch to another workspace; rebuilds every panel. False (and a message) if it fails."""
        new_path = Path(path).expanduser().resolve()
        try:
            Workspace.open(new_path).close()
        except WorkspaceError as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot open workspace", str(exc))
            return False
        self._shutdown_panels()
        for row, spec in enumerate(PANEL_SPECS):
            if spec.name in self._panels:
                old = self._panels.pop(spec.name)
                placeholder = QtWidgets.QWidget()
                self.stack.insertWidget(row, placeholder)
                self.stack.removeWidget(old)
                old.deleteLater()
        self._open_checked(new_path)
        row = self.nav.currentRow()
        if row >= 0:
            self._on_row_changed(row)
        return True

    def choose_workspace(self) -> None:
        folder = existing_folder(
            self, "Open or create a workspace folder", self.workspace_path.parent
        )
        if folder:
            self.set_workspace(folder)

    def update_status(self) -> None:
        try:
            self.status_label.setText(workspace_status(self.workspace_path))
        except WorkspaceError as exc:
            self.status_label.setText(str(exc))

    # -- the reading lock ----------------------------------------------------------------------
    @property
    def is_locked(self) -> bool:
        return self._unlock_code is not None

    def lock_for_reading(self, code: str, who: str) -> None:
        """Show only the lock screen (no panels, menus or shortcuts) until ``unlock(code)``."""
        self._unlock_code = UnlockCode(code)
        self.lock_screen.set_text(
            f"{who}. The studies, results and answer key stay hidden until a coordinator types "
            "the unlock code chosen when the session started."
        )
        self.pages.setCurrentWidget(self.lock_screen)
        self.menuBar().setEnabled(False)
        self.menuBar().setVisible(False)
        for action in self._lockable_actions:
            action.setEnabled(False)
        self._log("reading.lock", who)

    def unlock(self, code: str) -> bool:
        """Back to the panels when ``code`` is the coordinator's; every try is logged."""
        if self._unlock_code is None:
            return True
        if not self._unlock_code.matches(code):
            self._log("reading.unlock-refused", "")
            self.lock_screen.refuse()
            return False
        self._unlock_code = None
        self.pages.setCurrentIndex(0)
        self.menuBar().setEnabled(True)
        self.menuBar().setVisible(True)
        for action in self._lockable_actions:
            action.setEnabled(self._available.get(self._action_panel(action), True))
        self._log("reading.unlock", "")
        self.refresh_current()
        return True

    def _action_panel(self, action: QAction) -> str:
        return next((s.name for s in PANEL_SPECS if s.title == action.text()), "")

    def _log(self, action: str, subject: str) -> None:
        try:
            with Workspace.open(self.workspace_path, create=False) as ws:
                ws.audit(action, subject)
        except WorkspaceError as exc:  # a read-only workspace: say so, but lock anyway
            self.status_label.setText(f"Not logged: {exc}")

    # -- misc ----------------------------------------------------------------------------------
    def _show_about(self) -> None:
        QtWidgets.QMessageBox.about(
            self,
            "About dermstudy",
            f"<b>dermstudy {__version__}</b><p>Blinded reader studies with real HAM10000 and "
            "GLIDE-generated dermoscopic images. Works offline.</p>",
        )

    def closeEvent(self, event) -> None:
        self._shutdown_panels()
        super().closeEvent(event)
