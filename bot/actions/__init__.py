"""What can happen to a case: each function changes state inside the caller's transaction."""
