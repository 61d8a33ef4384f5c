"""Fuzzing harness for the parsers: the contract every input must meet (``contract``),
input generators for property-based fuzzing (``strategies``), seeds (``seeds``), and the
atheris coverage-guided target (``fuzz_parsers.py``)."""
