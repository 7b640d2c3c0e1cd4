"""Drum grooves per genre as step patterns, with section variations, fills and crashes.

A pattern is one bar of 16th-note steps (`meter * 4` characters): "X" accent, "x" normal hit,
"o" ghost note, "." rest.
"""

from __future__ import annotations

import random

from ttmrpp.world import instruments as I

Groove = dict[int, str]

GROOVES: dict[str, dict[str, Groove]] = {
    "rock": {
        "verse": {
            I.KICK: "X.....x.X.x.....",
            I.SNARE: "....X.......X...",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
        },
        "chorus": {
            I.KICK: "X.....x.X.x...x.",
            I.SNARE: "....X.......X...",
            I.RIDE: "x.x.x.x.x.x.x.x.",
        },
    },
    "metal": {
        "verse": {
            I.KICK: "x.x.x.x.x.x.x.x.",
            I.SNARE: "....X.......X...",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
        },
        "chorus": {
            I.KICK: "xxxxxxxxxxxxxxxx",
            I.SNARE: "....X.......X...",
            I.CRASH: "x...x...x...x...",
        },
    },
    "pop": {
        "verse": {
            I.KICK: "X......xX.x.....",
            I.SNARE: "....X.......X...",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
        },
        "chorus": {
            I.KICK: "X......xX.x.....",
            I.SNARE: "....X.......X...",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
            I.TAMBOURINE: "..x...x...x...x.",
            I.CLAP: "....x.......x...",
        },
    },
    "swing": {
        "verse": {
            I.RIDE: "X...x.x.X...x.x.",
            I.PEDAL_HAT: "....x.......x...",
            I.KICK: "o...o...o...o...",
        },
        "chorus": {
            I.RIDE: "X...x.x.X...x.x.",
            I.PEDAL_HAT: "....x.......x...",
            I.KICK: "o...o...o...o...",
            I.SNARE: "......o.......o.",
        },
    },
    "shuffle": {
        "verse": {
            I.KICK: "X.......X.......",
            I.SNARE: "....X.......X...",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
        },
        "chorus": {
            I.KICK: "X.....x.X.....x.",
            I.SNARE: "....X.......X...",
            I.RIDE: "x.x.x.x.x.x.x.x.",
        },
    },
    "bossa": {
        "verse": {
            I.KICK: "x..xx..xx..xx..x",
            I.SIDE_STICK: "x..x..x...x..x..",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
        },
        "chorus": {
            I.KICK: "x..xx..xx..xx..x",
            I.SIDE_STICK: "x..x..x...x..x..",
            I.RIDE: "x.x.x.x.x.x.x.x.",
        },
    },
    "onedrop": {
        "verse": {
            I.KICK: "........X.......",
            I.SIDE_STICK: "........X.......",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
        },
        "chorus": {
            I.KICK: "........X.......",
            I.SNARE: "........X.......",
            I.CLOSED_HAT: "x.xxx.xxx.xxx.xx",
        },
    },
    "funk": {
        "verse": {
            I.KICK: "X.....x...x..x..",
            I.SNARE: "....X..o.o..X..o",
            I.CLOSED_HAT: "xoxoxoxoxoxoxoxo",
        },
        "chorus": {
            I.KICK: "X.x...x...x..x..",
            I.SNARE: "....X..o.o..X..o",
            I.CLOSED_HAT: "xoxoxoxoxoxoXoxo",
            I.OPEN_HAT: "..............x.",
        },
    },
    "boombap": {
        "verse": {
            I.KICK: "X......x..X.....",
            I.SNARE: "....X.......X...",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
        },
        "chorus": {
            I.KICK: "X......x..X..x..",
            I.SNARE: "....X.......X...",
            I.CLOSED_HAT: "xxxxxxxxxxxxxxxx",
        },
    },
    "house": {
        "verse": {
            I.KICK: "X...X...X...X...",
            I.CLAP: "....X.......X...",
            I.CLOSED_HAT: "..x...x...x...x.",
        },
        "chorus": {
            I.KICK: "X...X...X...X...",
            I.CLAP: "....X.......X...",
            I.OPEN_HAT: "..x...x...x...x.",
            I.CLOSED_HAT: "xoxoxoxoxoxoxoxo",
        },
    },
    "techno": {
        "verse": {
            I.KICK: "X...X...X...X...",
            I.OPEN_HAT: "..x...x...x...x.",
            I.CLOSED_HAT: "x.xxx.xxx.xxx.xx",
        },
        "chorus": {
            I.KICK: "X...X...X...X...",
            I.OPEN_HAT: "..x...x...x...x.",
            I.CLAP: "....x.......x...",
            I.RIDE: "x.x.x.x.x.x.x.x.",
        },
    },
    "trance": {
        "verse": {
            I.KICK: "X...X...X...X...",
            I.OPEN_HAT: "..x...x...x...x.",
            I.CLAP: "....x.......x...",
        },
        "chorus": {
            I.KICK: "X...X...X...X...",
            I.OPEN_HAT: "..x...x...x...x.",
            I.CLAP: "....x.......x...",
            I.CLOSED_HAT: "xxxxxxxxxxxxxxxx",
        },
    },
    "country": {
        "verse": {
            I.KICK: "X.......X.......",
            I.SNARE: "....X.......X...",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
        },
        "chorus": {
            I.KICK: "X.....x.X.......",
            I.SNARE: "o.o.X.o.o.o.X.o.",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
        },
    },
    "folk": {
        "verse": {
            I.KICK: "X.......X.......",
            I.TAMBOURINE: "....x.......x...",
            I.SIDE_STICK: "....x.......x...",
        },
        "chorus": {
            I.KICK: "X.......X.......",
            I.TAMBOURINE: "..x.x.x...x.x.x.",
            I.SNARE: "....x.......x...",
        },
    },
    "waltz": {
        "verse": {
            I.KICK: "X...........",
            I.SIDE_STICK: "....x...x...",
            I.CLOSED_HAT: "x...x...x...",
        },
        "chorus": {I.KICK: "X...........", I.SNARE: "....x...x...", I.RIDE: "x...x...x..."},
    },
    "chip": {
        "verse": {
            I.KICK: "X.....x.X.......",
            I.SNARE: "....X.......X...",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
        },
        "chorus": {
            I.KICK: "X...X...X...X...",
            I.SNARE: "....X.......X...",
            I.CLOSED_HAT: "xxxxxxxxxxxxxxxx",
        },
    },
    "disco": {
        "verse": {
            I.KICK: "X...X...X...X...",
            I.SNARE: "....X.......X...",
            I.CLOSED_HAT: "x.x.x.x.x.x.x.x.",
        },
        "chorus": {
            I.KICK: "X...X...X...X...",
            I.SNARE: "....X.......X...",
            I.OPEN_HAT: "..x...x...x...x.",
            I.CLOSED_HAT: "x...x...x...x...",
        },
    },
}
# Sparse grooves for intros and breakdowns: just the time keeper.
TIMEKEEPERS = (I.CLOSED_HAT, I.RIDE, I.PEDAL_HAT, I.SIDE_STICK, I.TAMBOURINE, I.OPEN_HAT)
VELOCITY = {"X": 112, "x": 92, "o": 45}


def groove_for(style: str, section: str) -> Groove:
    """The groove a drummer plays in a section (intro and outro thin out the verse groove)."""
    try:
        grooves = GROOVES[style]
    except KeyError:
        raise KeyError(f"unknown drum style {style!r}; known: {sorted(GROOVES)}") from None
    if section in ("chorus", "bridge"):
        return grooves["chorus"] if section == "chorus" else grooves["verse"]
    if section == "intro":
        keep = {k: v for k, v in grooves["verse"].items() if k in TIMEKEEPERS or k == I.KICK}
        return keep or grooves["verse"]
    return grooves["verse"]


def fill(rng: random.Random, meter: int, beats: int) -> list[tuple[float, int, int]]:
    """A drum fill over the last `beats` beats of a bar: (16th step, drum key, velocity).

    Either a snare roll that builds, or a tom run from high to floor, as a drummer plays it.
    """
    start = meter * 4 - beats * 4
    steps = list(range(start, meter * 4))
    if rng.random() < 0.5:
        toms = [
            I.HIGH_TOM,
            I.HIGH_TOM,
            I.MID_TOM,
            I.MID_TOM,
            I.LOW_TOM,
            I.LOW_TOM,
            I.FLOOR_TOM,
            I.FLOOR_TOM,
        ]
        seq = [toms[int(i * len(toms) / len(steps))] for i in range(len(steps))]
    else:
        seq = [I.SNARE] * len(steps)
        if len(seq) > 2:
            seq[-2:] = [I.MID_TOM, I.FLOOR_TOM]
    n = len(steps)
    hits = []
    for i, (st, key) in enumerate(zip(steps, seq, strict=True)):
        if n > 4 and i % 2 == 1 and rng.random() < 0.35:
            continue  # leave a gap now and then, as a player would
        hits.append((float(st), key, int(70 + 45 * (i + 1) / n)))
    return hits
