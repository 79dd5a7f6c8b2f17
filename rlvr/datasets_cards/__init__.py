"""datasets_cards: publish a run's tasks as a Hub dataset folder with a card written from its records."""

from rlvr.io.tasks import tasks_from_dataset

__all__ = ["tasks_from_dataset"]
