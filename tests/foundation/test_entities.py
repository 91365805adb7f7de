import pytest

from dermstudy.entities import CODES, ENTITIES, UnknownEntityError, entity_index, parse_entity


def test_report_order_is_the_papers():
    assert CODES == ("mel", "nv", "akiec", "bkl", "bcc", "df", "vasc")
    assert len({e.prompt for e in ENTITIES}) == 7


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("MEL", "mel"),
        ("Melanoma", "mel"),
        ("  melanocytic   NEVI ", "nv"),
        ("basal cell carcinoma", "bcc"),
        ("Dermatofibroma", "df"),
        ("vascular lesions", "vasc"),
        ("benign keratosis-like lesions", "bkl"),
        ("actinic keratoses and intraepithelial carcinoma / Bowen's disease", "akiec"),
    ],
)
def test_parse_accepts_codes_and_names_case_insensitively(text, code):
    assert parse_entity(text) == code


def test_unknown_entity_is_a_clear_error():
    with pytest.raises(UnknownEntityError, match="'psoriasis'"):
        parse_entity("psoriasis")


def test_entity_index_follows_report_order():
    assert [entity_index(c) for c in CODES] == list(range(7))
