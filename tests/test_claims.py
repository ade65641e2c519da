"""The claims ledger: every verdict pinned, every quote real, the student page up to date.

The ledger costs some 20 seconds (two Python processes, one per Keras), so it runs once
for this module, through the real command `python -m claims --json`, and from a copy of
the package `claims/` alone: no rest of the repository, no source documents beside it.
The documents themselves (../shared/seeds) are needed only to check that the quotes and
examples the ledger holds are theirs, word for word; the quotes of a lesson's own claims are
checked against the lesson's notebook, which is in the repository.
"""

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_tools import NOTEBOOKS, SEEDS, needs_documents

from claims import ledger
from claims.table import CLAIMS, DOCUMENTS, LESSONS

ROOT = Path(__file__).resolve().parents[1]
REGENERATE = "python -m claims --markdown > notebooks/claims.md"

# What running each claim gives today, as (Keras 3, Keras 2). An upgrade of TensorFlow or
# Keras that changes one fails test_verdict_is_unchanged, which names the claim: re-read its
# evidence, fix its correction in claims/docNNN.py, update it here, regenerate the page.
EXPECTED = {
    "000-trainable-flag": ("false", "false"),
    "000-unused-ignored": ("true", "true"),
    "000-ex1-output": ("false", "false"),
    "000-ex1-gradient-x": ("false", "false"),
    "000-ex2-weights-biases": ("true", "true"),
    "000-ex2-updates": ("true", "true"),
    "000-ex3-intermediate": ("false", "false"),
    "000-ex3-trained": ("false", "false"),
    "001-default-trainable": ("true", "true"),
    "001-ex1-status": ("true", "true"),
    "001-ex1-assign": ("true", "true"),
    "001-ex1-gradient-none": ("true", "true"),
    "001-unpredictable": ("untestable", "untestable"),
    "001-initial-value": ("false", "false"),
    "001-ex2-embedding-unchanged": ("true", "true"),
    "001-ex2-dense-trained": ("true", "false"),
    "001-ex2-tracked": ("false", "true"),
    "001-ex3-learning-rate": ("false", "false"),
    "002-stop-gradient": ("true", "true"),
    "002-optimizer-ignores": ("false", "false"),
    "002-speed": ("false", "false"),
    "002-ex1-excludes": ("true", "true"),
    "002-ex1-only-output": ("false", "false"),
    "002-ex2-bias": ("true", "true"),
    "002-ex3-conv-weights": ("false", "false"),
    "003-case1-var1": ("true", "true"),
    "003-case1-var2": ("true", "true"),
    "003-gradients-calculated": ("false", "false"),
    "003-apply-ignores": ("false", "false"),
    "003-case2-set-trainable": ("false", "false"),
    "003-case3-recompile": ("true", "true"),
    "003-case3-frozen": ("true", "true"),
    "lesson04-freeze-inner-layers": ("true", "true"),
    "lesson04-summary-counts": ("true", "true"),
    "lesson04-inner-variable": ("true", "true"),
    "lesson04-head-training": ("true", "true"),
    "lesson04-bn-forward-pass": ("true", "true"),
    "lesson04-bn-frozen-inference": ("true", "true"),
    "lesson04-fit-overrides-training-false": ("true", "false"),
    "lesson04-direct-training-false": ("true", "true"),
    "lesson04-exactly-the-top": ("true", "true"),
    "lesson04-reused-optimizer-fit": ("true", "false"),
    "lesson04-true-again": ("true", "false"),
    "lesson04-variables-trap": ("true", "true"),
    "lesson04-reused-optimizer-loop": ("true", "false"),
    "lesson04-stale-tf-function": ("true", "true"),
    "lesson04-keras-file": ("true", "true"),
    "lesson04-new-optimizer": ("true", "true"),
}
SOURCES = {name for name, _ in (*DOCUMENTS.values(), *LESSONS.values())}
LESSON_NOTEBOOKS = {name for name, _ in LESSONS.values()}
FIELDS = {
    "id": str,
    "seed": str,
    "quote": str,
    "claim": str,
    "keras3": str,
    "keras2": str,
    "agree": bool,
    "evidence": str,
    "correction": str,
    "measurements": dict,
}


def squeeze(text):
    return " ".join(text.split())


def python_in(root, *args, timeout=300):
    """Run this Python in `root` with `root` first on its path, so `claims` is imported from there."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """A folder holding a copy of the package `claims/` and nothing else (no ../shared beside it)."""
    root = tmp_path_factory.mktemp("ledger-alone")
    shutil.copytree(ROOT / "claims", root / "claims", ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def records(alone):
    """The ledger's records, from one run of `python -m claims --json` in `alone`."""
    done = python_in(alone, "-m", "claims", "--json")
    assert done.returncode == 0, f"the ledger failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def by_id(records):
    return {r["id"]: r for r in records}


def test_json_output_is_one_record_per_claim_in_table_order(records):
    assert [r["id"] for r in records] == [c.id for c in CLAIMS]


def test_every_record_has_the_documented_fields(records):
    for r in records:
        assert {k: type(v) for k, v in r.items()} == FIELDS, r["id"]
        assert r["keras3"] in ledger.VERDICTS and r["keras2"] in ledger.VERDICTS, r["id"]
        assert r["agree"] == (r["keras3"] == r["keras2"]), r["id"]
        assert r["seed"] in SOURCES, r["id"]
        assert r["evidence"].startswith("Keras 3"), r["id"]
        assert r["correction"].endswith("."), r["id"]


def test_every_claim_has_a_pinned_verdict():
    assert [c.id for c in CLAIMS] == list(EXPECTED)


@pytest.mark.parametrize("claim_id", EXPECTED)
def test_verdict_is_unchanged(by_id, claim_id):
    r = by_id[claim_id]
    got, expected = (r["keras3"], r["keras2"]), EXPECTED[claim_id]
    assert got == expected, (
        f"{claim_id} ({r['seed']}): {r['quote']!r} was {expected} as (Keras 3, Keras 2), "
        f"is now {got}. Evidence: {r['evidence']}"
    )


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_quote_occurs_in_its_document(claim):
    if claim.seed in LESSON_NOTEBOOKS:  # a lesson's own claim: quoted from its notebook
        nb = nbformat.read(NOTEBOOKS / claim.seed, as_version=4)
        text = "\n".join(cell.source for cell in nb.cells)
    elif SEEDS.is_dir():
        text = (SEEDS / claim.seed).read_text(encoding="utf-8")
    else:
        pytest.skip(needs_documents.kwargs["reason"])
    assert squeeze(claim.quote) in squeeze(text), (
        f"{claim.id}: {claim.quote!r} is not in {claim.seed}"
    )


@needs_documents
@pytest.mark.parametrize("number", DOCUMENTS)
def test_examples_the_ledger_runs_are_the_documents_python_blocks_as_written(number):
    seed = DOCUMENTS[number][0]
    blocks = re.findall(r"```python\n(.*?)```", (SEEDS / seed).read_text(encoding="utf-8"), re.S)
    held = importlib.import_module(f"claims.doc{number}").EXAMPLES
    assert len(held) == len(blocks), f"{seed} has {len(blocks)} Python examples"
    for n, (mine, theirs) in enumerate(zip(held, blocks, strict=True), 1):
        assert mine == theirs, f"claims/doc{number}.py EXAMPLE_{n} is not {seed}'s example {n}"


@pytest.mark.parametrize("number", DOCUMENTS)
def test_each_document_module_holds_only_that_documents_claims(number):
    module = importlib.import_module(f"claims.doc{number}")
    assert module.CLAIMS and all(c.id.startswith(number) for c in module.CLAIMS)


@pytest.mark.parametrize("number", LESSONS)
def test_each_lesson_module_holds_only_that_lessons_claims(number):
    module = importlib.import_module(f"claims.lesson{number}")
    assert module.CLAIMS and all(c.id.startswith(f"lesson{number}-") for c in module.CLAIMS)
    assert {c.seed for c in module.CLAIMS} == {LESSONS[number][0]}
    assert (NOTEBOOKS / LESSONS[number][0]).is_file()


def test_ledger_runs_from_a_copy_of_its_package_with_nothing_beside_it(alone, records):
    assert [p.name for p in alone.iterdir()] == ["claims"]
    assert not (alone.parent / "shared").exists()
    where = python_in(alone, "-c", "import claims; print(claims.__file__)", timeout=60)
    assert Path(where.stdout.strip()) == alone / "claims" / "__init__.py", where.stderr
    assert [r["id"] for r in records] == [c.id for c in CLAIMS]


def test_no_module_of_the_ledger_reads_the_documents_or_the_rest_of_the_repository():
    modules = sorted((ROOT / "claims").glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        text = path.read_text(encoding="utf-8")
        for outside in ("shared", "seeds", "course_lib", "autograde"):
            assert outside not in text, f"claims/{path.name} mentions {outside!r}"


def test_at_least_25_claims_cover_all_four_documents():
    from_documents = [c for c in CLAIMS if c.seed not in LESSON_NOTEBOOKS]
    assert len(from_documents) >= 25
    assert {c.seed for c in from_documents} == {name for name, _ in DOCUMENTS.values()}
    assert {c.seed for c in CLAIMS} == SOURCES
    assert len({c.id for c in CLAIMS}) == len(CLAIMS)
    assert all(c.seed.startswith(c.id[:3]) for c in from_documents)


def test_speed_claim_carries_its_rule_and_both_measurements(by_id):
    r = by_id["002-speed"]
    assert "rule: true only if" in r["evidence"]
    assert set(r["measurements"]) == {"keras3", "keras2"}
    assert all("eager: median ms per step" in m for m in r["measurements"].values())
    assert all(not r["measurements"] for r in by_id.values() if r["id"] != "002-speed")


def test_student_page_is_up_to_date(records):
    page = ledger.PAGE.read_text(encoding="utf-8")
    fresh = ledger.to_markdown(records)
    stale = [(a, b) for a, b in zip(page.splitlines(), fresh.splitlines(), strict=False) if a != b]
    assert page == fresh, (
        f"{ledger.PAGE.relative_to(ROOT)} is stale; regenerate it with `{REGENERATE}`. "
        f"First difference: {stale[:1] or 'length'}"
    )


def test_terminal_table_lists_every_claim_and_the_disagreements(records):
    table = ledger.to_table(records)
    assert all(r["id"] in table for r in records)
    assert (
        "* Keras 2 and Keras 3 disagree: 001-ex2-dense-trained, 001-ex2-tracked, "
        "lesson04-fit-overrides-training-false, lesson04-reused-optimizer-fit, "
        "lesson04-true-again, lesson04-reused-optimizer-loop." in table
    )


def test_keras2_child_gets_legacy_keras_and_keras3_child_does_not(monkeypatch):
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    assert ledger._env("keras2")["TF_USE_LEGACY_KERAS"] == "1"
    assert "TF_USE_LEGACY_KERAS" not in ledger._env("keras3")
    assert ledger._env("keras3")["TF_ENABLE_ONEDNN_OPTS"] == "0"
