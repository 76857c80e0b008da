"""The repairs service: system of record for residents, homes and repair tickets."""
