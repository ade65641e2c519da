"""Check every claim (the four documents', lesson 04's) under Keras 3 and legacy Keras 2; print the ledger.

With no option, print a table to read in the terminal; --json prints the records,
--markdown the student page (notebooks/claims.md). Takes 10 to 20 seconds: each Keras
runs in its own Python process, both at once.
"""

import argparse
import sys

from .ledger import run, to_json, to_markdown, to_table


def main(argv=None):
    """Parse the options, run the ledger, print it; exit with 1 if a check itself failed."""
    parser = argparse.ArgumentParser(prog="python -m claims", description=__doc__)
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the records as a JSON list")
    form.add_argument("--markdown", action="store_true", help="print the student page")
    args = parser.parse_args(argv)
    records = run()
    if args.json:
        text = to_json(records)
    else:
        text = to_markdown(records) if args.markdown else to_table(records)
    sys.stdout.reconfigure(encoding="utf-8")  # the page is UTF-8 whatever the locale
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 1 if any("error" in (r["keras3"], r["keras2"]) for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
