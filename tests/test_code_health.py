"""One helper per job: the consolidated pieces agree with the independent computations they replace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scalarscope._numeric import frozen_array, sigmoid
from scalarscope.geometry import COLLAPSE_BELOW, dimension_collapsed, normalized_spectra, normalized_spectrum


def test_sigmoid_is_the_logistic_function_and_stable():
    x = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(sigmoid(x), 1.0 / (1.0 + np.exp(-x)), rtol=1e-12, atol=1e-15)
    assert sigmoid(np.array([-1e6, 1e6])).tolist() == [0.0, 1.0]  # no overflow warning, exact ends


def test_one_sigmoid_serves_evaluators_scalar_head_and_onnx():
    from scalarscope.evaluators import correlated_evaluators
    from scalarscope.evaluators.scalar_head import predicted_scores

    judge = correlated_evaluators(2, 0.3, seed=1)[0]
    tokens = judge.token_scores("q", "some answer")
    assert judge("q", "some answer") == sigmoid(tokens.sum())
    values = np.random.default_rng(0).standard_normal((3, 4, 2))
    np.testing.assert_array_equal(predicted_scores(values, np.array([4, 2, 0])),
                                  sigmoid(np.stack([values[0].sum(0), values[1, :2].sum(0), np.zeros(2)])))


def test_frozen_array_is_a_read_only_copy():
    source = [1, 2, 3]
    out = frozen_array(source)
    assert out.dtype == np.float64 and not out.flags.writeable
    with pytest.raises(ValueError):
        out[0] = 5


def test_batched_spectra_equal_the_single_spectrum_row_by_row():
    states = np.random.default_rng(3).standard_normal((7, 16 * 4)) * np.array([5.0, 1.0, 0.5, 0.1] * 16)
    batched = normalized_spectra(states, 4)
    for row, state in zip(batched, states, strict=True):
        np.testing.assert_allclose(row, normalized_spectrum(state.reshape(-1, 4)), atol=1e-12)
    assert np.allclose(batched.sum(1), 1.0)


@pytest.mark.parametrize(("dim", "n", "expected"), [(1.2, 20, True), (1.2, 19, False), (0.0, 50, False),
                                                    (COLLAPSE_BELOW, 50, False), (2.5, 50, False)])
def test_the_collapse_rule(dim, n, expected):
    assert dimension_collapsed(dim, n, 20) is expected


def test_history_shows_itself_in_text_and_html():
    from scalarscope.engine import EngineConfig, ScalarScopeEngine
    from scalarscope.governor import GovernorConfig, TokenPool

    config = EngineConfig(batch_size=4, max_new_tokens=8, probe_batch=2, state_probe_size=4, transfer_every=0)
    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=32, max_tokens_total=1))  # every cycle runs out
    engine = ScalarScopeEngine(seed=0, config=config, token_pool=pool)
    assert repr(engine.history) == "History(0 cycles)"
    engine.run(6, progress=False)
    statuses = [r.status for r in engine.history]
    assert statuses[-1] == "budget_exhausted"
    text = repr(engine.history)
    assert text.startswith(f"History(6 cycles [{statuses.count('ok')} ok, {statuses.count('budget_exhausted')} "
                           "budget_exhausted], cycles 0-5; last mean_score nan")
    html = engine.history._repr_html_()
    assert html.count("<tr>") == 5 and "NaN" in html  # the last 5 cycles; exhausted ones: missing


def test_conscience_means_the_internal_evaluator_only():
    import scalarscope.engine as engine_package
    from scalarscope.engine import internalization
    from scalarscope.onnx import conscience as onnx_conscience

    # the run-level score is the internalization score; "conscience" names the scalar head, its
    # exported form (OnnxConscience, ConscienceScore) and the reward source that trains on it
    assert not hasattr(internalization, "Conscience") and not hasattr(onnx_conscience, "Conscience")
    assert not (Path(engine_package.__file__).parent / "conscience.py").exists()


def test_one_evaluator_pca_agrees_with_scikit_learn():
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from scalarscope.evaluators import analyze_scores
    from scalarscope.geometry import layout_from_scores

    scores = np.random.default_rng(2).standard_normal((400, 5)) @ np.triu(np.full((5, 5), 0.6)) + 0.1
    pca = PCA(n_components=5).fit(StandardScaler().fit_transform(scores))
    eigenvalues = pca.explained_variance_ * (400 - 1) / 400
    reference = (pca.components_[:2] * np.sqrt(eigenvalues[:2])[:, None]).T
    report, layout = analyze_scores(scores, list("abcde")), layout_from_scores(scores)
    np.testing.assert_allclose(report.eigenvalues, eigenvalues, atol=1e-10)
    np.testing.assert_allclose(np.abs(report.loadings), np.abs(reference), atol=1e-10)
    np.testing.assert_array_equal(report.loadings, layout.vectors)
    assert (report.loadings.sum(axis=0) >= 0).all()


def _public_functions():
    """(qualified name, function) of every public function and public method of a public class,
    over each public module's ``__all__`` (or its public names defined there)."""
    import importlib
    import inspect
    import pkgutil

    import scalarscope

    for info in pkgutil.walk_packages(scalarscope.__path__, "scalarscope."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name, None)
            if getattr(obj, "__module__", None) != info.name:
                continue  # re-exported: checked where it is defined
            if inspect.isfunction(obj):
                yield f"{info.name}.{name}", obj
            elif inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    member = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
                    if not attr.startswith("_") and inspect.isfunction(member):
                        yield f"{info.name}.{obj.__qualname__}.{attr}", member


def test_every_public_function_has_a_return_annotation():
    found = dict(_public_functions())
    assert len(found) > 300  # the walk reached the whole package
    missing = [name for name, function in found.items() if "return" not in function.__annotations__]
    assert missing == [], f"public functions without a return annotation: {missing}"


def test_the_top_level_package_lists_its_lazy_names():
    import subprocess
    import sys

    import scalarscope

    listed = dir(scalarscope)
    assert set(scalarscope.__all__) <= set(listed) and "ScalarScopeEngine" in listed and "__version__" in listed
    assert listed == sorted(listed)
    from scalarscope import ConfigTypeError, CycleRecord, TransferMeasurement
    from scalarscope.engine.records import CycleRecord as Record
    from scalarscope.errors import ConfigError

    assert issubclass(ConfigTypeError, ConfigError) and issubclass(ConfigTypeError, TypeError)
    assert CycleRecord is Record and TransferMeasurement.__name__ == "TransferMeasurement"
    code = ("import sys, scalarscope; names = dir(scalarscope); "
            "print('torch' in sys.modules, set(scalarscope.__all__) <= set(names))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]  # a fresh session lists the lazy names without importing them


def test_engine_pool_record_and_overlap_reprs_are_one_short_line():
    from scalarscope.engine import EngineConfig, ScalarScopeEngine
    from scalarscope.evaluators import analyze_overlap, correlated_evaluators
    from scalarscope.governor import GovernorConfig, TokenPool

    pool = TokenPool(GovernorConfig(max_tokens_per_cycle=64, max_tokens_total=1000))
    engine = ScalarScopeEngine(evaluators=correlated_evaluators(3, 0.5, seed=0), holdout="calibration", seed=0,
                               token_pool=pool, config=EngineConfig(batch_size=4, max_new_tokens=8, probe_batch=2,
                                                                    state_probe_size=4, transfer_every=2))
    assert repr(engine) == ("ScalarScopeEngine(student=CharStudent, evaluators=[correctness, coherence, calibration], "
                            "holdout='calibration', cycle=0, reward_source='evaluators')")
    record = engine.step()
    assert "cycle=1," in repr(engine)
    assert repr(pool) == f"TokenPool(64 tokens per cycle, fixed, run cap 1,000; spent {pool.spent_total} in 1 cycles)"
    assert repr(record) == (f"CycleRecord(cycle=0, status='ok', mean_score={record.metrics.mean_score:.3f}, "
                            f"tokens_used={record.metrics.tokens_used}, transfer={record.transfer.transfer:.3f})")
    assert "transfer" not in repr(engine.step())  # measured every 2 cycles
    report = analyze_overlap(correlated_evaluators(4, 0.9, seed=0), n_probes=200)
    text = repr(report)
    assert text.startswith("OverlapReport(4 evaluators, mean correlation +0.") and "'shared structure', 200 probes" in text
    assert all(len(repr(x)) < 200 and "\n" not in repr(x) for x in (engine, pool, record, report))


def test_the_ceiling_threshold_is_defined_once_and_read_by_runs_and_sweeps():
    from pathlib import Path

    import scalarscope
    from scalarscope.engine import records, transfer
    from scalarscope.sweeps import summary

    package = Path(scalarscope.__file__).parent
    definitions = [str(p.relative_to(package)) for p in package.rglob("*.py") if "\nMIN_CEILING = " in p.read_text()]
    assert definitions == ["engine/records.py"]
    assert transfer.MIN_CEILING is records.MIN_CEILING and summary.MIN_CEILING is records.MIN_CEILING
