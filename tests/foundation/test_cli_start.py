"""The CLI builds its parser without the heavy libraries, and the names it copies to stay light
match the modules that own them."""

from __future__ import annotations

import subprocess
import sys

from dermstudy.analysis.rating_exports import FORMATS
from dermstudy.commands._export_ratings import FORMAT_NAMES


def test_building_the_parser_loads_no_heavy_library():
    code = (
        "import sys\n"
        "from dermstudy.cli import build_parser\n"
        "build_parser()\n"
        "heavy = ('numpy', 'pandas', 'sklearn', 'scipy', 'torch', 'PIL', 'sqlite_utils', 'PySide6')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_copied_names_match_their_owners():
    assert tuple(FORMATS) == FORMAT_NAMES
