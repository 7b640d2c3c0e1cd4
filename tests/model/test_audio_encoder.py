import copy

import pytest
import torch

from tests.conftest import music_like
from ttmrpp.model.audio import LogMelFrontEnd
from ttmrpp.model.audio_encoder import AttentionPool2d, Bottleneck, ModifiedResNet

SR = 22050


@pytest.fixture(scope="module")
def tiny_resnet():
    torch.manual_seed(0)
    front_end = LogMelFrontEnd(SR, 512, 220, 32, clamp="clip")
    return ModifiedResNet((1, 1, 1, 1), width=8, heads=2, output_dim=32, front_end=front_end).eval()


def clips(*specs):
    return torch.stack([torch.from_numpy(music_like(2.0, SR, seed=s)) * g for s, g in specs])


def test_output_shape_for_any_clip_length(tiny_resnet):
    with torch.inference_mode():
        for seconds in (1.0, 2.0, 10.0):
            wav = torch.from_numpy(music_like(seconds, SR, seed=1))[None].repeat(3, 1)
            assert tiny_resnet(wav).shape == (3, 32)
        mel = tiny_resnet.mel_transform(wav)
        assert mel.shape == (3, 32, int(10.0 * SR) // 220)
        torch.testing.assert_close(tiny_resnet.forward_features(mel), tiny_resnet(wav))


def test_bottleneck_downsamples_and_expands():
    torch.manual_seed(0)
    block = Bottleneck(16, 8, stride=2).eval()
    assert block(torch.randn(2, 16, 12, 20)).shape == (2, 32, 6, 10)
    same = Bottleneck(32, 8).eval()  # inplanes == planes * 4, stride 1: identity shortcut
    assert same.downsample is None and same(torch.randn(1, 32, 5, 7)).shape == (1, 32, 5, 7)


def test_attention_pooling_ignores_where_features_are():
    """One positional bias shared by every token and the mean as query: the pooled vector
    depends on the set of feature vectors, not on their places in the map."""
    torch.manual_seed(0)
    pool = AttentionPool2d(embed_dim=16, num_heads=4, output_dim=8).eval()
    x = torch.randn(2, 16, 3, 5)
    perm = torch.randperm(15)
    shuffled = x.flatten(2)[:, :, perm].reshape(2, 16, 3, 5)
    transposed = x.flatten(2).reshape(2, 16, 5, 3)  # another map shape, same tokens
    with torch.inference_mode():
        out = pool(x)
        assert out.shape == (2, 8)
        torch.testing.assert_close(pool(shuffled), out, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(pool(transposed), out, atol=1e-6, rtol=1e-5)
        assert not torch.allclose(pool(x[:, :, :2]), out, atol=1e-3)  # other tokens differ


def test_per_clip_mel_clamp_makes_clips_batch_independent(tiny_resnet):
    quiet_loud = clips((4, 1e-3), (5, 1.0))
    with torch.inference_mode():
        together = tiny_resnet(quiet_loud)
        alone = torch.cat([tiny_resnet(c[None]) for c in quiet_loud])
        torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)
        batch_clamp = ModifiedResNet(
            (1, 1, 1, 1), 8, 2, 32, LogMelFrontEnd(SR, 512, 220, 32, clamp="batch")
        ).eval()
        batch_clamp.load_state_dict(tiny_resnet.state_dict())
        mixed = batch_clamp(quiet_loud)[0]
        assert not torch.allclose(mixed, batch_clamp(quiet_loud[:1])[0], atol=1e-3)


def test_eval_mode_is_deterministic_and_train_mode_uses_batch_statistics(tiny_resnet):
    wav = clips((1, 1.0), (2, 0.5))
    training = copy.deepcopy(tiny_resnet).train()  # updates its own running statistics
    with torch.no_grad():
        eval_out = tiny_resnet(wav)
        torch.testing.assert_close(tiny_resnet(wav), eval_out, rtol=0, atol=0)
        assert not torch.allclose(training(wav), eval_out, atol=1e-3)
