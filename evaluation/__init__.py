"""`make eval`: how well the assistant understands residents, measured on messages it never trained on."""
