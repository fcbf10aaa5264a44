"""Image conditioning follows the official preprocessing."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from kino.engine import conditioning


def test_image_to_tensor_range() -> None:
    image = Image.fromarray(np.array([[[0, 255, 51]]], dtype=np.uint8))
    tensor = conditioning.image_to_tensor(image)
    assert tensor.shape == (3, 1, 1)
    assert torch.allclose(tensor.flatten(), torch.tensor([-1.0, 1.0, 51 / 255 * 2 - 1]))


def test_latent_grid_follows_the_official_formula() -> None:
    # A 4:3 image at 832*480 area: sqrt(399360 * 0.75) = 547.3 -> 547 // 8 // 2 * 2 = 68
    assert conditioning.latent_grid(832 * 480, 0.75, (4, 8, 8), (1, 2, 2)) == (68, 90)
    # sqrt(399360 * 480/832) is 479.99999999999994 in floating point, so the official grid
    # for an 832x480 image at 832*480 is 58x104 latents, i.e. an 832x464 video.
    assert conditioning.latent_grid(832 * 480, 480 / 832, (4, 8, 8), (1, 2, 2)) == (58, 104)


def test_i2v_mask_marks_the_first_frame() -> None:
    mask = conditioning.frame_mask(9, 2, 3, keep_last=False, device=torch.device("cpu"))
    assert mask.shape == (4, 3, 2, 3)
    assert mask[:, 0].eq(1).all() and mask[:, 1:].eq(0).all()


def test_flf2v_mask_marks_first_and_last_for_any_frame_count() -> None:
    mask = conditioning.frame_mask(17, 2, 2, keep_last=True, device=torch.device("cpu"))
    assert mask.shape == (4, 5, 2, 2)
    assert mask[:, 0].eq(1).all()
    # The last pixel frame (16) is the 4th slot of latent frame 4.
    assert mask[3, 4].eq(1).all() and mask[:3, 4].eq(0).all()
    assert mask[:, 1:4].eq(0).all()


def test_conditioning_video_puts_frames_at_the_ends() -> None:
    first = torch.full((3, 8, 8), 0.5)
    last = torch.full((3, 8, 8), -0.5)
    video = conditioning.conditioning_video(first, last, 5, 4, 4)
    assert video.shape == (3, 5, 4, 4)
    assert torch.allclose(video[:, 0], torch.full((3, 4, 4), 0.5))
    assert torch.allclose(video[:, -1], torch.full((3, 4, 4), -0.5))
    assert video[:, 1:-1].eq(0).all()


def test_clip_pixels_squash_instead_of_crop() -> None:
    wide = torch.zeros(3, 10, 40)
    wide[:, :, :5] = 1.0  # white strip at the far left survives a squash, not a centre crop
    pixels = conditioning.clip_pixels([wide], 224)
    assert pixels.shape == (1, 3, 224, 224)
    white = (1.0 - torch.tensor(conditioning.CLIP_MEAN)) / torch.tensor(conditioning.CLIP_STD)
    assert torch.allclose(pixels[0, :, 112, 2], white, atol=1e-4)


def test_last_frame_of_another_size_is_cropped_as_official() -> None:
    first = Image.new("RGB", (80, 40))
    last = Image.new("RGB", (40, 40), (255, 255, 255))
    # ratio 2 -> size [80, 80] read as (height 80, width 80): zero-padded to 80x80
    aligned = conditioning.align_last_frame(first, last)
    assert aligned.shape == (3, 80, 80)
    assert aligned[:, 40, 40].eq(1).all() and aligned[:, 0, 0].eq(0).all()


def test_best_output_size_for_ti2v() -> None:
    assert conditioning.best_output_size(1280, 704, 32, 32, 1280 * 704) == (1280, 704)
    ow, oh = conditioning.best_output_size(1000, 1000, 32, 32, 1280 * 704)
    assert ow % 32 == 0 and oh % 32 == 0 and ow * oh <= 1280 * 704
    assert abs(ow / oh - 1.0) < 0.05


def test_ti2v_image_is_cropped_to_the_best_size() -> None:
    image = Image.new("RGB", (1920, 1080))
    tensor = conditioning.ti2v_image(image, 1280 * 704, 32, 32)
    assert tensor.shape == (3, 1, 704, 1248)
