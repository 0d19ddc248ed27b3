"""Widgets without a browser: move a control, read the figure's data, count the messages sent.

A "message" is one plotly update the FigureWidget sends to the front end: it sets one of its
``_py2js_*`` traits (update, restyle, relayout...) to the message and back to None. Observing
those traits counts exactly what would go over the wire as plotly commands.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from scalarscope.engine import EngineConfig, ScalarScopeEngine
from scalarscope.evaluators import analyze_overlap, correlated_evaluators, probe_scores
from scalarscope.export import load_geometry, validate_geometry, viewer_samples
from scalarscope.governor import GovernorConfig, TokenPool
from scalarscope.widgets import (
    EvaluatorPanel,
    FrameThrottle,
    GovernorPanel,
    TrainingDashboard,
    TransferExplorer,
    dashboard_figures,
    geometry_figure,
    overlap_figures,
)
from scalarscope.widgets.evaluator_figures import HEAD_TIPS, HOLDOUT_SHAFT, LABELS, TIPS, _label_positions
from scalarscope.widgets.sweep_figures import sweep_figure
from scalarscope.widgets.transfer_explorer import theoretical_ceiling

ROOT = Path(__file__).resolve().parents[1]
PY2JS = ["_py2js_update", "_py2js_restyle", "_py2js_relayout", "_py2js_addTraces", "_py2js_deleteTraces",
         "_py2js_moveTraces", "_py2js_animate", "_py2js_removeLayoutProps", "_py2js_removeTraceProps"]


def sent(figure) -> list[str]:
    """A list that grows by one entry per plotly message ``figure`` sends from now on."""
    messages: list[str] = []
    figure.observe(lambda change: messages.append(change["name"]) if change["new"] is not None else None, names=PY2JS)
    return messages


def tips(panel_view) -> np.ndarray:
    data = panel_view.figure.data[TIPS]
    return np.column_stack([np.asarray(data.x, dtype=float), np.asarray(data.y, dtype=float)])


@pytest.fixture
def engine():
    """A fresh engine per test: no test sees cycles or budget changes another one made."""
    config = EngineConfig(batch_size=16, max_new_tokens=12, probe_batch=8, transfer_every=5, transfer_probes=64)
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=16 * 12))
    return ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.8, seed=3), token_pool=pool, holdout="clarity",
                             seed=3, config=config)


# -- evaluator panel ------------------------------------------------------------------------------
def test_overlap_slider_collapses_the_arrows_and_raises_the_first_factor_share():
    panel = EvaluatorPanel(overlap=0.0, seed=0)
    pca_messages, heat_messages = sent(panel.pca.figure), sent(panel.heatmap.figure)
    spread, share_at_0 = tips(panel.pca), panel.report.first_factor_share
    heat_before = np.array(panel.heatmap.figure.data[0].z)

    panel.overlap_slider.value = 0.9

    collapsed, share_at_09 = tips(panel.pca), panel.report.first_factor_share
    assert share_at_0 < 0.3 and share_at_09 > 0.85
    # independent oracle: equicorrelated evaluators (r = rho) have first-factor share (1 + (n-1) rho) / n
    assert share_at_0 == pytest.approx(0.2, abs=0.06) and share_at_09 == pytest.approx(0.92, abs=0.04)
    # at 0 the arrows point every which way; at 0.9 they lie along the first axis
    angles = np.degrees(np.arctan2(spread[:, 1], spread[:, 0]))
    assert np.ptp(angles) > 90
    assert (collapsed[:, 0] > 0.85).all() and (np.abs(collapsed[:, 1]) < 0.35).all()
    assert "first factor 0.9" in panel.pca.figure.layout.title.text
    assert not np.allclose(heat_before, panel.heatmap.figure.data[0].z)
    assert len(pca_messages) == 1 and len(heat_messages) == 1  # one message per figure per change
    assert "0.9" in panel.summary.value


def test_each_slider_move_sends_exactly_one_message_per_figure():
    panel = EvaluatorPanel(overlap=0.5, seed=1)
    pca_messages, heat_messages = sent(panel.pca.figure), sent(panel.heatmap.figure)
    for step, value in enumerate((0.1, 0.3, 0.7, 0.95), start=1):
        before = tips(panel.pca)
        panel.overlap_slider.value = value
        assert len(pca_messages) == step and len(heat_messages) == step
        assert not np.allclose(before, tips(panel.pca))
    assert set(pca_messages) == {"_py2js_update"}  # restyle and relayout in one message


def test_measured_structure_matches_an_independent_overlap_analysis():
    panel = EvaluatorPanel(overlap=0.6, n_evaluators=4, holdout=None, seed=2, n_probes=300)
    reference = analyze_overlap(correlated_evaluators(4, 0.6, seed=2), n_probes=300, seed=2)
    np.testing.assert_allclose(panel.heatmap.figure.data[0].z, reference.correlation)
    np.testing.assert_allclose(tips(panel.pca), reference.loadings)
    assert panel.holdout is None and panel.overlap == 0.6


def test_holdout_choice_redraws_the_arrows_only():
    panel = EvaluatorPanel(overlap=0.5, holdout=None)
    pca_messages, heat_messages = sent(panel.pca.figure), sent(panel.heatmap.figure)
    assert panel.pca.figure.data[HOLDOUT_SHAFT].visible is False
    panel.holdout_choice.value = "coherence"
    assert panel.holdout == "coherence" and len(pca_messages) == 1 and heat_messages == []
    assert panel.pca.figure.data[HOLDOUT_SHAFT].visible is True
    assert "coherence (held out)" in panel.pca.figure.data[TIPS].text
    assert "coherence (held out)" in panel.pca.figure.data[LABELS].text


def test_number_of_evaluators_rebuilds_both_views_once():
    panel = EvaluatorPanel(overlap=0.5, holdout="clarity")
    pca_messages, heat_messages = sent(panel.pca.figure), sent(panel.heatmap.figure)
    panel.count_slider.value = 3
    assert len(panel.evaluators) == 3 and np.shape(panel.heatmap.figure.data[0].z) == (3, 3)
    assert len(panel.pca.figure.data[TIPS].x) == 3
    assert panel.holdout is None  # clarity is gone, so nothing is held out
    assert len(pca_messages) == 1 and len(heat_messages) == 1
    panel.set(n_evaluators=5, holdout="clarity", overlap=0.2)
    assert panel.holdout == "clarity" and len(panel.evaluators) == 5 and panel.overlap == 0.2


def test_static_overlap_figures_equal_the_live_views():
    panel = EvaluatorPanel(overlap=0.7, holdout="calibration")
    static = overlap_figures(panel.report, holdout="calibration")
    assert isinstance(static["pca"], go.Figure) and not isinstance(static["pca"], go.FigureWidget)
    live = json.loads(panel.pca.static().to_json())
    assert live["layout"].pop("width") == 480  # the live view has a fixed width to sit beside the heat map
    assert json.loads(static["pca"].to_json()) == live
    np.testing.assert_allclose(static["correlation"].data[0].z, panel.heatmap.figure.data[0].z)
    json.loads(static["pca"].to_json())  # gaps (NaN) serialise


def test_labels_of_folded_arrows_are_pushed_apart():
    folded = np.array([[0.95, 0.02], [0.96, 0.0], [0.94, -0.01], [-0.5, 0.5], [0.9, 0.4]])
    anchors = _label_positions(folded)
    right = np.sort(anchors[folded[:, 0] >= 0, 1])
    assert np.diff(right).min() >= 0.1 - 1e-12
    assert np.abs(anchors[:, 1] - folded[:, 1]).max() < 0.25  # still beside their arrows
    np.testing.assert_allclose(anchors[3], folded[3] + 0.06 * folded[3] / np.linalg.norm(folded[3]))


def test_panel_rejects_bad_settings_with_a_teaching_error():
    with pytest.raises(ValueError, match="n_evaluators must be"):
        EvaluatorPanel(n_evaluators=12)


# -- governor panel ---------------------------------------------------------------------------------
def test_governor_changes_apply_from_the_next_cycle(engine):
    panel = GovernorPanel(engine.token_pool)
    engine.step()
    before = engine.token_pool.config.max_tokens_per_cycle
    panel.tokens_slider.value = 96
    panel.strategy_toggle.value = "adaptive"
    panel.revision_slider.value = 0.25
    assert engine.token_pool.config.max_tokens_per_cycle == before  # not yet
    assert "96" in panel.status.value and "adaptive" in panel.status.value
    record = engine.step()
    assert engine.token_pool.config.max_tokens_per_cycle == 96 and engine.token_pool.config.budget_strategy == "adaptive"
    assert record.ledger.granted <= 96 - int(96 * 0.25)  # the base engine asks for no revision tokens
    panel.refresh()
    assert f"<td>{record.cycle}</td><td>{record.ledger.granted}</td><td>{record.ledger.used}</td>" in panel.ledger_view.value
    panel.tokens_slider.value, panel.revision_slider.value, panel.strategy_toggle.value = 192, 0.0, "fixed"


# -- training dashboard --------------------------------------------------------------------------------
def test_dashboard_step_redraws_every_view_with_one_message(engine):
    engine.run(2, progress=False)  # a history to redraw: on a fresh engine the spectrum view has nothing yet
    dashboard = TrainingDashboard(engine, frame_interval=0.0)
    views = (dashboard.spectrum, dashboard.pca, dashboard.curves, dashboard.tokens)
    counters = [sent(view.figure) for view in views]
    cycles_before = len(dashboard.curves.figure.data[0].x)
    record = dashboard.step()
    assert [len(c) for c in counters] == [1, 1, 1, 1]
    assert len(dashboard.curves.figure.data[0].x) == cycles_before + 1
    assert dashboard.curves.figure.data[0].y[-1] == pytest.approx(record.metrics.mean_score)
    assert dashboard.tokens.figure.data[1].y[-1] == record.metrics.tokens_used
    np.testing.assert_allclose(dashboard.spectrum.figure.data[0].y, record.spectrum)
    assert f"cycle {record.cycle}" in dashboard.pca.figure.layout.title.text
    assert len(dashboard.pca.figure.data[HEAD_TIPS].x) == len(engine.train_names)


def test_dashboard_run_is_throttled_and_picks_up_cycles_run_elsewhere(engine):
    dashboard = TrainingDashboard(engine, frame_interval=3600.0)
    counter = sent(dashboard.curves.figure)
    engine.step()  # a cycle run outside the dashboard still shows up
    start = len(engine.history)
    dashboard.run(3)
    assert len(counter) == 2  # the first frame, then the final one: no redraw storm
    assert len(dashboard.curves.figure.data[0].x) == start + 3 == len(engine.history)
    assert "ran 3 cycles" in dashboard.status.value


def test_frame_throttle_lets_one_frame_per_interval():
    now = [0.0]
    throttle = FrameThrottle(0.1, clock=lambda: now[0])
    passed = []
    for _ in range(50):
        passed.append(throttle.due())
        now[0] += 0.02
    assert sum(passed) == 10 and throttle.due(force=True)


def test_stop_ends_a_background_run_early(engine):
    dashboard = TrainingDashboard(engine, frame_interval=0.05)
    start = len(engine.history)
    dashboard.start(10_000)
    assert dashboard.running and dashboard.stop_button.disabled is False and dashboard.run_button.disabled
    with pytest.raises(ValueError, match="background run is going"):
        dashboard.step()
    dashboard.stop_button.click()
    assert dashboard.wait(timeout=30)
    assert dashboard.error is None and 0 < len(engine.history) - start < 100
    assert "stopped after" in dashboard.status.value and dashboard.run_button.disabled is False
    assert len(dashboard.curves.figure.data[0].x) == len(engine.history)


def test_internal_heads_move_towards_the_evaluators():
    config = EngineConfig(batch_size=16, max_new_tokens=12, probe_batch=16, transfer_every=0)
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(5, 0.3, seed=1), holdout="clarity", seed=1,
                               config=config)
    dashboard = TrainingDashboard(engine)
    before = dashboard_figures(engine)["pca"]
    dashboard.run(40)
    truth = tips(dashboard.pca)[:4]  # the training evaluators come first, clarity last

    def distance(fig):
        heads = np.column_stack([fig.data[HEAD_TIPS].x, fig.data[HEAD_TIPS].y])
        return np.linalg.norm(heads - truth, axis=1).mean()

    assert distance(dashboard.pca.figure) < 0.7 * distance(before)


def test_export_button_writes_a_valid_desktop_file(engine, tmp_path):
    engine.run(6, progress=False)
    dashboard = TrainingDashboard(engine, export_path=tmp_path / "run.json")
    dashboard.export.button.click()
    path = dashboard.export.last_path
    assert path == (tmp_path / "run.json").resolve() and path.exists()
    assert validate_geometry(path) == [] and dashboard.export.last_violations == []
    assert str(path) in dashboard.export.result.value and "passes" in dashboard.export.result.value
    dashboard.export.path_input.value = str(tmp_path / "run.txt")
    dashboard.export.button.click()  # the error shows in the panel instead of vanishing
    assert "export failed" in dashboard.export.result.value and ".json" in dashboard.export.result.value


def test_static_dashboard_figures_show_the_history(engine):
    engine.run(11, progress=False)
    figures = dashboard_figures(engine)
    assert set(figures) == {"spectrum", "pca", "curves", "tokens"}
    assert all(type(f) is go.Figure for f in figures.values())
    frame = engine.history.to_frame()
    np.testing.assert_allclose(figures["curves"].data[0].y, frame["mean_score"])
    np.testing.assert_allclose(figures["tokens"].data[0].y, frame["tokens_granted"])
    np.testing.assert_allclose(figures["curves"].data[5].y, engine.history.transfer_frame()["transfer"])
    assert len(figures["curves"].data[0].y) == 11 and len(figures["curves"].data[5].y) == 3  # cycles 0, 5, 10


# -- other static figures ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["correlated_professors", "orthogonal_professors"])
def test_geometry_figure_plots_the_viewers_samples(name):
    geometry = load_geometry(viewer_samples()[name])
    fig = geometry_figure(geometry)
    np.testing.assert_allclose(fig.data[0].x, geometry.trajectory.state_2d[:, 0])
    assert geometry.metadata.run_id in fig.layout.title.text
    assert len(fig.data) == 1 + len(geometry.scalars.dimensions) + geometry.eigenvalues.values.shape[1] + 3


def test_sweep_figure_draws_mean_transfer_per_overlap():
    import pandas as pd

    df = pd.DataFrame({"overlap": [0.0, 0.0, 0.9, 0.9], "seed": [0, 1, 0, 1], "holdout": ["a", "b", "a", "b"],
                       "transfer": [0.1, -0.1, 0.8, 0.9], "ceiling": [0.0, 0.1, 0.9, 0.9]})
    fig = sweep_figure(df)
    np.testing.assert_allclose(fig.data[2].y, [0.0, 0.85])
    np.testing.assert_allclose(fig.data[2].error_y.array, [np.std([0.1, -0.1], ddof=1), np.std([0.8, 0.9], ddof=1)])


def test_only_widgets_import_plotly_or_ipywidgets():
    offenders = []
    for path in (ROOT / "scalarscope").rglob("*.py"):
        if "widgets" in path.relative_to(ROOT / "scalarscope").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in {"plotly", "ipywidgets", "anywidget"}]
    assert offenders == []


def test_importing_the_widgets_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, scalarscope.widgets; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


# -- Path A vs Path B from a slider ------------------------------------------------------------------
def test_slider_release_trains_and_shows_path_a_against_path_b():
    explorer = TransferExplorer(overlap=0.0, cycles=80, seed=1, probes=600)
    messages = sent(explorer.view.figure)
    explorer.set(overlap=0.87)
    assert len(messages) == 1, "one update message per slider release"
    frame = explorer.frame()
    assert list(frame.overlap) == [0.0, 0.87]
    path_a, path_b = frame.transfer
    assert abs(path_a) < 0.15
    assert path_b > 0.8 and path_b > 0.9 * frame.ceiling.iloc[1]
    np.testing.assert_allclose(explorer.view.figure.data[2].y, frame.transfer)


def test_theoretical_ceiling_matches_the_evaluators_on_random_text():
    """The grey reference curve is the logits' ceiling; the squashed scores stay within 0.03 of it."""
    for rho in (0.3, 0.87):
        s = probe_scores(correlated_evaluators(5, rho, seed=2), n_probes=4000, seed=3)
        measured = np.corrcoef(s[:, :4].mean(1), s[:, 4])[0, 1]
        assert measured == pytest.approx(theoretical_ceiling(rho, 4), abs=0.03)
