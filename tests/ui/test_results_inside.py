"""The Results panel shows the model-vs-readers test and detection per setting tables."""

from __future__ import annotations

from PySide6.QtWidgets import QTableWidget

from dermstudy.ui.panels.results import ResultsPanel
from dermstudy.workspace import Workspace
from tests.analysis.tiny import CASES, READER_B
from tests.fixtures.sample_studies import VoteSpec, insert_study

PROBS = {  # case -> probabilities for mel, nv, bcc (others 0)
    "c1": (0.7, 0.2, 0.1),
    "c2": (0.4, 0.5, 0.1),
    "c3": (0.2, 0.6, 0.2),
    "c4": (0.3, 0.4, 0.3),
    "c5": (0.1, 0.2, 0.7),
    "c6": (0.2, 0.3, 0.5),
    "c7": (0.3, 0.3, 0.4),
    "c8": (0.2, 0.2, 0.6),
}


def test_model_test_tab(qtbot, tmp_path):
    from dermstudy.analysis.data import find_study
    from dermstudy.analysis.predictions import import_predictions

    root = tmp_path / "ws"
    c = [
        VoteSpec(
            "C",
            v.case,
            "mel" if v.case == "c2" else v.entity,
            v.ai_vote,
            v.ai_scale,
            v.confidence,
            v.seconds,
        )
        for v in READER_B
    ]
    with Workspace.open(root) as ws:
        insert_study(ws, "tiny", CASES, [*READER_B, *c])
        preds = tmp_path / "p.csv"
        lines = ["case,mel,nv,akiec,bkl,bcc,df,vasc"]
        lines += [f"{k},{m},{n},0,0,{b},0,0" for k, (m, n, b) in PROBS.items()]
        preds.write_text("\n".join(lines) + "\n")
        import_predictions(ws, find_study(ws, "tiny"), "cnn", preds)
    panel = ResultsPanel(root)
    qtbot.addWidget(panel)
    panel.resize(1366, 768)
    panel.show()
    panel.start_analysis()
    with qtbot.waitSignal(panel.worker.done, timeout=240_000):  # slow when the CPU is shared
        pass
    titles = [panel.tabs.tabText(i) for i in range(panel.tabs.count())]
    tab = panel.tabs.widget(titles.index("Settings and model tests"))
    panel.tabs.setCurrentWidget(tab)
    table = tab.widget().findChildren(QTableWidget)[0]
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["mel", "nv", "bcc"]
    tests = panel.analysis.report["reader_vs_model"]["cnn"]["tests"]
    assert tests["readers"] == ["B", "C"]
    assert tests["mel"]["model_auc"] == 1.0  # c1, c2 have the two highest mel probabilities
    panel.grab().save(str(tmp_path / "inside.png"))
    panel.shutdown()
