"""Tests of the command-line tools (nvcodec.cli), one file per module."""
