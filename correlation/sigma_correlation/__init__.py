"""Sigma correlation rules (event_count, value_count, temporal, temporal_ordered) evaluated on the stream."""

from correlation.sigma_correlation.evaluator import CorrelationEvaluator, MatchedRule, RuleMatch
from correlation.sigma_correlation.loader import (
    CorrelationFailure,
    CorrelationLoad,
    load_correlations,
    parse_correlations,
)
from correlation.sigma_correlation.rules import Condition, CorrelationRule, CorrelationRuleError, RuleReference
from correlation.sigma_correlation.windows import CorrelationStats

__all__ = [
    "Condition",
    "CorrelationEvaluator",
    "CorrelationFailure",
    "CorrelationLoad",
    "CorrelationRule",
    "CorrelationRuleError",
    "CorrelationStats",
    "MatchedRule",
    "RuleMatch",
    "RuleReference",
    "load_correlations",
    "parse_correlations",
]
