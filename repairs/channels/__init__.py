"""What the messaging channels need from the system of record: processing each inbound update once."""
