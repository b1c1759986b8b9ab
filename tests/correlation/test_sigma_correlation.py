"""Sigma correlation rules on the stream: each type, group-by, timespan edges, lateness, expiry, caps."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from correlation.sigma_correlation import CorrelationEvaluator, parse_correlations
from normalizers.schema import validate_event
from tests.correlation.correlation_support import (
    BASE,
    BASE_RULES,
    FAILED,
    at,
    evaluator_for,
    event,
    failure,
    feed,
)

BRUTE_FORCE = """
title: SSH brute force
id: 7c1d0a52-8e7b-4f0e-b1a4-000000000101
name: ssh_brute_force
status: test
description: Five or more failed SSH passwords from one address within five minutes.
correlation:
  type: event_count
  rules: [ssh_failed_password]
  group-by: [source.ip]
  timespan: 5m
  condition: {gte: 5}
level: high
tags: [attack.credential-access, attack.t1110.001]
"""
BRUTE_FORCE_ID = "7c1d0a52-8e7b-4f0e-b1a4-000000000101"

SPRAY = """
title: Password spraying from one address
id: 7c1d0a52-8e7b-4f0e-b1a4-000000000102
correlation:
  type: value_count
  rules: [ssh_failed_password]
  group-by: [source.ip]
  timespan: 10m
  condition: {gte: 3, field: user.name}
level: high
tags: [attack.credential-access, attack.t1110.003]
"""

LOGIN_AND_NEW_USER = """
title: SSH login and a new local account on one host
id: 7c1d0a52-8e7b-4f0e-b1a4-000000000103
correlation:
  type: temporal
  rules: [ssh_login_success, local_user_created]
  group-by: [host.name]
  timespan: 10m
level: high
tags: [attack.persistence]
"""

LOGIN_AFTER_FAILURE = """
title: SSH login after a failed password from the same address
id: 7c1d0a52-8e7b-4f0e-b1a4-000000000104
correlation:
  type: temporal_ordered
  rules: [ssh_failed_password, ssh_login_success]
  group-by: [source.ip]
  timespan: 10m
level: medium
"""


def failures(offsets: list[float], ip: str = "203.0.113.7", prefix: str = "f") -> list[dict]:
    return [failure(t, f"{prefix}{i}", ip=ip) for i, t in enumerate(offsets)]


# event_count


def test_event_count_fires_on_the_fifth_failure_with_the_alert_fields() -> None:
    evaluator = evaluator_for(BRUTE_FORCE)
    other = feed(evaluator, "ssh_failed_password", failures([0, 1, 2, 3], ip="198.51.100.9", prefix="o"))
    first_four = feed(evaluator, "ssh_failed_password", failures([0, 10, 20, 30]))
    assert other == [] and first_four == []
    alerts = feed(evaluator, "ssh_failed_password", [failure(40, "f4")])
    assert len(alerts) == 1
    alert = alerts[0]
    assert validate_event(alert) == []
    assert alert["event"]["kind"] == "alert"
    assert alert["rule"] == {
        "id": BRUTE_FORCE_ID,
        "name": "SSH brute force",
        "ruleset": "sigma",
        "category": "correlation",
        "level": "high",
        "description": "Five or more failed SSH passwords from one address within five minutes.",
    }
    assert alert["event"]["severity"] == 4
    assert alert["threat"]["tactic"]["name"] == ["Credential Access"]
    assert alert["threat"]["technique"]["id"] == ["T1110.001"]
    assert alert["source"]["ip"] == "203.0.113.7"
    assert alert["host"]["name"] == "web01"  # every contributing event agrees on it
    assert alert["user"]["name"] == "root"
    assert alert["@timestamp"] == at(40)
    assert (alert["event"]["start"], alert["event"]["end"]) == (at(0), at(40))
    assert alert["sontra"]["alert"]["source_event_ids"] == ["f0", "f1", "f2", "f3", "f4"]
    assert alert["sontra"]["alert"]["entity_type"] == "source_ip"
    assert alert["sontra"]["correlation"]["count"] == 5
    assert alert["sontra"]["correlation"]["group"] == ["source.ip=203.0.113.7"]


def test_alert_id_is_deterministic_for_the_same_events() -> None:
    events = failures([0, 10, 20, 30, 40])
    first = feed(evaluator_for(BRUTE_FORCE), "ssh_failed_password", events)
    again = feed(evaluator_for(BRUTE_FORCE, now=BASE + timedelta(days=9)), "ssh_failed_password", events)
    other_ip = feed(evaluator_for(BRUTE_FORCE), "ssh_failed_password", failures([0, 10, 20, 30, 40], ip="192.0.2.1"))
    assert first[0]["event"]["id"] == again[0]["event"]["id"]
    assert first[0]["event"]["created"] != again[0]["event"]["created"]
    assert other_ip[0]["event"]["id"] != first[0]["event"]["id"]


@pytest.mark.parametrize(("last", "fires"), [(300.0, True), (300.001, False)])
def test_timespan_is_a_closed_interval(last: float, fires: bool) -> None:
    alerts = feed(evaluator_for(BRUTE_FORCE), "ssh_failed_password", failures([0, 75, 150, 225, last]))
    assert bool(alerts) is fires


def test_one_alert_per_window_per_group_then_a_new_window() -> None:
    evaluator = evaluator_for(BRUTE_FORCE)
    sustained = feed(evaluator, "ssh_failed_password", failures([float(t) for t in range(0, 300, 10)]))
    assert len(sustained) == 1
    assert evaluator.stats.suppressed == 25  # 30 failures: 5 raised the alert, the rest fell in its window
    next_window = feed(evaluator, "ssh_failed_password", failures([301, 302, 303, 304, 305], prefix="n"))
    assert len(next_window) == 1
    assert next_window[0]["sontra"]["alert"]["source_event_ids"] == ["n0", "n1", "n2", "n3", "n4"]


def test_the_same_event_twice_counts_once() -> None:
    evaluator = evaluator_for(BRUTE_FORCE)
    events = failures([0, 1, 2, 3])
    assert feed(evaluator, "ssh_failed_password", [*events, events[3]]) == []  # a retried batch
    assert evaluator.stats.duplicates == 1
    assert len(feed(evaluator, "ssh_failed_password", [failure(4, "f4")])) == 1


def test_event_without_the_group_by_field_is_counted_not_grouped() -> None:
    evaluator = evaluator_for(BRUTE_FORCE)
    no_ip = [event(t, f"x{t}", user__name="root") for t in range(6)]
    assert feed(evaluator, "ssh_failed_password", no_ip) == []
    assert evaluator.stats.missing_group == 6
    assert evaluator.group_count == 0


# value_count


def test_value_count_counts_distinct_users_per_address() -> None:
    evaluator = evaluator_for(SPRAY)
    same_user = [failure(t, f"r{t}", user="root") for t in range(6)]
    assert feed(evaluator, "ssh_failed_password", same_user) == []
    alerts = feed(evaluator, "ssh_failed_password", [failure(10, "a", user="admin"), failure(11, "o", user="oracle")])
    assert len(alerts) == 1
    correlation = alerts[0]["sontra"]["correlation"]
    assert (correlation["type"], correlation["count"]) == ("value_count", 3)
    assert correlation["values"] == ["root", "admin", "oracle"]
    assert "name" not in alerts[0].get("user", {})  # the users differ: no user.name on the alert
    feed(evaluator, "ssh_failed_password", [event(12, "nouser", source__ip="203.0.113.7")])
    assert evaluator.stats.missing_value == 1


# temporal


def test_temporal_fires_in_any_order_within_the_timespan() -> None:
    evaluator = evaluator_for(LOGIN_AND_NEW_USER)
    new_user_first = evaluator.observe("local_user_created", event(0, "u1", host__name="web01"))
    then_login = evaluator.observe("ssh_login_success", event(60, "l1", host__name="web01", source__ip="203.0.113.7"))
    assert new_user_first == []
    assert len(then_login) == 1
    assert then_login[0]["host"]["name"] == "web01"
    assert then_login[0]["sontra"]["alert"]["source_event_ids"] == ["u1", "l1"]
    assert then_login[0]["sontra"]["correlation"]["count"] == 2
    # Another host: the two rules 10 minutes and 1 second apart are not one window.
    evaluator.observe("ssh_login_success", event(100, "l2", host__name="db01"))
    assert evaluator.observe("local_user_created", event(701, "u2", host__name="db01")) == []
    # Two logins are one rule: temporal counts distinct rules, not events.
    evaluator.observe("ssh_login_success", event(800, "l3", host__name="app01"))
    assert evaluator.observe("ssh_login_success", event(801, "l4", host__name="app01")) == []


# temporal_ordered


def test_temporal_ordered_needs_the_listed_order() -> None:
    evaluator = evaluator_for(LOGIN_AFTER_FAILURE)
    assert evaluator.observe("ssh_login_success", event(0, "s1", source__ip="192.0.2.10")) == []
    assert evaluator.observe("ssh_failed_password", event(5, "f1", source__ip="192.0.2.10")) == []  # wrong order
    assert evaluator.observe("ssh_failed_password", event(10, "f2", source__ip="203.0.113.7")) == []
    alerts = evaluator.observe("ssh_login_success", event(40, "s2", source__ip="203.0.113.7"))
    assert [a["sontra"]["alert"]["source_event_ids"] for a in alerts] == [["f2", "s2"]]


def test_temporal_ordered_uses_event_time_when_events_arrive_out_of_order() -> None:
    evaluator = evaluator_for(LOGIN_AFTER_FAILURE)
    # The login (t=40) is received before the failure (t=10) that preceded it, 30 s late.
    assert evaluator.observe("ssh_login_success", event(40, "s", source__ip="203.0.113.7")) == []
    alerts = evaluator.observe("ssh_failed_password", event(10, "f", source__ip="203.0.113.7"))
    assert len(alerts) == 1
    assert alerts[0]["sontra"]["alert"]["source_event_ids"] == ["f", "s"]
    assert alerts[0]["@timestamp"] == at(40)


# event time: out of order, late, expiry, the wall clock


def test_out_of_order_within_lateness_gives_the_same_alert() -> None:
    events = failures([0, 10, 20, 30, 40])
    in_order = feed(evaluator_for(BRUTE_FORCE), "ssh_failed_password", events)
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != events
    out_of_order = feed(evaluator_for(BRUTE_FORCE), "ssh_failed_password", shuffled)
    assert [a["event"]["id"] for a in out_of_order] == [a["event"]["id"] for a in in_order]


def test_late_beyond_lateness_is_counted_and_not_correlated() -> None:
    evaluator = evaluator_for(BRUTE_FORCE, lateness=timedelta(seconds=60))
    assert feed(evaluator, "ssh_failed_password", failures([1000, 1001, 1002, 1003])) == []
    # 70 s older than the newest event: its windows may already be decided.
    assert feed(evaluator, "ssh_failed_password", [failure(930, "late")]) == []
    assert evaluator.stats.late == 1
    alerts = feed(evaluator, "ssh_failed_password", [failure(1004, "f4")])
    assert alerts[0]["sontra"]["alert"]["source_event_ids"] == ["f0", "f1", "f2", "f3", "f4"]


def test_state_expires_with_the_timespan() -> None:
    evaluator = evaluator_for(BRUTE_FORCE, lateness=timedelta(seconds=60))
    feed(evaluator, "ssh_failed_password", failures([0, 1, 2, 3]))
    assert evaluator.group_count == 1
    # Another address at t=363: the watermark (303) reaches the first group's newest event + 5m...
    feed(evaluator, "ssh_failed_password", [failure(363, "other", ip="192.0.2.50")])
    assert evaluator.group_count == 2
    # ...and one millisecond later passes it: that state is gone.
    feed(evaluator, "ssh_failed_password", [failure(363.001, "other2", ip="192.0.2.50")])
    assert evaluator.group_count == 1
    # The four old failures are forgotten: one more from the first address is one, not five.
    assert feed(evaluator, "ssh_failed_password", [failure(364, "f4")]) == []


def test_a_busy_group_forgets_what_left_its_window() -> None:
    evaluator = evaluator_for(LOGIN_AFTER_FAILURE, lateness=timedelta(seconds=60))
    # Two hours of failures from one address, never followed by a login: the group is never idle.
    feed(evaluator, "ssh_failed_password", [failure(t, f"f{t}") for t in range(0, 7200, 10)])
    assert evaluator.group_count == 1
    assert evaluator.retained <= (600 + 60) // 10 + 1  # timespan + lateness worth of failures, not 720
    assert evaluator.stats.dropped == 0


def test_watermark_never_passes_the_wall_clock() -> None:
    now = BASE + timedelta(seconds=10)
    evaluator = evaluator_for(BRUTE_FORCE, now=now, lateness=timedelta(seconds=60))
    feed(evaluator, "ssh_failed_password", failures([0, 1]))
    # A host whose clock is a month ahead must not make everyone else's events late.
    feed(evaluator, "ssh_failed_password", [failure(30 * 86400, "future", ip="192.0.2.99")])
    assert evaluator.watermark <= now.timestamp() - 60
    assert len(feed(evaluator, "ssh_failed_password", failures([2, 3, 4], prefix="g"))) == 1
    assert evaluator.stats.late == 0


def test_max_groups_evicts_the_least_recently_used_group_and_counts_it() -> None:
    evaluator = evaluator_for(BRUTE_FORCE, max_groups=2)
    feed(evaluator, "ssh_failed_password", failures([0, 1, 2, 3], ip="192.0.2.1", prefix="a"))
    feed(evaluator, "ssh_failed_password", failures([0, 1, 2, 3], ip="192.0.2.2", prefix="b"))
    feed(evaluator, "ssh_failed_password", [failure(5, "c0", ip="192.0.2.3")])  # evicts 192.0.2.1
    assert evaluator.stats.evicted_groups == 1
    assert evaluator.evicted_by_rule[BRUTE_FORCE_ID] == 1
    assert len(feed(evaluator, "ssh_failed_password", [failure(6, "b4", ip="192.0.2.2")])) == 1
    assert feed(evaluator, "ssh_failed_password", [failure(7, "a4", ip="192.0.2.1")]) == []  # its 4 were lost
    assert evaluator.stats.evicted_groups == 2
    assert evaluator.group_count == 2


def test_max_group_events_bounds_one_group() -> None:
    spray = evaluator_for(SPRAY, max_group_events=50)
    feed(spray, "ssh_failed_password", [failure(t / 10, f"r{t}", user="root") for t in range(500)])
    assert spray.stats.dropped == 450
    assert spray.retained == 50


# conditions decided when the window closes


RARE_SOURCE = """
title: Address that logged in only once in an hour
id: 7c1d0a52-8e7b-4f0e-b1a4-000000000106
correlation:
  type: event_count
  rules: [ssh_login_success]
  group-by: [source.ip]
  timespan: 1h
  condition: {lt: 2}
level: low
"""


def test_lt_is_decided_when_the_window_closes() -> None:
    evaluator = evaluator_for(RARE_SOURCE, lateness=timedelta(seconds=60))
    assert evaluator.observe("ssh_login_success", event(0, "once", source__ip="192.0.2.7")) == []
    for i in range(3):
        assert evaluator.observe("ssh_login_success", event(10 + i, f"often{i}", source__ip="192.0.2.8")) == []
    assert evaluator.advance(BASE + timedelta(seconds=3600 + 30)) == []  # not closed yet: lateness
    alerts = evaluator.advance(BASE + timedelta(seconds=3600 + 61))
    assert [a["source"]["ip"] for a in alerts] == ["192.0.2.7"]
    assert alerts[0]["sontra"]["correlation"]["count"] == 1
    assert alerts[0]["@timestamp"] == at(0)
    assert evaluator.group_count == 1  # 192.0.2.8's window (from t=10) is still open
    assert evaluator.advance(BASE + timedelta(seconds=3600 + 71)) == []  # three logins: not fewer than two
    assert evaluator.group_count == 0


def test_flush_decides_open_windows_at_the_end_of_a_file() -> None:
    exactly_two = RARE_SOURCE.replace("{lt: 2}", "{eq: 2}")
    evaluator = evaluator_for(exactly_two)
    evaluator.observe("ssh_login_success", event(0, "a", source__ip="192.0.2.7"))
    evaluator.observe("ssh_login_success", event(5, "b", source__ip="192.0.2.7"))
    evaluator.observe("ssh_login_success", event(6, "c", source__ip="192.0.2.9"))
    alerts = evaluator.flush()
    assert [(a["source"]["ip"], a["sontra"]["correlation"]["count"]) for a in alerts] == [("192.0.2.7", 2)]
    assert evaluator.group_count == 0


# aliases, chaining, generate


CALLBACK = """
title: Host connects back to an address that attacked it
id: 7c1d0a52-8e7b-4f0e-b1a4-000000000107
correlation:
  type: temporal_ordered
  rules: [ssh_failed_password, egress_connection]
  group-by: [remote, host.name]
  timespan: 30m
  aliases:
    remote:
      ssh_failed_password: source.ip
      egress_connection: destination.ip
level: high
tags: [attack.command-and-control]
"""


def test_aliases_group_different_fields_of_different_rules() -> None:
    evaluator = evaluator_for(CALLBACK)
    evaluator.observe("ssh_failed_password", failure(0, "f1", ip="203.0.113.7", host="web01"))
    unrelated = event(60, "e0", host__name="web01", source__ip="10.0.0.5", destination__ip="192.0.2.200")
    assert evaluator.observe("egress_connection", unrelated) == []
    callback = event(120, "e1", host__name="web01", source__ip="10.0.0.5", destination__ip="203.0.113.7")
    alerts = evaluator.observe("egress_connection", callback)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["sontra"]["correlation"]["group"] == ["remote=203.0.113.7", "host.name=web01"]
    assert alert["host"]["name"] == "web01"
    assert "source" not in alert  # the alias maps to two different fields, and the events disagree on source.ip
    assert alert["sontra"]["alert"]["entity_type"] == "host"


LOGIN_AFTER_BRUTE_FORCE = """
title: Successful SSH login after a brute force
id: 7c1d0a52-8e7b-4f0e-b1a4-000000000105
correlation:
  type: temporal_ordered
  rules: [ssh_brute_force, ssh_login_success]
  group-by: [source.ip]
  timespan: 10m
  generate: GENERATE
level: critical
tags: [attack.initial-access, attack.t1078]
"""


@pytest.mark.parametrize("generate", [True, False])
def test_correlation_of_a_correlation_and_generate(generate: bool) -> None:
    rules = BRUTE_FORCE + "---\n" + LOGIN_AFTER_BRUTE_FORCE.replace("GENERATE", str(generate).lower())
    load = parse_correlations(BASE_RULES + "---\n" + rules)
    assert not load.failures
    evaluator = CorrelationEvaluator(load.rules, clock=lambda: BASE + timedelta(days=1))
    raised = feed(evaluator, "ssh_failed_password", failures([0, 5, 10, 15, 20]))
    raised += evaluator.observe("ssh_login_success", event(60, "ok", source__ip="203.0.113.7", user__name="deploy"))
    names = [a["rule"]["name"] for a in raised]
    if generate:
        assert names == ["SSH brute force", "Successful SSH login after a brute force"]
        brute_force_id = raised[0]["event"]["id"]
        assert raised[1]["sontra"]["alert"]["source_event_ids"] == [brute_force_id, "ok"]
    else:
        assert names == ["Successful SSH login after a brute force"]  # the brute force only feeds it
    assert load.is_silenced(FAILED) and load.is_silenced("ssh_failed_password")
    assert load.is_silenced("ssh_login_success") is not generate
    assert load.is_silenced(BRUTE_FORCE_ID) is not generate


TWO_FAILURES_THEN_LOGIN = """
title: Two failed passwords, then a login
id: 7c1d0a52-8e7b-4f0e-b1a4-000000000108
correlation:
  type: temporal_ordered
  rules: [ssh_failed_password, ssh_failed_password, ssh_login_success]
  group-by: [source.ip]
  timespan: 10m
"""


def test_a_rule_listed_twice_needs_two_events() -> None:
    evaluator = evaluator_for(TWO_FAILURES_THEN_LOGIN)
    evaluator.observe("ssh_failed_password", failure(0, "f1"))
    assert evaluator.observe("ssh_login_success", event(10, "s1", source__ip="203.0.113.7")) == []
    evaluator.observe("ssh_failed_password", failure(20, "f2"))
    alerts = evaluator.observe("ssh_login_success", event(30, "s2", source__ip="203.0.113.7"))
    assert [a["sontra"]["alert"]["source_event_ids"] for a in alerts] == [["f1", "f2", "s2"]]
