"""Small rendered test clips for the tagger tests (pretty_midi + tinysoundfont, TimGM6mb.sf2),
and randomly initialised tagger weights in the published layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _soundfont() -> Path:
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def render(pm, sample_rate: int = 16000) -> np.ndarray:
    """Render a PrettyMIDI object to float32 mono with tinysoundfont (offline, deterministic)."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    sfid = synth.sfload(str(_soundfont()))
    events = []
    for chan, inst in enumerate(pm.instruments):
        chan = 9 if inst.is_drum else chan
        synth.program_select(
            chan,
            sfid,
            128 if inst.is_drum else 0,
            0 if inst.is_drum else inst.program,
            inst.is_drum,
        )
        for n in inst.notes:
            events.append((n.start, 1, chan, n.pitch, n.velocity))
            events.append((n.end, 0, chan, n.pitch, 0))
    events.sort(key=lambda e: (e[0], e[1]))
    out, now = [], 0
    for t, on, chan, pitch, vel in events:
        target = int(round(t * sample_rate))
        if target > now:
            out.append(np.frombuffer(synth.generate(target - now), dtype=np.float32))
            now = target
        if on:
            synth.noteon(chan, pitch, vel)
        else:
            synth.noteoff(chan, pitch)
    out.append(np.frombuffer(synth.generate(sample_rate), dtype=np.float32))  # release tail
    stereo = np.concatenate(out).reshape(-1, 2)
    mono = stereo.mean(axis=1)
    peak = float(np.abs(mono).max()) or 1.0
    return (0.5 * mono / peak).astype(np.float32)


def solo_piano(seconds: float = 20.0, sample_rate: int = 16000, transpose: int = 0) -> np.ndarray:
    """A slow solo-piano piece: left-hand broken chords, right-hand melody (C major)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    chords = [[48, 55, 64], [45, 52, 60], [41, 48, 57], [43, 50, 59]]
    melody = [72, 74, 76, 79, 77, 76, 74, 72, 69, 71, 72, 67]
    beat = 0.5
    t, i = 0.0, 0
    while t < seconds - 1:
        chord = chords[(i // 8) % 4]
        piano.notes.append(pretty_midi.Note(70, chord[i % 3] + transpose, t, t + beat * 1.5))
        if i % 2 == 0:
            piano.notes.append(
                pretty_midi.Note(85, melody[(i // 2) % len(melody)] + transpose, t, t + beat * 2)
            )
        t += beat
        i += 1
    pm.instruments.append(piano)
    return render(pm, sample_rate)


def rock_band(
    seconds: float = 20.0, sample_rate: int = 16000, transpose: int = 0, bpm: float = 140.0
) -> np.ndarray:
    """Driving rock: drum kit, distorted-guitar power chords, picked electric bass (E minor)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    guitar = pretty_midi.Instrument(program=30)  # Distortion Guitar
    bass = pretty_midi.Instrument(program=34)  # Electric Bass (pick)
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    eighth = 60 / bpm / 2
    roots = [40, 40, 43, 45, 40, 40, 38, 45]
    t, i = 0.0, 0
    while t < seconds - 1:
        root = roots[(i // 8) % len(roots)] + transpose
        for p in (root, root + 7, root + 12):
            guitar.notes.append(pretty_midi.Note(110, p, t, t + eighth * 0.95))
        bass.notes.append(pretty_midi.Note(100, root - 12, t, t + eighth * 0.9))
        drums.notes.append(pretty_midi.Note(90, 42, t, t + 0.1))  # closed hi-hat
        if i % 4 == 0:
            drums.notes.append(pretty_midi.Note(120, 36, t, t + 0.1))  # kick
        if i % 4 == 2:
            drums.notes.append(pretty_midi.Note(120, 38, t, t + 0.1))  # snare
        if i % 16 == 0:
            drums.notes.append(pretty_midi.Note(110, 49, t, t + 0.5))  # crash
        t += eighth
        i += 1
    pm.instruments.extend([guitar, bass, drums])
    return render(pm, sample_rate)


def jazz_combo(
    seconds: float = 20.0, sample_rate: int = 16000, transpose: int = 0, bpm: float = 120.0
) -> np.ndarray:
    """Swing: electric-piano seventh chords, walking acoustic bass, ride cymbal."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    keys = pretty_midi.Instrument(program=4)  # Electric Piano 1
    bass = pretty_midi.Instrument(program=32)  # Acoustic Bass
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    beat = 60 / bpm
    chords = [[50, 53, 57, 60], [43, 47, 50, 53], [48, 52, 55, 59], [45, 48, 52, 55]]
    t, i = 0.0, 0
    while t < seconds - 1:
        chord = [p + transpose for p in chords[(i // 4) % 4]]
        if i % 4 in (0, 2):
            for p in chord:
                keys.notes.append(pretty_midi.Note(70, p + 12, t + beat * 0.66, t + beat * 1.5))
        bass.notes.append(pretty_midi.Note(90, chord[i % 4] - 12, t, t + beat * 0.9))
        drums.notes.append(pretty_midi.Note(80, 51, t, t + 0.2))  # ride
        drums.notes.append(pretty_midi.Note(60, 51, t + beat * 0.66, t + beat * 0.8))
        if i % 2 == 1:
            drums.notes.append(pretty_midi.Note(70, 44, t, t + 0.1))  # pedal hi-hat
        t += beat
        i += 1
    pm.instruments.extend([keys, bass, drums])
    return render(pm, sample_rate)


def electro(
    seconds: float = 20.0, sample_rate: int = 16000, transpose: int = 0, bpm: float = 128.0
) -> np.ndarray:
    """Four-on-the-floor dance track: saw-lead arpeggio, synth bass, drum machine."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    lead = pretty_midi.Instrument(program=81)  # Lead 2 (sawtooth)
    bass = pretty_midi.Instrument(program=38)  # Synth Bass 1
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    sixteenth = 60 / bpm / 4
    arp = [0, 7, 12, 15, 12, 7, 3, 7]
    roots = [57, 53, 48, 55]
    t, i = 0.0, 0
    while t < seconds - 1:
        root = roots[(i // 32) % 4] + transpose
        lead.notes.append(pretty_midi.Note(80, root + 12 + arp[i % 8], t, t + sixteenth * 0.9))
        if i % 2 == 0:
            bass.notes.append(pretty_midi.Note(100, root - 24, t, t + sixteenth * 1.8))
        if i % 4 == 0:
            drums.notes.append(pretty_midi.Note(120, 36, t, t + 0.1))  # kick
        if i % 8 == 4:
            drums.notes.append(pretty_midi.Note(100, 39, t, t + 0.1))  # clap
        if i % 4 == 2:
            drums.notes.append(pretty_midi.Note(80, 46, t, t + 0.1))  # open hat
        t += sixteenth
        i += 1
    pm.instruments.extend([lead, bass, drums])
    return render(pm, sample_rate)


DEMO_STYLES = {
    "piano": (
        solo_piano,
        {"genre": ["classical"], "instrument": ["piano"], "mood": ["calm"], "tempo": ["slow"]},
    ),
    "rock": (
        rock_band,
        {"genre": ["rock"], "instrument": ["electric guitar", "bass", "drums"],
         "mood": ["energetic"], "tempo": ["fast"]},
    ),
    "jazz": (
        jazz_combo,
        {"genre": ["jazz"], "instrument": ["electric piano", "bass", "drums"],
         "mood": ["relaxed"], "tempo": ["medium"]},
    ),
    "electro": (
        electro,
        {"genre": ["electronic"], "instrument": ["synthesizer", "drum machine"],
         "mood": ["energetic"], "tempo": ["fast"]},
    ),
}  # fmt: skip


def write_demo_world(root, per_style: int = 12, seconds: float = 12.0, test_share: float = 0.25):
    """A small rendered tagging set: `per_style` tracks of four styles, varied in key and
    tempo, written as OGG with a shared-format manifest (`root/manifest.jsonl`)."""
    import json
    import random
    from pathlib import Path

    import soundfile as sf

    root = Path(root)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    rows = []
    for style, (make, tags) in DEMO_STYLES.items():
        for i in range(per_style):
            kwargs = {"transpose": rng.randint(-5, 6)}
            if style != "piano":
                kwargs["bpm"] = rng.uniform(100, 150)
            tid = f"{style}{i:03d}"
            sf.write(root / "audio" / f"{tid}.ogg", make(seconds, **kwargs), 16000)
            split = "test" if i < round(per_style * test_share) else "train"
            rows.append({"id": tid, "audio": f"audio/{tid}.ogg", "duration": seconds,
                         "split": split, "tags": tags})  # fmt: skip
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root / "manifest.jsonl"


def save_random_weights(root: Path, dataset: str, model: str, seed: int = 0) -> Path:
    """A randomly initialised tagger saved as `root/<dataset>/<model>/best_model.pth` (the
    published layout; loads strictly). Returns the file."""
    import torch

    from ttmrpp.taggers import build_model

    torch.manual_seed(seed)
    folder = Path(root) / dataset / model
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(build_model(model, dataset=dataset).state_dict(), folder / "best_model.pth")
    return folder / "best_model.pth"
