"""Performance reports for supervisors: pure functions over a database session and a period.

`period` (whole local days as a UTC range), `figures` (RP02, volumes, time to complete, reopens),
`feedback` (ratings, complaints), `assistant` (what the repairs database knows about the chat assistant),
`report` (all of them at once), `charts` (inline SVG) and `export` (the period's tickets as CSV).
"""
