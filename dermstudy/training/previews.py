"""Per-entity preview grids sampled during training with the engine's DDIM sampler (few steps).

Rows follow the report order of the entities; each row starts with the entity code. The noise of
every tile comes from a fixed seed, so grids from different steps of a run are directly comparable.
Base model: ``per_entity`` samples per row. Upsampler: for each entity one training image's 64-px
low-res input (enlarged) next to the upsampled result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from dermstudy.entities import BY_CODE, CODES
from dermstudy.files import atomic_path
from dermstudy.glide.diffusion import Diffusion
from dermstudy.glide.pipeline import DEFAULT_GUIDANCE, Stage, sample_super_res, sample_text
from dermstudy.glide.sampling import RowNoise, to_uint8

LABEL_WIDTH = 56
MIN_TILE = 64


@torch.no_grad()
def sample_previews(
    model: torch.nn.Module,
    options: dict,
    entities: list[str],
    steps: int = 25,
    guidance: float | None = DEFAULT_GUIDANCE,
    per_entity: int = 2,
    low_res: torch.Tensor | None = None,
    seed: int = 1234,
    autocast_dtype: torch.dtype | None = None,
) -> list[list[np.ndarray]]:
    """HWC uint8 tiles per entity. ``low_res`` ([E, 3, h, w] in [-1, 1]) is needed for the upsampler."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()  # dropout off while sampling (the trainer forgot this, spec §8.7)
    try:
        super_res = bool(options.get("super_res"))
        per_row = 1 if super_res else per_entity
        prompts = [BY_CODE[code].prompt for code in entities for _ in range(per_row)]
        diffusion = Diffusion.from_options(
            options, respacing=f"ddim{steps}" if steps < 1000 else ""
        )
        stage = Stage(model, options, diffusion, "ddim", autocast_dtype)
        noise = RowNoise([seed + i for i in range(len(prompts))], device)
        if super_res:
            assert low_res is not None
            # The notebook upsamples without guidance, from noise scaled by its temperature.
            x = sample_super_res(stage, prompts, low_res.to(device), noise)
        else:
            x = sample_text(stage, prompts, noise, guidance or None)
        images = to_uint8(x).cpu().numpy()
    finally:
        model.train(was_training)
    rows = []
    for e in range(len(entities)):
        tiles = list(images[e * per_row : (e + 1) * per_row])
        if super_res:
            assert low_res is not None
            tiles.insert(0, to_uint8(low_res[e : e + 1].float().cpu())[0].numpy())
        rows.append(tiles)
    return rows


def grid_image(rows: list[list[np.ndarray]], entities: list[str], title: str = "") -> Image.Image:
    """Rows of tiles with the entity code on the left; small tiles are enlarged (nearest)."""
    tile = max(MIN_TILE, max(t.shape[0] for row in rows for t in row))
    columns = max(len(row) for row in rows)
    top = 16 if title else 0
    canvas = Image.new(
        "RGB", (LABEL_WIDTH + columns * (tile + 2), top + len(rows) * (tile + 2)), "white"
    )
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((4, 2), title, fill="black")
    for r, (code, row) in enumerate(zip(entities, rows, strict=True)):
        y = top + r * (tile + 2)
        draw.text((4, y + tile // 2 - 6), code, fill="black")
        for c, array in enumerate(row):
            image = Image.fromarray(array).resize((tile, tile), Image.Resampling.NEAREST)
            canvas.paste(image, (LABEL_WIDTH + c * (tile + 2), y))
    return canvas


def preview_entities(config_entities: list[str]) -> list[str]:
    """The entities a run trains on, in report order."""
    return [code for code in CODES if not config_entities or code in config_entities]


def save_preview(image: Image.Image, path: Path) -> Path:
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path
