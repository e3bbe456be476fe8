"""Drive durable_rules' C engine directly: facts in, fired rule ids out.

``durable.engine.Host`` wraps the C extension ``durable_rules_engine`` in a Python host
that costs about three times the C matching itself and swallows exceptions raised in
actions (a failed action meant a silently smaller answer). This driver calls the C
functions itself. Decisions, each measured (see the README's architecture section):

- Rules have no Python actions. When the engine reports a match, the driver records the
  ids of the rules the engine rule stands for (its name is the single key of the action
  message; rules with the same conditions share one, see the compiler) and asserts their
  consequences, serialised once at compile time, so durable_rules still does every match and
  every chaining step. Any error raises :class:`EngineError`: nothing is swallowed.
- Facts are asserted one at a time: ``assert_facts`` drops the whole batch when any fact
  matches no rule, and the rest of a batch after a fact it refuses (measured no faster
  either). A fact no pattern watches is not asserted at all (the compiler knows which facts
  the patterns can match).
- Facts are never retracted and no events are posted: 2.0.28's retraction path reads and
  writes past a frame's message slots once an action has completed (AddressSanitizer, in
  the stock build and ours alike). Nothing here needs retraction: a session holds one record.
- Every record gets a fresh session id and its state is deleted in ``finally``: the
  process holds no patient data between requests and memory stays flat.
- One ruleset per process, created in the process that uses it (never inherited across a
  fork), with access serialised by a lock: the C engine is not documented as thread-safe.
- Every new ruleset is primed with one session that fires rules before it serves. In
  durable_rules 2.0.28 a new state node leaves its message buffers uninitialised and
  ``delete_state`` frees them unless an action ran in that slot first: a first session that
  fires nothing would abort the process (``free(): invalid pointer``). The build the service
  installs (third_party/durable_rules/build.py) fixes that too; priming keeps a stock build
  safe.
- Sessions are cheap because of that build: it sizes durable_rules' per-session tables for
  one record. A stock 2.0.28 gives the same answers, several times slower.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
from dataclasses import dataclass

import durable_rules_engine as engine

from service.knowledge.model import KnowledgeBase
from service.reasoning.durable.compiler import compile_knowledge_base
from service.reasoning.durable.facts import RecordFacts, open_json
from service.reasoning.engine import EngineError
from service.reasoning.record import Record

RULESET = "buttock_pain"

# assert_fact's result codes (durable_rules src/rules/rules.h)
HANDLED, NOT_HANDLED, ALREADY_OBSERVED, QUEUED = 0, 1, 2, 3


@dataclass
class _Session:
    """How far a session got: the state handle, and whether an action is open on it."""

    state: int | None = None
    action: bool = False


class DurableRulesEngine:
    """The :class:`~service.reasoning.engine.RuleEngine` on durable_rules' C engine."""

    def __init__(self, kb: KnowledgeBase, primer: Record) -> None:
        compiled = compile_knowledge_base(kb)
        self._ruleset = json.dumps(compiled.ruleset)
        # per engine rule, the knowledge base's rules it stands for, each with its consequences
        # as the facts to assert (one lookup per action)
        self._rules = {
            name: tuple((rule_id, tuple(open_json(f) for f in compiled.consequences[rule_id])) for rule_id in rule_ids)
            for name, rule_ids in compiled.rules.items()
        }
        self._facts = RecordFacts(compiled.watched)
        self._primer = primer  # a record that fires rules (see the module docstring)
        self._lock = threading.Lock()
        self._handle: int | None = None
        self._pid: int | None = None
        self._sessions = itertools.count()

    def fire(self, record: Record) -> list[str]:
        with self._lock:
            return self._session(self._process_handle(), record)

    def _process_handle(self) -> int:
        if self._handle is None or self._pid != os.getpid():
            handle = engine.create_ruleset(f"{RULESET}_{os.getpid()}", self._ruleset)
            if not self._session(handle, self._primer):
                raise EngineError("the primer record fired no rule; the engine cannot be made safe")
            self._handle, self._pid = handle, os.getpid()
        return self._handle

    def _session(self, handle: int, record: Record) -> list[str]:
        sid = f"{os.getpid()}-{next(self._sessions)}"
        session = _Session()
        try:
            fired = self._chain(handle, record, f', "sid": "{sid}"}}', session)
        except Exception as error:  # the C extension raises bare Exceptions with error codes
            # the session may be half-built: clean up what we can, report the first failure
            with contextlib.suppress(Exception):
                self._end(handle, sid, session)
            raise EngineError(f"durable_rules failed: {type(error).__name__}") from error
        try:
            self._end(handle, sid, session)
        except Exception as error:
            raise EngineError(f"durable_rules could not end a session: {type(error).__name__}") from error
        return fired

    def _chain(self, handle: int, record: Record, tail: str, session: _Session) -> list[str]:
        """Assert the record's facts and every consequence of every rule they fire.

        ``tail`` closes each serialised fact with the session id.
        """
        fired: dict[str, None] = {}  # an ordered set
        rules, assert_fact, complete = self._rules, engine.assert_fact, engine.complete_and_start_action
        for fact in self._facts(record):
            code, state = assert_fact(handle, fact + tail)
            if code != HANDLED:
                _check(code)
                continue  # nothing looks at it
            session.state = state = int(state)
            started = engine.start_action_for_state(handle, state)  # (state, message) or None
            session.action = started is not None
            message = started[1] if started else None
            while message:
                name = message[2 : message.index('"', 2)]  # '{"NAME": {...}}' names the engine rule
                for rule_id, consequences in rules[name]:
                    if rule_id not in fired:
                        fired[rule_id] = None
                        for consequence in consequences:
                            code, _ = assert_fact(handle, consequence + tail)
                            if code != HANDLED:
                                _check(code)
                message = complete(handle, state)
                session.action = message is not None
        return list(fired)

    @staticmethod
    def _end(handle: int, sid: str, session: _Session) -> None:
        if session.action and session.state is not None:
            engine.abandon_action(handle, session.state)
        engine.delete_state(handle, sid)


def _check(code: int) -> None:
    """Raise unless ``code`` (assert_fact's answer other than HANDLED) says that nothing
    matched the fact or that it was concluded already; both are normal."""
    if code not in (NOT_HANDLED, ALREADY_OBSERVED):
        raise EngineError(f"durable_rules answered assert_fact with code {code}")
