"""E-mails: written to an outbox in the same transaction as the change they tell about, sent
by the task queue (``app/notifications/tasks.py``)."""
