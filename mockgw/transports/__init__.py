"""Thin transports: bytes <-> gateway decisions and player steps, nothing else."""
