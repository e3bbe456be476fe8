"""Build the durable-rules wheel this service runs: 2.0.28, with per-session tables sized for one record.

Why a patched build. The service opens a fresh durable_rules session for every request and
deletes it afterwards (no patient data outlives a request; memory stays flat). durable-rules
2.0.28 sizes every session for long-lived, busy sessions: each pattern of the ruleset gets two
512-bucket hash indexes, cleared with ``memset``, and pools of frame nodes, so one session of
this knowledge base (about 300 patterns) allocates and clears about 2.5 MB before it matches
anything. That was 0.18 ms of the 0.41 ms the engine took per record (perf: ``memset`` 35 %,
``malloc`` 35 % of creating and deleting a session). A session here holds one record: a few
dozen facts, a handful per pattern at most.

What changes (``PATCHES`` below, each applied exactly once or the build fails):

- the per-session hash indexes get 32 (messages) and 8 (frames per pattern) buckets instead
  of 512. Lookups compare the full 32-bit hash whatever the bucket count, so matching is the
  same; a bucket's chain is only longer when a session holds many facts;
- the frame pools of a pattern, a connector and an action are allocated when the session
  first stores a frame there, not when it is created, with ``LAZY_POOL_NODES`` nodes; they
  grow by half whenever full, as before. A record's facts reach a few dozen of the ruleset's
  several hundred patterns, so a new session no longer allocates and initialises about a
  thousand pools it never uses: that memory was cold by the next request, and under load the
  engine took twice its in-process time (measured: 0.29 against 0.14 ms per record). The
  session's pool of messages starts at 8 nodes instead of 16;
- a parsed fact has 32 property slots instead of 255. Every stored fact keeps a copy of its
  parsed form, which was 8.7 KB (255 slots of 32 bytes and their index) for a fact of at most
  a dozen properties: about 25 facts a record, 220 KB copied per session and, in an
  engine-only loop, eleven page faults a record. Now 1.1 KB each; a fact with more
  properties than fit is refused with an error (the driver's ``EngineError``), never dropped;
- an alpha node's children are found from ``hash & 0x1FF`` instead of ``hash & 0x1F``: the
  table has 512 slots, but 2.0.28 started every probe in the first 32, so the children of a
  node ran together and each property of each fact walked past about a hundred of them;
- a new state node starts with no action buffers. 2.0.28 leaves them uninitialised and frees
  them when the session is deleted, which aborts the process (``free(): invalid pointer``) when
  the first session of a slot fired nothing. The driver still primes every engine
  (service.reasoning.durable.driver), so an unpatched build stays safe, only slower;
- the C sources are compiled with ``-O2``. durable-rules' setup.py replaces ``CFLAGS`` with
  its own, and with recent setuptools its rule-engine library is then compiled without
  optimisation (no ``-O`` at all): 0.19 against 0.12 ms per record, measured;
- the version becomes ``2.0.28+cds.2`` (a PEP 440 local version: it satisfies
  ``durable-rules==2.0.28``, and ``importlib.metadata`` shows which build is installed).

Nothing else in durable-rules changes: the same parser, Rete network, matching and chaining.
The sdist is checked against the sha256 pinned in requirements.lock before anything is built.

Usage: ``python third_party/durable_rules/build.py --out DIR`` (needs a C compiler and
setuptools in the running interpreter's environment; downloads the sdist with pip unless
``--sdist`` names a local copy). Prints the path of the wheel it wrote.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "durable-rules"
VERSION = "2.0.28"
LOCAL_VERSION = f"{VERSION}+cds.2"

# Property slots of a parsed fact (2.0.28: 255). The engine adds an id and takes the session
# id, and refuses with error 302 a fact that would fill every slot: a fact of this service may
# carry up to 29 properties of its own (tests/test_engine_build.py pins both).
MAX_OBJECT_PROPERTIES = 32
MAX_FACT_PROPERTIES = 29

# (file inside the sdist, exact text, replacement)
PATCHES: tuple[tuple[str, str, str], ...] = (
    ("src/rules/state.h", "#define MAX_MESSAGE_INDEX_LENGTH 512\n", "#define MAX_MESSAGE_INDEX_LENGTH 32\n"),
    ("src/rules/state.h", "#define MAX_LEFT_FRAME_INDEX_LENGTH 512\n", "#define MAX_LEFT_FRAME_INDEX_LENGTH 8\n"),
    ("src/rules/state.h", "#define MAX_RIGHT_FRAME_INDEX_LENGTH 512\n", "#define MAX_RIGHT_FRAME_INDEX_LENGTH 8\n"),
    ("src/rules/state.c", "#define MAX_MESSAGE_NODES 16\n", "#define MAX_MESSAGE_NODES 8\n"),
    ("src/rules/rules.h", "#define HASH_MASK 0x1F\n", "#define HASH_MASK 0x1FF\n"),
    (
        "src/rules/state.h",
        "#define MAX_OBJECT_PROPERTIES 255\n",
        f"#define MAX_OBJECT_PROPERTIES {MAX_OBJECT_PROPERTIES}\n",
    ),
    # frame pools: empty until first used (NEW allocates an empty pool before taking a node)
    (
        "src/rules/state.c",
        "#define NEW(type, pool, valueOffset) do { \\\n",
        "#define LAZY_POOL_NODES 4\n\n"
        "#define EMPTY(pool) do { \\\n"
        "    pool.content = NULL; \\\n"
        "    pool.contentLength = 0; \\\n"
        "    pool.freeOffset = UNDEFINED_HASH_OFFSET; \\\n"
        "    pool.count = 0; \\\n"
        "} while(0)\n\n"
        "#define NEW(type, pool, valueOffset) do { \\\n"
        "    if (!pool.content) { \\\n"
        "        INIT(type, pool, LAZY_POOL_NODES); \\\n"
        "    } \\\n",
    ),
    *(
        ("src/rules/state.c", f"INIT({node}, \n             {pool}, \n             {length});", f"EMPTY({pool});")
        for node, pool, length in (
            ("leftFrameNode", "betaNode->leftFramePool", "MAX_LEFT_FRAME_NODES"),
            ("rightFrameNode", "betaNode->rightFramePool", "MAX_RIGHT_FRAME_NODES"),
            ("leftFrameNode", "connectorNode->aFramePool", "MAX_LEFT_FRAME_NODES"),
            ("leftFrameNode", "connectorNode->bFramePool", "MAX_LEFT_FRAME_NODES"),
            ("leftFrameNode", "actionNode->resultPool", "MAX_LEFT_FRAME_NODES"),
        )
    ),
    (
        "src/rules/state.c",
        "    node->factOffset = UNDEFINED_HASH_OFFSET;\n    node->lockExpireTime = 0;\n",
        "    node->factOffset = UNDEFINED_HASH_OFFSET;\n    node->lockExpireTime = 0;\n"
        "    node->context.messages = NULL;\n    node->context.stateFact = NULL;\n",
    ),
    ("setup.py", "'-std=c99 -D_GNU_SOURCE'\n", "'-std=c99 -D_GNU_SOURCE -O2'\n"),  # the Linux CFLAGS
    ("setup.py", f"version = '{VERSION}',", f"version = '{LOCAL_VERSION}',"),
)


class BuildError(Exception):
    """The sdist is not the pinned one, or a patch no longer applies."""


def pinned_sha256(lock: Path = ROOT / "requirements.lock") -> str:
    """The sdist hash requirements.lock pins for durable-rules (the one source of truth)."""
    pin = rf"^{PROJECT}=={re.escape(VERSION)} \\\n\s+--hash=sha256:([0-9a-f]{{64}})"
    match = re.search(pin, lock.read_text(), re.MULTILINE)
    if match is None:
        raise BuildError(f"{lock} pins no sha256 for {PROJECT}=={VERSION}")
    return match.group(1)


def download_sdist(into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         "--dest", str(into), f"{PROJECT}=={VERSION}"],
        check=True,
    )  # fmt: skip
    (sdist,) = into.glob("durable_rules-*.tar.gz")
    return sdist


def patch_tree(tree: Path) -> None:
    for name, old, new in PATCHES:
        path = tree / name
        text = path.read_text()
        if text.count(old) != 1:
            raise BuildError(f"{name}: expected exactly one {old.strip()!r}, found {text.count(old)}")
        path.write_text(text.replace(old, new))


def build(out: Path, sdist: Path | None = None) -> Path:
    with tempfile.TemporaryDirectory(prefix="durable-rules-") as scratch:
        work = Path(scratch)
        sdist = sdist or download_sdist(work)
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != (expected := pinned_sha256()):
            raise BuildError(f"{sdist.name}: sha256 {digest}, requirements.lock pins {expected}")
        with tarfile.open(sdist) as archive:  # trusted: its hash is the pinned one
            archive.extractall(work, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        tree = work / f"durable_rules-{VERSION}"
        patch_tree(tree)
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "--wheel-dir", str(out), str(tree)],
            check=True,
        )  # fmt: skip
    (wheel,) = out.glob(f"durable_rules-{LOCAL_VERSION}-*.whl")
    return wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write the wheel into")
    parser.add_argument("--sdist", type=Path, help="a local durable_rules-2.0.28.tar.gz instead of downloading it")
    args = parser.parse_args()
    try:
        print(build(args.out, args.sdist))
    except BuildError as error:
        sys.exit(f"durable-rules build: {error}")


if __name__ == "__main__":
    main()
