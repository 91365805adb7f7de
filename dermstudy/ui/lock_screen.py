"""The coordinator lock of the main window while (and after) a reader reads on this computer.

A reader session started from the Reading panel locks the main window behind an unlock code that
the coordinator types when starting it. While the reader window is open the main window is hidden;
when it closes, the main window comes back showing only :class:`LockScreen` — no panels, no menus, no
shortcuts — until the coordinator types the code. Only a salted hash of the code is kept, in memory.

What this does not do (see README, "Blinding and data integrity"): it is a lock inside one running
app. Someone who can quit it and start ``dermstudy`` again, or run ``dermstudy study key``, on the
same computer account reaches the workspace; unsupervised readers read a package on a machine or
account without the workspace.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from PySide6 import QtWidgets
from PySide6.QtCore import Qt, Signal

from dermstudy.ui.style import SPACING, dialog_layout, ok_cancel_buttons, set_role

MIN_CODE_LENGTH = 4


class UnlockCode:
    """A salted scrypt hash of the coordinator's code (the code itself is not kept)."""

    def __init__(self, code: str) -> None:
        if len(code) < MIN_CODE_LENGTH:
            raise ValueError(f"the unlock code needs at least {MIN_CODE_LENGTH} characters")
        self._salt = secrets.token_bytes(16)
        self._digest = self._hash(code)

    def _hash(self, code: str) -> bytes:
        return hashlib.scrypt(code.encode("utf-8"), salt=self._salt, n=2**14, r=8, p=1)

    def matches(self, code: str) -> bool:
        return hmac.compare_digest(self._hash(code), self._digest)


class UnlockCodeDialog(QtWidgets.QDialog):
    """Asks the coordinator for the code (twice) before a reader session locks the main window."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        layout = dialog_layout(self, "Lock the main window while reading", 440)
        text = QtWidgets.QLabel(
            "The reader gets only the reader window. When it closes, the main window stays locked "
            "until this code is typed. Choose a code the reader does not know."
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        form = QtWidgets.QFormLayout()
        self.code_edit = QtWidgets.QLineEdit()
        self.repeat_edit = QtWidgets.QLineEdit()
        for edit in (self.code_edit, self.repeat_edit):
            edit.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        form.addRow("Unlock code:", self.code_edit)
        form.addRow("Repeat:", self.repeat_edit)
        layout.addLayout(form)
        self.error_label = QtWidgets.QLabel()
        set_role(self.error_label, "error")
        layout.addWidget(self.error_label)
        layout.addWidget(ok_cancel_buttons(self, self._accept))

    def _accept(self) -> None:
        code = self.code_edit.text()
        if len(code) < MIN_CODE_LENGTH:
            self.error_label.setText(f"At least {MIN_CODE_LENGTH} characters, please.")
        elif code != self.repeat_edit.text():
            self.error_label.setText("The two codes differ.")
        else:
            self.accept()

    def code(self) -> str:
        return self.code_edit.text()


def ask_unlock_code(parent: QtWidgets.QWidget | None) -> str | None:
    """The code the coordinator chose, or None when they cancelled."""
    dialog = UnlockCodeDialog(parent)
    return dialog.code() if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted else None


class LockScreen(QtWidgets.QWidget):
    """All the locked main window shows: a line of text, the code field and "Unlock".

    ``unlock_requested(str)`` carries the typed code; the main window checks it.
    """

    unlock_requested = Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(SPACING * 4, SPACING * 4, SPACING * 4, SPACING * 4)
        outer.addStretch(1)
        title = QtWidgets.QLabel("Locked while a reader reads")
        title.setProperty("role", "title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text_label = QtWidgets.QLabel()
        self.text_label.setWordWrap(True)
        self.text_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Plain text: a study or reader name must never be read as markup.
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        self.code_edit = QtWidgets.QLineEdit()
        self.code_edit.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.code_edit.setPlaceholderText("coordinator's unlock code")
        self.code_edit.setMinimumWidth(240)
        self.code_edit.returnPressed.connect(self._submit)
        self.unlock_button = QtWidgets.QPushButton("Unlock")
        self.unlock_button.setProperty("role", "primary")
        self.unlock_button.clicked.connect(self._submit)
        row.addWidget(self.code_edit)
        row.addWidget(self.unlock_button)
        row.addStretch(1)
        self.message_label = QtWidgets.QLabel()
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        set_role(self.message_label, "error")
        for widget in (title, self.text_label):
            outer.addWidget(widget)
        outer.addLayout(row)
        outer.addWidget(self.message_label)
        outer.addStretch(2)

    def set_text(self, text: str) -> None:
        self.text_label.setText(text)
        self.message_label.setText("")
        self.code_edit.clear()

    def _submit(self) -> None:
        code, _ = self.code_edit.text(), self.code_edit.clear()
        self.unlock_requested.emit(code)

    def refuse(self) -> None:
        self.message_label.setText("That is not the unlock code.")
        self.code_edit.setFocus()
