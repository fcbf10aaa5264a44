"""The flow-matching objective and the temporal lighting loss, on values."""

from __future__ import annotations

import numpy as np
import torch

from kino.training.flow import noise_latents, pair_loss, predicted_x0, shifted_sigmas
from kino.training.lighting_loss import lighting_consistency_loss, luminance


def test_shifted_sigmas_lean_towards_noise() -> None:
    generator = torch.Generator().manual_seed(0)
    plain = shifted_sigmas(20000, 1.0, generator)
    shifted = shifted_sigmas(20000, 3.0, generator)
    assert shifted.min() > 0 and shifted.max() < 1
    assert abs(plain.mean().item() - 0.5) < 0.01
    # E[3u / (1 + 2u)] for u ~ U(0, 1) = 1.5 - 0.75 ln 3 ≈ 0.676
    assert abs(shifted.mean().item() - (1.5 - 0.75 * torch.log(torch.tensor(3.0)).item())) < 0.01


def test_a_perfect_prediction_recovers_the_clean_latents() -> None:
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(3, 16, 5, 4, 4, generator=generator)
    sample = noise_latents(x0, torch.tensor([0.1, 0.5, 0.9]), generator)
    assert torch.allclose(predicted_x0(sample, sample.target), x0, atol=1e-6)
    assert torch.allclose(sample.timestep, torch.tensor([100.0, 500.0, 900.0]))


def test_paired_samples_share_their_noise() -> None:
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 16, 5, 4, 4, generator=generator)
    sample = noise_latents(x0, torch.tensor([0.3, 0.8]), generator, pairs=True)
    noise = sample.target + x0
    assert torch.allclose(noise[:2], noise[2:], atol=1e-6)
    assert not torch.allclose(noise[0], noise[1])
    # Same noise and σ: the noisy inputs differ by (1 - σ) times the clean latents' difference.
    assert torch.allclose(sample.noisy[0] - sample.noisy[2], 0.7 * (x0[0] - x0[2]), atol=1e-5)


def test_a_blended_pair_shares_one_input_and_aims_each_half_at_its_own_latents() -> None:
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 16, 5, 4, 4, generator=generator)
    sigma = torch.tensor([0.2, 0.75])
    # The first pair is left as it is; the second is blended 40% of the way to its second half.
    sample = noise_latents(x0, sigma, generator, pairs=True, blend=torch.tensor([0.0, 0.4]))
    assert torch.allclose(sample.noisy[1], sample.noisy[3])
    assert not torch.allclose(sample.noisy[0], sample.noisy[2])
    # Whichever the input, a perfect prediction carries it to the sample's own clean latents.
    assert torch.allclose(predicted_x0(sample, sample.target), x0, atol=1e-5)
    shown = 0.6 * x0[1] + 0.4 * x0[3]
    noise = (sample.noisy[1] - 0.25 * shown) / 0.75
    assert torch.allclose(sample.target[1], (sample.noisy[1] - x0[1]) / 0.75, atol=1e-5)
    assert torch.allclose(sample.target[3], (sample.noisy[1] - x0[3]) / 0.75, atol=1e-5)
    assert not torch.allclose(sample.target[1], noise - x0[1], atol=1e-2)
    # Unblended, the pair is an ordinary one: its own input and the plain target ε - x_0, with
    # the noise both halves share.
    noise = (sample.noisy[[0, 2]] - 0.8 * x0[[0, 2]]) / 0.2
    assert torch.allclose(noise[0], noise[1], atol=1e-5)
    assert torch.allclose(sample.target[[0, 2]], noise - x0[[0, 2]], atol=1e-5)


def test_pair_loss_counts_only_what_differs_between_a_pair() -> None:
    generator = torch.Generator().manual_seed(0)
    common = torch.randn(2, 16, 5, 4, 4, generator=generator)
    differential = 0.1 * torch.randn(2, 16, 5, 4, 4, generator=generator)
    ones = torch.ones(4, 1, 5, 4, 4)
    # An error both samples of a pair share (the noise no model can predict) costs nothing.
    assert pair_loss(torch.cat([common, common]), ones).item() == 0.0
    error = torch.cat([common + differential, common - differential])
    expected = 4 * differential.pow(2).mean()
    assert torch.allclose(pair_loss(error, ones), expected)
    # A position counts by the larger of the pair's two weights.
    weights = ones.clone()
    weights[2:, :, 0] = 5.0
    per_frame = 4 * differential.pow(2).mean(dim=(0, 1, 3, 4))
    frame_weights = torch.tensor([5.0, 1, 1, 1, 1])
    expected = (per_frame * frame_weights).sum() / frame_weights.sum()
    assert torch.allclose(pair_loss(error, weights), expected)


def _video(levels: list[float]) -> torch.Tensor:
    """[1, 3, F, 8, 8] grey frames at the given levels in [-1, 1]."""
    frames = torch.tensor(levels).view(1, 1, -1, 1, 1)
    return frames.expand(1, 3, -1, 8, 8).clone()


def test_lighting_loss_is_zero_for_a_steady_fade_and_high_for_flicker() -> None:
    fade = _video([0.5 - 0.05 * i for i in range(17)])
    flicker = _video([0.5 + (0.2 if i % 2 else 0.0) for i in range(17)])
    assert torch.allclose(luminance(fade)[0, :2], torch.tensor([0.5, 0.45]), atol=1e-6)
    assert lighting_consistency_loss(fade).item() < 1e-10
    assert lighting_consistency_loss(flicker).item() > 0.1


def test_lighting_loss_hinges_on_large_steady_jumps() -> None:
    # Constant change (no jerk), but each step is above the 0.08 threshold.
    steep = _video([0.9 - 0.1 * i for i in range(17)])
    assert abs(lighting_consistency_loss(steep).item() - 0.02**2) < 1e-6


def test_object_weights_cover_the_object_and_its_whole_path(tmp_path) -> None:
    from kino.demo.architecture import VAE_STRIDE
    from kino.training.data import VideoPool

    pool = VideoPool.render(1, tmp_path / "videos.npy", limit=40)
    index = next(
        i
        for i, s in enumerate(pool.scenes)
        if s.motion == "left_to_right" and s.shape in ("circle", "square")
    )
    weights = pool.object_weights(8.0, VAE_STRIDE)
    assert weights.shape == (len(pool), 1, 5, 16, 16)
    assert weights.min() == 1.0 and weights.max() == 15.0
    path = pool.tracks(index)
    half = path.height[0] * 16 / 2
    # Every latent frame weights the whole path, 8 where the object is not in that frame.
    assert torch.equal(weights[index, 0, 0] > 1, weights[index, 0, 4] > 1)
    assert (weights[index, 0, 0] == 8.0).any()
    path_cols = (weights[index, 0, 0] > 1).any(dim=0).nonzero().flatten()
    assert abs(path_cols.min().item() - (path.x[0] * 16 - half)) < 1.1
    assert abs(path_cols.max().item() + 1 - (path.x[-1] * 16 + half)) < 1.1
    # Latent frame 0 is video frame 0; latent frame 4 folds frames 13-16.
    for latent_frame, frames in ((0, [0]), (4, [13, 14, 15, 16])):
        object_cols = (weights[index, 0, latent_frame] > 8).any(dim=0).nonzero().flatten()
        xs = [path.x[f] * 16 for f in frames]
        # Within the quarter-pixel anti-aliasing of an edge that falls on a column boundary.
        assert abs(object_cols.min().item() - (min(xs) - half)) < 1.1
        assert abs(object_cols.max().item() + 1 - (max(xs) + half)) < 1.1
    # Latents the path never crosses keep weight 1: the background is most of every frame.
    assert (weights[index] == 1).float().mean() > 0.6


def test_shape_partners_share_the_path_colour_motion_and_light(tmp_path) -> None:
    from kino.demo import world
    from kino.training.data import VideoPool

    pool = VideoPool.render(1, tmp_path / "videos.npy", limit=60)
    partners = pool.partners(np.random.default_rng(0), tmp_path / "partners.npy")
    assert len(partners) == len(pool)
    shapes = set()
    for index, (scene, partner) in enumerate(zip(pool.scenes, partners.scenes, strict=True)):
        assert partner.shape != scene.shape and not world.is_held_out(partner)
        assert (partner.colour, partner.motion, partner.lighting) == (
            scene.colour,
            scene.motion,
            scene.lighting,
        )
        shapes.add((scene.shape, partner.shape))
        # The same path, so the videos are equal wherever neither object reaches.
        neither = (pool.coverage[index] == 0) & (partners.coverage[index] == 0)
        assert np.array_equal(pool.videos[index][neither], partners.videos[index][neither])
        assert not np.array_equal(pool.videos[index], partners.videos[index])
        assert np.allclose(pool.tracks(index).x, partners.tracks(index).x)
    assert len(shapes) == 6
    # Cached: a second call reads the same videos back.
    again = pool.partners(np.random.default_rng(0), tmp_path / "partners.npy")
    assert np.array_equal(again.videos, partners.videos)


def test_pixel_weights_cover_the_object_and_its_edge_and_undo_the_light(tmp_path) -> None:
    from kino.demo import world
    from kino.training.data import VideoPool

    pool = VideoPool.render(1, tmp_path / "videos.npy", limit=40)
    index = next(
        i for i, s in enumerate(pool.scenes) if s.lighting == "night" and s.shape == "circle"
    )
    weights = pool.pixel_weights(index, 8.0)
    assert weights.shape == (17, 64, 64)
    level = world.NIGHT_LEVEL
    path = pool.tracks(index)
    cx, cy = round(path.x[0] * 64), round(path.y[0] * 64)
    edge = round((path.x[0] + path.height[0] / 2) * 64)
    # Inside the circle, and two pixels out from its right edge: the object's weight.
    assert abs(weights[0, cy, cx] - 8.0 / level) < 1e-4
    assert abs(weights[0, cy, edge + 1] - 8.0 / level) < 1e-4
    # Four pixels out, and far away: the background's.
    assert abs(weights[0, cy, edge + 4] - 1.0 / level) < 1e-4
    assert abs(weights[0, 0, 0] - 1.0 / level) < 1e-4


def test_whole_videos_give_the_first_frame_a_latent_frames_share(tmp_path) -> None:
    from kino.training.data import VideoPool
    from kino.training.vae_stage import whole_videos

    pool = VideoPool.render(1, tmp_path / "videos.npy", limit=4)
    batch = whole_videos(pool, np.array([2, 0]), 8.0, temporal_stride=4)
    assert batch.videos.shape == (2, 3, 17, 64, 64)
    for row, index in enumerate((2, 0)):
        expected = torch.from_numpy(pool.pixel_weights(index, 8.0))
        assert torch.allclose(batch.weights[row, 0, 0], 4 * expected[0])
        assert torch.allclose(batch.weights[row, 0, 1:], expected[1:])


def test_reconstruction_loss_is_the_weighted_mean_error() -> None:
    from kino.training.vae_stage import ReconstructionBatch, reconstruction_loss

    videos = torch.zeros(1, 3, 1, 1, 2)
    recon = torch.tensor([0.1, 0.4]).view(1, 1, 1, 1, 2).expand(1, 3, 1, 1, 2)
    # The second pixel counts three times as much as the first.
    weights = torch.tensor([1.0, 3.0]).view(1, 1, 1, 1, 2)
    losses = reconstruction_loss(recon, ReconstructionBatch(videos, weights))
    mse = (0.01 * 1 + 0.16 * 3) / 4
    l1 = (0.1 * 1 + 0.4 * 3) / 4
    assert abs(losses["loss"].item() - (mse + l1)) < 1e-6
    # The logged PSNR is the plain one: mean squared error 0.085 over a range of 2.
    assert abs(losses["psnr"].item() - 10 * np.log10(4 / 0.085)) < 1e-4
