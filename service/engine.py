"""The durable_rules adapter: run one record's facts through the compiled knowledge base.

The engine knows facts and rule ids, nothing about medicine. Decisions, each measured
(see shared/DESIGN.md):

- Facts are asserted one at a time, each in its own try/except. A fact that no pattern
  matches is rejected by durable_rules; batched asserts would drop the whole batch.
- Every request gets a fresh session id and its state is deleted in ``finally``, so the
  process holds no patient data between requests and memory stays flat.
- One ``Host`` per process, created lazily in the process that uses it (never inherited
  across a fork), and access serialised with a lock: the C engine is not documented as
  thread-safe.
- The Host's background timer threads are not started: we use no timers, and actions run
  synchronously inside ``assert_fact``, so a background dispatcher could only race us.
- Every new Host is primed with one session that fires rules before it serves. In
  durable_rules 2.0.28 a new state node leaves its message buffers uninitialised and
  ``delete_state`` frees them unless an action ran in that slot first: a first session that
  fires nothing aborts the process (``free(): invalid pointer``).
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import uuid
from collections.abc import Callable, Iterable

from durable import engine as durable

from service.facts import Fact
from service.knowledge.compiler import CompiledRules

RULESET = "buttock_pain"

Action = Callable[[durable.Closure], None]


class _Host(durable.Host):
    def __init__(self, rulesets: dict, actions: Callable[[str], Action]) -> None:
        self._actions = actions
        super().__init__(rulesets)

    def get_action(self, action_name: str) -> Action:
        return self._actions(action_name)

    def _run(self) -> None:  # the timer-driven dispatch loop; see the module docstring
        return None


class RuleEngine:
    """Forward-chains a list of facts; returns the ids of the rules that fired, in order."""

    def __init__(self, compiled: CompiledRules, primer: Iterable[Fact]) -> None:
        self._compiled = compiled
        self._primer = tuple(primer)  # facts that fire at least one rule (see the docstring)
        self._lock = threading.Lock()
        self._host: _Host | None = None
        self._pid: int | None = None
        self._fired: dict[str, list[str]] = {}

    def run(self, facts: Iterable[Fact]) -> list[str]:
        with self._lock:
            return self._run(self._process_host(), facts)

    def _run(self, host: _Host, facts: Iterable[Fact]) -> list[str]:
        sid = uuid.uuid4().hex
        fired = self._fired[sid] = []
        has_state = False
        try:
            for fact in facts:
                # a fact no rule looks at is rejected; nothing follows from it
                with contextlib.suppress(durable.MessageNotHandledException):
                    host.assert_fact(RULESET, {**fact, "sid": sid})
                has_state = True
            return fired
        finally:
            del self._fired[sid]
            if has_state:  # an engine error before any state exists must not be masked
                host.delete_state(RULESET, sid)

    def _process_host(self) -> _Host:
        if self._host is None or self._pid != os.getpid():
            ruleset = copy.deepcopy(self._compiled.ruleset)  # durable_rules edits it in place
            host = _Host({RULESET: ruleset}, self._action)
            if not self._run(host, self._primer):
                raise RuntimeError("the primer record fired no rule; the engine cannot be made safe")
            self._host, self._pid = host, os.getpid()
        return self._host

    def _action(self, rule_id: str) -> Action:
        consequences = self._compiled.consequences[rule_id]

        def action(c: durable.Closure) -> None:
            fired = self._fired[c.s.sid]
            if rule_id in fired:
                return  # matched again through a second copy of a derived finding
            fired.append(rule_id)
            for fact in consequences:
                # e.g. a supported cause for which no care rule exists
                with contextlib.suppress(durable.MessageNotHandledException):
                    c.assert_fact(dict(fact))

        return action
