import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch

import ttmrpp
from tests.conftest import music_like
from ttmrpp.model.dual_encoder import parameter_count
from ttmrpp.model.foreign import clean_state_dict
from ttmrpp.model.loss import InfoNCELoss


def test_paper_layout_matches_published_keys(shared_dir):
    model = ttmrpp.create_model("ttmrpp-paper")
    ours = {
        k: (list(v.shape), str(v.dtype).removeprefix("torch."))
        for k, v in model.state_dict().items()
    }
    published = {}
    for line in (shared_dir / "data/ttmrpp-official-state-dict-keys.tsv").read_text().splitlines():
        key, shape, dtype = line.split("\t")
        published[key] = (eval(shape), dtype)  # shapes are python lists
    # The published file stores logit_scale a second time under the loss module.
    assert set(published) - set(ours) == {"loss_fct.logit_scale"}
    assert set(ours) <= set(published)
    assert all(ours[k] == published[k] for k in ours)


def test_paper_model_size_and_official_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = ttmrpp.create_model("ttmrpp-paper")
    assert parameter_count(model) == pytest.approx(162e6, rel=0.01)
    assert parameter_count(model.audio_encoder) == pytest.approx(37.7e6, rel=0.01)
    # Write the file the way the authors' trainer does, including the keys we drop.
    state = dict(model.state_dict())
    state["loss_fct.logit_scale"] = state["logit_scale"].clone()
    state["text_encoder.embeddings.position_ids"] = torch.arange(514)[None]
    path = tmp_path / "ttmrpp_resnet_roberta.pth"
    torch.save({"epoch": 3, "state_dict": state, "optimizer": {"state": {}}}, path)
    del state
    loaded = ttmrpp.load_official_checkpoint(path)
    audio = torch.from_numpy(np.stack([music_like(10.0, seed=s) for s in (1, 2)]))
    ids = torch.tensor([[0, 713, 16, 10, 2], [0, 9712, 2, 1, 1]])
    mask = (ids != 1).long()
    with torch.inference_mode():
        torch.testing.assert_close(
            loaded.encode_audio(audio), model.encode_audio(audio), rtol=0, atol=0
        )
        torch.testing.assert_close(
            loaded.text_features(ids, mask), model.text_features(ids, mask), rtol=0, atol=0
        )
    assert loaded.logit_scale.dtype == torch.float64


def test_official_loader_is_strict(tmp_path, tiny_model):
    state = dict(tiny_model.state_dict())
    state.pop("audio_projector.1.weight")
    path = tmp_path / "bad.pth"
    torch.save({"epoch": 0, "state_dict": state, "optimizer": {}}, path)
    with pytest.raises(ttmrpp.CheckpointError, match="Missing key"):
        ttmrpp.load_official_checkpoint(path, config="ttmrpp-tiny")


def test_clean_state_dict_strips_prefixes():
    sd = {"module._orig_mod.logit_scale": 1, "module.loss_fct.logit_scale": 2, "a.b": 3}
    assert clean_state_dict(sd) == {"logit_scale": 1, "a.b": 3}


def test_save_load_round_trip(tmp_path, tiny_model):
    tiny_model.save_pretrained(tmp_path / "m")
    assert {p.name for p in (tmp_path / "m").iterdir()} == {
        "model.safetensors",
        "config.json",
        "tokenizer",
    }
    loaded = ttmrpp.load_model(tmp_path / "m")
    audio = torch.from_numpy(music_like(2.0, seed=7))[None]
    with torch.inference_mode():
        torch.testing.assert_close(loaded.encode_audio(audio), tiny_model.encode_audio(audio))
        torch.testing.assert_close(
            loaded.encode_text(["calm piano", "loud metal"]),
            tiny_model.encode_text(["calm piano", "loud metal"]),
        )
    assert not list((tmp_path / "m").glob(".*tmp"))  # no temp files left behind


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing model.safetensors"):
        (tmp_path / "empty").mkdir()
        ttmrpp.load_model(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        ttmrpp.load_model(tmp_path / "nope" / "deeper" / "x")


def test_corrupt_or_mismatched_checkpoints_give_clear_errors(tmp_path, tiny_model):
    good = tmp_path / "good"
    tiny_model.save_pretrained(good)
    truncated = tmp_path / "truncated"
    tiny_model.save_pretrained(truncated)
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ttmrpp.CheckpointError, match="corrupt or truncated"):
        ttmrpp.load_model(truncated)
    (truncated / "config.json").write_text("{not json")
    with pytest.raises(ttmrpp.CheckpointError, match="not a valid model config"):
        ttmrpp.load_model(truncated)
    wrong = tmp_path / "wrong"
    tiny_model.save_pretrained(wrong)
    cfg = json.loads((wrong / "config.json").read_text())
    cfg["embed_dim"] = 64
    (wrong / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ttmrpp.CheckpointError, match="do not match the architecture"):
        ttmrpp.load_model(wrong)
    (tmp_path / "x.pth").write_bytes(b"\x80garbage")
    with pytest.raises(ttmrpp.CheckpointError, match="not a readable torch checkpoint"):
        ttmrpp.load_official_checkpoint(tmp_path / "x.pth", config="ttmrpp-tiny")
    assert ttmrpp.load_model(good).encode_text(["ok"]).shape == (1, 128)


def test_float16_export_halves_the_file_and_keeps_embeddings(tmp_path, tiny_model):
    from train import export_model

    tiny_model.save_pretrained(tmp_path / "full")
    info = export_model.main([str(tmp_path / "full"), str(tmp_path / "half"), "--fp16"])
    full = (tmp_path / "full" / "model.safetensors").stat().st_size
    half = (tmp_path / "half" / "model.safetensors").stat().st_size
    assert half < 0.55 * full and info["fp16"]
    a, b = ttmrpp.load_model(tmp_path / "full"), ttmrpp.load_model(tmp_path / "half")
    assert all(p.dtype != torch.float16 for p in b.parameters())
    wav = torch.from_numpy(music_like(3.0, 22050, seed=1)).float()[None]
    cos = (a.encode_audio(wav) * b.encode_audio(wav)).sum()
    assert cos > 0.999
    cos = (a.encode_text(["calm piano"]) * b.encode_text(["calm piano"])).sum()
    assert cos > 0.999


def test_embeddings_unit_norm_and_batch_independent(tiny_model):
    clips = torch.from_numpy(
        np.stack([music_like(2.0, seed=s) * g for s, g in [(1, 1.0), (2, 0.01), (3, 0.5)]])
    )
    with torch.inference_mode():
        batch = tiny_model.encode_audio(clips)
        single = torch.cat([tiny_model.encode_audio(c[None]) for c in clips])
        text = tiny_model.encode_text(["rock", "a calm piano piece with strings", "jazz"])
        text_single = torch.cat(
            [
                tiny_model.encode_text([t])
                for t in ["rock", "a calm piano piece with strings", "jazz"]
            ]
        )
    torch.testing.assert_close(batch, single, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(text, text_single, atol=1e-5, rtol=1e-4)
    assert torch.allclose(batch.norm(dim=-1), torch.ones(3)) and torch.allclose(
        text.norm(dim=-1), torch.ones(3)
    )
    assert tiny_model.encode_audio(clips, normalize=False).norm(dim=-1).std() > 0


def test_forward_returns_loss_arguments(tiny_model):
    out = tiny_model(torch.from_numpy(music_like(2.0))[None].repeat(2, 1), ["a", "b"])
    assert set(out) == {"audio_features", "text_features", "logit_scale"}
    assert out["logit_scale"].item() == pytest.approx(math.log(10))
    loss = InfoNCELoss()(**out)
    assert torch.isfinite(loss)


def test_whole_tracks_any_length_and_silence(tmp_path, tiny_model):
    sr = tiny_model.config.sample_rate
    paths = []
    for name, wav in [
        ("short.wav", music_like(0.5, sr, seed=1)),
        ("long.flac", music_like(25.0, sr, seed=2)),
        ("silence.wav", np.zeros(3 * sr, np.float32)),
        ("tooshort.wav", music_like(0.2, sr)),
    ]:
        sf.write(str(tmp_path / name), wav, sr)
        paths.append(tmp_path / name)
    (tmp_path / "broken.mp3").write_text("not audio")
    paths.insert(1, tmp_path / "broken.mp3")
    embs, failures = ttmrpp.embed_audio_files(tiny_model, paths, batch_size=4, progress=False)
    assert embs.shape == (3, 128) and torch.isfinite(embs).all()
    assert torch.allclose(embs.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert [p for p, _ in failures] == [
        str(tmp_path / "broken.mp3"),
        str(tmp_path / "tooshort.wav"),
    ]
    # The long track's embedding is the same whether embedded alone or beside others.
    alone, _ = ttmrpp.embed_audio_files(
        tiny_model, [tmp_path / "long.flac"], batch_size=2, progress=False
    )
    torch.testing.assert_close(alone[0], embs[1], atol=1e-5, rtol=1e-4)
    single = ttmrpp.embed_waveform(tiny_model, ttmrpp.load_audio(tmp_path / "long.flac", sr))
    torch.testing.assert_close(single, embs[1], atol=1e-5, rtol=1e-4)


def test_unknown_config_is_refused():
    with pytest.raises(ValueError, match="available"):
        ttmrpp.create_model("ttmrpp-huge")
