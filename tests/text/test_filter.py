"""The pseudo-caption faithfulness filter (`ttmrpp.text.captioning.filter`)."""

from ttmrpp.text.captioning.filter import (
    TagMatcher,
    faithful_caption,
    filter_records,
    split_sentences,
)

VOCAB = ["rock", "jazz", "electric guitar", "guitar", "bass", "synth bass", "piano", "drums"]


def test_matcher_prefers_longest_terms_and_allows_plurals():
    m = TagMatcher(VOCAB)
    assert m("A synth bass line under electric guitars.") == {"synth bass", "electric guitar"}
    assert m("Two basses and some drums") == {"bass", "drums"}
    assert m("a bassoon solo") == set()  # whole words only


def test_sentences_split_on_end_punctuation():
    assert split_sentences("One. Two!  Three? four") == ["One.", "Two!", "Three?", "four"]


def test_faithful_caption_drops_sentences_naming_other_tags_or_none():
    caption = (
        "This is a rock song with an electric guitar. A jazz piano plays along. "
        "It could be used in a film. The drums are loud."
    )
    got = faithful_caption(caption, ["rock", "electric guitar", "drums"], TagMatcher(VOCAB))
    assert got == "This is a rock song with an electric guitar. The drums are loud."
    assert faithful_caption("A jazz tune.", ["rock"], TagMatcher(VOCAB)) == ""


def test_filter_records_keeps_raw_text_and_is_idempotent():
    records = [
        {"tags": {"genre": ["rock"], "instrument": ["guitar"]},
         "pseudo_caption": "A rock song. With a piano."},
        {"tags": {"genre": ["jazz"], "instrument": ["piano"]},
         "pseudo_caption": "A rock song with guitar."},
        {"tags": {"genre": ["jazz"]}},
    ]  # fmt: skip
    counts = filter_records(records)
    assert counts["captioned"] == 2 and counts["kept"] == 1 and counts["emptied"] == 1
    assert counts["other_tags"] == 2 and counts["mean_tag_coverage"] == 0.25
    assert records[0]["pseudo_caption"] == "A rock song."
    assert records[0]["pseudo_caption_raw"] == "A rock song. With a piano."
    assert "pseudo_caption" not in records[1]
    assert records[1]["pseudo_caption_raw"] == "A rock song with guitar."
    assert "pseudo_caption_raw" not in records[2]
    again = [dict(r) for r in records]
    filter_records(again)
    assert again == records
