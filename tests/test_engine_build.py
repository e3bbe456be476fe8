"""The durable-rules build the service runs: third_party/durable_rules/build.py.

The build shrinks durable_rules' per-session tables (one record per session), allocates a
session's frame pools when first used, spreads alpha lookups over the whole table, gives a
parsed fact fewer property slots, and gives new sessions empty action buffers. These tests
pin that the installed engine is that build, that the build refuses anything but the pinned
sdist and patches that no longer apply, and that its promises hold: big sessions still match
exactly, a fact too big for its slots is refused loudly, the largest record fact fits, and a
first session that fires nothing no longer aborts the process.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import durable_rules_engine
import pytest

from service import vocabulary as vocab
from service.reasoning.durable.compiler import compile_knowledge_base
from service.reasoning.durable.facts import RecordFacts
from tests.conftest import make_record
from tests.reference import fired_rules
from tests.servers import ROOT

BUILD = ROOT / "third_party/durable_rules/build.py"


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("durable_rules_build", BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_installed_engine_is_the_patched_build(build) -> None:
    """make install (and the image) build it; an unpatched engine is correct but several times slower."""
    assert importlib.metadata.version("durable-rules") == build.LOCAL_VERSION


def test_the_sdist_must_be_the_one_requirements_lock_pins(build, tmp_path: Path) -> None:
    impostor = tmp_path / "durable_rules-2.0.28.tar.gz"
    with tarfile.open(impostor, "w:gz") as archive:
        archive.addfile(tarfile.TarInfo("durable_rules-2.0.28/setup.py"), io.BytesIO(b""))
    with pytest.raises(build.BuildError, match=r"requirements\.lock pins"):
        build.build(tmp_path / "wheels", sdist=impostor)
    assert not (tmp_path / "wheels").exists()


def test_a_patch_that_no_longer_applies_stops_the_build(build, tmp_path: Path) -> None:
    for name, old, _ in build.PATCHES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        with (tmp_path / name).open("a") as source:
            source.write(old)
    build.patch_tree(tmp_path)  # each text once: applies
    name, old, _ = build.PATCHES[0]
    (tmp_path / name).write_text(old + old)
    with pytest.raises(build.BuildError, match="expected exactly one"):
        build.patch_tree(tmp_path)


def test_sessions_far_bigger_than_the_shrunk_tables_still_match_exactly(assessor, kb) -> None:
    """Every finding answered: ten times the facts of a hash bucket, pools grown many times."""
    findings = kb.input_findings
    for present, absent in [(findings, []), ([], findings), (findings[::2], findings[1::2])]:
        record = assessor.record(make_record(findings={"present": list(present), "absent": list(absent)}))
        assert set(assessor.fire(record)) == fired_rules(kb, record)


def test_a_fact_with_more_properties_than_the_build_holds_is_refused_not_dropped(build) -> None:
    """The build gives a fact fewer property slots; one too many must be an error the driver raises."""
    handle = durable_rules_engine.create_ruleset("slots", '{"r": {"all": [{"m": {"t": "x"}}]}}')

    def fact(properties: int, sid: str) -> str:
        return json.dumps({"t": "x", **{f"p{i}": i for i in range(properties - 1)}, "sid": sid})

    assert durable_rules_engine.assert_fact(handle, fact(build.MAX_FACT_PROPERTIES, "1"))[0] == 0  # handled
    with pytest.raises(Exception, match="302"):
        durable_rules_engine.assert_fact(handle, fact(build.MAX_FACT_PROPERTIES + 1, "2"))
    durable_rules_engine.delete_ruleset(handle)


def test_the_largest_record_fact_fits(build, assessor, kb) -> None:
    """A record giving every optional field: its fact holds every context field, and fires as the reference does."""
    record = assessor.record(
        make_record(
            patient={"age": 30, "sex": "female", "pregnancy": {"gestational_week": 30}},
            complaint={"locations": ["buttock"], "severity": 7, "duration_days": 3},
        )
    )
    (record_fact, *_) = RecordFacts(compile_knowledge_base(kb).watched)(record)
    assert len(json.loads(record_fact + "}")) == 2 + len(vocab.CHOICE_FIELDS) + len(vocab.RANGE_FIELDS)
    assert len(json.loads(record_fact + "}")) <= build.MAX_FACT_PROPERTIES
    assert set(assessor.fire(record)) == fired_rules(kb, record)


FIRST_SESSION_FIRES_NOTHING = """
import durable_rules_engine as engine
garbage = [b"\\xa5" * size for size in range(20_000, 400_000, 4_000)]
del garbage  # non-zero bytes where the engine allocates next, as in a process that has served
handle = engine.create_ruleset("r", '{"r1": {"all": [{"a": {"t": "x"}}, {"b": {"t": "y"}}]}}')
print(engine.assert_fact(handle, '{"t": "x", "sid": "1"}')[0])  # stored, waits for a "y": fires nothing
engine.delete_state(handle, "1")
print("alive")
"""


def test_a_first_session_that_fires_nothing_can_be_deleted() -> None:
    """The stock 2.0.28 crashes here (exit 139 measured); the driver primes engines all the same."""
    result = subprocess.run(
        [sys.executable, "-c", FIRST_SESSION_FIRES_NOTHING], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-500:]}"
    assert result.stdout.split()[-1] == "alive"
