"""IOC matching: indicators from STIX 2.1, MISP and CSV/plain lists, matched against events at ingest."""

from correlation.ioc.detector import IocDetector, ioc_alert_id
from correlation.ioc.feeds import FeedSpec, FeedState, FeedWatcher, IocFeeds
from correlation.ioc.indicators import (
    FeedError,
    Indicator,
    IndicatorError,
    IndicatorType,
    LoadReport,
    LoadResult,
    make_indicator,
)
from correlation.ioc.lists import load_csv, load_list, parse_csv, parse_list
from correlation.ioc.matcher import IocHit, IocMatcher
from correlation.ioc.misp import load_misp, parse_misp
from correlation.ioc.stix import load_stix, parse_stix
from correlation.ioc.stix_atoms import pattern_atoms, reduce_pattern
from correlation.ioc.stix_pattern import PatternError, parse_pattern

__all__ = [
    "FeedError",
    "FeedSpec",
    "FeedState",
    "FeedWatcher",
    "Indicator",
    "IndicatorError",
    "IndicatorType",
    "IocDetector",
    "IocFeeds",
    "IocHit",
    "IocMatcher",
    "LoadReport",
    "LoadResult",
    "PatternError",
    "ioc_alert_id",
    "load_csv",
    "load_list",
    "load_misp",
    "load_stix",
    "make_indicator",
    "parse_csv",
    "parse_list",
    "parse_misp",
    "parse_pattern",
    "parse_stix",
    "pattern_atoms",
    "reduce_pattern",
]
