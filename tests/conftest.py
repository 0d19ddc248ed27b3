"""Shared fixtures. Tests run torch on one thread: results are deterministic and the 2-core
machine is not oversubscribed when pytest runs beside other work."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def small_config():
    from scalarscope.engine import EngineConfig

    return EngineConfig(batch_size=16, max_new_tokens=12, probe_batch=8, transfer_every=0)
