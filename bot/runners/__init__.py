"""What runs: the inbound pipeline and its review lane, the outbox, the scheduler, the service."""
