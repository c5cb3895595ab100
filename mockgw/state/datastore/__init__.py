"""Stored bulk data per flow, collection and kind; queries over it; synthetic datasets."""

from .generate import GeneratedRun, generate_items
from .queries import answer_query
from .store import DataStore

__all__ = ["DataStore", "GeneratedRun", "answer_query", "generate_items"]
