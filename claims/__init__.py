"""The claims ledger: every claim the four source documents make about TensorFlow, checked.

Each claim is quoted in the document's own words (`table.CLAIMS`) and tested by a short
function that runs TensorFlow and reports what it saw (`checks`). The ledger runs every
check under Keras 3 and under legacy Keras 2, each in its own subprocess (`ledger.run`).
Commands: `python -m course_lib.claims` (a table), `--json` (the records) and
`--markdown` (the student page, notebooks/claims.md).
"""
