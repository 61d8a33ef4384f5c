"""Hostile inputs for the tests, built on the fly (see ``corpus``): nothing big is committed."""
