"""MRMC analysis against the field's programs: every figure the Iowa OR-DBM MRMC 2.51 program
printed for Van Dyke and Franken (OR), JAFROC 4.2.1's DBM tests for Van Dyke, and RJafroc 3.6.1's
stored full-precision values (tests/data/mrmc/PROVENANCE.md says where each file came from)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dermstudy.analysis import mrmc
from tests.analysis.mrmc_printed import decimals, iowa, jafroc
from tests.conftest import DATA

MRMC = DATA / "mrmc"
GOOD = json.loads((MRMC / "rjafroc_goodvalues361.json").read_text())
DATASETS = {"vandyke": "dataset02", "franken": "dataset03"}


def same(value: float, printed: str) -> None:
    """Our value rounded to the printed number of decimals reads exactly as printed."""
    ours = f"{value:.{decimals(printed)}f}"
    if ours == "-" + printed.lstrip("-") and float(printed) == 0:
        ours = printed  # "-0.00000" and "0.00000" are the same figure
    assert ours == printed, f"{value!r} prints as {ours}, the program printed {printed}"


@pytest.fixture(scope="module", params=["vandyke", "franken"])
def case(request):
    name = request.param
    ratings = mrmc.read_ratings_csv(MRMC / f"{name}.csv")
    return (
        name,
        ratings,
        mrmc.analyse(ratings, "or", "jackknife"),
        mrmc.analyse(ratings, "dbm"),
        iowa(MRMC / f"iowa_{name}.txt"),
    )


def test_design_read_from_csv(case):
    name, ratings, *_ = case
    t, r, c = ratings.shape
    assert (t, r, c) == {"vandyke": (2, 5, 114), "franken": (2, 4, 100)}[name]
    assert int(ratings.truth.sum()) == {"vandyke": 45, "franken": 67}[name]


def test_aucs_and_or_anova_match_iowa(case):
    _, _, res, _, printed = case
    aucs = {(a["modality"], a["reader"]): a["auc"] for a in res["reader_aucs"]}
    for j, row in enumerate(printed["reader_aucs"]):
        for i, value in enumerate(row):
            same(aucs[(str(i), str(j))], value)
    for i, value in enumerate(printed["means"]):
        same(res["modality_aucs"][i]["auc"], value)
    comp = res["analysis"]["components"]
    same(comp["ms_t"], printed["anova"]["T"][2])
    same(comp["ms_r"], printed["anova"]["R"][2])
    same(comp["ms_tr"], printed["anova"]["T*R"][2])
    for i, value in enumerate(printed["ms_r_each"]):
        same(comp["per_modality"][i]["ms_r"], value)


def test_variance_components_match_iowa(case):
    _, _, res, dbm, printed = case
    comp = res["analysis"]["components"]
    orc = printed["or_components"]
    same(comp["var_r"], orc["Var(R)"][0])
    same(comp["var_tr"], orc["Var(T*R)"][0])
    same(comp["var_error"], orc["Var(Error)"][0])
    for k in ("1", "2", "3"):
        same(comp[f"cov{k}"], orc[f"COV{k}"][0])
        same(comp[f"rho_{k}"], orc[f"COV{k}"][1])
    names = {
        "Var(R)": "var_r",
        "Var(C)": "var_c",
        "Var(T*R)": "var_tr",
        "Var(T*C)": "var_tc",
        "Var(R*C)": "var_rc",
        "Var(T*R*C) + Var(Error)": "var_error",
    }
    assert set(printed["dbm_components"]) == set(names)
    for label, key in names.items():
        same(dbm["analysis"]["components"][key], printed["dbm_components"][label])


def test_random_readers_random_cases_match_iowa(case):
    _, _, res, _, printed = case
    rrrc = res["analysis"]["rrrc"]
    _, _ms_t, f, p = printed["rrrc"]["treatment"]
    same(rrrc["f"], f)
    same(rrrc["p"], p)
    ddf, error_ms = printed["rrrc"]["error"]
    same(rrrc["ddf"], ddf)
    same(rrrc["error_ms"], error_ms)
    [(diff, se, df, t, p, low, high)] = printed["rrrc"]["diff"]
    [row] = rrrc["differences"]
    for key, value in zip(
        ("difference", "se", "df", "t", "p", "ci_low", "ci_high"),
        (diff, se, df, t, p, low, high),
        strict=True,
    ):
        same(row[key], value)
    for ours, (_, auc, se, df, low, high, _cov2) in zip(
        rrrc["single"], printed["rrrc"]["single"], strict=True
    ):
        for key, value in zip(
            ("auc", "se", "df", "ci_low", "ci_high"), (auc, se, df, low, high), strict=True
        ):
            same(ours[key], value)
    for i, (_, _, _, _, _, _, cov2) in enumerate(printed["rrrc"]["single"]):
        same(res["analysis"]["components"]["per_modality"][i]["cov2"], cov2)


def test_fixed_readers_match_iowa(case):
    _, _, res, _, printed = case
    frrc = res["analysis"]["frrc"]
    x2, df, p = printed["frrc"]["chi2"]
    same(frrc["chi2"], x2)
    assert frrc["df"] == int(df)
    same(frrc["p"], p)
    [(diff, se, z, p, low, high)] = printed["frrc"]["diff"]
    [row] = frrc["differences"]
    for key, value in zip(
        ("difference", "se", "z", "p", "ci_low", "ci_high"),
        (diff, se, z, p, low, high),
        strict=True,
    ):
        same(row[key], value)
    for ours, (_, auc, se, low, high) in zip(
        frrc["single"], printed["frrc"]["single"], strict=True
    ):
        for key, value in zip(
            ("auc", "se", "ci_low", "ci_high"), (auc, se, low, high), strict=True
        ):
            same(ours[key], value)
    comp = res["analysis"]["components"]
    for i, (_, var, cov2) in enumerate(printed["frrc"]["var_cov2"]):
        same(comp["per_modality"][i]["var"], var)
        same(comp["per_modality"][i]["cov2"], cov2)
    assert len(frrc["per_reader"]) == len(printed["frrc"]["per_reader"])
    for ours, (_, diff, se, z, p, low, high) in zip(
        frrc["per_reader"], printed["frrc"]["per_reader"], strict=True
    ):
        for key, value in zip(
            ("difference", "se", "z", "p", "ci_low", "ci_high"),
            (diff, se, z, p, low, high),
            strict=True,
        ):
            same(ours[key], value)
    for j, (_, var, cov1) in enumerate(printed["frrc"]["var_cov1"]):
        same(comp["per_reader"][j]["var"], var)
        same(comp["per_reader"][j]["cov1"], cov1)


def test_random_readers_fixed_cases_match_iowa(case):
    _, _, res, _, printed = case
    rrfc = res["analysis"]["rrfc"]
    _, _ms_t, f, p = printed["rrfc"]["treatment"]
    same(rrfc["f"], f)
    same(rrfc["p"], p)
    df, ms_tr = printed["rrfc"]["tr"]
    assert rrfc["ddf"] == int(df)
    same(rrfc["error_ms"], ms_tr)
    [(diff, se, df, t, p, low, high)] = printed["rrfc"]["diff"]
    [row] = rrfc["differences"]
    for key, value in zip(
        ("difference", "se", "t", "p", "ci_low", "ci_high"),
        (diff, se, t, p, low, high),
        strict=True,
    ):
        same(row[key], value)
    assert row["df"] == int(df)
    for ours, (_, auc, _ms_r, se, df, low, high) in zip(
        rrfc["single"], printed["rrfc"]["single"], strict=True
    ):
        for key, value in zip(
            ("auc", "se", "ci_low", "ci_high"), (auc, se, low, high), strict=True
        ):
            same(ours[key], value)
        assert ours["df"] == int(df)


def test_dbm_tests_match_jafroc_van_dyke():
    """JAFROC 4.2.1 computed in single precision, so only its 2-5 decimal test figures are compared
    (its 8-decimal AUCs differ from the exact ones in the 8th place)."""
    ratings = mrmc.read_ratings_csv(MRMC / "vandyke.csv")
    res = mrmc.analyse(ratings, "dbm")["analysis"]
    printed = jafroc(MRMC / "jafroc_vandyke.txt")
    for key in ("rrrc", "frrc", "rrfc"):
        _, _, f, p = printed[key]["treatment"]
        same(res[key]["f"], f)
        same(res[key]["p"], p)
        same(res[key]["ddf"], printed[key]["error"][0])
        diff, se, df, t, p, low, high = printed[key]["diff"]
        [row] = res[key]["differences"]
        for name, value in zip(
            ("difference", "se", "df", "t", "p", "ci_low", "ci_high"),
            (diff, se, df, t, p, low, high),
            strict=True,
        ):
            same(row[name], value)
    for ours, row in zip(res["frrc"]["per_reader"], printed["frrc"]["per_reader"], strict=True):
        for name, value in zip(
            ("difference", "se", "df", "t", "p", "ci_low", "ci_high"), row, strict=True
        ):
            same(ours[name], value)


# --- RJafroc 3.6.1 full-precision values -------------------------------------------------------


def close(ours: float, theirs: float) -> None:
    assert ours == pytest.approx(theirs, rel=1e-10, abs=1e-13)


def _one(table: dict) -> dict:
    [value] = table.values()
    return value


@pytest.mark.parametrize("name", ["vandyke", "franken"])
def test_or_matches_rjafroc_full_precision(name):
    good = GOOD[f"UtilOutputReport_{DATASETS[name]}-OR-Wilcoxon.rds"]
    ratings = mrmc.read_ratings_csv(MRMC / f"{name}.csv")
    res = mrmc.analyse(ratings, "or")["analysis"]
    np.testing.assert_allclose(
        np.array(good["FOMs"]["foms"]["values"]),
        mrmc.wilcoxon_aucs(ratings),
        rtol=1e-12,
    )
    var = good["ANOVA"]["VarCom"]
    comp = res["components"]
    for ours, theirs in (
        ("cov1", "Cov1"),
        ("cov2", "Cov2"),
        ("cov3", "Cov3"),
        ("var_error", "Var"),
    ):
        close(comp[ours], var[theirs]["Estimates"])
        if ours != "var_error":
            close(comp[f"rho_{ours[-1]}"], var[theirs]["Rhos"])
    if comp["cov2"] >= comp["cov3"]:
        # RJafroc truncates Cov2 - Cov3 at 0 inside Var(R) and Var(TxR); equal when Cov2 >= Cov3.
        close(comp["var_r"], var["VarR"]["Estimates"])
        close(comp["var_tr"], var["VarTR"]["Estimates"])
    rrrc = good["RRRC"]
    close(res["rrrc"]["f"], rrrc["FTests"]["Treatment"]["FStat"])
    close(res["rrrc"]["p"], rrrc["FTests"]["Treatment"]["p"])
    close(res["rrrc"]["ddf"], rrrc["FTests"]["Error"]["DF"])
    close(res["rrrc"]["error_ms"], rrrc["FTests"]["Error"]["MS"])
    diff = _one(rrrc["ciDiffTrt"])
    [row] = res["rrrc"]["differences"]
    for ours, theirs in (
        ("difference", "Estimate"),
        ("se", "StdErr"),
        ("t", "t"),
        ("p", "PrGTt"),
        ("ci_low", "CILower"),
        ("ci_high", "CIUpper"),
    ):
        close(row[ours], diff[theirs])
    for ours, theirs in zip(
        res["rrrc"]["single"], rrjs := list(rrrc["ciAvgRdrEachTrt"].values()), strict=True
    ):
        for a, b in (
            ("auc", "Estimate"),
            ("se", "StdErr"),
            ("df", "DF"),
            ("ci_low", "CILower"),
            ("ci_high", "CIUpper"),
        ):
            close(ours[a], theirs[b])
    assert len(rrjs) == 2
    frrc = good["FRRC"]
    close(res["frrc"]["chi2"], frrc["FTests"]["Treatment"]["Chisq"])
    close(res["frrc"]["p"], frrc["FTests"]["Treatment"]["p"])
    close(res["frrc"]["error_ms"], frrc["FTests"]["Error"]["MS"])
    diff = _one(frrc["ciDiffTrt"])
    [row] = res["frrc"]["differences"]
    for ours, theirs in (
        ("se", "StdErr"),
        ("z", "z"),
        ("p", "PrGTz"),
        ("ci_low", "CILower"),
        ("ci_high", "CIUpper"),
    ):
        close(row[ours], diff[theirs])
    for ours, theirs in zip(
        res["frrc"]["per_reader"], frrc["ciDiffTrtEachRdr"].values(), strict=True
    ):
        for a, b in (
            ("difference", "Estimate"),
            ("se", "StdErr"),
            ("z", "z"),
            ("p", "PrGTz"),
            ("ci_low", "CILower"),
            ("ci_high", "CIUpper"),
        ):
            close(ours[a], theirs[b])
    for ours, theirs in zip(res["frrc"]["single"], frrc["ciAvgRdrEachTrt"].values(), strict=True):
        for a, b in (("se", "StdErr"), ("ci_low", "CILower"), ("ci_high", "CIUpper")):
            close(ours[a], theirs[b])
    rrfc = good["RRFC"]
    close(res["rrfc"]["f"], rrfc["FTests"]["T"]["F"])
    close(res["rrfc"]["p"], rrfc["FTests"]["T"]["p"])
    for ours, theirs in zip(res["rrfc"]["single"], rrfc["ciAvgRdrEachTrt"].values(), strict=True):
        for a, b in (("se", "StdErr"), ("ci_low", "CILower"), ("ci_high", "CIUpper")):
            close(ours[a], theirs[b])


@pytest.mark.parametrize("name", ["vandyke", "franken"])
def test_dbm_matches_rjafroc_full_precision(name):
    good = GOOD[f"UtilOutputReport_{DATASETS[name]}-DBM-Wilcoxon.rds"]
    ratings = mrmc.read_ratings_csv(MRMC / f"{name}.csv")
    res = mrmc.analyse(ratings, "dbm")["analysis"]
    for source, ms in good["ANOVA"]["TRCanova"].items():
        if source != "Total":
            close(res["mean_squares"][source], ms["MS"])
    for key, theirs in zip(
        ("var_r", "var_c", "var_tr", "var_tc", "var_rc", "var_error"),
        good["ANOVA"]["VarCom"].values(),
        strict=True,
    ):
        close(res["components"][key], theirs["Estimates"])
    trt = good["ANOVA"]["IndividualTrt"]
    for i, column in enumerate(list(trt["msR"])[1:]):
        for ours, theirs in (("ms_r", "msR"), ("ms_c", "msC"), ("ms_rc", "msRC")):
            close(res["mean_squares_per_modality"][i][ours], trt[theirs][column])
    for key in ("RRRC", "FRRC", "RRFC"):
        ftests = good[key]["FTests"]
        ours = res[key.lower()]
        close(ours["f"], ftests["Treatment"]["FStat"])
        close(ours["p"], ftests["Treatment"]["p"])
        close(ours["ddf"], ftests["Error"]["DF"])
        close(ours["error_ms"], ftests["Error"]["MS"])
        diff = _one(good[key]["ciDiffTrt"])
        [row] = ours["differences"]
        for a, b in (
            ("se", "StdErr"),
            ("df", "DF"),
            ("t", "t"),
            ("p", "PrGTt"),
            ("ci_low", "CILower"),
            ("ci_high", "CIUpper"),
        ):
            close(row[a], diff[b])
        for mine, theirs in zip(ours["single"], good[key]["ciAvgRdrEachTrt"].values(), strict=True):
            for a, b in (
                ("se", "StdErr"),
                ("df", "DF"),
                ("ci_low", "CILower"),
                ("ci_high", "CIUpper"),
            ):
                close(mine[a], theirs[b])


def test_delong_and_dbm_components_match_rjafroc_van_dyke():
    ratings = mrmc.read_ratings_csv(MRMC / "vandyke.csv")
    good = GOOD["UtilVarComponents_DeLongDataset02.rds"]["VarCom"]
    comp = mrmc.analyse(ratings, "or", "delong")["analysis"]["components"]
    for ours, theirs in (
        ("var_r", "VarR"),
        ("var_tr", "VarTR"),
        ("cov1", "Cov1"),
        ("cov2", "Cov2"),
        ("cov3", "Cov3"),
        ("var_error", "Var"),
    ):
        close(comp[ours], good[theirs]["Estimates"])
    ms = GOOD["MeanSquares_dataset02Wilcoxon-DBM.rds"]
    res = mrmc.analyse(ratings, "or")
    for source in ("T", "R", "C", "TR", "TC", "RC", "TRC"):
        close(res["dbm_mean_squares"][source], ms[f"ms{source}"][0])


def test_bootstrap_covariance_is_seeded_and_near_the_jackknife():
    ratings = mrmc.read_ratings_csv(MRMC / "vandyke.csv")
    a = mrmc.auc_covariance(ratings, "bootstrap", n_boot=400, seed=5)
    b = mrmc.auc_covariance(ratings, "bootstrap", n_boot=400, seed=5)
    assert np.array_equal(a, b)
    jack = mrmc.auc_covariance(ratings, "jackknife")
    assert np.mean(np.diag(a)) == pytest.approx(np.mean(np.diag(jack)), rel=0.3)


# --- Sizing: RJafroc's published Van Dyke example ---------------------------------------------


def test_power_and_cases_match_rjafroc_van_dyke_example():
    """RJafroc's tests (SsPowerGivenJK J=6 K=111 -> 0.5526116, tolerance 5e-8;
    SsSampleSizeKGivenJ J=6 -> K=251) and its sample-size vignette (J=6 K=112 -> 0.5555789, ncp 4.8,
    ddf 23.1, F 4.28; J=10 -> K=163 at 0.8015625; 90 % power -> K=236 at 0.9003501; RRFC J=10 ->
    K=53 at 0.8049666; the power table J=4..20), all from dataset02 = Van Dyke."""
    comp = mrmc.pilot_components(mrmc.read_ratings_csv(MRMC / "vandyke.csv"))
    effect = comp["effect"]
    assert mrmc.power(6, 111, effect, comp)["power"] == pytest.approx(0.5526116, abs=5e-8)
    at112 = mrmc.power(6, 112, effect, comp)
    assert at112["power"] == pytest.approx(0.5555789, abs=5e-8)
    assert (round(at112["ncp"], 1), round(at112["ddf"], 1)) == (4.8, 23.1)
    assert round(at112["critical_value"], 2) == 4.28
    assert mrmc.cases_for_power(6, effect, comp)["cases"] == 251
    ten = mrmc.cases_for_power(10, effect, comp)
    assert (ten["cases"], round(ten["power"], 7)) == (163, 0.8015625)
    ninety = mrmc.cases_for_power(10, effect, comp, target=0.9)
    assert (ninety["cases"], round(ninety["power"], 7)) == (236, 0.9003501)
    rrfc = mrmc.cases_for_power(10, effect, comp, analysis="rrfc")
    assert (rrfc["cases"], round(rrfc["power"], 7)) == (53, 0.8049666)
    table = {4: 1089, 5: 344, 7: 211, 8: 188, 9: 173, 12: 149, 15: 137, 20: 126}
    for readers, cases in table.items():
        assert mrmc.cases_for_power(readers, effect, comp)["cases"] == cases


def test_rrfc_sizing_says_when_more_cases_cannot_help():
    comp = mrmc.pilot_components(mrmc.read_ratings_csv(MRMC / "vandyke.csv"))
    with pytest.raises(mrmc.MrmcInputError, match="add readers"):
        mrmc.cases_for_power(2, 0.01, comp, analysis="rrfc")


# --- The command -----------------------------------------------------------------------------


def run_cli(capsys, *argv):
    from dermstudy.cli import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_prints_the_iowa_figures(capsys, tmp_path):
    code, out, _ = run_cli(
        capsys, "mrmc", str(MRMC / "vandyke.csv"), "--xlsx", str(tmp_path / "m.xlsx")
    )
    assert code == 0
    assert "F(1, 15.26) = 4.46, p = 0.0517" in out
    assert "95% CI (-0.08796, 0.00036)" in out
    assert "X2(1) = 5.47595, p = 0.0193" in out
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "m.xlsx", read_only=True)
    rows = list(wb[wb.sheetnames[1]].iter_rows(values_only=True))
    assert rows[0][0] == "Test of equal modality AUCs"
    assert rows[3][:3] == ("Random readers, random cases", "F", pytest.approx(4.456318693157))


def test_cli_json_is_strict_and_dbm_differs_only_where_it_should(capsys):
    code, out, _ = run_cli(capsys, "mrmc", str(MRMC / "franken.csv"), "--method", "dbm", "--json")
    assert code == 0
    dbm = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    _, out, _ = run_cli(capsys, "mrmc", str(MRMC / "franken.csv"), "--json")
    orr = json.loads(out)
    # With the jackknife and empirical AUC the RRRC test is the same in OR and DBM (Hillis 2005);
    # the fixed-reader tests are not (chi-square vs F on MS(TC)).
    assert dbm["analysis"]["rrrc"]["f"] == pytest.approx(orr["analysis"]["rrrc"]["f"], rel=1e-12)
    assert dbm["analysis"]["frrc"]["p"] == pytest.approx(0.5476970, abs=1e-7)
    assert orr["analysis"]["frrc"]["p"] == pytest.approx(0.5709992, abs=1e-7)


def test_cli_size(capsys):
    code, out, _ = run_cli(
        capsys, "mrmc", "size", str(MRMC / "vandyke.csv"), "--readers", "6", "--json"
    )
    assert code == 0
    [design] = json.loads(out)["designs"]
    assert design["cases"] == 251


def test_one_modality_gives_the_single_modality_analysis_only(tmp_path, capsys):
    lines = (MRMC / "vandyke.csv").read_text().splitlines()
    one = [lines[0]] + [row for row in lines[1:] if row.split(",")[2] == "1"]
    path = tmp_path / "one.csv"
    path.write_text("\n".join(one) + "\n")
    code, out, _ = run_cli(capsys, "mrmc", str(path), "--json")
    assert code == 0
    res = json.loads(out)["analysis"]
    assert "f" not in res["rrrc"] and "differences" not in res["rrrc"]
    [single] = res["rrrc"]["single"]
    # Iowa part 1(c), treatment 2 of Van Dyke: the same figures from one modality alone
    same(single["ci_low"], "0.89413783")
    same(single["df"], "12.71")


def _edit(tmp_path, change):
    lines = (MRMC / "vandyke.csv").read_text().splitlines()
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(change(lines)) + "\n")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda ls: [ls[0].replace("truth", "label"), *ls[1:]], "missing column truth"),
        (
            lambda ls: [*ls[:2], ls[2].replace(",0,0,", ",0,1,"), *ls[3:]],
            "case 2 has truth 0 here but 1 in row 3",
        ),
        (lambda ls: ls[:5] + ls[7:], "reader 0 has no rating for 2 of 114 cases in modality 0"),
        (lambda ls: [*ls[:3], ls[3][:-1] + "x", *ls[4:]], "row 4: rating 'x' is not a number"),
        (lambda ls: [ls[0]] + [r for r in ls[1:] if r.startswith("0,")], "at least 2 readers"),
        (lambda ls: [*ls, ls[1]], "rated case 1 in modality 0 twice"),
    ],
)
def test_bad_tables_get_one_line_and_exit_2(tmp_path, capsys, change, message):
    path = _edit(tmp_path, change)
    code, _out, err = run_cli(capsys, "mrmc", str(path))
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and str(path) in err
