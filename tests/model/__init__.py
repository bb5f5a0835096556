"""Tests of nvcodec.model, one file per module."""
