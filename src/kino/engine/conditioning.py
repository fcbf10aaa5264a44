"""Image conditioning exactly as the official pipelines prepare it (i2v, flf2v, ti2v)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# OpenAI CLIP normalisation, used by the official CLIPModel.visual.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB → [3, H, W] float32 in [-1, 1] (TF.to_tensor(img).sub_(0.5).div_(0.5))."""
    array = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
    return array.permute(2, 0, 1).float().div(255).sub_(0.5).div_(0.5)


def latent_grid(
    max_area: int,
    aspect_ratio: float,
    vae_stride: tuple[int, int, int],
    patch_size: tuple[int, int, int],
) -> tuple[int, int]:
    """Latent (height, width) for an image of the given h/w ratio under max_area pixels."""
    lat_h = round(
        np.sqrt(max_area * aspect_ratio) // vae_stride[1] // patch_size[1] * patch_size[1]
    )
    lat_w = round(
        np.sqrt(max_area / aspect_ratio) // vae_stride[2] // patch_size[2] * patch_size[2]
    )
    return int(lat_h), int(lat_w)


def frame_mask(
    frame_num: int, lat_h: int, lat_w: int, keep_last: bool, device: torch.device
) -> torch.Tensor:
    """[4, latent frames, lat_h, lat_w]: 1 where a frame is given, folded 4 frames per latent."""
    mask = torch.ones(1, frame_num, lat_h, lat_w, device=device)
    if keep_last:
        mask[:, 1:-1] = 0
    else:
        mask[:, 1:] = 0
    mask = torch.concat([torch.repeat_interleave(mask[:, 0:1], repeats=4, dim=1), mask[:, 1:]], 1)
    mask = mask.view(1, mask.shape[1] // 4, 4, lat_h, lat_w)
    return mask.transpose(1, 2)[0]


def center_crop(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """torchvision.transforms.functional.center_crop on a [C, H, W] tensor (zero-padded)."""
    _, image_h, image_w = image.shape
    if width > image_w or height > image_h:
        left = (width - image_w) // 2 if width > image_w else 0
        top = (height - image_h) // 2 if height > image_h else 0
        right = (width - image_w + 1) // 2 if width > image_w else 0
        bottom = (height - image_h + 1) // 2 if height > image_h else 0
        image = F.pad(image, [left, right, top, bottom], value=0.0)
        _, image_h, image_w = image.shape
        if width == image_w and height == image_h:
            return image
    top = round((image_h - height) / 2.0)
    left = round((image_w - width) / 2.0)
    return image[:, top : top + height, left : left + width]


def align_last_frame(first: Image.Image, last: Image.Image) -> torch.Tensor:
    """The official FLF2V handling of a last frame whose size differs from the first.

    It computes a cover-resize size as [width, height] but passes it to center_crop, which
    reads (height, width), and never resizes. kino keeps that behaviour so that its output
    matches the official one for such inputs.
    """
    last_tensor = image_to_tensor(last)
    if first.size == last.size:
        return last_tensor
    ratio = max(first.size[0] / last.size[0], first.size[1] / last.size[1])
    size = [round(last.size[0] * ratio), round(last.size[1] * ratio)]
    return center_crop(last_tensor, size[0], size[1])


def resize_bicubic(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """[3, H, W] → [3, 1, height, width], on the CPU as the official code does."""
    resized = F.interpolate(image[None].cpu(), size=(height, width), mode="bicubic")
    return resized.transpose(0, 1)


def conditioning_video(
    first: torch.Tensor, last: torch.Tensor | None, frame_num: int, height: int, width: int
) -> torch.Tensor:
    """[3, frame_num, height, width]: the given frame(s) and zeros elsewhere."""
    parts = [resize_bicubic(first, height, width)]
    gap = frame_num - 1 if last is None else frame_num - 2
    parts.append(torch.zeros(3, gap, height, width))
    if last is not None:
        parts.append(resize_bicubic(last, height, width))
    return torch.concat(parts, dim=1)


def clip_pixels(images: list[torch.Tensor], image_size: int) -> torch.Tensor:
    """[N, 3, image_size, image_size]: squash (not crop) each [3, H, W] image, then normalise."""
    pixels = torch.cat(
        [
            F.interpolate(
                image[None], size=(image_size, image_size), mode="bicubic", align_corners=False
            )
            for image in images
        ]
    )
    pixels = pixels.mul_(0.5).add_(0.5)
    mean = torch.tensor(CLIP_MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=pixels.device).view(1, 3, 1, 1)
    return (pixels - mean) / std


def best_output_size(w: int, h: int, dw: int, dh: int, expected_area: int) -> tuple[int, int]:
    """Wan2.2 ti2v: the (width, height) multiple of (dw, dh) under the area closest in ratio."""
    ratio = w / h
    ow = (expected_area * ratio) ** 0.5
    oh = expected_area / ow
    ow1 = int(ow // dw * dw)
    oh1 = int(expected_area / ow1 // dh * dh)
    ratio1 = ow1 / oh1
    oh2 = int(oh // dh * dh)
    ow2 = int(expected_area / oh2 // dw * dw)
    ratio2 = ow2 / oh2
    if max(ratio / ratio1, ratio1 / ratio) < max(ratio / ratio2, ratio2 / ratio):
        return ow1, oh1
    return ow2, oh2


def ti2v_image(image: Image.Image, max_area: int, dw: int, dh: int) -> torch.Tensor:
    """Wan2.2 ti2v: cover-resize (Lanczos) and center-crop to the best size → [3, 1, oh, ow]."""
    ow, oh = best_output_size(image.width, image.height, dw, dh, max_area)
    scale = max(ow / image.width, oh / image.height)
    resized = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    x1 = (resized.width - ow) // 2
    y1 = (resized.height - oh) // 2
    cropped = resized.crop((x1, y1, x1 + ow, y1 + oh))
    return image_to_tensor(cropped).unsqueeze(1)
