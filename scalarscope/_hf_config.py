"""What a stored ``transformers`` model config may say before ``transformers`` ever reads it.

A config is data, but ``transformers`` treats some of its fields as instructions: ``auto_map`` names
a Python module to import (from a local folder or the hub), ``model_type`` picks which built-in
model code runs, ``_attn_implementation`` / ``attn_implementation`` pick the attention kernel, and
``quantization_config`` pulls in a quantisation backend. A checkpoint or a student folder written
by the kit never holds any of these except ``model_type``, so :func:`check_model_config` refuses
them, and refuses a ``model_type`` that is not one of the causal language models built into
``transformers`` (or not the one the checkpoint says its student was).
"""

from __future__ import annotations

from collections.abc import Mapping

from scalarscope.errors import CheckpointError

CODE_KEYS = ("auto_map", "quantization_config", "trust_remote_code", "custom_pipelines")
_ALLOWED_PRIVATE = ("_name_or_path",)


def builtin_causal_lm_types() -> frozenset[str]:
    """``model_type`` names whose causal-LM code ships inside ``transformers`` itself."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    return frozenset(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)


def config_problem(config: object, *, expected_model_type: str | None = None) -> str | None:
    """Why ``config`` (a config dict, as ``config.json`` holds it) must not reach ``transformers``;
    None when it may."""
    if not isinstance(config, Mapping):
        return f"the model config is a {type(config).__name__}, not a JSON object"
    code = [k for k in CODE_KEYS if k in config]
    if code:
        return (f"the model config holds {code}, which would make transformers import or download code "
                "(a config written by the kit never does)")
    attention = [k for k in config if isinstance(k, str) and "attn_implementation" in k]
    private = [k for k in config if isinstance(k, str) and k.startswith("_") and k not in _ALLOWED_PRIVATE]
    if attention or private:
        return (f"the model config sets {sorted(set(attention + private))}; attention and other private settings "
                "must stay at transformers' defaults")
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or model_type not in builtin_causal_lm_types():
        return (f"the model config's model_type {model_type!r} is not a causal language model built into "
                "transformers")
    if expected_model_type is not None and model_type != expected_model_type:
        return f"the model config's model_type is {model_type!r}, but the saved student was {expected_model_type!r}"
    return None


def check_model_config(config: object, where: str, *, expected_model_type: str | None = None,
                       error: type[Exception] = CheckpointError) -> dict:
    """``config`` as a dict, or ``error`` naming ``where`` and what is wrong."""
    problem = config_problem(config, expected_model_type=expected_model_type)
    if problem is not None:
        raise error(f"{where}: {problem}; refusing to build the model. Re-save it from a model built with "
                    "transformers' own classes (trust_remote_code is never used by ScalarScope by default).")
    return dict(config)  # type: ignore[arg-type]


def build_causal_lm(config: dict):
    """A causal LM with fresh weights from a config :func:`check_model_config` accepted; no remote code."""
    from transformers import CONFIG_MAPPING, AutoModelForCausalLM

    values = dict(config)
    config_class = CONFIG_MAPPING[values.pop("model_type")]
    return AutoModelForCausalLM.from_config(config_class(**values), trust_remote_code=False)
