"""The officer workspace: server-rendered pages under /officer."""
