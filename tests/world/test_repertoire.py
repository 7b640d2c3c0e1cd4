"""The corpus catalogue: known composers and ensembles, unique scores, and a held-out side for
the benchmark that training never sees."""

from __future__ import annotations

from collections import Counter

from ttmrpp.world.instruments import INSTRUMENTS
from ttmrpp.world.repertoire import COMPOSERS, ENSEMBLES, PERIOD_ORDER, PIECES, pieces_for_split


def test_every_piece_names_a_known_composer_and_ensemble_once():
    assert len({p.path for p in PIECES}) == len(PIECES)
    assert len({p.title for p in PIECES}) == len(PIECES)
    for p in PIECES:
        assert p.composer in COMPOSERS and p.ensemble in ENSEMBLES and p.split in ("train", "test")
    assert {c.period for c in COMPOSERS.values()} == set(PERIOD_ORDER)
    assert {p.composer for p in PIECES} == set(COMPOSERS)
    for options in ENSEMBLES.values():
        assert options and all(names and set(names) <= set(INSTRUMENTS) for names in options)


def test_the_benchmark_side_is_held_out_from_training():
    train, test = pieces_for_split("train"), pieces_for_split("test")
    assert pieces_for_split("valid") == train
    assert train and test and not {p.path for p in train} & {p.path for p in test}
    assert len(train) + len(test) == len(PIECES)
    assert 0.1 <= len(test) / len(PIECES) <= 0.25  # about one in six
    assert set(Counter(p.composer for p in train)) == set(COMPOSERS)  # all train somewhere
    assert {p.ensemble for p in test} == set(ENSEMBLES)  # every kind of piece is tested
