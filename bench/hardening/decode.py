"""Decoder hardening probes: each crafted or real file decoded in a fresh child process.

    python -m bench.hardening.decode

Prints one JSON line per probe: name, whether `load_audio` accepted or refused the file, its
message, the peak resident memory the call added (MB) and its wall time (s). The files are
written to a temporary folder by the helpers the tests use too (bench/hardening/crafted_audio.py).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench.hardening.crafted_audio import (
    probe_in_child,
    write_long_flac,
    write_overstated_ogg,
    write_rate_bomb_wav,
    write_silent_flac,
)

APP_QUERY_SECONDS = 600.0  # the app's limit for a query clip


def probes() -> list[dict]:
    """Run every decode probe; one JSON-able row each."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="decode-probes-") as tmp:
        folder = Path(tmp)
        rate_bomb = write_rate_bomb_wav(folder / "rate_bomb.wav")
        flac_bomb = write_silent_flac(folder / "flac_bomb.flac")
        ten_minutes = write_long_flac(folder / "ten_minutes.flac")
        vorbis = write_overstated_ogg(folder / "overstated.ogg", "VORBIS")
        opus = write_overstated_ogg(folder / "overstated.opus", "OPUS")
        cases = [
            ("wav_1hz_5000_frames", rate_bomb, {}),
            ("flac_384khz_8ch_120s", flac_bomb, {}),
            ("flac_384khz_8ch_120s_app_limit", flac_bomb, {"max_seconds": APP_QUERY_SECONDS}),
            ("flac_44khz_stereo_10min_decode", ten_minutes, {}),
            ("flac_44khz_stereo_10min_embed_tiny", ten_minutes, {"embed": True}),
            ("ogg_vorbis_overstated_3000_frames", vorbis, {}),
            ("ogg_opus_overstated_3000_frames", opus, {}),
        ]
        for name, path, kw in cases:
            row = probe_in_child(path, **kw)
            rows.append(
                {
                    "name": name,
                    "file_kb": round(path.stat().st_size / 1024, 1),
                    "result": "accepted" if row["accepted"] else "refused",
                    "message": row["message"].replace(str(folder) + "/", ""),
                    "rss_growth_mb": row["rss_growth_mb"],
                    "seconds": row["seconds"],
                }
            )
    return rows


if __name__ == "__main__":
    for row in probes():
        print(json.dumps(row))
