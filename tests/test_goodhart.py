"""The conscience study: Gao et al.'s fit against oracles, the study's rows, CLI, the view, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import scalarscope
from scalarscope.errors import ConfigError, SweepError
from scalarscope.sweeps.goodhart_fit import fit_gao, fit_turns, goodhart_summary, observed_turn
from scalarscope.sweeps.goodhart_study import COLUMNS


@pytest.fixture(scope="module")
def study():
    """2 overlaps x 2 seeds x 2 warmups, short runs, in this process."""
    import pandas as pd

    frames = [scalarscope.goodhart([0.0, 0.87], seeds=2, warmup=w, cycles=12, n_jobs=1, progress=False) for w in (6, 10)]
    return pd.concat(frames, ignore_index=True)


def test_fit_recovers_known_parameters_and_its_peak_is_the_argmax():
    rng = np.random.default_rng(0)
    d = np.sort(rng.uniform(0, 8, 400))
    c, alpha, beta = 0.4, 0.3, 0.12
    gold = c + d * (alpha - beta * np.log(np.where(d > 0, d, 1))) + rng.normal(0, 0.005, d.shape)
    fit = fit_gao(d, gold)
    assert (fit.c, fit.alpha, fit.beta) == pytest.approx((c, alpha, beta), abs=0.01)
    grid = np.linspace(1e-6, 20, 200_001)  # oracle: the argmax of the true curve on a fine grid
    true = c + grid * (alpha - beta * np.log(grid))
    assert fit.d_star == pytest.approx(grid[true.argmax()], rel=0.03)
    assert fit.peak == pytest.approx(true.max(), abs=0.01)
    assert fit.r2 > 0.99 and fit_turns(fit, d.max())


def test_a_curve_that_never_turns_has_no_peak():
    d = np.linspace(0, 5, 50)
    fit = fit_gao(d, 0.2 + 0.1 * d + 0.02 * d * np.log(np.where(d > 0, d, 1)))  # beta < 0: convex, rising
    assert fit.beta < 0 and math.isinf(fit.d_star) and math.isnan(fit.peak)
    assert not fit_turns(fit, 5.0)
    peak, final, falls = observed_turn(np.linspace(0, 1, 60))
    assert not falls and final == pytest.approx(np.linspace(0, 1, 60)[-20:].mean())
    assert observed_turn(np.r_[np.linspace(0, 1, 30), np.full(30, 0.5)])[2]


def test_study_rows_follow_the_protocol(study):
    assert list(study.columns) == list(COLUMNS)
    assert len(study) == 2 * 2 * 2 * 12
    runs = study.groupby(["overlap", "seed", "warmup"])
    assert runs.size().eq(12).all()
    assert (study[study.cycle == 0].kl.abs() < 1e-6).all()  # the first conscience cycle samples from the reference
    np.testing.assert_allclose(study.sqrt_kl ** 2, study.kl)
    assert (study.kl >= 0).all()
    assert set(study.groupby("seed").holdout.first()) == {"correctness", "coherence"}  # rotating holdout
    assert study[["proxy", "gold_train", "gold_holdout"]].apply(lambda c: c.between(0, 1).all()).all()
    assert (study.switch_fidelity > 0.5).all()  # the conscience learned something before the switch


def test_summary_has_a_fit_per_run(study):
    summary = scalarscope.goodhart_summary(study)
    assert len(summary) == 8
    run = study[(study.overlap == 0.87) & (study.seed == 1) & (study.warmup == 10)]
    row = summary[(summary.overlap == 0.87) & (summary.seed == 1) & (summary.warmup == 10)].iloc[0]
    expected = fit_gao(run.sqrt_kl, run.gold_holdout)
    assert row.alpha_holdout == pytest.approx(expected.alpha) and row.beta_holdout == pytest.approx(expected.beta)
    assert row.proxy_rise == pytest.approx(run.proxy.tail(20).mean() - run.proxy.head(5).mean())
    assert goodhart_summary is scalarscope.goodhart_summary


def test_study_bad_input_is_named():
    with pytest.raises(SweepError, match="warmup must be an int >= 1, got 0"):
        scalarscope.goodhart([0.5], seeds=1, warmup=0, cycles=5, n_jobs=1, progress=False)
    with pytest.raises(ConfigError, match="kl_coef must be >= 0.0, got -1"):
        scalarscope.goodhart([0.5], seeds=1, warmup=5, cycles=5, kl_coef=-1, n_jobs=1, progress=False)
    with pytest.raises(SweepError, match="overlap 1.5 is outside"):
        scalarscope.goodhart([1.5], seeds=1, n_jobs=1, progress=False)
    with pytest.raises(SweepError, match="n_jobs must be an int >= 1"):
        scalarscope.goodhart([0.5], seeds=1, warmup=5, cycles=5, n_jobs=0, progress=False)


def test_view_slider_redraws_both_paths(study):
    from scalarscope.widgets import GoodhartView

    view = GoodhartView(study)
    assert view.warmup_slider.options == (6, 10)
    view.set(warmup=10)
    for panel, overlap in zip(view.views, (0.0, 0.87), strict=True):
        runs = study[(study.overlap == overlap) & (study.warmup == 10)]
        by_cycle = runs.groupby("cycle").mean(numeric_only=True)
        np.testing.assert_allclose(panel.figure.data[0].x, by_cycle.sqrt_kl)
        np.testing.assert_allclose(panel.figure.data[2].y, by_cycle.gold_holdout)
        assert panel.updates == 2
    assert "Path A" in view.views[0].figure.layout.title.text and "Path B" in view.views[1].figure.layout.title.text


def test_cli_goodhart_prints_the_runs(tmp_path, capsys):
    from scalarscope.cli import main

    out = tmp_path / "rows.csv"
    code = main(["goodhart", "--overlaps", "0,0.87", "--seeds", "1", "--warmup", "5", "--cycles", "6", "--jobs", "1",
                 "--no-progress", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "gold_holdout_rise" in printed and "per overlap" in printed
    assert out.read_text().splitlines()[0].startswith("overlap,seed,holdout,warmup")
    assert main(["goodhart", "--seeds", "1", "--warmup", "0", "--jobs", "1", "--no-progress"]) == 2


def test_results_section_reads_its_numbers_from_the_runs(study):
    import importlib.util
    from pathlib import Path

    from scalarscope.reports.goodhart import TITLE, goodhart_markdown

    text = goodhart_markdown([("main", study[study.warmup == 10])], study, study, seconds=1.0)
    summary = goodhart_summary(study[study.warmup == 10])
    rise = summary[summary.overlap == 0.87].gold_holdout_rise
    assert text.startswith(TITLE) and f"({rise.mean():+.3f} ± {rise.std(ddof=1):.3f};" in text
    assert "### Where gold falls" in text and "| 0.87 | 10 |" in text
    spec = importlib.util.spec_from_file_location("goodhart_results", Path(__file__).parents[1] / "examples" /
                                                  "goodhart_results.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    document = "# Results\n\n## A\n\ntext\n\n## Limitations\n\n- one\n"
    once = script.splice(document, f"{TITLE}\n\nfirst")
    assert once.index(TITLE) < once.index("## Limitations") and "## A\n\ntext" in once
    twice = script.splice(once, f"{TITLE}\n\nsecond")
    assert twice.count(TITLE) == 1 and "second" in twice and "first" not in twice and twice.endswith("- one\n")


@pytest.mark.slow
def test_in_process_loky_and_dask_give_the_same_rows():
    import pandas as pd

    distributed = pytest.importorskip("distributed")

    def tiny(**kw):
        return scalarscope.goodhart([0.5], seeds=2, warmup=3, cycles=4, progress=False, **kw)

    local, pooled = tiny(n_jobs=1), tiny(n_jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) \
            as cluster, distributed.Client(cluster) as client:
        on_dask = tiny(client=client)
    pd.testing.assert_frame_equal(local, pooled)
    pd.testing.assert_frame_equal(local, on_dask)
    assert list(local.groupby("seed").holdout.first()) == ["correctness", "coherence"]


def test_a_fit_counts_as_a_turn_only_with_r2_at_least_half_and_d_star_inside_the_run():
    from dataclasses import replace

    rng = np.random.default_rng(1)
    d = np.sort(rng.uniform(0.2, 8, 400))
    turning = fit_gao(d, 0.4 + d * (0.3 - 0.12 * np.log(d)) + rng.normal(0, 0.005, d.shape))
    assert fit_turns(turning, d.max(), min_d=d.min())
    assert not fit_turns(replace(turning, r2=0.17), d.max(), min_d=d.min())  # the fit explains little
    assert not fit_turns(turning, d.max(), min_d=turning.d_star + 0.1)  # d* below the run's smallest d
    tiny = replace(turning, d_star=4.6e-16)
    assert not fit_turns(tiny, d.max(), min_d=0.05)


def _summary(proxy, holdout, **extra):
    import pandas as pd

    n = len(proxy)
    return pd.DataFrame({"overlap": 0.87, "seed": range(n), "proxy_rise": proxy, "proxy_peak_rise": proxy,
                         "gold_holdout_rise": holdout, "gold_holdout_peak_rise": holdout,
                         "gold_holdout_start": 0.5, "gold_holdout_end": 0.5 + np.asarray(holdout),
                         "gold_train_rise": holdout, "falls_train": False, "falls_holdout": False,
                         "peaks_train": False, "peaks_holdout": False, **extra})


def test_gold_rises_with_the_proxy_only_when_the_proxys_rise_passes_its_t_test():
    from scipy import stats

    from scalarscope.reports.goodhart import claims

    holdout = [0.15, 0.14, 0.16, 0.15, 0.13]
    noisy_proxy = [0.30, -0.10, 0.25, -0.05, 0.08]
    assert stats.ttest_1samp(noisy_proxy, 0).pvalue > 0.05  # the oracle: not beyond noise
    text = claims(_summary(noisy_proxy, holdout))[0]
    assert "the two decouple" in text and "rises with it" not in text
    assert f"p = {stats.ttest_1samp(holdout, 0).pvalue:.3f}" in text and "seed 4: 0.50 → 0.63" in text
    assert "rises with it" in claims(_summary([0.10, 0.11, 0.09, 0.10, 0.12], holdout))[0]
    assert "does not move beyond seed noise" in claims(_summary(noisy_proxy, [0.3, -0.4, 0.2, -0.1, 0.05]))[0]


def test_where_gold_falls_counts_each_run_once_and_the_two_golds_apart():
    from scalarscope.reports.goodhart import where_gold_falls

    keys = {"warmup": 20, "context_share": 0.02, "kl_coef": 0.3, "reset_optimizer": True}
    main = _summary([0.1] * 3, [0.1] * 3, **keys).assign(overlap=0.0, falls_train=[True, False, False],
                                                          falls_holdout=[True, True, False])
    side = main.iloc[:2]  # a side study that repeats two runs of the main one
    lines = where_gold_falls([main, side, main.assign(reset_optimizer=False)])
    assert lines[2] == ("- overlap 0, 3 distinct runs: training gold fell in 1 of 3 (kl_coef 0.3, warmup 20, "
                        "context_share 0.02); held-out gold fell in 2 of 3 (kl_coef 0.3, warmup 20, "
                        "context_share 0.02).")
