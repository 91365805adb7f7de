"""The small widget builders in ``dermstudy.ui.style`` that several panels and dialogs share."""

from __future__ import annotations

from PySide6 import QtWidgets
from PySide6.QtCore import Qt

from dermstudy.ui import style


def test_job_buttons_start_and_cancel(qtbot) -> None:
    calls = []
    start, cancel = style.job_buttons(
        "Compute", lambda: calls.append("start"), lambda: calls.append("cancel")
    )
    for button in (start, cancel):
        qtbot.addWidget(button)
    assert (start.text(), start.property("role"), start.isEnabled()) == ("Compute", "primary", True)
    assert cancel.text() == "Cancel" and not cancel.isEnabled()  # nothing runs yet
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
    cancel.setEnabled(True)
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert calls == ["start", "cancel"]


def test_dialog_layout_browse_row_and_ok_cancel(qtbot) -> None:
    dialog = QtWidgets.QDialog()
    qtbot.addWidget(dialog)
    form = style.dialog_layout(dialog, "Pick one", 480, QtWidgets.QFormLayout)
    assert isinstance(form, QtWidgets.QFormLayout) and dialog.layout() is form
    assert (dialog.windowTitle(), dialog.minimumWidth()) == ("Pick one", 480)
    browsed, accepted = [], []
    edit = QtWidgets.QLineEdit()
    row = style.browse_row(edit, lambda: browsed.append(True))
    form.addRow("Path:", row)
    assert row.itemAt(0).widget() is edit and row.stretch(0) == 1
    browse = row.itemAt(1).widget()
    assert browse.text() == "Browse…"
    buttons = style.ok_cancel_buttons(dialog, lambda: accepted.append(True))
    form.addRow(buttons)
    qtbot.mouseClick(browse, Qt.MouseButton.LeftButton)
    # OK goes to the check (which would accept when the input is right); Cancel rejects.
    qtbot.mouseClick(
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton
    )
    assert browsed == [True] and accepted == [True] and dialog.result() == 0
    dialog.open()
    qtbot.mouseClick(
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton
    )
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Rejected and not dialog.isVisible()
