"""The hand-computed tiny study used across the analysis, report and panel tests.

Eight scored cases and one practice case; reader A answers seven (case c7 is missing), and also the
practice case (which must not be scored). Expected numbers are worked out by hand in the tests.
"""

from __future__ import annotations

from tests.fixtures.sample_studies import CaseSpec, VoteSpec, insert_study

CASES = [
    CaseSpec("p0", "nv", "real", practice=True),
    CaseSpec("c1", "mel", "real"),
    CaseSpec("c2", "mel", "synthetic"),
    CaseSpec("c3", "nv", "real"),
    CaseSpec("c4", "nv", "synthetic"),
    CaseSpec("c5", "bcc", "real"),
    CaseSpec("c6", "bcc", "synthetic"),
    CaseSpec("c7", "df", "real"),
    CaseSpec("c8", "vasc", "synthetic"),
]

# reader, case, answered entity, AI vote, AI scale (5 = AI; 4-5 mean 'ai', as the reading
# window derives the vote), confidence, seconds
READER_A = [
    VoteSpec("A", "p0", "mel", "ai", 5, 5, 1.0),
    VoteSpec("A", "c1", "mel", "real", 1, 5, 10.0),
    VoteSpec("A", "c2", "mel", "ai", 4, 4, 12.0),
    VoteSpec("A", "c3", "nv", "real", 2, 3, 8.0),
    VoteSpec("A", "c4", "mel", "ai", 5, 2, 20.0),
    VoteSpec("A", "c5", "bcc", "ai", 4, 4, 5.0),
    VoteSpec("A", "c6", "nv", "real", 2, 1, 7.0),
    VoteSpec("A", "c8", "vasc", "ai", 5, 5, 9.0),
]

# Reader B agrees with A on the entity except c4 (nv, right) and answers every case.
READER_B = [
    VoteSpec("B", "c1", "mel", "real", 2, 4, 11.0),
    VoteSpec("B", "c2", "mel", "real", 2, 4, 13.0),
    VoteSpec("B", "c3", "nv", "real", 1, 3, 9.0),
    VoteSpec("B", "c4", "nv", "ai", 4, 3, 14.0),
    VoteSpec("B", "c5", "bcc", "real", 2, 4, 6.0),
    VoteSpec("B", "c6", "nv", "ai", 4, 2, 8.0),
    VoteSpec("B", "c7", "df", "real", 1, 5, 10.0),
    VoteSpec("B", "c8", "vasc", "ai", 5, 5, 9.5),
]


def make_tiny_study(ws, name: str = "tiny", readers: str = "A") -> int:
    votes = {"A": READER_A, "AB": READER_A + READER_B, "B": READER_B}[readers]
    return insert_study(ws, name, CASES, votes)
