"""Sontra's composition root: CLI, configuration and wiring of the single-node service."""

__version__ = "0.1.0"
