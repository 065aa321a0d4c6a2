"""Tests that drive JupyterLab in a browser (conftest.py says when they are collected)."""
