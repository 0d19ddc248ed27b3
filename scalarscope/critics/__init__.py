"""Internal evaluators that read the student's logits rather than its hidden state."""

from scalarscope.critics.learned_critic import FEATURE_NAMES, LearnedCritic, logit_features

__all__ = ["FEATURE_NAMES", "LearnedCritic", "logit_features"]
