"""Run the checks under both Kerases at once and turn the results into records, a table or a page."""

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

from . import quiet_tensorflow
from .table import CLAIMS, DOCUMENTS, LESSONS

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "notebooks" / "claims.md"
KERASES = {"keras3": "Keras 3", "keras2": "Keras 2"}
VERDICTS = ("true", "false", "untestable")
LESSON_SECTION = "the lesson's own claims"  # how the page and the table mark a lesson's section


def _sections():
    """(file name, heading) of each section: the documents, then the lessons with claims of their own."""
    return [(seed, f"{seed}: {title}") for seed, title in DOCUMENTS.values()] + [
        (notebook, f"{notebook}: {title} ({LESSON_SECTION})")
        for notebook, title in LESSONS.values()
    ]


def _env(keras):
    """The child's environment: quiet TensorFlow, and legacy Keras 2 only when asked for."""
    env = quiet_tensorflow(dict(os.environ))
    env.pop("TF_USE_LEGACY_KERAS", None)
    if keras == "keras2":
        env["TF_USE_LEGACY_KERAS"] = "1"  # read once, when TensorFlow is first imported
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _check_in_subprocess(keras):
    """Every check's result under one Keras, from a fresh Python process."""
    child = subprocess.run(
        [sys.executable, "-m", "claims._run"],
        env=_env(keras),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode:
        raise RuntimeError(f"the {KERASES[keras]} run failed:\n{child.stderr[-3000:]}")
    out = json.loads(child.stdout)
    expected = "tf_keras" if keras == "keras2" else "keras"
    if out["keras"] != expected:
        raise RuntimeError(f"the {KERASES[keras]} run got tf.keras from {out['keras']!r}")
    return out["results"]


def run():
    """Check every claim under Keras 3 and Keras 2, in two subprocesses at once; return the records."""
    with ThreadPoolExecutor(len(KERASES)) as pool:
        results = dict(zip(KERASES, pool.map(_check_in_subprocess, KERASES), strict=True))
    return [
        record(claim, results["keras3"][claim.id], results["keras2"][claim.id]) for claim in CLAIMS
    ]


def record(claim, k3, k2):
    """The JSON record of one claim, from its results under Keras 3 (`k3`) and Keras 2 (`k2`)."""
    if k3["evidence"] == k2["evidence"]:
        evidence = f"Keras 3 and Keras 2: {k3['evidence']}."
    else:
        evidence = f"Keras 3: {k3['evidence']}. Keras 2: {k2['evidence']}."
    figures = (
        {"keras3": k3["figures"], "keras2": k2["figures"]} if k3["figures"] or k2["figures"] else {}
    )
    return {
        "id": claim.id,
        "seed": claim.seed,
        "quote": claim.quote,
        "claim": claim.claim,
        "keras3": k3["verdict"],
        "keras2": k2["verdict"],
        "agree": k3["verdict"] == k2["verdict"],
        "evidence": evidence,
        "correction": claim.correction,
        "measurements": figures,
    }


def _version(*distributions):
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return "?"


def versions():
    """The stack the checks ran on, as a phrase."""
    return (
        f"TensorFlow {_version('tensorflow-cpu', 'tensorflow')}, Keras 3 = keras {_version('keras')}, "
        f"Keras 2 = tf-keras {_version('tf-keras')}"
    )


def to_json(records):
    """The records as a JSON list."""
    return json.dumps(records, indent=2, ensure_ascii=False)


def to_table(records, width=100):
    """A plain-text table for the terminal: each claim with both verdicts, then what is true."""
    name = max(len(r["id"]) for r in records) + 2
    text = width - name - 24
    lines = [
        f"Claims ledger: {len(records)} claims from {len(DOCUMENTS)} documents and "
        f"{len(LESSONS)} lesson ({versions()}).",
        "",
    ]
    for seed, heading in _sections():
        lines += [
            heading,
            f"{'id':<{name}}{'Keras 3':<12}{'Keras 2':<12}claim / what is true",
        ]
        for r in (r for r in records if r["seed"] == seed):
            k2 = r["keras2"] + ("" if r["agree"] else " *")
            said = textwrap.wrap(r["claim"], text) + textwrap.wrap(
                r["correction"], text, initial_indent="→ ", subsequent_indent="  "
            )
            lines.append(f"{r['id']:<{name}}{r['keras3']:<12}{k2:<12}{said[0]}")
            lines += [" " * (name + 24) + s for s in said[1:]]
        lines.append("")
    differ = [r["id"] for r in records if not r["agree"]]
    lines.append(f"* Keras 2 and Keras 3 disagree: {', '.join(differ) or 'nowhere'}.")
    lines.append("Evidence for every verdict: --markdown (the student page) or --json.")
    return "\n".join(lines)


def _quote(text):
    return "> " + ("\\" + text if text.startswith("#") else text)


def to_markdown(records):
    """The student page: the claims of each document, with both verdicts, evidence and correction."""
    counts = {k: Counter(r[k] for r in records) for k in KERASES}
    differ = [r for r in records if not r["agree"]]
    out = [
        "# Claims ledger",
        "",
        "The four documents behind the lessons make claims about TensorFlow: in their prose and in",
        "their code comments, which say what a line prints or does. Some claims are true, some are",
        "false, and some hold only under one Keras. Here is every claim, in the document's own words,",
        "with what happened when a small check ran it. Nothing on this page is taken on trust: each",
        "verdict comes from code in `claims/`.",
        "",
        "Lesson 04 answers no document: its own sentences are claims too. They are in the last",
        f"section, marked ({LESSON_SECTION}), quoted from the lesson and checked the same way.",
        "",
        f"- Versions: {versions()}.",
        "- **Keras 3** is what `tf.keras` is by default; **Keras 2** is what it is when",
        "  `TF_USE_LEGACY_KERAS=1` is set before TensorFlow is imported. Every check runs under both.",
        "- A verdict is **true** or **false** according to what the check observed, or **untestable**",
        "  when no run of code can decide the claim. A comment saying what a line prints is true only",
        "  if running the document's example prints it. A speed claim is judged by a measurement and",
        "  the rule given with it.",
        "- Regenerate this page with `python -m claims --markdown > notebooks/claims.md`;",
        "  `tests/test_claims.py` fails when it is out of date.",
        "",
        "| verdict | Keras 3 | Keras 2 |",
        "|---|---|---|",
        *(f"| {v} | {counts['keras3'][v]} | {counts['keras2'][v]} |" for v in VERDICTS),
        "",
        "Keras 2 and Keras 3 disagree on "
        + (", ".join(f"[`{r['id']}`](#{r['id']})" for r in differ) or "no claim")
        + ".",
    ]
    for seed, heading in _sections():
        mine = [r for r in records if r["seed"] == seed]
        out += [
            "",
            f"## {heading}",
            "",
            "| claim | Keras 3 | Keras 2 | checked |",
            "|---|---|---|---|",
        ]
        out += [
            f"| [`{r['id']}`](#{r['id']}) | {r['keras3']} | {r['keras2']} | {r['claim']} |"
            for r in mine
        ]
        for r in mine:
            differs = "" if r["agree"] else " The two Kerases disagree."
            out += [
                "",
                f"### `{r['id']}`",
                "",
                _quote(r["quote"]),
                "",
                f"- **Checked:** {r['claim']}",
                f"- **Keras 3:** {r['keras3']}. **Keras 2:** {r['keras2']}.{differs}",
                f"- **Evidence:** {r['evidence']}",
                f"- **What is true:** {r['correction']}",
            ]
    return "\n".join(out) + "\n"
