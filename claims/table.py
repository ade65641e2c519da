"""Every claim, in document order: the four documents' `CLAIMS`, one module each."""

from . import doc000, doc001, doc002, doc003
from .common import DOCUMENTS, Claim

__all__ = ["CLAIMS", "DOCUMENTS", "Claim"]

CLAIMS = (*doc000.CLAIMS, *doc001.CLAIMS, *doc002.CLAIMS, *doc003.CLAIMS)
