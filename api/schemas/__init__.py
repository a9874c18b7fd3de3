"""Request and response models of the HTTP contract, kept apart from domain types."""
