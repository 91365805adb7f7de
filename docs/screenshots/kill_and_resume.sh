#!/usr/bin/env bash
# Kill-and-resume under Xvfb, as a reader would meet it: answer 12 cases with the keyboard in a real
# `dermstudy read` window, SIGKILL the process, start it again and take a screenshot of where it resumes.
# Needs Debian's xvfb, xdotool and imagemagick. On a 1366x768 screen, like the other screenshots.
# Usage: docs/screenshots/kill_and_resume.sh WORKSPACE STUDY [READER] [OUT.png]
# (the README's shot: a fresh `dermstudy demo` workspace, study demo)
set -euo pipefail
ws=$1 study=$2 reader=${3:-dr-kill} out=${4:-demo-reader-resumed.png}
export DISPLAY=${DISPLAY:-:77}
pgrep -f "Xvfb $DISPLAY" >/dev/null || { Xvfb "$DISPLAY" -screen 0 1366x768x24 & sleep 1; }
dermstudy --workspace "$ws" read "$study" --reader "$reader" & pid=$!
sleep 6
wid=$(xdotool search --name "$reader" | head -1)
xdotool windowfocus --sync "$wid"
for i in $(seq 1 12); do xdotool key $(( i % 7 + 1 )) s Return; sleep 0.3; done
kill -9 "$pid"
dermstudy --workspace "$ws" read "$study" --reader "$reader" & pid=$!
sleep 6
import -window "$(xdotool search --name "$reader" | head -1)" "$out"
kill "$pid"
python -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
print('votes:', c.execute('select count(*) from votes').fetchone()[0], \
'integrity:', c.execute('pragma integrity_check').fetchone()[0])" "$ws/dermstudy.db"
