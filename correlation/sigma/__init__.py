"""Streaming Sigma detection: rules parsed by pySigma, compiled once, matched event by event."""

from correlation.sigma.alert import to_alert
from correlation.sigma.compiler import Match, RuleInfo
from correlation.sigma.engine import SigmaEngine
from correlation.sigma.loader import LoadFailure, LoadReport, RulePathError

__all__ = ["LoadFailure", "LoadReport", "Match", "RuleInfo", "RulePathError", "SigmaEngine", "to_alert"]
