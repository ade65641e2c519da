"""Every claim, in order: the four documents' `CLAIMS`, one module each, then the lessons' own."""

from . import doc000, doc001, doc002, doc003, lesson04
from .common import DOCUMENTS, Claim

__all__ = ["CLAIMS", "DOCUMENTS", "LESSONS", "Claim"]

# Lessons whose own sentences are claims (lesson 04 answers no document): number -> (notebook, title).
LESSONS = {"04": lesson04.LESSON}

CLAIMS = (*doc000.CLAIMS, *doc001.CLAIMS, *doc002.CLAIMS, *doc003.CLAIMS, *lesson04.CLAIMS)
