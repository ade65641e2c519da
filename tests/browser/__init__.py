"""Helpers for the browser tests (tests/test_browser.py): a real JupyterLab, driven by Playwright."""
