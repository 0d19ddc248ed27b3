"""The real-judges world: a word-writing tiny GPT-2, real judges, word probes; nothing downloaded."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scalarscope.errors import ConfigError  # noqa: E402
from scalarscope.evaluators.judges import CommonnessJudge, SentimentJudge  # noqa: E402
from scalarscope.worlds import build_world, get_world  # noqa: E402
from scalarscope.worlds.real_judges import PROMPTS, RealJudgesWorld, real_judges_world  # noqa: E402


@pytest.fixture(scope="module")
def world():
    return real_judges_world(0)


def test_the_vocabulary_is_common_words_and_covers_the_prompts(world):
    from wordfreq import zipf_frequency

    tok = world.student().tokenizer
    for prompt in PROMPTS + ("judge this:",):
        assert tok.decode_batch(tok.encode(prompt)[None], [len(tok.encode(prompt))])[0].replace(" ", "") == \
            prompt.replace(" ", "")
    prompts, texts = world.probe_texts(200, length=8, seed=3)
    words = [w for t in texts for w in t.split()]
    assert len(words) == 200 * 8 and set(prompts) <= set(PROMPTS)
    assert np.median([zipf_frequency(w, "en") for w in words if w.isalpha()]) > 4.0  # common English words
    with pytest.raises(ValueError, match="cannot represent"):
        tok.encode("the zyzzyva flew")


def test_a_few_cycles_run_with_real_judges_and_one_model_call_per_scoring(world):
    engine = world.engine(holdout="helpful", transfer_every=0)
    encoder = world.judges[0].encoder
    calls = encoder.calls
    records = [engine.step() for _ in range(3)]
    assert all(not r.failures for r in records)
    assert all(0.0 <= r.metrics.mean_score <= 1.0 for r in records)
    assert all(set(r.metrics.scores) == {j.name for j in world.judges} for r in records)
    # per cycle: one call for the responses and the off-policy probes together (both embedding
    # judges share it)
    assert encoder.calls - calls == len(records)
    assert all(len(r.sample_response.split()) <= world.config.max_new_tokens for r in records)


def test_the_measured_overlap_names_every_judge(world):
    report = world.overlap(300)
    assert report.names == tuple(j.name for j in world.judges) and report.n_probes == 300
    np.testing.assert_allclose(np.diag(report.correlation), 1.0)


def test_the_world_is_registered_and_refuses_options_it_does_not_take():
    registered = get_world("real-judges")
    assert registered.options == {"n_words"}
    built = build_world("real-judges", seed=3, n_words=500)
    assert isinstance(built, RealJudgesWorld) and built.prompts() == PROMPTS and built.n_words == 500
    assert built.evaluator_names == ("helpful", "relevant", "positive", "common")
    for option in ("overlap", "student"):
        with pytest.raises(ConfigError, match=rf"world 'real-judges' does not accept option\(s\) '{option}'"):
            build_world("real-judges", **{option: 1})
    with pytest.raises(ConfigError, match="no natural text"):
        built.natural_texts(3)


@pytest.mark.slow
def test_the_student_learns_what_lexicon_judges_like():
    """Without MiniLM (seconds): sentiment and commonness alone must be learned."""
    world = real_judges_world(1, judges=(SentimentJudge(name="positive"), CommonnessJudge(name="common")))
    engine = world.engine(transfer_every=0)
    means = [engine.step().metrics.mean_score for _ in range(80)]  # seeds 1-3 rise by 0.20-0.23 in 80 cycles
    assert np.mean(means[-15:]) > np.mean(means[:15]) + 0.1


def test_cli_runs_the_real_judges_world(tmp_path, capsys):
    from scalarscope.cli import main

    assert main(["run", "--world", "real-judges", "--cycles", "2", "--holdout", "positive", "--no-progress",
                 "--export", str(tmp_path / "rj.json")]) == 0
    out = capsys.readouterr().out
    assert "holdout transfer (positive)" in out and (tmp_path / "rj.json").exists()
    assert main(["run", "--world", "real-judges", "--student", "tiny-gpt2", "--cycles", "1", "--no-progress"]) == 2
    assert "world 'real-judges' does not accept option(s) 'student' (--student)" in capsys.readouterr().err
    assert main(["run", "--world", "real-judges", "--overlap", "0.5", "--cycles", "1", "--no-progress"]) == 2
    assert "'overlap' (--overlap); it accepts: n_words" in capsys.readouterr().err


def test_probes_from_the_policy_own_outputs(world):
    from scalarscope.engine.transfer import measure_policy_transfer

    engine = world.engine(holdout="positive", transfer_every=0)
    engine.run(2, progress=False)
    report = world.overlap(40, engine=engine)
    assert report.n_probes <= 40 and report.names == tuple(j.name for j in world.judges)
    prompts, texts = world.policy_texts(engine, 6)
    assert len(texts) == 6 and all(p in world.prompts() for p in prompts)
    measured = measure_policy_transfer(engine, n=24, seed=1)
    assert measured.holdout == "positive" and 3 <= measured.n <= 24
    assert -1.0 <= measured.transfer <= 1.0 and -1.0 <= measured.ceiling <= 1.0
