"""Announcements: planned works or an outage, posted by an officer to every linked household in a block or estate."""
