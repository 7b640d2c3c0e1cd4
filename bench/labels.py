"""Do the audio measurements agree with the labels? Larger-sample versions of the label tests.

    python -m bench.labels --tracks 60

Prints JSON: share of drum tracks whose librosa tempo is within 4% of the recorded BPM (or a
clean octave / 3:2), median percussive energy share with and without drums, and the share of
tracks whose chroma-template key (Krumhansl–Kessler on mean CQT chroma) equals the recorded key
(for catalog-style tracks that end on the tonic, and for stream clips that start anywhere).
"""

from __future__ import annotations

import argparse
import json
import random
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=57, help="tracks per measurement")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=123)
    args = ap.parse_args(argv)
    import librosa

    from ttmrpp.world.genres import GENRES
    from ttmrpp.world.theory import Key, estimate_key
    from ttmrpp.world.track import make_track

    sr = 22050
    rng = random.Random(args.seed)
    drum_genres = sorted(g for g, s in GENRES.items() if s.drums and s.drum_prob == 1.0)
    genres = sorted(GENRES)

    def key_of(y: np.ndarray) -> Key:
        return estimate_key(
            librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=1024).mean(axis=1).tolist()
        )

    def perc(y: np.ndarray) -> float:
        S = np.abs(librosa.stft(y, n_fft=1024))
        H, P = librosa.decompose.hpss(S)
        return float((P**2).sum() / ((H**2).sum() + (P**2).sum()))

    tempo_ok, perc_drums, perc_none, key_full, key_clip, per_genre = [], [], [], [], [], {}
    for i in range(args.tracks):
        g = drum_genres[i % len(drum_genres)]
        t = make_track(
            rng.randrange(2**31), genre_name=g, seconds=args.seconds, sample_rate=sr, ending=False
        )
        onset = librosa.onset.onset_strength(y=t.audio, sr=sr)
        est = float(librosa.feature.tempo(onset_envelope=onset, sr=sr)[0])
        bpm = t.record["bpm"]
        ok = any(abs(est * f - bpm) <= 0.04 * bpm for f in (1.0, 0.5, 2.0, 2 / 3, 1.5))
        tempo_ok.append(ok)
        per_genre.setdefault(g, []).append(ok)
        if i % 3 == 0:
            perc_drums.append(perc(t.audio))
        g2 = genres[i % len(genres)]
        full = make_track(rng.randrange(2**31), genre_name=g2, seconds=args.seconds, sample_rate=sr)
        key_full.append(key_of(full.audio) == Key.parse(full.record["key"]))
        clip = make_track(
            rng.randrange(2**31), genre_name=g2, seconds=10.0, sample_rate=sr, ending=False
        )
        key_clip.append(key_of(clip.audio) == Key.parse(clip.record["key"]))
        if i % 3 == 0:
            quiet = make_track(
                rng.randrange(2**31),
                genre_name=rng.choice(["ambient", "orchestral"]),
                seconds=10.0,
                sample_rate=sr,
                ending=False,
            )
            perc_none.append(perc(quiet.audio))
    print(
        json.dumps(
            {
                "drum_tracks": len(tempo_ok),
                "tempo_within_4pct_or_octave": round(float(np.mean(tempo_ok)), 3),
                "tempo_misses_by_genre": {
                    g: int(len(v) - sum(v)) for g, v in per_genre.items() if not all(v)
                },
                "percussive_share_median_drums": round(float(np.median(perc_drums)), 3),
                "percussive_share_median_no_drums": round(float(np.median(perc_none)), 3),
                "key_match_full_tracks": round(float(np.mean(key_full)), 3),
                "key_match_10s_stream_clips": round(float(np.mean(key_clip)), 3),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
