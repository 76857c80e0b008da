"""Housing policy as configuration: categories, priorities, timescales, Awaab's Law and tenure rules."""
