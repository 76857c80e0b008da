"""Personal data kept only as long as it is needed: retention runs, subject access exports and erasure."""
