"""Tests of nvcodec.quant, one file per module."""
