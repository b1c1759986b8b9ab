"""`sontra agent enroll|list|revoke`: the endpoint agents allowed to send events over HTTP."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from sontra.commands.common import add_config_options, config_from_args
from storage.workflow import Agent, WorkflowDatabase
from storage.workflow.agents import AgentError, enroll_agent, list_agents, revoke_agent


def register(sub: argparse._SubParsersAction) -> None:
    """Register `sontra agent` and its subcommands."""
    parser = sub.add_parser(
        "agent",
        help="enroll, list and revoke endpoint agents",
        description="Agents send events to POST /api/v1/ingest with a per-agent key. The key is printed once, "
        "at enrolment; the server keeps only its hash.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    enroll = actions.add_parser("enroll", help="enroll an agent and print its key (shown only this once)")
    enroll.add_argument("name", metavar="NAME", help="what the SOC calls the agent, e.g. the server's name")
    enroll.add_argument("--hostname", help="the monitored machine's host name (default: NAME)")
    enroll.add_argument("--json", action="store_true", help='print {"agent_id", "name", "hostname", "key"}')
    add_config_options(enroll)
    enroll.set_defaults(run=_enroll)

    listing = actions.add_parser("list", help="list enrolled agents (never their keys)")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    add_config_options(listing)
    listing.set_defaults(run=_list)

    revoke = actions.add_parser("revoke", help="revoke an agent: its key is refused (401) from now on")
    revoke.add_argument("agent_id", metavar="ID", help="the agent id, as `sontra agent list` shows it")
    revoke.add_argument("--json", action="store_true", help="print the revoked agent as JSON")
    add_config_options(revoke)
    revoke.set_defaults(run=_revoke)


def _open(args: argparse.Namespace) -> WorkflowDatabase:
    config = config_from_args(args)
    return WorkflowDatabase(config.database_url)


def _actor() -> str:
    """Who ran the command, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


def _as_dict(agent: Agent) -> dict[str, Any]:
    return {
        "agent_id": agent.agent_id,
        "name": agent.name,
        "hostname": agent.hostname,
        "status": agent.status.value,
        "enrolled_at": agent.enrolled_at.isoformat() if agent.enrolled_at else None,
        "last_seen_at": agent.last_seen_at.isoformat() if agent.last_seen_at else None,
        "ip": agent.ip,
    }


def _enroll(args: argparse.Namespace) -> int:
    """Enroll one agent and print its id and key."""
    with _open(args) as db, db.transaction(write=True) as session:
        try:
            agent, key = enroll_agent(session, args.name, hostname=args.hostname, actor=_actor())
        except AgentError as exc:
            print(f"sontra agent enroll: {exc}", file=sys.stderr)
            return 2
        shown = _as_dict(agent)
    if args.json:
        print(json.dumps({**shown, "key": key}))
    else:
        print(f"enrolled agent {shown['agent_id']} ({shown['name']}, host {shown['hostname']})")
        print(f"key: {key}")
        print("The key is shown only this once; configure it on the agent as its Bearer token.")
    return 0


def _list(args: argparse.Namespace) -> int:
    """Print every enrolled agent."""
    with _open(args) as db, db.session() as session:
        agents = [_as_dict(a) for a in list_agents(session)]
    if args.json:
        print(json.dumps(agents))
        return 0
    if not agents:
        print("no agents enrolled (sontra agent enroll NAME)")
        return 0
    print(f"{'AGENT ID':<18} {'STATUS':<9} {'LAST SEEN':<26} {'NAME':<24} HOSTNAME")
    for a in agents:
        print(f"{a['agent_id']:<18} {a['status']:<9} {a['last_seen_at'] or '-':<26} {a['name']:<24} {a['hostname']}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    """Revoke one agent."""
    with _open(args) as db, db.transaction(write=True) as session:
        try:
            agent = revoke_agent(session, args.agent_id, actor=_actor())
        except AgentError as exc:
            print(f"sontra agent revoke: {exc}", file=sys.stderr)
            return 1
        shown = _as_dict(agent)
    if args.json:
        print(json.dumps(shown))
    else:
        print(f"revoked agent {shown['agent_id']} ({shown['name']}); its key is refused from now on")
    return 0
