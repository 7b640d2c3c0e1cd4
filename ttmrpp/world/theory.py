"""Music theory for the generator: keys, scales, chords, progressions and voice leading."""

from __future__ import annotations

from dataclasses import dataclass

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODE_INTERVALS = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),  # natural minor; V is raised where a genre asks
}
# Krumhansl–Kessler key profiles (probe-tone ratings), used by `estimate_key`.
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


@dataclass(frozen=True)
class Key:
    """A tonal centre: pitch class of the tonic (0 = C) and mode ("major" or "minor")."""

    tonic: int
    mode: str

    def __post_init__(self) -> None:
        if self.mode not in MODE_INTERVALS:
            raise ValueError(f"unknown mode {self.mode!r}; expected one of {list(MODE_INTERVALS)}")
        if not 0 <= self.tonic < 12:
            raise ValueError(f"tonic pitch class must be 0..11, got {self.tonic}")

    @property
    def name(self) -> str:
        """Human name such as "E minor"."""
        return f"{NOTE_NAMES[self.tonic]} {self.mode}"

    @classmethod
    def parse(cls, name: str) -> Key:
        """Parse "E minor" / "Bb major" back into a Key."""
        try:
            note, mode = name.split()
            return cls(NOTE_NAMES.index(note), mode)
        except ValueError as err:
            raise ValueError(f"cannot parse key {name!r}; expected e.g. 'E minor'") from err

    def scale_pcs(self) -> tuple[int, ...]:
        """Pitch classes of the scale, tonic first."""
        return tuple((self.tonic + i) % 12 for i in MODE_INTERVALS[self.mode])

    def degree_pitch(self, degree: int, octave_base: int = 60) -> int:
        """MIDI pitch of scale degree `degree` (0-based, may exceed 6 or be negative)."""
        steps = MODE_INTERVALS[self.mode]
        octave, idx = divmod(degree, 7)
        return octave_base + self.tonic + steps[idx] + 12 * octave


@dataclass(frozen=True)
class Chord:
    """A chord as root pitch class plus intervals above the root."""

    root: int
    intervals: tuple[int, ...]

    @property
    def pcs(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in self.intervals)


def chord_on_degree(key: Key, degree: int, seventh: bool = False, raise_v: bool = True) -> Chord:
    """Diatonic triad (or seventh chord) on a 0-based scale degree of `key`.

    In minor, degree 4 (V) gets its raised leading tone when `raise_v` (harmonic minor), which
    makes the key unambiguous to a listener.
    """
    pcs = key.scale_pcs()
    idx = [degree % 7, (degree + 2) % 7, (degree + 4) % 7] + ([(degree + 6) % 7] if seventh else [])
    notes = [pcs[i] for i in idx]
    if key.mode == "minor" and raise_v and degree % 7 == 4:
        notes[1] = (notes[1] + 1) % 12  # the leading tone
    root = notes[0]
    return Chord(root, tuple((n - root) % 12 for n in notes))


# Progressions as 0-based scale degrees, one chord per bar (or per half bar when listed twice).
PROGRESSIONS: dict[str, list[list[int]]] = {
    "pop": [[0, 4, 5, 3], [0, 5, 3, 4], [5, 3, 0, 4], [0, 3, 4, 4], [0, 3, 5, 4]],
    "rock": [[0, 6, 3, 0], [0, 3, 4, 3], [0, 4, 3, 0], [0, 3, 0, 4], [5, 3, 4, 0]],
    "minor_rock": [[0, 5, 6, 0], [0, 6, 5, 6], [0, 3, 6, 4], [0, 5, 3, 4]],
    "blues": [[0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4]],
    "jazz": [[1, 4, 0, 0], [0, 5, 1, 4], [2, 5, 1, 4], [3, 4, 2, 5]],
    "folk": [[0, 3, 0, 4], [0, 0, 3, 4], [0, 4, 5, 3], [0, 3, 4, 0]],
    "minor": [[0, 3, 4, 0], [0, 5, 3, 4], [0, 6, 5, 4], [0, 3, 6, 2], [0, 5, 6, 4]],
    "modal": [[0, 6, 0, 6], [0, 3, 0, 3], [0, 0, 6, 6]],
    "static": [[0, 0, 3, 3], [0, 0, 0, 0], [0, 5, 0, 5]],
    "epic": [[0, 5, 2, 6], [5, 3, 0, 4], [0, 3, 5, 4], [0, 6, 5, 4]],
    "waltz": [[0, 0, 4, 4, 4, 4, 0, 0], [0, 3, 4, 0]],
    "bossa": [[1, 4, 0, 0], [0, 1, 4, 0], [0, 5, 1, 4]],
}


def voice_chord(
    chord: Chord, low: int, high: int, prev: list[int] | None, n_notes: int = 4
) -> list[int]:
    """Voice `chord` inside [low, high] with `n_notes` notes, moving little from `prev`.

    Candidates are the inversions of the chord stacked from each chord tone; the one whose notes
    are closest (sum of distances) to the previous voicing wins, which gives smooth voice leading.
    """
    pcs = list(chord.pcs)
    best: list[int] | None = None
    best_cost = float("inf")
    for start_pc in range(len(pcs)):
        order = pcs[start_pc:] + pcs[:start_pc]
        for base in range(low, low + 12):
            if base % 12 != order[0]:
                continue
            notes = [base]
            i = 1
            while len(notes) < n_notes:
                pc = order[i % len(order)]
                nxt = notes[-1] + ((pc - notes[-1]) % 12 or 12)
                notes.append(nxt)
                i += 1
            if notes[-1] > high:
                continue
            if prev:
                cost = sum(min(abs(n - p) for p in prev) for n in notes)
            else:
                cost = abs(sum(notes) / len(notes) - (low + high) / 2)
            if cost < best_cost:
                best, best_cost = notes, cost
    if best is None:  # range too narrow: fall back to root position from `low`
        base = low + ((pcs[0] - low) % 12)
        best = [base + i for i in chord.intervals][:n_notes]
    return best


def estimate_key(chroma: list[float] | tuple[float, ...]) -> Key:
    """Best Krumhansl–Kessler template match for a 12-bin chroma vector (C first)."""
    import numpy as np

    c = np.asarray(chroma, dtype=np.float64)
    if c.shape != (12,):
        raise ValueError(f"chroma must have 12 bins, got shape {c.shape}")
    best, best_r = Key(0, "major"), -2.0
    for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        p = np.asarray(profile)
        for tonic in range(12):
            r = float(np.corrcoef(c, np.roll(p, tonic))[0, 1])
            if r > best_r:
                best, best_r = Key(tonic, mode), r
    return best
