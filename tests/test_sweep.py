"""Sweeps: the Path A / Path B result falls out of a real sweep; local, Dask and CLI agree."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest

import scalarscope
from scalarscope.errors import SweepError
from scalarscope.evaluators.overlap import probe_scores
from scalarscope.evaluators.synthetic import correlated_evaluators
from scalarscope.reports.results import ORIGINAL, ResultsMeta, results_markdown, write_results
from scalarscope.sweeps import COLUMNS, path_verdicts, summarize_sweep, sweep

SEEDS = 3
OVERLAPS = (0.0, 0.5, 0.87)
NAMES = ("correctness", "coherence", "calibration", "tradeoffs", "clarity")


@pytest.fixture(scope="module")
def path_sweep() -> pd.DataFrame:
    """The issue's claims at small size: overlaps 0, 0.5, 0.87 x 3 seeds, rotating holdout, 2 processes."""
    return sweep(overlaps=OVERLAPS, seeds=SEEDS, cycles=150, holdout="rotate", n_jobs=2,
                 transfer_probes=2000, progress=False)


def _tiny(**kwargs) -> pd.DataFrame:
    args = dict(overlaps=[0.5], seeds=[0, 1], cycles=6, holdout="rotate", transfer_probes=200, progress=False)
    return sweep(**(args | kwargs))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the research result -----------------------------------------------------------------------
def test_path_a_orthogonal_evaluators_do_not_transfer(path_sweep):
    rows = path_sweep[path_sweep["overlap"] == 0.0]
    assert len(rows) == SEEDS
    assert abs(rows["mean_correlation"].mean()) <= 0.05
    assert abs(rows["transfer"].mean()) <= 0.1


def test_path_b_shared_axis_transfers_near_the_ceiling(path_sweep):
    rows = path_sweep[path_sweep["overlap"] == 0.87]
    assert abs(rows["mean_correlation"].mean() - 0.87) <= 0.03
    transfer, ceiling = rows["transfer"].mean(), rows["ceiling"].mean()
    assert transfer >= 0.90, f"mean learned transfer {transfer:.3f} (ceiling {ceiling:.3f}) per run: " \
                             f"{rows['transfer'].round(3).tolist()}"
    assert transfer >= 0.95 * ceiling, f"transfer {transfer:.3f} < 0.95 x ceiling {ceiling:.3f}"


def test_rows_grid_rotation_and_measured_overlap_are_the_runs_own(path_sweep):
    assert list(path_sweep.columns) == list(COLUMNS)
    assert list(zip(path_sweep["overlap"], path_sweep["seed"], strict=True)) == \
        [(o, s) for o in OVERLAPS for s in range(SEEDS)]
    assert list(path_sweep["holdout"]) == [NAMES[s % 5] for s in range(SEEDS)] * len(OVERLAPS)
    assert (path_sweep["cycles"] == 150).all() and (path_sweep["wall_seconds"] > 0).all()
    # independent oracle: numpy's correlation of the same seed's evaluators on the same probes
    for row in path_sweep.itertuples():
        scores = probe_scores(correlated_evaluators(5, row.overlap, seed=row.seed), n_probes=2000, seed=row.seed)
        corr = np.corrcoef(scores, rowvar=False)
        assert row.mean_correlation == pytest.approx(corr[~np.eye(5, dtype=bool)].mean(), abs=1e-9)
    assert np.isfinite(path_sweep[["transfer", "ceiling", "fidelity", "final_score"]].to_numpy()).all()


def test_transfer_rises_with_overlap_within_seed_noise(path_sweep):
    per_overlap = [path_sweep[path_sweep["overlap"] == o]["transfer"].to_numpy() for o in OVERLAPS]
    for lower, higher in zip(per_overlap[:-1], per_overlap[1:], strict=True):
        noise = 2 * np.hypot(lower.std(ddof=1), higher.std(ddof=1)) / np.sqrt(SEEDS)
        assert higher.mean() >= lower.mean() - noise, [t.round(3).tolist() for t in per_overlap]
    assert per_overlap[-1].mean() > per_overlap[0].mean() + 0.1  # and it does rise, not merely stay flat


def test_summary_and_verdicts_agree_with_the_rows(path_sweep):
    summary = summarize_sweep(path_sweep)
    assert list(summary.index) == list(OVERLAPS) and (summary["runs"] == SEEDS).all()
    at = path_sweep[path_sweep["overlap"] == 0.87]["transfer"].to_numpy()
    assert summary.loc[0.87, "transfer_mean"] == pytest.approx(np.mean(at))
    assert summary.loc[0.87, "transfer_std"] == pytest.approx(np.std(at, ddof=1))
    a, b, mono = path_verdicts(path_sweep, min_seeds=SEEDS)  # the tests above check the same thresholds
    assert (a.holds, b.holds, mono.holds) == (True, True, True), (a.detail, b.detail, mono.detail)
    assert (a.overlap, b.overlap, a.runs, b.runs) == (0.0, 0.87, SEEDS, SEEDS)
    assert not path_verdicts(path_sweep[path_sweep["overlap"] > 0])[2].holds  # two overlaps show no trend
    assert not path_verdicts(path_sweep)[0].holds  # the claim needs >= 5 seeds; 3 is not enough


def _frame(rows: list[tuple[float, float, float, float]], seeds: int = 5) -> pd.DataFrame:
    """A hand-made sweep: (overlap, mean_correlation, transfer, ceiling) repeated for each seed."""
    return pd.DataFrame([{"overlap": o, "seed": s, "mean_correlation": c, "transfer": t, "ceiling": m}
                         for o, c, t, m in rows for s in range(seeds)])


def test_verdicts_on_hand_made_sweeps():
    good = [(0.0, 0.01, 0.05, 0.2), (0.5, 0.5, 0.6, 0.7), (0.87, 0.86, 0.93, 0.95)]
    a, b, mono = path_verdicts(_frame(good))
    assert (a.holds, b.holds, mono.holds) == (True, True, True)
    # Path A fails on a correlated "orthogonal" set or on transfer at overlap 0
    assert not path_verdicts(_frame([(0.0, 0.08, 0.05, 0.2), *good[1:]]))[0].holds
    assert not path_verdicts(_frame([(0.0, 0.01, 0.15, 0.2), *good[1:]]))[0].holds
    # Path B: 0.93 >= 0.9 but < 0.95 x 0.99; and 0.89 < 0.9 whatever the ceiling
    assert not path_verdicts(_frame([*good[:2], (0.87, 0.86, 0.93, 0.99)]))[1].holds
    assert not path_verdicts(_frame([*good[:2], (0.87, 0.86, 0.89, 0.9)]))[1].holds
    # Path B reads the overlap whose measured correlation is nearest 0.87, not the nominal 0.87
    shifted = path_verdicts(_frame([good[0], (0.5, 0.88, 0.95, 0.96), (0.87, 0.7, 0.5, 0.9)]))[1]
    assert shifted.overlap == 0.5 and shifted.holds
    # monotonic: identical seeds have no noise, so any drop is beyond it; a rise is fine
    assert not path_verdicts(_frame([good[0], (0.5, 0.5, 0.95, 0.96), good[2]]))[2].holds
    noisy = _frame(good)
    noisy.loc[noisy["overlap"] == 0.5, "transfer"] = [0.1, 1.9, 0.1, 1.9, 0.1]  # mean 0.82, s.e. 0.44
    noisy.loc[noisy["overlap"] == 0.87, "transfer"] = 0.5  # a drop of 0.32 < 2 x 0.44: within the noise
    assert path_verdicts(noisy)[2].holds
    assert not path_verdicts(_frame(good, seeds=4))[0].holds  # fewer than 5 seeds


def test_results_document_quotes_the_sweep_and_the_original(path_sweep, tmp_path):
    meta = ResultsMeta(command="test", seeds=SEEDS, cycles=150, n_evaluators=5, transfer_probes=2000,
                       holdout="rotate", backend="test", wall_seconds=1.0, generated="now")
    text = results_markdown(path_sweep, meta, extra_sections=["## Extra\n\nadded by a caller"])
    rows = path_sweep[path_sweep["overlap"] == 0.87]
    assert f"{rows['transfer'].mean():.3f} ± {rows['transfer'].std():.3f}" in text
    assert str(ORIGINAL["correlated"]["transfer"]) in text and "no model was trained" in text
    assert text.index("## Path A and Path B") < text.index("## Extra") < text.index("## Limitations")
    path = write_results(text, tmp_path / "docs" / "RESULTS.md")
    assert path.read_text() == text and [p.name for p in path.parent.iterdir()] == ["RESULTS.md"]


# -- backends agree ------------------------------------------------------------------------------
def test_in_process_pool_and_dask_give_the_same_rows():
    distributed = pytest.importorskip("distributed")
    local = _tiny(n_jobs=1)
    pooled = _tiny(n_jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) \
            as cluster, distributed.Client(cluster) as client:
        on_dask = _tiny(client=client)
    same = [c for c in COLUMNS if c != "wall_seconds"]
    pd.testing.assert_frame_equal(local[same], pooled[same])
    pd.testing.assert_frame_equal(local[same], on_dask[same])
    assert list(local["holdout"]) == ["correctness", "coherence"]


def test_scalarscope_sweep_is_the_function_and_holdout_none_gives_nan():
    assert scalarscope.sweep is sweep and callable(scalarscope.sweep)
    df = scalarscope.sweep(overlaps=0.5, seeds=1, cycles=2, holdout=None, n_jobs=1, transfer_probes=50,
                           progress=False)
    assert df["holdout"].isna().all() and df[["transfer", "ceiling", "ratio"]].isna().all().all()
    assert np.isfinite(df["mean_correlation"]).all()


# -- bad input: clear errors, quickly -----------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"overlaps": [0.0, 1.5]}, r"overlap 1\.5 is outside \[0, 1\]"),
    ({"overlaps": [-0.1]}, r"outside \[0, 1\]"),
    ({"overlaps": []}, r"overlaps is empty"),
    ({"overlaps": [0.5, 0.5]}, r"duplicates"),
    ({"seeds": 0}, r"seeds must be an int >= 1, got 0"),
    ({"seeds": []}, r"seeds is empty"),
    ({"holdout": "honesty"}, r"holdout='honesty' is not one of the evaluators \['correctness'"),
    ({"holdout": "rotate", "n_evaluators": 1}, r"single evaluator"),
    ({"holdout": "correctness", "n_evaluators": 1}, r"single evaluator"),
    ({"cycles": 0}, r"cycles must be an int >= 1"),
    ({"n_jobs": 0}, r"n_jobs must be an int >= 1"),
])
def test_bad_input_raises_sweep_error_at_once(kwargs, match):
    with pytest.raises(SweepError, match=match) as info:  # benchmarks/bench_checks.py times the refusal
        _tiny(**kwargs)
    assert isinstance(info.value, ValueError)


def test_unreachable_scheduler_fails_within_the_timeout():
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(SweepError, match=rf"cannot reach the Dask scheduler at '{address}' within 2 s"):
        _tiny(client=address, connect_timeout=2.0)  # benchmarks/bench_checks.py times it


def test_a_failing_run_is_reported_by_its_overlap_and_seed(monkeypatch):
    def broken(spec):
        raise RuntimeError("boom")

    monkeypatch.setattr("scalarscope.sweeps.runner.run_one", broken)
    with pytest.raises(SweepError, match=r"run overlap=0\.5 seed=0 holdout='correctness' failed: RuntimeError: boom"):
        _tiny(n_jobs=1)


# -- command line --------------------------------------------------------------------------------
def test_cli_prints_runs_and_summary_and_writes_csv(tmp_path, capsys):
    from scalarscope.cli import main

    out = tmp_path / "runs.csv"
    code = main(["sweep", "--overlaps", "0,0.5", "--seeds", "1", "--cycles", "2", "--holdout", "clarity",
                 "--jobs", "1", "--probes", "50", "--no-progress", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "per overlap" in printed and "clarity" in printed and "transfer_mean" in printed
    saved = pd.read_csv(out)
    assert list(saved["overlap"]) == [0.0, 0.5] and list(saved["holdout"]) == ["clarity", "clarity"]


def test_cli_bad_overlap_is_a_clean_error(capsys):
    from scalarscope.cli import main

    assert main(["sweep", "--overlaps", "0,1.5", "--no-progress"]) == 2
    assert "outside [0, 1]" in capsys.readouterr().err


def test_context_study_rows_and_section():
    from scalarscope.sweeps.context import context_markdown, context_study

    df = context_study((0.0, 0.3), seeds=1, cycles=60, transfer_probes=300, progress=False)
    assert list(df.context_share) == [0.0, 0.3]
    assert (df.ceiling > 0.8).all()
    assert df.fidelity.iloc[0] > df.fidelity.iloc[1]  # the interaction is the part the head learns last
    text = context_markdown(df, cycles=60)
    assert "| 0.3 |" in text and f"{df.transfer.iloc[1]:.3f}" in text


def test_student_section_sets_fidelity_both_ceilings_and_the_uncertainty_beside_each_transfer():
    from scalarscope.sweeps.students import students_markdown

    rng = np.random.default_rng(3)
    rows = []
    for overlap in (0.0, 0.87):
        for seed in range(3):
            t = rng.uniform(-0.05, 0.05) if overlap == 0 else rng.uniform(0.85, 0.9)
            rows.append(dict(overlap=overlap, seed=seed, transfer=t, transfer_ci_low=t - 0.02 * (seed + 1),
                             transfer_ci_high=t + 0.02 * (seed + 1), transfer_p_null=0.5 if overlap == 0 else 0.001,
                             fidelity=rng.uniform(0.9, 1.0), ceiling=t + 0.01, best_ceiling=t + 0.02,
                             first_score=0.5, final_score=0.9, wall_seconds=1.0))
    df = pd.DataFrame(rows)
    text = students_markdown({"gru": df}, cycles=10, probes=100, command="x")
    b = df[df.overlap == 0.87]
    line = next(row for row in text.splitlines() if row.startswith("| gru | 0.87 |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[3] == f"{b.transfer.mean():.3f} ± {b.transfer.std(ddof=1):.3f}"
    assert cells[4] == "0.080" and cells[5] == "3 of 3"  # widths 0.04, 0.08, 0.12; every p below 0.01
    assert cells[6] == f"{b.fidelity.mean():.3f} ± {b.fidelity.std(ddof=1):.3f}"
    assert cells[8] == f"{b.best_ceiling.mean():.3f} ± {b.best_ceiling.std(ddof=1):.3f}"
    assert "| gru | 0 | 3 |" in text and "0 of 3" in text
