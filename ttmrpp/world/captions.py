"""Hand-written reference caption grammar for the held-out test split.

Deliberately independent of the LLM pseudo-captioner used for training text: its own templates,
its own vocabulary of descriptions, and only facts from the track's record.
"""

from __future__ import annotations

import random

GENRE_PHRASES = {
    "rock": ["rock song", "guitar-driven rock track", "rock tune"],
    "metal": ["heavy metal track", "metal song", "heavy, distorted metal piece"],
    "pop": ["pop song", "catchy pop track", "radio-friendly pop tune"],
    "jazz": ["swinging jazz piece", "jazz tune", "small-combo jazz number"],
    "blues": ["blues shuffle", "bluesy tune", "slow-burning blues"],
    "bossa nova": ["bossa nova tune", "Brazilian bossa nova piece", "gentle bossa nova"],
    "reggae": ["reggae track", "laid-back reggae groove", "one-drop reggae tune"],
    "funk": ["funk groove", "funky track", "tight funk jam"],
    "hip hop": ["hip hop beat", "instrumental hip hop track", "boom-bap beat"],
    "house": ["house track", "four-on-the-floor house tune", "club house track"],
    "techno": ["techno track", "driving techno piece", "minimal techno loop"],
    "trance": ["trance track", "euphoric trance tune", "uplifting trance piece"],
    "ambient": ["ambient piece", "ambient soundscape", "slow ambient track"],
    "orchestral": ["orchestral piece", "cinematic orchestral cue", "film-score style piece"],
    "country": ["country song", "country tune", "twangy country track"],
    "folk": ["folk song", "acoustic folk tune", "folk ballad"],
    "waltz": ["waltz", "waltz in three-four time", "lilting waltz"],
    "chiptune": ["chiptune track", "8-bit video game tune", "retro chiptune"],
    "disco": ["disco track", "disco groove", "funky disco tune"],
    "classical": ["classical piece", "piece of classical music", "classical composition"],
}
MOOD_WORDS = {
    "happy": ["happy", "cheerful", "joyful"],
    "sad": ["sad", "sorrowful", "mournful"],
    "energetic": ["energetic", "lively", "high-energy"],
    "relaxing": ["relaxing", "calm", "soothing"],
    "dark": ["dark", "brooding", "ominous"],
    "romantic": ["romantic", "tender", "warm"],
    "epic": ["epic", "grand", "heroic"],
    "dreamy": ["dreamy", "hazy", "floating"],
    "aggressive": ["aggressive", "fierce", "pounding"],
    "melancholic": ["melancholic", "wistful", "bittersweet"],
    "uplifting": ["uplifting", "hopeful", "soaring"],
    "mysterious": ["mysterious", "eerie", "enigmatic"],
    "solemn": ["solemn", "reverent", "serene"],
}
TEMPO_WORDS = {
    "slow": ["slow", "unhurried"],
    "medium tempo": ["mid-tempo", "moderately paced"],
    "fast": ["fast", "up-tempo", "quick"],
}
SKIP = {"guitar", "keyboard", "brass", "electric bass", "double bass", "voice"}  # broader tags


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def reference_captions(record: dict, rng: random.Random, n: int = 3) -> list[str]:
    """`n` different reference captions for a manifest record (deterministic given `rng`)."""
    tags = record["tags"]
    g = tags["genre"][0]
    genre_phrase = rng.choice(GENRE_PHRASES.get(g, [f"{g} piece"]))
    mood = tags.get("mood", ["calm"])[0]
    mood_w = rng.choice(MOOD_WORDS.get(mood, [mood]))
    tempo = tags.get("tempo", [""])[0]
    tempo_w = rng.choice(TEMPO_WORDS.get(tempo, [tempo])) if tempo else ""
    insts = _specific([t for t in tags.get("instrument", []) if t not in SKIP])
    lead = insts[:4]
    bpm = int(round(record["bpm"])) if record.get("bpm") else None
    key = record.get("key")
    who = record.get("artist")
    templates = [
        lambda: f"A {mood_w} {genre_phrase} featuring {_join(lead)}.",
        lambda: f"{_cap(tempo_w)} {g} with {_join(lead)}; the mood is {mood_w}.",
        lambda: (
            f"This {genre_phrase} is {mood_w} and {tempo_w}, played on {_join(lead)}"
            + (f", at about {bpm} BPM." if bpm else ".")
        ),
        lambda: (
            f"Instrumental {g} in {key}: {_join(lead)} set a {mood_w} tone."
            if key
            else f"Instrumental {g}: {_join(lead)} set a {mood_w} tone."
        ),
        lambda: f"{_cap(_join(lead))} carry a {tempo_w}, {mood_w} {genre_phrase}.",
        lambda: (
            f"A {genre_phrase} by {who}, {mood_w} and {tempo_w}."
            if who
            else f"A {tempo_w} {genre_phrase} with a {mood_w} feel."
        ),
        lambda: f"Something {mood_w} to listen to: {g}, {tempo_w}, with {_join(lead)}.",
    ]
    chosen = rng.sample(templates, k=min(n, len(templates)))
    return [" ".join(t().split()) for t in chosen]


def _specific(tags: list[str]) -> list[str]:
    """Drop a broad tag when a more specific one names it ("bass" beside "synth bass")."""
    out = []
    for t in tags:
        broader = any(o != t and (o.endswith(" " + t) or o.startswith(t + " ")) for o in tags)
        if t == "synthesizer" and any(o.startswith("synth ") or o.endswith(" lead") for o in tags):
            broader = True
        if t == "drums" and "drum machine" in tags:
            broader = True
        if not broader:
            out.append(t)
    return out


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]
