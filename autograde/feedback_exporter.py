"""The feedback page's exporter: nbconvert's HTMLExporter, its templates compiled once per process.

nbgrader makes a new exporter for every `generate_feedback` call, and a new exporter
compiles nbconvert's and nbgrader's Jinja templates again, which a grading worker did for
every submission (about a quarter of a second of CPU each, measured). Here the exporters
of one process share the compiled templates through Jinja's bytecode cache, kept in
memory. Jinja checks each template's source against what it compiled, so an edited
template is compiled again. The course's nbgrader_config.py names this class as
`GenerateFeedback.exporter_class`; nothing else about the page changes.
"""

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter


class InMemoryBytecodeCache(BytecodeCache):
    """Compiled templates by Jinja's key, for as long as the process lives."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED = InMemoryBytecodeCache()


class FeedbackExporter(HTMLExporter):
    """HTMLExporter whose Jinja environment keeps compiled templates in `COMPILED`."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = COMPILED
        return environment
