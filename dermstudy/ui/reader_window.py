"""The reader window: one blinded case at a time, answered with the keyboard.

It is a thin face over :class:`dermstudy.reading.ReadingSession` and only ever asks the session for
what a reader may see (case position, opaque code, blinded PNG, this reader's own answers). Nothing
here names files, sources, entities-as-truth or models; the window title shows the study and reader.

Keys (shown on screen): ``1``–``7`` entity in report order; ``A S D F G`` the five-point AI/real scale
(definitely real … definitely AI), or ``A`` real / ``G`` AI on binary studies; ``Z X C V B`` entity
confidence 1–5 when the study asks for it; ``Enter`` confirm and go on; ``Backspace``/``←`` back and
``→`` forward when the study allows going back; ``P``/``Esc`` pause; ``+``/``-``/``0`` zoom.

Each confirmed answer is committed durably by ``session.submit`` before the next image is shown. The
next case's image is read and decoded on a background thread while the reader looks at the current
one, so advancing only swaps a ready ``QPixmap``.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from PySide6 import QtWidgets
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPainter, QPixmap, QWheelEvent

from dermstudy.entities import ENTITIES
from dermstudy.reading import (
    AI_SCALE_LABELS,
    BINARY,
    CONFIDENCE_LABELS,
    Answer,
    ReadingError,
    ReadingSession,
)
from dermstudy.ui.style import SPACING

ENTITY_KEYS: tuple[Qt.Key, ...] = (
    Qt.Key.Key_1,
    Qt.Key.Key_2,
    Qt.Key.Key_3,
    Qt.Key.Key_4,
    Qt.Key.Key_5,
    Qt.Key.Key_6,
    Qt.Key.Key_7,
)
SCALE_KEYS: tuple[Qt.Key, ...] = (
    Qt.Key.Key_A,
    Qt.Key.Key_S,
    Qt.Key.Key_D,
    Qt.Key.Key_F,
    Qt.Key.Key_G,
)
BINARY_KEYS: dict[str, Qt.Key] = {"real": Qt.Key.Key_A, "ai": Qt.Key.Key_G}
CONFIDENCE_KEYS: tuple[Qt.Key, ...] = (
    Qt.Key.Key_Z,
    Qt.Key.Key_X,
    Qt.Key.Key_C,
    Qt.Key.Key_V,
    Qt.Key.Key_B,
)
_KEY_NAMES = {key: chr(int(key)) for key in ENTITY_KEYS + SCALE_KEYS + CONFIDENCE_KEYS}

READER_STYLE = """
QWidget#readerRoot { background: #f5f6f8; }
QFrame#imagePane { background: #1e2124; border-radius: 8px; }
QLabel#imageCaption, QLabel#pauseText { color: #e8eaed; }
QLabel#position { font-size: 15pt; font-weight: 600; }
QPushButton[answer="true"] { text-align: left; padding: 5px 12px; }
QLabel#keyHelp { color: #5f6b76; font-size: 9pt; }
QLabel#hint { color: #b42318; font-weight: 600; }
"""


class ImageView(QtWidgets.QWidget):
    """Paints one pixmap fitted to the widget, times a zoom factor; drag to pan when zoomed."""

    painted = Signal()

    MIN_ZOOM, MAX_ZOOM = 1.0, 8.0

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap = QPixmap()
        self.zoom = 1.0
        self._offset = QPointF(0, 0)
        self._drag_from: QPointF | None = None
        self.setMinimumSize(320, 320)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding
        )
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def set_pixmap(self, pixmap: QPixmap) -> None:
        self._pixmap = pixmap
        self.zoom = 1.0
        self._offset = QPointF(0, 0)
        self.update()

    def pixmap(self) -> QPixmap:
        return self._pixmap

    def set_zoom(self, zoom: float) -> None:
        self.zoom = min(self.MAX_ZOOM, max(self.MIN_ZOOM, zoom))
        if self.zoom == 1.0:
            self._offset = QPointF(0, 0)
        self.update()

    def target_rect(self) -> QRectF:
        """Where the image is drawn: fitted (aspect kept), zoomed about the centre, panned."""
        if self._pixmap.isNull():
            return QRectF()
        margin = 12
        avail_w, avail_h = self.width() - 2 * margin, self.height() - 2 * margin
        scale = min(avail_w / self._pixmap.width(), avail_h / self._pixmap.height()) * self.zoom
        w, h = self._pixmap.width() * scale, self._pixmap.height() * scale
        centre = QPointF(self.width() / 2, self.height() / 2) + self._offset
        return QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if not self._pixmap.isNull():
            painter.drawPixmap(self.target_rect(), self._pixmap, QRectF(self._pixmap.rect()))
        painter.end()
        self.painted.emit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        step = 1.15 if event.angleDelta().y() > 0 else 1 / 1.15
        self.set_zoom(self.zoom * step)

    def mousePressEvent(self, event) -> None:
        if self.zoom > 1.0:
            self._drag_from = event.position()

    def mouseMoveEvent(self, event) -> None:
        if self._drag_from is not None:
            self._offset += event.position() - self._drag_from
            self._drag_from = event.position()
            self.update()

    def mouseReleaseEvent(self, _event) -> None:
        self._drag_from = None


@dataclass
class ReaderTimings:
    """Measured on the reader's machine; read by ``bench/reading.py``."""

    key_to_paint_ms: list[float] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)
    preloaded: int = 0  # cases whose pixmap was ready when shown
    decoded_on_demand: int = 0  # cases that had to be read and decoded when shown


def _decode(data: bytes) -> QImage:
    image = QImage.fromData(data)
    if image.isNull():
        raise ValueError("the case image cannot be decoded")
    return image


class ReaderWidget(QtWidgets.QWidget):
    """The whole reading surface for one session (used by the reader window and the Reading panel).

    Signals: ``finished()`` after the session was finished, ``close_requested()`` when the reader
    presses Close on the last screen.
    """

    finished = Signal()
    close_requested = Signal()
    _decoded = Signal(int, QImage)

    def __init__(self, session: ReadingSession, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = session.settings
        self.timings = ReaderTimings()
        self._pixmaps: dict[int, QPixmap] = {}
        self._pending: dict[int, Future] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reader-preload")
        self._key_pressed_at: float | None = None
        self._shown_index: int | None = None
        self.setObjectName("readerRoot")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setStyleSheet(READER_STYLE)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._decoded.connect(self._store_decoded)
        self._build()
        self._show_state()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(SPACING * 2, SPACING, SPACING * 2, SPACING * 2)
        outer.setSpacing(SPACING)
        outer.addLayout(self._build_top_bar())
        root = QtWidgets.QHBoxLayout()
        root.setSpacing(SPACING * 2)
        self.pages = QtWidgets.QStackedWidget()
        self.pages.addWidget(self._build_image_page())
        self.pages.addWidget(self._build_pause_page())
        self.pages.addWidget(self._build_finish_page())
        root.addWidget(self.pages, 1)
        self.controls = self._build_controls()
        root.addWidget(self.controls)
        outer.addLayout(root, 1)

    def _build_top_bar(self) -> QtWidgets.QHBoxLayout:
        """Where the reader is: position, progress, the case's opaque code, and Pause."""
        bar = QtWidgets.QHBoxLayout()
        bar.setSpacing(SPACING * 2)
        self.position_label = QtWidgets.QLabel()
        self.position_label.setTextFormat(Qt.TextFormat.PlainText)
        self.position_label.setObjectName("position")
        self.position_label.setMinimumWidth(170)
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setFormat("%v / %m answered")
        self.code_label = QtWidgets.QLabel()
        # Codes come from a manifest anyone could edit: never render them as rich text.
        self.code_label.setTextFormat(Qt.TextFormat.PlainText)
        self.code_label.setProperty("role", "hint")
        self.pause_button = QtWidgets.QPushButton("Pause (P)")
        self.pause_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.pause_button.clicked.connect(self.toggle_pause)
        bar.addWidget(self.position_label)
        bar.addWidget(self.progress_bar, 1)
        bar.addWidget(self.code_label)
        bar.addWidget(self.pause_button)
        return bar

    def _build_image_page(self) -> QtWidgets.QWidget:
        pane = QtWidgets.QFrame()
        pane.setObjectName("imagePane")
        layout = QtWidgets.QVBoxLayout(pane)
        layout.setContentsMargins(4, 4, 4, 4)
        self.image_view = ImageView()
        self.image_view.painted.connect(self._on_painted)
        layout.addWidget(self.image_view, 1)
        return pane

    def _build_pause_page(self) -> QtWidgets.QWidget:
        pane = QtWidgets.QFrame()
        pane.setObjectName("imagePane")
        layout = QtWidgets.QVBoxLayout(pane)
        text = QtWidgets.QLabel(
            "Paused\n\nThe image is hidden and the clock is stopped.\nPress P to continue."
        )
        text.setObjectName("pauseText")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = text.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        text.setFont(font)
        layout.addWidget(text)
        return pane

    def _build_finish_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QFrame()
        layout = QtWidgets.QVBoxLayout(page)
        layout.addStretch(1)
        self.finish_title = QtWidgets.QLabel()
        self.finish_title.setProperty("role", "title")
        self.finish_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.finish_text = QtWidgets.QLabel()
        self.finish_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.finish_text.setWordWrap(True)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        self.review_button = QtWidgets.QPushButton("← Review answers")
        self.review_button.clicked.connect(self.go_back)
        self.finish_button = QtWidgets.QPushButton("Finish (Enter)")
        self.finish_button.setProperty("role", "primary")
        self.finish_button.clicked.connect(self.finish_session)
        self.close_button = QtWidgets.QPushButton("Close (Enter)")
        self.close_button.setProperty("role", "primary")
        self.close_button.clicked.connect(self.close_requested.emit)
        for button in (self.review_button, self.finish_button, self.close_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addWidget(self.finish_title)
        layout.addWidget(self.finish_text)
        layout.addSpacing(SPACING * 2)
        layout.addLayout(buttons)
        layout.addStretch(2)
        return page

    def _build_controls(self) -> QtWidgets.QWidget:
        panel = QtWidgets.QWidget()
        panel.setFixedWidth(330)
        layout = QtWidgets.QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self._section("Diagnosis"))
        self.entity_group = QtWidgets.QButtonGroup(self)
        self.entity_buttons: list[QtWidgets.QPushButton] = []
        for number, entity in enumerate(ENTITIES, start=1):
            button = self._answer_button(
                f"{number}   {entity.short_name}", self.entity_group, number
            )
            self.entity_buttons.append(button)
            layout.addWidget(button)

        binary = self.settings.answer_scale == BINARY
        layout.addWidget(self._section("Real or AI-generated?"))
        self.scale_group = QtWidgets.QButtonGroup(self)
        self.scale_buttons: dict[int, QtWidgets.QPushButton] = {}
        if binary:
            options = [(1, "A", "real"), (5, "G", "AI-generated")]
        else:
            options = [
                (value, _KEY_NAMES[SCALE_KEYS[value - 1]], label)
                for value, label in AI_SCALE_LABELS.items()
            ]
        scale_box = QtWidgets.QGridLayout()
        scale_box.setSpacing(4)
        for row, (value, key, label) in enumerate(options):
            button = self._answer_button(f"{key}   {label}", self.scale_group, value)
            self.scale_buttons[value] = button
            scale_box.addWidget(button, row, 0)
        layout.addLayout(scale_box)

        self.confidence_group = QtWidgets.QButtonGroup(self)
        self.confidence_buttons: dict[int, QtWidgets.QPushButton] = {}
        if self.settings.entity_confidence:
            layout.addWidget(self._section("Confidence in the diagnosis"))
            row_layout = QtWidgets.QHBoxLayout()
            row_layout.setSpacing(4)
            for value, label in CONFIDENCE_LABELS.items():
                key = _KEY_NAMES[CONFIDENCE_KEYS[value - 1]]
                button = self._answer_button(f"{key} {value}", self.confidence_group, value)
                button.setToolTip(label)
                self.confidence_buttons[value] = button
                row_layout.addWidget(button)
            layout.addLayout(row_layout)
            self.confidence_hint = QtWidgets.QLabel("1 very unsure … 5 very sure")
            self.confidence_hint.setProperty("role", "hint")
            layout.addWidget(self.confidence_hint)

        self.hint_label = QtWidgets.QLabel()
        self.hint_label.setObjectName("hint")
        self.hint_label.setWordWrap(True)
        layout.addWidget(self.hint_label)
        nav = QtWidgets.QHBoxLayout()
        self.back_button = QtWidgets.QPushButton("← Back")
        self.back_button.clicked.connect(self.go_back)
        self.confirm_button = QtWidgets.QPushButton("Confirm ⏎")
        self.confirm_button.setProperty("role", "primary")
        self.confirm_button.clicked.connect(self.confirm)
        for button in (self.back_button, self.confirm_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            nav.addWidget(button)
        layout.addLayout(nav)
        layout.addStretch(1)
        self.key_help = QtWidgets.QLabel(self._key_help_text(binary))
        self.key_help.setObjectName("keyHelp")
        self.key_help.setWordWrap(True)
        layout.addWidget(self.key_help)
        return panel

    def _section(self, text: str) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(text)
        label.setProperty("role", "subtitle")
        return label

    def _answer_button(
        self, text: str, group: QtWidgets.QButtonGroup, value: int
    ) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setProperty("answer", "true")
        button.setCheckable(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setMinimumHeight(
            button.sizeHint().height()
        )  # never squashed into unreadable slivers
        group.addButton(button, value)
        group.setExclusive(True)
        button.clicked.connect(lambda _=False: self._clear_hint())
        return button

    def _key_help_text(self, binary: bool) -> str:
        parts = ["Keys: 1–7 diagnosis", "A real · G AI" if binary else "A S D F G real → AI"]
        if self.settings.entity_confidence:
            parts.append("Z X C V B confidence 1–5")
        parts.append("Enter confirm")
        if self.settings.allow_back:
            parts.append("Backspace/← back · → forward")
        parts += ["P pause", "+ − 0 zoom"]
        return " · ".join(parts)

    # -- state ---------------------------------------------------------------------------------
    def _show_state(self) -> None:
        """Show whatever the session is at: the first unanswered case, or the finish screen."""
        answered, total = self.session.scored_progress()
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(answered)
        if self.session.finished or self.session.all_answered:
            self._show_finish_page()
        else:
            self._show_case(self.session.current)

    def _show_case(self, index: int) -> None:
        self.pages.setCurrentIndex(0)
        try:
            pixmap = self._pixmap_for(index)
        except Exception as exc:  # a damaged or unreadable case file: see _show_unreadable
            self._show_unreadable(index, exc)
            return
        self._shown_index = index
        self.controls.setEnabled(True)
        self.pause_button.setEnabled(True)
        self.image_view.set_pixmap(pixmap)
        self.position_label.setText(self.session.position_label(index))
        self.code_label.setText(f"Case code {self.session.case_code(index)}")
        self._load_answer(self.session.answer(index))
        self.back_button.setEnabled(self.session.can_go_back(index))
        self.pause_button.setText("Pause (P)")
        self._clear_hint()
        self._preload(index + 1)
        if self.settings.allow_back:
            self._preload(index - 1)

    def _show_unreadable(self, index: int, exc: Exception) -> None:
        """A case that cannot be shown never accepts an answer: nothing selected, controls off,
        a message in the window, and the problem recorded with the session."""
        self._shown_index = None  # confirm() stores nothing while no case is on screen
        self.image_view.set_pixmap(QPixmap())
        self._load_answer(None)
        self.controls.setEnabled(False)
        self.position_label.setText(self.session.position_label(index))
        self.code_label.setText(f"Case code {self.session.case_code(index)}")
        self.session.record_unreadable(index, str(exc))
        self._set_hint(
            f"This case image cannot be shown ({exc}). It cannot be answered: please close the "
            "window and tell the study coordinator; your earlier answers are saved."
        )

    def _load_answer(self, answer: Answer | None) -> None:
        """Pre-select this reader's own earlier answer (or nothing for a new case)."""
        for group in (self.entity_group, self.scale_group, self.confidence_group):
            group.setExclusive(False)
            for button in group.buttons():
                button.setChecked(False)
            group.setExclusive(True)
        if answer is None:
            return
        self.entity_buttons[[e.code for e in ENTITIES].index(answer.entity)].setChecked(True)
        scale = (
            answer.ai_scale if answer.ai_scale is not None else (5 if answer.ai_vote == "ai" else 1)
        )
        if scale in self.scale_buttons:
            self.scale_buttons[scale].setChecked(True)
        if answer.entity_confidence in self.confidence_buttons:
            self.confidence_buttons[answer.entity_confidence].setChecked(True)

    def _show_finish_page(self) -> None:
        self._shown_index = None
        self._load_answer(None)  # the controls are idle here: show no case's answer
        self.pages.setCurrentIndex(2)
        self.controls.setEnabled(False)
        self.pause_button.setEnabled(False)
        answered, total = self.session.scored_progress()
        self.position_label.setText("Done")
        self.code_label.setText("")
        if self.session.finished:
            self.finish_title.setText("Thank you — reading finished")
            self.finish_text.setText(
                f"All {total} cases are answered and saved. You can close this window."
            )
            self.finish_button.setVisible(False)
            self.review_button.setVisible(False)
            self.close_button.setVisible(True)
        else:
            self.finish_title.setText("All cases answered")
            review = " or go back to review your answers" if self.settings.allow_back else ""
            self.finish_text.setText(
                f"{answered} of {total} cases answered and saved. Press Enter to finish{review}. "
                "After finishing, answers can no longer change."
            )
            self.finish_button.setVisible(True)
            self.review_button.setVisible(self.settings.allow_back)
            self.close_button.setVisible(False)

    # -- images --------------------------------------------------------------------------------
    def _pixmap_for(self, index: int) -> QPixmap:
        pixmap = self._pixmaps.get(index)
        if pixmap is not None:
            self.timings.preloaded += 1
            return pixmap
        self.timings.decoded_on_demand += 1
        future = self._pending.pop(index, None)
        image = future.result() if future is not None else _decode(self.session.image_bytes(index))
        pixmap = QPixmap.fromImage(image)
        self._remember(index, pixmap)
        return pixmap

    def _preload(self, index: int) -> None:
        if not 0 <= index < self.session.total or index in self._pixmaps or index in self._pending:
            return
        session = self.session

        def work() -> QImage:
            image = _decode(session.image_bytes(index))
            self._decoded.emit(index, image)
            return image

        self._pending[index] = self._executor.submit(work)

    def _store_decoded(self, index: int, image: QImage) -> None:
        self._pending.pop(index, None)
        if index not in self._pixmaps:
            self._remember(index, QPixmap.fromImage(image))

    def _remember(self, index: int, pixmap: QPixmap) -> None:
        self._pixmaps[index] = pixmap
        keep = {index - 1, index, index + 1, index + 2, self.session.current}
        for old in [i for i in self._pixmaps if i not in keep]:
            del self._pixmaps[old]

    def _on_painted(self) -> None:
        if self._key_pressed_at is not None:
            self.timings.key_to_paint_ms.append((time.perf_counter() - self._key_pressed_at) * 1e3)
            self._key_pressed_at = None

    # -- actions -------------------------------------------------------------------------------
    def current_answer(self) -> Answer | None:
        """The answer the controls show, or None (with a hint) when something is missing."""
        entity_id = self.entity_group.checkedId()
        scale = self.scale_group.checkedId()
        missing = []
        if entity_id < 1:
            missing.append("a diagnosis (1–7)")
        if scale < 1:
            missing.append("real or AI (A–G)" if self.settings.answer_scale != BINARY else "A or G")
        confidence = self.confidence_group.checkedId() if self.settings.entity_confidence else None
        if self.settings.entity_confidence and (confidence is None or confidence < 1):
            missing.append("a confidence (Z–B)")
        if missing:
            self._set_hint("Choose " + " and ".join(missing) + ".")
            return None
        entity = ENTITIES[entity_id - 1].code
        if self.settings.answer_scale == BINARY:
            return Answer(
                entity, ai_vote="ai" if scale == 5 else "real", entity_confidence=confidence
            )
        return Answer(entity, ai_scale=scale, entity_confidence=confidence)

    def confirm(self) -> bool:
        """Enter: commit the answer (durably), then show the next case or the finish screen.

        Returns True only when another case's image is now on screen.
        """
        if self.pages.currentIndex() == 2:
            if not self.session.finished:
                self.finish_session()
            else:
                self.close_requested.emit()  # the thank-you page: Enter closes, like its button
            return False
        if self.pages.currentIndex() != 0 or self._shown_index is None:
            return False
        answer = self.current_answer()
        if answer is None:
            return False
        index = self._shown_index
        started = time.perf_counter()
        try:
            self.session.submit(index, answer)
        except ReadingError as exc:
            self._set_hint(str(exc))
            return False
        except Exception as exc:  # e.g. disk full: the answer stays on screen, nothing is lost
            QtWidgets.QMessageBox.critical(
                self, "Answer not saved", f"The answer could not be saved: {exc}"
            )
            return False
        self.timings.commit_ms.append((time.perf_counter() - started) * 1e3)
        answered, _total = self.session.scored_progress()
        self.progress_bar.setValue(answered)
        if self.session.all_answered and (
            index == self.session.total - 1 or not self.settings.allow_back
        ):
            if not self.settings.allow_back:
                self.finish_session()
            else:
                self._show_finish_page()
            return False
        self._show_case(self.session.current)
        return True

    def go_back(self) -> None:
        if self.pages.currentIndex() == 2 and not self.session.finished:
            if self.settings.allow_back:
                self._show_case(self.session.go_to(self.session.total - 1))
            return
        if self.pages.currentIndex() != 0 or self._shown_index is None:
            return
        if not self.session.can_go_back(self._shown_index):
            self._set_hint("Going back is not allowed in this study.")
            return
        self._show_case(self.session.go_to(self._shown_index - 1))

    def go_forward(self) -> None:
        if self.pages.currentIndex() != 0 or self._shown_index is None:
            return
        target = self._shown_index + 1
        if target >= self.session.total and self.session.all_answered:
            self._show_finish_page()
        elif self.session.can_go_to(target):
            self._show_case(self.session.go_to(target))
        else:
            self._set_hint("Answer this case first (Enter confirms).")

    def toggle_pause(self) -> None:
        if self.pages.currentIndex() == 0:
            self.session.pause()
            self.pages.setCurrentIndex(1)
            self.pause_button.setText("Continue (P)")
            self.controls.setEnabled(False)
        elif self.pages.currentIndex() == 1:
            self.session.resume()
            self.controls.setEnabled(True)
            self.pages.setCurrentIndex(0)
            self.pause_button.setText("Pause (P)")
            self.back_button.setEnabled(self.session.can_go_back(self._shown_index))

    @property
    def paused(self) -> bool:
        return self.pages.currentIndex() == 1

    def finish_session(self) -> None:
        try:
            self.session.finish()
        except ReadingError as exc:
            self._set_hint(str(exc))
            return
        self._show_finish_page()
        self.finished.emit()

    def _set_hint(self, text: str) -> None:
        self.hint_label.setText(text)

    def _clear_hint(self) -> None:
        self.hint_label.setText("")

    # -- keyboard ------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        if event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        ):
            super().keyPressEvent(event)
            return
        if key == Qt.Key.Key_Escape and self.pages.currentIndex() == 2 and self.session.finished:
            self.close_requested.emit()
        elif key in (Qt.Key.Key_P, Qt.Key.Key_Escape):
            self.toggle_pause()
        elif self.paused:
            return  # while paused only P/Esc do anything
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._key_pressed_at = time.perf_counter()
            if not self.confirm():
                self._key_pressed_at = None  # no new image: nothing to time
        elif key in (Qt.Key.Key_Backspace, Qt.Key.Key_Left):
            self.go_back()
        elif key == Qt.Key.Key_Right:
            self.go_forward()
        elif self.pages.currentIndex() != 0:
            return
        elif key in ENTITY_KEYS:
            self._press(self.entity_buttons[ENTITY_KEYS.index(key)])
        elif key in SCALE_KEYS:
            self._press_scale(SCALE_KEYS.index(key) + 1)
        elif key in CONFIDENCE_KEYS and self.confidence_buttons:
            self._press(self.confidence_buttons[CONFIDENCE_KEYS.index(key) + 1])
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.image_view.set_zoom(self.image_view.zoom * 1.25)
        elif key == Qt.Key.Key_Minus:
            self.image_view.set_zoom(self.image_view.zoom / 1.25)
        elif key == Qt.Key.Key_0:
            self.image_view.set_zoom(1.0)
        else:
            super().keyPressEvent(event)

    def _press_scale(self, value: int) -> None:
        if self.settings.answer_scale == BINARY and value not in (1, 5):
            self._set_hint("This study asks only: A real, or G AI-generated.")
            return
        self._press(self.scale_buttons[value])

    def _press(self, button: QtWidgets.QPushButton) -> None:
        button.setChecked(True)
        self._clear_hint()

    # -- lifetime ------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the preloading thread (the session itself is closed by whoever opened it)."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def sizeHint(self) -> QSize:
        return QSize(1200, 820)


class ReaderWindow(QtWidgets.QMainWindow):
    """A top-level window around :class:`ReaderWidget`; closing it keeps every confirmed answer.

    ``closed()`` is emitted once when the window closes (the opener then closes the session).
    """

    closed = Signal()
    PREFERRED_SIZE = QSize(1280, 860)  # opened maximised on screens where this does not fit

    def __init__(self, session: ReadingSession, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        from dermstudy.ui.app import window_title

        self.setWindowTitle(window_title(session.study_name, session.reader))
        self.setMinimumSize(900, 600)
        self.reader = ReaderWidget(session)
        self.reader.close_requested.connect(self.close)
        self.setCentralWidget(self.reader)
        self.statusBar().showMessage(
            "Every confirmed answer is saved immediately; you can close and resume at any time."
        )

    def closeEvent(self, event) -> None:
        if not self.session.paused:
            self.session.pause()  # the clock must not run for a closed window
        self.reader.shutdown()
        super().closeEvent(event)
        if not self._closed_once:
            self._closed_once = True
            self.closed.emit()

    _closed_once = False


def run_reader_window(session: ReadingSession) -> int:
    """Show the reader window for ``session`` until it is closed (the caller closes the session)."""
    from dermstudy.ui.app import create_application
    from dermstudy.ui.screens import show_fitted

    app = create_application()
    window = ReaderWindow(session)
    show_fitted(window, ReaderWindow.PREFERRED_SIZE)
    window.reader.setFocus()
    return int(app.exec())
